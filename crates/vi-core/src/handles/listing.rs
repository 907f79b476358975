//! [`Listing`]: a lazy listing of datasets or assets, page by page.

use futures_core::Stream;

use crate::error::Result;
use crate::paging::{Cursor, Page, Pager};

/// A lazy listing: call [`next_page`](Listing::next_page), or turn it into a [`Stream`] of
/// pages ([`pages`](Listing::pages)) or of items ([`items`](Listing::items)). Nothing is
/// fetched before it is asked for, and pages are never collected for the caller.
///
/// A failed page can be asked for again; a repeated page token ends the listing with
/// [`Error::Pagination`](crate::Error::Pagination).
#[derive(Debug)]
pub struct Listing<T> {
    pager: Pager<T>,
}

impl<T: Send + 'static> Listing<T> {
    /// A listing over a pager.
    pub fn new(pager: Pager<T>) -> Self {
        Listing { pager }
    }

    /// Where the next page starts: save it to resume later with the handle's
    /// `page(.., cursor)` call.
    pub fn cursor(&self) -> Option<&Cursor> {
        self.pager.cursor()
    }

    /// The next page, or `None` after the last.
    ///
    /// # Errors
    /// Any error of the list call (ask again to retry the same page), or
    /// [`Error::Pagination`](crate::Error::Pagination).
    pub async fn next_page(&mut self) -> Option<Result<Page<T>>> {
        self.pager.next_page().await
    }

    /// The listing as a stream of pages.
    pub fn pages(self) -> impl Stream<Item = Result<Page<T>>> + Send + Unpin {
        Box::pin(futures_util::stream::unfold(
            self.pager,
            |mut pager| async move { pager.next_page().await.map(|page| (page, pager)) },
        ))
    }

    /// The listing as a stream of items.
    pub fn items(self) -> impl Stream<Item = Result<T>> + Send + Unpin {
        Box::pin(futures_util::stream::unfold(
            self.pager.into_items(),
            |mut items| async move { items.next_item().await.map(|item| (item, items)) },
        ))
    }

    /// The pager underneath, for the blocking facade's iterators.
    pub fn into_pager(self) -> Pager<T> {
        self.pager
    }
}
