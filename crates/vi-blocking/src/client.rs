//! The blocking client: `Client`, its builder, the `datasets()` / `assets()` handles
//! (defined once for both facades in `vi_core::facade`), and the `Iterator`-based `Listing`.

use std::sync::Arc;

use vi_core::paging::{ItemPager, PagedEndpoint};
use vi_core::transport::Blocking;
use vi_core::{Page, Result};

use crate::runtime::{ThreadRuntime, block_on as wait};
use crate::transport::UreqTransport;

vi_core::__client_types!(
    blocking,
    "The blocking Vi client. Cheap to clone; clones share connections. Safe to call from any thread, including from inside an async runtime's blocking section: it starts no hidden async runtime.",
    |options| Ok(Arc::new(Blocking(UreqTransport::new(options)?))),
    ThreadRuntime
);

vi_core::__listing_type!(
    blocking,
    "A lazy listing: call [`next_page`](Listing::next_page), or iterate its pages ([`pages`](Listing::pages)) or items ([`items`](Listing::items), also what `for` uses)."
);

impl<E: PagedEndpoint> Listing<E> {
    /// The listing as an iterator of pages.
    pub fn pages(mut self) -> impl Iterator<Item = Result<Page<E::Item>>> {
        std::iter::from_fn(move || wait(self.pager.next_page()))
    }

    /// The listing as an iterator of items.
    pub fn items(self) -> Items<E> {
        Items {
            items: self.pager.into_items(),
        }
    }
}

impl<E: PagedEndpoint> IntoIterator for Listing<E> {
    type Item = Result<E::Item>;
    type IntoIter = Items<E>;

    fn into_iter(self) -> Items<E> {
        self.items()
    }
}

/// The items of a [`Listing`], one at a time.
#[derive(Debug)]
pub struct Items<E: PagedEndpoint> {
    items: ItemPager<E>,
}

impl<E: PagedEndpoint> Iterator for Items<E> {
    type Item = Result<E::Item>;

    fn next(&mut self) -> Option<Self::Item> {
        wait(self.items.next_item())
    }
}
