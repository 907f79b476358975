//! The blocking client: `Client`, its builder, and the `datasets()` / `assets()` handles.

use std::sync::Arc;

use vi_core::builder::FromConfig;
use vi_core::endpoints::{ListAssets, ListDatasets};
use vi_core::paging::{ItemPager, PagedEndpoint, Pager};
use vi_core::transport::Blocking;
use vi_core::{Config, Core, Cursor, DatasetId, ListAssetsOptions, Page, Result};

use crate::runtime::{ThreadRuntime, block_on as wait};
use crate::transport::UreqTransport;

/// Builds a [`Client`]: `Client::builder().secret_key(..).organization_id(..).build()?`.
pub type ClientBuilder = vi_core::builder::ClientBuilder<Client>;

/// The blocking Vi client. Cheap to clone; clones share connections. Safe to call from any
/// thread, including from inside an async runtime's blocking section: it starts no hidden
/// async runtime.
#[derive(Clone, Debug)]
pub struct Client {
    core: Core,
}

impl FromConfig for Client {
    fn from_config(config: Config) -> Result<Self> {
        let transport = UreqTransport::new(&vi_core::transport::HttpOptions::from(&config))?;
        Ok(Client {
            core: Core::new(
                config,
                Arc::new(Blocking(transport)),
                Arc::new(ThreadRuntime),
            ),
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
    vi_core::__dataset_methods!(blocking);

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
    vi_core::__asset_methods!(blocking);

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

/// A lazy listing: call [`next_page`](Listing::next_page), or iterate its pages
/// ([`pages`](Listing::pages)) or items ([`items`](Listing::items), also what `for` uses).
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
    pub fn next_page(&mut self) -> Option<Result<Page<E::Item>>> {
        wait(self.pager.next_page())
    }

    /// Where the next page starts: save it to resume later with `page(.., cursor)`.
    pub fn cursor(&self) -> Option<&Cursor> {
        self.pager.cursor()
    }

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
