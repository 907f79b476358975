//! One synchronous view of both facades, so a scenario is written once as a plain function.
//!
//! A scenario is `pub fn name<F: Facade>(env: &TestEnv)`. It makes a client with
//! [`Facade::from_config`] and calls it as a user would (`c.datasets().create("x")`,
//! `c.assets().upload(&ds, path, options)`), without `.await`:
//!
//! * [`AsyncFacade`] wraps a `vi_async::Client` and a multi-threaded tokio runtime of its
//!   own; every method is `runtime.block_on(client....)`.
//! * [`BlockingFacade`] wraps a `vi_blocking::Client`; every method is the client's own.
//!
//! The traits mirror the facades' method names and argument types one for one, so a
//! scenario reads like user code and calls exactly the public method it names. Listings
//! come back as an [`Iterator`] of pages driven by the facade listing's own `next_page`.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use vi_core::api::{
    DownloadOptions, DownloadReport, DownloadedFile, UploadOptions, UploadReport, UploadSources,
};
use vi_core::models::{Asset, Dataset, DeletedDataset, SignedUrl};
use vi_core::{
    AssetId, Config, Core, CountAssetsOptions, Cursor, DatasetId, ListAssetsOptions, NewDataset,
    Page, Result,
};

use crate::TestEnv;

mod async_client;
mod blocking_client;
mod exports;
mod labels;

pub use async_client::{AsyncAssets, AsyncDatasets, AsyncFacade};
pub use blocking_client::{BlockingAssets, BlockingDatasets, BlockingFacade};
pub use exports::ExportOps;
pub use labels::{LabelListings, LabelOps, Labels};

/// The pages of a listing, fetched lazily: each `next()` is one `next_page` of the facade's
/// listing (`None` after the last page, and again if asked again).
pub struct Pages<T>(Box<dyn FnMut() -> Option<Result<Page<T>>>>);

impl<T> Pages<T> {
    /// Pages from a `next_page` function.
    pub fn new(next_page: impl FnMut() -> Option<Result<Page<T>>> + 'static) -> Self {
        Pages(Box::new(next_page))
    }
}

impl<T> Iterator for Pages<T> {
    type Item = Result<Page<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        (self.0)()
    }
}

impl<T> std::fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

/// Creates a dataset named `name` and returns its id.
///
/// # Panics
/// When the dataset cannot be created.
pub fn new_dataset<F: Facade>(c: &F, name: &str) -> DatasetId {
    c.datasets().create(name).expect("create").id().expect("id")
}

/// A facade client seen synchronously: how a scenario makes one and reaches its handles.
pub trait Facade: Sized {
    /// This facade's `client.datasets()`.
    type Datasets: DatasetOps;
    /// This facade's `client.assets()`.
    type Assets: AssetOps;

    /// `Client::from_config(config)`.
    ///
    /// # Errors
    /// As the facade's `Client::from_config`.
    fn from_config(config: Config) -> Result<Self>;

    /// A client for `env`'s emulator, with its credentials and fast retries.
    ///
    /// # Panics
    /// When the client cannot be made.
    fn connect(env: &TestEnv) -> Self {
        Self::from_config(env.config()).expect("a client")
    }

    /// `client.core()`: the shared engine, for calls the facades do not wrap.
    fn core(&self) -> &Core;

    /// Waits for a future the way this facade's callers do: inside the facade's tokio
    /// runtime (async), or parked on the calling thread (blocking). For `vi_core` futures
    /// such as [`crate::seed_assets`].
    fn wait<T>(&self, future: impl Future<Output = T>) -> T;

    /// `client.datasets()`.
    fn datasets(&self) -> Self::Datasets;

    /// `client.assets()`.
    fn assets(&self) -> Self::Assets;
}

/// The dataset operations of both facades (`client.datasets()`), waited for.
pub trait DatasetOps {
    /// `datasets().page(page_size, cursor)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn page(&self, page_size: u32, cursor: Option<Cursor>) -> Result<Page<Dataset>>;

    /// `datasets().get(dataset)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn get(&self, dataset: &DatasetId) -> Result<Dataset>;

    /// `datasets().create(dataset)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn create(&self, dataset: impl Into<NewDataset> + Send) -> Result<Dataset>;

    /// `datasets().delete(dataset)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn delete(&self, dataset: &DatasetId) -> Result<DeletedDataset>;

    /// `datasets().deletion(dataset)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn deletion(&self, dataset: &DatasetId) -> Result<DeletedDataset>;

    /// `datasets().delete_and_wait(dataset, timeout)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn delete_and_wait(&self, dataset: &DatasetId, timeout: Duration) -> Result<DeletedDataset>;

    /// `datasets().list(page_size)`, page by page.
    ///
    /// # Errors
    /// As the facade's method (before any request).
    fn list(&self, page_size: u32) -> Result<Pages<Dataset>>;
}

/// The asset operations of both facades (`client.assets()`), waited for.
pub trait AssetOps {
    /// `assets().page(dataset, options, cursor)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn page(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
        cursor: Option<Cursor>,
    ) -> Result<Page<Asset>>;

    /// `assets().list(dataset, options)`, page by page.
    ///
    /// # Errors
    /// As the facade's method (before any request).
    fn list(&self, dataset: &DatasetId, options: ListAssetsOptions) -> Result<Pages<Asset>>;

    /// `assets().count(dataset, options)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn count(&self, dataset: &DatasetId, options: CountAssetsOptions) -> Result<u64>;

    /// `assets().get(dataset, asset)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn get(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset>;

    /// `assets().get_with_contents(dataset, asset)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn get_with_contents(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset>;

    /// `assets().delete(dataset, asset)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn delete(&self, dataset: &DatasetId, asset: &AssetId) -> Result<()>;

    /// `assets().rename(dataset, asset, new_filename)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn rename(&self, dataset: &DatasetId, asset: &AssetId, new_filename: &str) -> Result<Asset>;

    /// `assets().rename_by_filename(dataset, current_filename, new_filename)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn rename_by_filename(
        &self,
        dataset: &DatasetId,
        current_filename: &str,
        new_filename: &str,
    ) -> Result<Asset>;

    /// `assets().upload(dataset, sources, options)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn upload(
        &self,
        dataset: &DatasetId,
        sources: impl Into<UploadSources> + Send,
        options: UploadOptions,
    ) -> Result<UploadReport>;

    /// `assets().download(dataset, directory, options)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn download(
        &self,
        dataset: &DatasetId,
        directory: &Path,
        options: DownloadOptions,
    ) -> Result<DownloadReport>;

    /// `assets().download_asset(dataset, asset, destination)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn download_asset(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        destination: &Path,
    ) -> Result<DownloadedFile>;

    /// `assets().download_url(url, destination)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn download_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64>;
}
