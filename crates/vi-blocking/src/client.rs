//! The blocking [`Client`] (`vi_core`'s client over ureq and OS threads) and its handles.
//! Each handle method blocks on the async method of the same name in [`vi_core::handles`]
//! (where the work lives) and says on its own page what it does and how it fails.

use std::path::{Path, PathBuf};
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

use vi_core::import::{ImportOptions, ImportReport};
use vi_core::models::{
    Annotation, AnnotationImportSession, AssetWithObjects, BulkDeletionSession, IngestionSession,
    SimpleDataset,
};
use vi_core::{
    AnnotationId, AnnotationImportSessionId, AssetsWithObjectsOptions, BulkDeletionId,
    DatasetUpdate, DeleteCriteria, IngestionSessionId,
};

use vi_core::endpoints::ExportSettings;
use vi_core::export::{DatasetDownloadOptions, DownloadedDataset};
use vi_core::ids::ExportId;
use vi_core::models::DatasetExport;

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
    type Annotations = Annotations;

    fn engine(config: Config) -> Result<Core> {
        let transport = Blocking(UreqTransport::new(&HttpOptions::from(&config))?);
        Ok(Core::new(
            config,
            Arc::new(transport),
            Arc::new(ThreadRuntime),
        ))
    }
}

/// Annotation operations, blocking: `client.annotations()`. Each method waits for
/// [`vi_core::Annotations`]' method of the same name.
#[derive(Clone, Debug)]
pub struct Annotations(handles::Annotations);

impl From<Core> for Annotations {
    fn from(core: Core) -> Self {
        Annotations(core.into())
    }
}

impl Annotations {
    /// Imports annotation files: see [`vi_core::Annotations::upload`].
    ///
    /// # Errors
    /// As the async method; per-file outcomes are in the report.
    pub fn upload<P: Into<PathBuf>>(
        &self,
        dataset: &DatasetId,
        paths: impl IntoIterator<Item = P>,
        options: ImportOptions,
    ) -> Result<ImportReport> {
        block_on(self.0.upload(dataset, paths, options))
    }

    /// One import session: see [`vi_core::Annotations::session`].
    ///
    /// # Errors
    /// As the async method.
    pub fn session(
        &self,
        dataset: &DatasetId,
        session: &AnnotationImportSessionId,
    ) -> Result<AnnotationImportSession> {
        block_on(self.0.session(dataset, session))
    }

    /// A dataset's import sessions, lazily: see [`vi_core::Annotations::sessions`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn sessions(
        &self,
        dataset: &DatasetId,
        page_size: u32,
    ) -> Result<Listing<AnnotationImportSession>> {
        self.0.sessions(dataset, page_size).map(Listing::from)
    }

    /// Waits for an import session: see [`vi_core::Annotations::wait`].
    ///
    /// # Errors
    /// As the async method.
    pub fn wait(
        &self,
        dataset: &DatasetId,
        session: &AnnotationImportSessionId,
        timeout: Duration,
    ) -> Result<AnnotationImportSession> {
        block_on(self.0.wait(dataset, session, timeout))
    }

    /// Cancels an import session: see [`vi_core::Annotations::cancel`].
    ///
    /// # Errors
    /// As the async method.
    pub fn cancel(
        &self,
        dataset: &DatasetId,
        session: &AnnotationImportSessionId,
    ) -> Result<AnnotationImportSession> {
        block_on(self.0.cancel(dataset, session))
    }

    /// An asset's annotation parts, lazily: see [`vi_core::Annotations::list`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn list(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        page_size: u32,
    ) -> Result<Listing<Annotation>> {
        self.0.list(dataset, asset, page_size).map(Listing::from)
    }

    /// One page of an asset's parts: see [`vi_core::Annotations::page`].
    ///
    /// # Errors
    /// As the async method.
    pub fn page(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        page_size: u32,
        cursor: Option<Cursor>,
    ) -> Result<Page<Annotation>> {
        block_on(self.0.page(dataset, asset, page_size, cursor))
    }

    /// One annotation part: see [`vi_core::Annotations::get`].
    ///
    /// # Errors
    /// As the async method.
    pub fn get(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
    ) -> Result<Annotation> {
        block_on(self.0.get(dataset, asset, annotation))
    }

    /// Deletes an annotation part: see [`vi_core::Annotations::delete`].
    ///
    /// # Errors
    /// As the async method.
    pub fn delete(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
    ) -> Result<()> {
        block_on(self.0.delete(dataset, asset, annotation))
    }

    /// Replaces an annotation part: see [`vi_core::Annotations::replace`].
    ///
    /// # Errors
    /// As the async method.
    pub fn replace(&self, dataset: &DatasetId, annotation: &Annotation) -> Result<Annotation> {
        block_on(self.0.replace(dataset, annotation))
    }

    /// Replaces a part with a JSON body: see [`vi_core::Annotations::replace_raw`].
    ///
    /// # Errors
    /// As the async method.
    pub fn replace_raw(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
        body: serde_json::Value,
    ) -> Result<Annotation> {
        block_on(self.0.replace_raw(dataset, asset, annotation, body))
    }

    /// Changes some keys of a part: see [`vi_core::Annotations::update`].
    ///
    /// # Errors
    /// As the async method.
    pub fn update(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
        changes: serde_json::Value,
    ) -> Result<Annotation> {
        block_on(self.0.update(dataset, asset, annotation, changes))
    }
}

impl Datasets {
    /// Updates a dataset: see [`vi_core::Datasets::update`].
    ///
    /// # Errors
    /// As the async method.
    pub fn update(&self, dataset: &DatasetId, update: DatasetUpdate) -> Result<Dataset> {
        block_on(self.0.update(dataset, update))
    }

    /// The lightweight dataset list: see [`vi_core::Datasets::list_simple`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn list_simple(&self, page_size: u32) -> Result<Listing<SimpleDataset>> {
        self.0.list_simple(page_size).map(Listing::from)
    }
}

impl Assets {
    /// Starts a bulk deletion: see [`vi_core::Assets::delete_many`].
    ///
    /// # Errors
    /// As the async method.
    pub fn delete_many(
        &self,
        dataset: &DatasetId,
        criteria: DeleteCriteria,
    ) -> Result<BulkDeletionSession> {
        block_on(self.0.delete_many(dataset, criteria))
    }

    /// One bulk deletion: see [`vi_core::Assets::deletion`].
    ///
    /// # Errors
    /// As the async method.
    pub fn deletion(
        &self,
        dataset: &DatasetId,
        session: &BulkDeletionId,
    ) -> Result<BulkDeletionSession> {
        block_on(self.0.deletion(dataset, session))
    }

    /// A dataset's bulk deletions, lazily: see [`vi_core::Assets::deletions`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn deletions(
        &self,
        dataset: &DatasetId,
        page_size: u32,
    ) -> Result<Listing<BulkDeletionSession>> {
        self.0.deletions(dataset, page_size).map(Listing::from)
    }

    /// Waits for a bulk deletion: see [`vi_core::Assets::wait_for_deletion`].
    ///
    /// # Errors
    /// As the async method.
    pub fn wait_for_deletion(
        &self,
        dataset: &DatasetId,
        session: &BulkDeletionId,
        timeout: Duration,
    ) -> Result<BulkDeletionSession> {
        block_on(self.0.wait_for_deletion(dataset, session, timeout))
    }

    /// A dataset's ingestion sessions, lazily: see [`vi_core::Assets::sessions`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn sessions(
        &self,
        dataset: &DatasetId,
        page_size: u32,
    ) -> Result<Listing<IngestionSession>> {
        self.0.sessions(dataset, page_size).map(Listing::from)
    }

    /// One ingestion session: see [`vi_core::Assets::session`].
    ///
    /// # Errors
    /// As the async method.
    pub fn session(
        &self,
        dataset: &DatasetId,
        session: &IngestionSessionId,
    ) -> Result<IngestionSession> {
        block_on(self.0.session(dataset, session))
    }

    /// Cancels an ingestion session: see [`vi_core::Assets::cancel_session`].
    ///
    /// # Errors
    /// As the async method.
    pub fn cancel_session(&self, dataset: &DatasetId, session: &IngestionSessionId) -> Result<()> {
        block_on(self.0.cancel_session(dataset, session))
    }

    /// Waits for an ingestion session: see [`vi_core::Assets::wait_for_session`].
    ///
    /// # Errors
    /// As the async method.
    pub fn wait_for_session(
        &self,
        dataset: &DatasetId,
        session: &IngestionSessionId,
        timeout: Duration,
    ) -> Result<IngestionSession> {
        block_on(self.0.wait_for_session(dataset, session, timeout))
    }

    /// Finishes an upload that did not wait: see [`vi_core::Assets::finish_upload`].
    ///
    /// # Errors
    /// As the async method.
    pub fn finish_upload(&self, report: UploadReport, timeout: Duration) -> Result<UploadReport> {
        block_on(self.0.finish_upload(report, timeout))
    }

    /// Assets with their annotation parts, lazily: see [`vi_core::Assets::with_objects`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn with_objects(
        &self,
        dataset: &DatasetId,
        options: AssetsWithObjectsOptions,
    ) -> Result<Listing<AssetWithObjects>> {
        self.0.with_objects(dataset, options).map(Listing::from)
    }

    /// One asset with its parts: see [`vi_core::Assets::with_objects_one`].
    ///
    /// # Errors
    /// As the async method.
    pub fn with_objects_one(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
    ) -> Result<AssetWithObjects> {
        block_on(self.0.with_objects_one(dataset, asset))
    }
}

impl Datasets {
    /// Starts an export: see [`vi_core::Datasets::export`].
    ///
    /// # Errors
    /// As the async method.
    pub fn export(&self, dataset: &DatasetId, settings: ExportSettings) -> Result<DatasetExport> {
        block_on(self.0.export(dataset, settings))
    }

    /// One export: see [`vi_core::Datasets::get_export`].
    ///
    /// # Errors
    /// As the async method.
    pub fn get_export(&self, dataset: &DatasetId, export: &ExportId) -> Result<DatasetExport> {
        block_on(self.0.get_export(dataset, export))
    }

    /// A dataset's exports, lazily: see [`vi_core::Datasets::list_exports`].
    ///
    /// # Errors
    /// An invalid page size.
    pub fn list_exports(
        &self,
        dataset: &DatasetId,
        page_size: Option<u32>,
    ) -> Result<Listing<DatasetExport>> {
        self.0.list_exports(dataset, page_size).map(Listing::from)
    }

    /// Downloads a dataset with its labels: see [`vi_core::Datasets::download_dataset`].
    ///
    /// # Errors
    /// As the async method.
    pub fn download_dataset(
        &self,
        dataset: &DatasetId,
        dir: impl AsRef<Path>,
        options: &DatasetDownloadOptions,
    ) -> Result<DownloadedDataset> {
        block_on(self.0.download_dataset(dataset, dir, options))
    }
}
