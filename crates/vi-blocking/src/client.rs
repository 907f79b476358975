//! The blocking [`Client`] (`vi_core`'s client over ureq and OS threads) and its handles.
//! Each handle method is a one-line blocking mirror of the async method of the same name in
//! [`vi_core::handles`], where the work and the full documentation live.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use vi_core::config::HttpOptions;
use vi_core::download::{DownloadOptions, DownloadReport, DownloadedFile};
use vi_core::models::{Asset, Dataset, DeletedDataset, SignedUrl};
use vi_core::paging::{ItemPager, Pager};
use vi_core::transport::Blocking;
use vi_core::upload::{UploadOptions, UploadReport, UploadSources};
use vi_core::{
    AssetId, Config, Core, CountAssetsOptions, Cursor, DatasetId, Facade, ListAssetsOptions,
    NewDataset, Page, Result, handles,
};

use crate::runtime::{ThreadRuntime, block_on};
use crate::transport::UreqTransport;

/// Dataset operations, blocking: `client.datasets()`. Each method waits for
/// [`vi_core::Datasets`]' method of the same name.
#[derive(Clone, Debug)]
pub struct Datasets(handles::Datasets);

impl From<Core> for Datasets {
    fn from(core: Core) -> Self {
        Datasets(core.into())
    }
}

impl Datasets {
    /// Every dataset, lazily: see [`vi_core::Datasets::list`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn list(&self, page_size: u32) -> Result<Listing<Dataset>> {
        self.0.list(page_size).map(Listing::from)
    }

    /// One page of datasets from `cursor`: see [`vi_core::Datasets::page`].
    ///
    /// # Errors
    /// As the async method.
    pub fn page(&self, page_size: u32, cursor: Option<Cursor>) -> Result<Page<Dataset>> {
        block_on(self.0.page(page_size, cursor))
    }

    /// One dataset: see [`vi_core::Datasets::get`].
    ///
    /// # Errors
    /// As the async method.
    pub fn get(&self, dataset: &DatasetId) -> Result<Dataset> {
        block_on(self.0.get(dataset))
    }

    /// Creates a dataset: see [`vi_core::Datasets::create`].
    ///
    /// # Errors
    /// As the async method.
    pub fn create(&self, dataset: impl Into<NewDataset>) -> Result<Dataset> {
        block_on(self.0.create(dataset.into()))
    }

    /// Starts deleting a dataset: see [`vi_core::Datasets::delete`].
    ///
    /// # Errors
    /// As the async method.
    pub fn delete(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        block_on(self.0.delete(dataset))
    }

    /// The state of a deletion: see [`vi_core::Datasets::deletion`].
    ///
    /// # Errors
    /// As the async method.
    pub fn deletion(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        block_on(self.0.deletion(dataset))
    }

    /// Deletes and waits up to `timeout`: see [`vi_core::Datasets::delete_and_wait`].
    ///
    /// # Errors
    /// As the async method.
    pub fn delete_and_wait(
        &self,
        dataset: &DatasetId,
        timeout: Duration,
    ) -> Result<DeletedDataset> {
        block_on(self.0.delete_and_wait(dataset, timeout))
    }
}

/// Asset operations, blocking: `client.assets()`. Each method waits for
/// [`vi_core::Assets`]' method of the same name.
#[derive(Clone, Debug)]
pub struct Assets(handles::Assets);

impl From<Core> for Assets {
    fn from(core: Core) -> Self {
        Assets(core.into())
    }
}

impl Assets {
    /// A dataset's assets, lazily: see [`vi_core::Assets::list`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn list(&self, dataset: &DatasetId, options: ListAssetsOptions) -> Result<Listing<Asset>> {
        self.0.list(dataset, options).map(Listing::from)
    }

    /// One page of assets from `cursor`: see [`vi_core::Assets::page`].
    ///
    /// # Errors
    /// As the async method.
    pub fn page(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
        cursor: Option<Cursor>,
    ) -> Result<Page<Asset>> {
        block_on(self.0.page(dataset, options, cursor))
    }

    /// How many assets match: see [`vi_core::Assets::count`].
    ///
    /// # Errors
    /// As the async method.
    pub fn count(&self, dataset: &DatasetId, options: CountAssetsOptions) -> Result<u64> {
        block_on(self.0.count(dataset, options))
    }

    /// One asset's metadata: see [`vi_core::Assets::get`].
    ///
    /// # Errors
    /// As the async method.
    pub fn get(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        block_on(self.0.get(dataset, asset))
    }

    /// One asset with its signed URL: see [`vi_core::Assets::get_with_contents`].
    ///
    /// # Errors
    /// As the async method.
    pub fn get_with_contents(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        block_on(self.0.get_with_contents(dataset, asset))
    }

    /// Deletes an asset: see [`vi_core::Assets::delete`].
    ///
    /// # Errors
    /// As the async method.
    pub fn delete(&self, dataset: &DatasetId, asset: &AssetId) -> Result<()> {
        block_on(self.0.delete(dataset, asset))
    }

    /// Renames an asset by id: see [`vi_core::Assets::rename`].
    ///
    /// # Errors
    /// As the async method.
    pub fn rename(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        new_filename: &str,
    ) -> Result<Asset> {
        block_on(self.0.rename(dataset, asset, new_filename))
    }

    /// Renames an asset by filename: see [`vi_core::Assets::rename_by_filename`].
    ///
    /// # Errors
    /// As the async method.
    pub fn rename_by_filename(
        &self,
        dataset: &DatasetId,
        current_filename: &str,
        new_filename: &str,
    ) -> Result<Asset> {
        block_on(
            self.0
                .rename_by_filename(dataset, current_filename, new_filename),
        )
    }

    /// Uploads files, folders and bytes: see [`vi_core::Assets::upload`].
    ///
    /// # Errors
    /// As the async method; per-file outcomes are in the report.
    pub fn upload(
        &self,
        dataset: &DatasetId,
        sources: impl Into<UploadSources>,
        options: UploadOptions,
    ) -> Result<UploadReport> {
        block_on(self.0.upload(dataset, sources.into(), options))
    }

    /// Downloads a dataset's assets: see [`vi_core::Assets::download`].
    ///
    /// # Errors
    /// As the async method; per-asset outcomes are in the report.
    pub fn download(
        &self,
        dataset: &DatasetId,
        directory: &Path,
        options: DownloadOptions,
    ) -> Result<DownloadReport> {
        block_on(self.0.download(dataset, directory, options))
    }

    /// Downloads one asset to a path: see [`vi_core::Assets::download_asset`].
    ///
    /// # Errors
    /// As the async method.
    pub fn download_asset(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        destination: &Path,
    ) -> Result<DownloadedFile> {
        block_on(self.0.download_asset(dataset, asset, destination))
    }

    /// Downloads a signed URL to a path: see [`vi_core::Assets::download_url`].
    ///
    /// # Errors
    /// As the async method.
    pub fn download_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64> {
        block_on(self.0.download_url(url, destination))
    }
}

/// A lazy listing, blocking: call [`next_page`](Listing::next_page), or iterate its pages
/// ([`pages`](Listing::pages)) or items ([`items`](Listing::items), also what `for` uses).
/// See [`vi_core::Listing`] for the rules.
#[derive(Debug)]
pub struct Listing<T> {
    pager: Pager<T>,
}

impl<T: Send + 'static> From<vi_core::Listing<T>> for Listing<T> {
    fn from(listing: vi_core::Listing<T>) -> Self {
        Listing {
            pager: listing.into_pager(),
        }
    }
}

impl<T: Send + 'static> Listing<T> {
    /// Where the next page starts: save it to resume later with `page(.., cursor)`.
    pub fn cursor(&self) -> Option<&Cursor> {
        self.pager.cursor()
    }

    /// The next page, or `None` after the last.
    ///
    /// # Errors
    /// Any error of the list call (ask again to retry the same page), or
    /// [`Error::Pagination`](vi_core::Error::Pagination).
    pub fn next_page(&mut self) -> Option<Result<Page<T>>> {
        block_on(self.pager.next_page())
    }

    /// The listing as an iterator of pages.
    pub fn pages(mut self) -> impl Iterator<Item = Result<Page<T>>> {
        std::iter::from_fn(move || block_on(self.pager.next_page()))
    }

    /// The listing as an iterator of items.
    pub fn items(self) -> Items<T> {
        Items {
            items: self.pager.into_items(),
        }
    }
}

impl<T: Send + 'static> IntoIterator for Listing<T> {
    type Item = Result<T>;
    type IntoIter = Items<T>;

    fn into_iter(self) -> Items<T> {
        self.items()
    }
}

/// The items of a [`Listing`], one at a time.
#[derive(Debug)]
pub struct Items<T> {
    items: ItemPager<T>,
}

impl<T: Send + 'static> Iterator for Items<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        block_on(self.items.next_item())
    }
}

/// The blocking facade: ureq for HTTP, OS threads for parallel work, and blocking handles.
#[derive(Clone, Copy, Debug)]
pub struct Threads;

impl Facade for Threads {
    type Datasets = Datasets;
    type Assets = Assets;

    fn engine(config: Config) -> Result<Core> {
        let transport = Blocking(UreqTransport::new(&HttpOptions::from(&config))?);
        Ok(Core::new(
            config,
            Arc::new(transport),
            Arc::new(ThreadRuntime),
        ))
    }
}
