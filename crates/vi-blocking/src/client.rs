//! The blocking [`Client`] (`vi_core`'s client over ureq and OS threads) and its handles.
//! Each handle method blocks on the async method of the same name in [`vi_core::handles`]
//! (where the work lives) and says on its own page what it does and how it fails.

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

/// Dataset operations, blocking: `client.datasets()`. Cheap to clone. Each method blocks
/// the calling thread until the answer arrives (its async twin is the method of the same
/// name of [`vi_core::Datasets`]). Dataset ids are the short ids `datasets().list()`
/// gives; the `<organization>_<id>` form the service returns is accepted too.
#[derive(Clone, Debug)]
pub struct Datasets(handles::Datasets);

impl From<Core> for Datasets {
    fn from(core: Core) -> Self {
        Datasets(core.into())
    }
}

impl Datasets {
    /// Every dataset of the organization, fetched lazily page by page (`page_size` per
    /// request, 1–1000) as the listing is iterated; the async twin is
    /// [`vi_core::Datasets::list`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside 1–1000;
    /// later pages fail as any API call does, when iterated.
    pub fn list(&self, page_size: u32) -> Result<Listing<Dataset>> {
        self.0.list(page_size).map(Listing::from)
    }

    /// One page of the organization's datasets, starting at `cursor` (`None` for the first
    /// page), blocking until it arrives; keep the page's `next` cursor to resume later.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside 1–1000;
    /// otherwise a transport, API or decode error.
    pub fn page(&self, page_size: u32, cursor: Option<Cursor>) -> Result<Page<Dataset>> {
        block_on(self.0.page(page_size, cursor))
    }

    /// One dataset with its statistics (assets, annotations), blocking until it arrives.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the dataset does not exist.
    pub fn get(&self, dataset: &DatasetId) -> Result<Dataset> {
        block_on(self.0.get(dataset))
    }

    /// Creates a dataset (`create("Drone survey")`, or a [`NewDataset`] with a description
    /// and type) and returns it. Never retried once the request may have reached the
    /// service, so a dataset is never created twice.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for an empty name; otherwise as
    /// any API call.
    pub fn create(&self, dataset: impl Into<NewDataset>) -> Result<Dataset> {
        block_on(self.0.create(dataset.into()))
    }

    /// Starts deleting a dataset and everything in it (the service deletes in the
    /// background) and returns the deletion operation; see
    /// [`delete_and_wait`](Self::delete_and_wait) to block until it is done.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the dataset does not exist.
    pub fn delete(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        block_on(self.0.delete(dataset))
    }

    /// The current state of a dataset's deletion operation.
    ///
    /// # Errors
    /// A transport, API or decode error.
    pub fn deletion(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        block_on(self.0.deletion(dataset))
    }

    /// Deletes a dataset and polls, with backoff, until the deletion is done or `timeout`
    /// passes; returns the last state seen (check [`DeletedDataset::is_done`] when the
    /// timeout may have come first).
    ///
    /// # Errors
    /// As [`delete`](Self::delete);
    /// [`Error::Operation`](vi_core::Error::Operation) when the service reports that the
    /// deletion failed.
    pub fn delete_and_wait(
        &self,
        dataset: &DatasetId,
        timeout: Duration,
    ) -> Result<DeletedDataset> {
        block_on(self.0.delete_and_wait(dataset, timeout))
    }
}

/// Asset operations, blocking: `client.assets()`. Cheap to clone. Each method blocks the
/// calling thread until it is done (its async twin is the method of the same name of
/// [`vi_core::Assets`]); uploads and downloads run their transfers on OS threads.
#[derive(Clone, Debug)]
pub struct Assets(handles::Assets);

impl From<Core> for Assets {
    fn from(core: Core) -> Self {
        Assets(core.into())
    }
}

impl Assets {
    /// Every asset of a dataset matching `options` (filter, sort, page size), fetched
    /// lazily page by page as the listing is iterated.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside 1–1000;
    /// later pages fail as any API call does, when iterated.
    pub fn list(&self, dataset: &DatasetId, options: ListAssetsOptions) -> Result<Listing<Asset>> {
        self.0.list(dataset, options).map(Listing::from)
    }

    /// One page of a dataset's assets matching `options`, starting at `cursor` (`None` for
    /// the first page).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside 1–1000;
    /// an API error of kind `NotFound` for an unknown dataset.
    pub fn page(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
        cursor: Option<Cursor>,
    ) -> Result<Page<Asset>> {
        block_on(self.0.page(dataset, options, cursor))
    }

    /// How many of a dataset's assets match `options` (all of them with
    /// `CountAssetsOptions::new()`).
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown dataset.
    pub fn count(&self, dataset: &DatasetId, options: CountAssetsOptions) -> Result<u64> {
        block_on(self.0.count(dataset, options))
    }

    /// One asset's metadata (filename, size, dimensions, annotations), without a download
    /// URL.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the asset or dataset does not exist.
    pub fn get(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        block_on(self.0.get(dataset, asset))
    }

    /// One asset with its signed download URL and the URL's expiry in `contents`. The URL
    /// is a credential: `Debug` never prints it.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the asset or dataset does not exist.
    pub fn get_with_contents(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        block_on(self.0.get_with_contents(dataset, asset))
    }

    /// Deletes an asset; a retried delete that finds it already gone counts as success.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the asset does not exist.
    pub fn delete(&self, dataset: &DatasetId, asset: &AssetId) -> Result<()> {
        block_on(self.0.delete(dataset, asset))
    }

    /// Renames the asset `asset` to `new_filename` and returns it as it now is.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for an empty name; an API error
    /// of kind `Conflict` when another asset already has that name.
    pub fn rename(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        new_filename: &str,
    ) -> Result<Asset> {
        block_on(self.0.rename(dataset, asset, new_filename))
    }

    /// Renames the asset whose filename is `current_filename` (sent as one path segment,
    /// `/` included) and returns it as it now is.
    ///
    /// # Errors
    /// As [`rename`](Self::rename); `NotFound` when no asset has that filename.
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

    /// Uploads files, folders (recursively) and in-memory bytes to a dataset through
    /// ingestion sessions on OS threads, and by default blocks until the service has
    /// taken them in. Every input file ends up in exactly one of the report's `succeeded`,
    /// `failed`, `skipped` and `processing` lists, with a reason for the last three; call
    /// `into_result()` on the report to turn any shortfall into an error.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) before anything is sent (nothing
    /// to upload, a missing path, a bad option); an API error when the dataset cannot be
    /// uploaded to at all (unknown dataset, wrong credentials).
    pub fn upload(
        &self,
        dataset: &DatasetId,
        sources: impl Into<UploadSources>,
        options: UploadOptions,
    ) -> Result<UploadReport> {
        block_on(self.0.upload(dataset, sources.into(), options))
    }

    /// Downloads a dataset's assets into `<directory>/<dataset id>/` (all of them, or those
    /// chosen in `options`) on OS threads. Complete files already there are skipped, a
    /// partial file of an interrupted run is continued, and every file is verified before
    /// it gets its final name; each asset ends up in one of the report's `downloaded`,
    /// `skipped` and `failed` lists.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for bad options; an API error
    /// when the dataset cannot be listed; an I/O error when the directory cannot be
    /// created.
    pub fn download(
        &self,
        dataset: &DatasetId,
        directory: &Path,
        options: DownloadOptions,
    ) -> Result<DownloadReport> {
        block_on(self.0.download(dataset, directory, options))
    }

    /// Downloads one asset to exactly `destination` (replacing any file there), through a
    /// partial file, verified, with a fresh URL if the first one expires.
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown asset;
    /// [`Error::Operation`](vi_core::Error::Operation) when the transfer or the
    /// verification fails after retries.
    pub fn download_asset(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        destination: &Path,
    ) -> Result<DownloadedFile> {
        block_on(self.0.download_asset(dataset, asset, destination))
    }

    /// Downloads a signed URL (from `get_with_contents` or a listing with contents) to
    /// `destination` and returns the bytes written; the body goes to a partial file renamed
    /// into place only when complete. No credentials are sent to the URL.
    ///
    /// # Errors
    /// An API error of kind `PermissionDenied` (403) when the URL was tampered with or has
    /// expired; transport errors after retries; I/O errors naming the path.
    pub fn download_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64> {
        block_on(self.0.download_url(url, destination))
    }
}

/// A lazy listing, blocking: call [`next_page`](Listing::next_page), or iterate its pages
/// ([`pages`](Listing::pages)) or items ([`items`](Listing::items), also what `for` uses).
/// Each page is fetched only when asked for, blocking until it arrives, and pages are never
/// collected for the caller. A failed page can be asked for again; a repeated page token
/// ends the listing with [`Error::Pagination`](vi_core::Error::Pagination).
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
