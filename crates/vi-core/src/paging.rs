//! Pagination: opaque cursors and a lazy pager.
//!
//! Listings return pages of `items` plus a `nextPage` token (spec §3.3, §8). The pager asks
//! for one page at a time, only when the caller wants it, and never collects pages for
//! the caller. Its rules:
//!
//! * an empty page that still carries a token does not end the listing;
//! * a token seen twice, or more than [`MAX_PAGES`] pages, is a
//!   [`Error::Pagination`], not an endless loop;
//! * a failed page can be asked for again: the pager stays where it was, so a caller can
//!   resume after an error (or later, from [`Pager::cursor`]).

use std::collections::{HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::client::Core;
use crate::endpoints::{Endpoint, ListAssets, ListDatasets};
use crate::error::{Error, Result};
use crate::models::{Asset, Dataset, PageEnvelope};

/// At most this many pages are fetched by one pager (the official client's limit).
pub const MAX_PAGES: u32 = 10_000;

/// Where a page starts: the service's opaque page token. Serializable, so a listing can be
/// resumed later, even by another process.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a token received from the service (or saved earlier).
    pub fn new(token: impl Into<String>) -> Self {
        Cursor(token.into())
    }

    /// The token as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({:?})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items of this page (possibly none, even when more pages follow).
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Turns a wire envelope into a page; an empty token counts as the end.
    pub fn from_envelope(envelope: PageEnvelope<T>) -> Self {
        let next = envelope.next_token().map(Cursor::new);
        Page {
            items: envelope.items,
            next,
        }
    }

    /// True when this is the last page.
    pub fn is_last(&self) -> bool {
        self.next.is_none()
    }
}

/// A listing endpoint that can be pointed at a cursor.
pub trait PagedEndpoint:
    Endpoint<Output = PageEnvelope<Self::Item>> + Clone + Send + Sync + 'static
{
    /// The listed item.
    type Item: Send + 'static;

    /// The cursor the request starts from.
    fn cursor(&self) -> Option<&Cursor>;

    /// Points the request at `cursor`.
    fn set_cursor(&mut self, cursor: Option<Cursor>);
}

impl PagedEndpoint for ListDatasets {
    type Item = Dataset;
    fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }
    fn set_cursor(&mut self, cursor: Option<Cursor>) {
        self.cursor = cursor;
    }
}

impl PagedEndpoint for ListAssets {
    type Item = Asset;
    fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }
    fn set_cursor(&mut self, cursor: Option<Cursor>) {
        self.cursor = cursor;
    }
}

/// Fetches the pages of a listing lazily, one per call.
pub struct Pager<E: PagedEndpoint> {
    core: Core,
    endpoint: E,
    seen: HashSet<String>,
    pages: u32,
    finished: bool,
}

impl<E: PagedEndpoint> fmt::Debug for Pager<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pager")
            .field("operation", &self.endpoint.operation())
            .field("cursor", &self.endpoint.cursor())
            .field("pages", &self.pages)
            .field("finished", &self.finished)
            .finish()
    }
}

impl<E: PagedEndpoint> Pager<E> {
    /// A pager starting where `endpoint` points (its cursor, or the first page).
    pub fn new(core: Core, endpoint: E) -> Self {
        let mut seen = HashSet::new();
        if let Some(c) = endpoint.cursor() {
            seen.insert(c.as_str().to_owned());
        }
        Pager {
            core,
            endpoint,
            seen,
            pages: 0,
            finished: false,
        }
    }

    /// Where the next page starts (`None` before the first page or after the last).
    /// Save it to resume the listing later with the facade's `page(cursor)` call.
    pub fn cursor(&self) -> Option<&Cursor> {
        if self.finished {
            None
        } else {
            self.endpoint.cursor()
        }
    }

    /// True once the last page was returned (or the listing stopped on a pagination error).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next page, or `None` after the last one.
    ///
    /// # Errors
    /// Any error of the list call (the pager stays in place, so calling again retries the
    /// same page), or [`Error::Pagination`] when the service repeats a token or the page
    /// limit is reached (the listing then ends).
    pub async fn next_page(&mut self) -> Option<Result<Page<E::Item>>> {
        if self.finished {
            return None;
        }
        if self.pages >= MAX_PAGES {
            self.finished = true;
            return Some(Err(Error::Pagination {
                message: format!(
                    "{} returned more than {MAX_PAGES} pages; narrow the listing with a filter",
                    self.endpoint.operation()
                ),
            }));
        }
        let envelope = match self.core.execute(&self.endpoint).await {
            Ok(envelope) => envelope,
            Err(e) => return Some(Err(e)),
        };
        self.pages += 1;
        let page = Page::from_envelope(envelope);
        match &page.next {
            None => self.finished = true,
            Some(next) => {
                if !self.seen.insert(next.as_str().to_owned()) {
                    self.finished = true;
                    return Some(Err(Error::Pagination {
                        message: format!(
                            "{} handed back a page token it had already given (after {} pages); stopping instead of looping",
                            self.endpoint.operation(),
                            self.pages
                        ),
                    }));
                }
            }
        }
        self.endpoint.set_cursor(page.next.clone());
        Some(Ok(page))
    }

    /// Turns the pager into one that yields items.
    pub fn into_items(self) -> ItemPager<E> {
        ItemPager {
            pager: self,
            buffer: VecDeque::new(),
        }
    }
}

/// Yields the items of a listing one at a time, fetching pages as needed.
pub struct ItemPager<E: PagedEndpoint> {
    pager: Pager<E>,
    buffer: VecDeque<E::Item>,
}

impl<E: PagedEndpoint> fmt::Debug for ItemPager<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemPager")
            .field("pager", &self.pager)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<E: PagedEndpoint> ItemPager<E> {
    /// The next item, or `None` after the last.
    ///
    /// # Errors
    /// As [`Pager::next_page`]; after an error of the list call, calling again retries.
    pub async fn next_item(&mut self) -> Option<Result<E::Item>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Some(Ok(item));
            }
            match self.pager.next_page().await? {
                Ok(page) => self.buffer.extend(page.items),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
