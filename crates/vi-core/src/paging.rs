//! Pagination: the lazy [`Pager`], one list call per page, only when the caller asks.
//!
//! Listings return pages of `items` plus a `nextPage` token (docs/protocol.md §3.3, §8); the pure
//! types ([`Cursor`], [`Page`]) live with the wire models, the [`PagedEndpoint`] trait with
//! the endpoints. The pager never collects pages for the caller. Its rules:
//!
//! * an empty page that still carries a token does not end the listing;
//! * a token seen twice is an [`Error::Pagination`], not an endless loop. There is no cap
//!   on the number of pages (the official client's 10,000-page limit would end any listing
//!   of over 100,000 items at the default page size); the set of tokens seen grows with the
//!   pages, a few dozen bytes each;
//! * a failed page can be asked for again: the pager stays where it was, so a caller can
//!   resume after an error (or later, from [`Pager::cursor`]).

use std::collections::{HashSet, VecDeque};
use std::fmt;

pub use crate::endpoints::PagedEndpoint;
use crate::engine::Core;
use crate::error::{Error, Result};
use crate::models::PageEnvelope;
pub use crate::models::{Cursor, Page};
use crate::runtime::BoxFuture;

/// The page size of the listings the SDK streams through by itself (downloads, the
/// skip-existing comparison). Not the largest, 1000: a service that answers `s=1000` with
/// every remaining asset at once (which the official client needs, docs/protocol.md §7, and which the
/// emulator does by default) would make memory grow with the dataset; 500 keeps each page
/// bounded at the cost of a few more list requests.
pub const STREAMING_PAGE_SIZE: u32 = 500;

/// A listing call with its cursor erased, so a pager is generic over the item only.
trait PageQuery<T>: Send + Sync {
    fn operation(&self) -> &'static str;
    fn cursor(&self) -> Option<&Cursor>;
    fn set_cursor(&mut self, cursor: Option<Cursor>);
    fn fetch<'a>(&'a self, core: &'a Core) -> BoxFuture<'a, Result<PageEnvelope<T>>>;
}

impl<E: PagedEndpoint> PageQuery<E::Item> for E {
    fn operation(&self) -> &'static str {
        crate::endpoints::Endpoint::operation(self)
    }
    fn cursor(&self) -> Option<&Cursor> {
        PagedEndpoint::cursor(self)
    }
    fn set_cursor(&mut self, cursor: Option<Cursor>) {
        PagedEndpoint::set_cursor(self, cursor)
    }
    fn fetch<'a>(&'a self, core: &'a Core) -> BoxFuture<'a, Result<PageEnvelope<E::Item>>> {
        Box::pin(core.execute(self))
    }
}

/// Fetches the pages of a listing lazily, one per call.
pub struct Pager<T> {
    core: Core,
    query: Box<dyn PageQuery<T>>,
    seen: HashSet<String>,
    pages: u32,
    finished: bool,
}

impl<T> fmt::Debug for Pager<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pager")
            .field("operation", &self.query.operation())
            .field("cursor", &self.query.cursor())
            .field("pages", &self.pages)
            .field("finished", &self.finished)
            .finish()
    }
}

impl<T: Send + 'static> Pager<T> {
    /// A pager starting where `endpoint` points (its cursor, or the first page).
    pub fn new<E: PagedEndpoint<Item = T>>(core: Core, endpoint: E) -> Self {
        let mut seen = HashSet::new();
        if let Some(c) = PagedEndpoint::cursor(&endpoint) {
            seen.insert(c.as_str().to_owned());
        }
        Pager {
            core,
            query: Box::new(endpoint),
            seen,
            pages: 0,
            finished: false,
        }
    }

    /// Where the next page starts (`None` before the first page or after the last).
    /// Save it to resume the listing later with the handle's `page(cursor)` call.
    pub fn cursor(&self) -> Option<&Cursor> {
        if self.finished {
            None
        } else {
            self.query.cursor()
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
    /// same page), or [`Error::Pagination`] when the service repeats a token (the listing
    /// then ends).
    pub async fn next_page(&mut self) -> Option<Result<Page<T>>> {
        if self.finished {
            return None;
        }
        let envelope = match self.query.fetch(&self.core).await {
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
                            self.query.operation(),
                            self.pages
                        ),
                    }));
                }
            }
        }
        self.query.set_cursor(page.next.clone());
        Some(Ok(page))
    }

    /// Turns the pager into one that yields items.
    pub fn into_items(self) -> ItemPager<T> {
        ItemPager {
            pager: self,
            buffer: VecDeque::new(),
        }
    }
}

/// Yields the items of a listing one at a time, fetching pages as needed.
pub struct ItemPager<T> {
    pager: Pager<T>,
    buffer: VecDeque<T>,
}

impl<T> fmt::Debug for ItemPager<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemPager")
            .field("pager", &self.pager)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<T: Send + 'static> ItemPager<T> {
    /// The next item, or `None` after the last.
    ///
    /// # Errors
    /// As [`Pager::next_page`]; after an error of the list call, calling again retries.
    pub async fn next_item(&mut self) -> Option<Result<T>> {
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
