//! The async client: `Client`, its builder, the `datasets()` / `assets()` handles (defined
//! once for both facades in `vi_core::facade`), and the `Stream`-based `Listing`.

use std::sync::Arc;

use futures_util::Stream;
use vi_core::paging::PagedEndpoint;
use vi_core::{Page, Result};

use crate::runtime::TokioRuntime;
use crate::transport::ReqwestTransport;

vi_core::__client_types!(
    async,
    "The async Vi client. Cheap to clone; clones share connections. Use it inside a tokio runtime (multi-thread or current-thread).",
    |options| Ok(Arc::new(ReqwestTransport::new(options)?)),
    TokioRuntime
);

vi_core::__listing_type!(
    async,
    "A lazy listing: call [`next_page`](Listing::next_page), or turn it into a [`Stream`] of pages ([`pages`](Listing::pages)) or items ([`items`](Listing::items))."
);

impl<E: PagedEndpoint> Listing<E> {
    /// The listing as a stream of pages.
    pub fn pages(self) -> impl Stream<Item = Result<Page<E::Item>>> + Send + Unpin {
        Box::pin(futures_util::stream::unfold(
            self.pager,
            |mut pager| async move { pager.next_page().await.map(|page| (page, pager)) },
        ))
    }

    /// The listing as a stream of items.
    pub fn items(self) -> impl Stream<Item = Result<E::Item>> + Send + Unpin {
        Box::pin(futures_util::stream::unfold(
            self.pager.into_items(),
            |mut items| async move { items.next_item().await.map(|item| (item, items)) },
        ))
    }
}
