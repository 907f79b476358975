//! The async client: `Client`, its builder, and the `datasets()` / `assets()` handles.

use std::sync::Arc;

use futures_util::Stream;
use vi_core::builder::FromConfig;
use vi_core::endpoints::{ListAssets, ListDatasets};
use vi_core::paging::{PagedEndpoint, Pager};
use vi_core::{Config, Core, Cursor, DatasetId, ListAssetsOptions, Page, Result};

use crate::runtime::TokioRuntime;
use crate::transport::ReqwestTransport;

/// Builds a [`Client`]: `Client::builder().secret_key(..).organization_id(..).build()?`.
pub type ClientBuilder = vi_core::builder::ClientBuilder<Client>;

/// The async Vi client. Cheap to clone; clones share connections.
///
/// Must be used inside a tokio runtime (multi-thread or current-thread).
#[derive(Clone, Debug)]
pub struct Client {
    core: Core,
}

impl FromConfig for Client {
    fn from_config(config: Config) -> Result<Self> {
        let transport = ReqwestTransport::new(&vi_core::transport::HttpOptions::from(&config))?;
        Ok(Client {
            core: Core::new(config, Arc::new(transport), Arc::new(TokioRuntime)),
        })
    }
}

impl Client {
    /// A builder; values not set come from `DATATURE_VI_*` environment variables.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured entirely from the environment (`DATATURE_VI_SECRET_KEY`,
    /// `DATATURE_VI_ORGANIZATION_ID`, optionally `DATATURE_VI_API_ENDPOINT`).
    ///
    /// # Errors
    /// [`Error::Config`](vi_core::Error::Config) naming what is missing.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::new().build()
    }

    /// A client over a resolved configuration.
    ///
    /// # Errors
    /// When the HTTP stack cannot be set up.
    pub fn from_config(config: Config) -> Result<Self> {
        <Self as FromConfig>::from_config(config)
    }

    /// The configuration in use (the secret key is redacted in its `Debug`).
    pub fn config(&self) -> &Config {
        self.core.config()
    }

    /// The shared engine, for calls this facade does not wrap (e.g. a custom endpoint).
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Dataset operations.
    pub fn datasets(&self) -> Datasets {
        Datasets {
            core: self.core.clone(),
        }
    }

    /// Asset operations.
    pub fn assets(&self) -> Assets {
        Assets {
            core: self.core.clone(),
        }
    }
}

/// Dataset operations: `client.datasets()`.
#[derive(Clone, Debug)]
pub struct Datasets {
    core: Core,
}

impl Datasets {
    vi_core::__dataset_methods!(async);

    /// Every dataset of the organization, fetched lazily page by page (`page_size` per
    /// request, 1–1000).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside 1–1000.
    pub fn list(&self, page_size: u32) -> Result<Listing<ListDatasets>> {
        self.core.list_datasets(page_size).map(Listing::new)
    }
}

/// Asset operations: `client.assets()`.
#[derive(Clone, Debug)]
pub struct Assets {
    core: Core,
}

impl Assets {
    vi_core::__asset_methods!(async);

    /// Every asset of a dataset matching `options`, fetched lazily page by page.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside 1–1000.
    pub fn list(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
    ) -> Result<Listing<ListAssets>> {
        self.core.list_assets(dataset, options).map(Listing::new)
    }
}

/// A lazy listing: call [`next_page`](Listing::next_page), or turn it into a
/// [`Stream`] of pages ([`pages`](Listing::pages)) or items ([`items`](Listing::items)).
///
/// A failed page can be asked for again; a repeated page token ends the listing with
/// [`Error::Pagination`](vi_core::Error::Pagination).
#[derive(Debug)]
pub struct Listing<E: PagedEndpoint> {
    pager: Pager<E>,
}

impl<E: PagedEndpoint> Listing<E> {
    fn new(pager: Pager<E>) -> Self {
        Listing { pager }
    }

    /// The next page, or `None` after the last.
    ///
    /// # Errors
    /// Any error of the list call (ask again to retry the same page), or
    /// [`Error::Pagination`](vi_core::Error::Pagination).
    pub async fn next_page(&mut self) -> Option<Result<Page<E::Item>>> {
        self.pager.next_page().await
    }

    /// Where the next page starts: save it to resume later with `page(.., cursor)`.
    pub fn cursor(&self) -> Option<&Cursor> {
        self.pager.cursor()
    }

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
