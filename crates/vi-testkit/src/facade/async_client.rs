//! [`Facade`] for `vi_async::Client`: every call is `runtime.block_on(client....)` on a
//! multi-threaded tokio runtime the facade value owns.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use vi_async::Client;
use vi_core::api::{
    DownloadOptions, DownloadReport, DownloadedFile, UploadOptions, UploadReport, UploadSources,
};
use vi_core::models::{Asset, Dataset, DeletedDataset, SignedUrl};
use vi_core::{
    AssetId, Config, Core, CountAssetsOptions, Cursor, DatasetId, ListAssetsOptions, NewDataset,
    Page, Result,
};

use super::{AssetOps, DatasetOps, Facade, Pages};

/// The async client on its own tokio runtime (multi-threaded, two workers), seen
/// synchronously. Cheap to clone; clones share the client and the runtime.
#[derive(Clone, Debug)]
pub struct AsyncFacade {
    client: Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl AsyncFacade {
    /// The wrapped client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Facade for AsyncFacade {
    type Datasets = AsyncDatasets;
    type Assets = AsyncAssets;

    fn from_config(config: Config) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        Ok(AsyncFacade {
            client: Client::from_config(config)?,
            runtime: Arc::new(runtime),
        })
    }

    fn core(&self) -> &Core {
        self.client.core()
    }

    fn wait<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    fn datasets(&self) -> AsyncDatasets {
        AsyncDatasets(self.clone())
    }

    fn assets(&self) -> AsyncAssets {
        AsyncAssets(self.clone())
    }
}

/// `client.datasets()` of [`AsyncFacade`].
#[derive(Clone, Debug)]
pub struct AsyncDatasets(AsyncFacade);

impl DatasetOps for AsyncDatasets {
    fn page(&self, page_size: u32, cursor: Option<Cursor>) -> Result<Page<Dataset>> {
        self.0
            .wait(self.0.client.datasets().page(page_size, cursor))
    }

    fn get(&self, dataset: &DatasetId) -> Result<Dataset> {
        self.0.wait(self.0.client.datasets().get(dataset))
    }

    fn create(&self, dataset: impl Into<NewDataset> + Send) -> Result<Dataset> {
        self.0.wait(self.0.client.datasets().create(dataset))
    }

    fn delete(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        self.0.wait(self.0.client.datasets().delete(dataset))
    }

    fn deletion(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        self.0.wait(self.0.client.datasets().deletion(dataset))
    }

    fn delete_and_wait(&self, dataset: &DatasetId, timeout: Duration) -> Result<DeletedDataset> {
        let datasets = self.0.client.datasets();
        self.0.wait(datasets.delete_and_wait(dataset, timeout))
    }

    fn list(&self, page_size: u32) -> Result<Pages<Dataset>> {
        let mut listing = self.0.client.datasets().list(page_size)?;
        let runtime = self.0.runtime.clone();
        Ok(Pages::new(move || runtime.block_on(listing.next_page())))
    }
}

/// `client.assets()` of [`AsyncFacade`].
#[derive(Clone, Debug)]
pub struct AsyncAssets(AsyncFacade);

impl AssetOps for AsyncAssets {
    fn page(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
        cursor: Option<Cursor>,
    ) -> Result<Page<Asset>> {
        self.0
            .wait(self.0.client.assets().page(dataset, options, cursor))
    }

    fn list(&self, dataset: &DatasetId, options: ListAssetsOptions) -> Result<Pages<Asset>> {
        let mut listing = self.0.client.assets().list(dataset, options)?;
        let runtime = self.0.runtime.clone();
        Ok(Pages::new(move || runtime.block_on(listing.next_page())))
    }

    fn count(&self, dataset: &DatasetId, options: CountAssetsOptions) -> Result<u64> {
        self.0.wait(self.0.client.assets().count(dataset, options))
    }

    fn get(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        self.0.wait(self.0.client.assets().get(dataset, asset))
    }

    fn get_with_contents(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        let assets = self.0.client.assets();
        self.0.wait(assets.get_with_contents(dataset, asset))
    }

    fn delete(&self, dataset: &DatasetId, asset: &AssetId) -> Result<()> {
        self.0.wait(self.0.client.assets().delete(dataset, asset))
    }

    fn rename(&self, dataset: &DatasetId, asset: &AssetId, new_filename: &str) -> Result<Asset> {
        let assets = self.0.client.assets();
        self.0.wait(assets.rename(dataset, asset, new_filename))
    }

    fn rename_by_filename(
        &self,
        dataset: &DatasetId,
        current_filename: &str,
        new_filename: &str,
    ) -> Result<Asset> {
        let assets = self.0.client.assets();
        self.0
            .wait(assets.rename_by_filename(dataset, current_filename, new_filename))
    }

    fn upload(
        &self,
        dataset: &DatasetId,
        sources: impl Into<UploadSources> + Send,
        options: UploadOptions,
    ) -> Result<UploadReport> {
        let assets = self.0.client.assets();
        self.0.wait(assets.upload(dataset, sources, options))
    }

    fn download(
        &self,
        dataset: &DatasetId,
        directory: &Path,
        options: DownloadOptions,
    ) -> Result<DownloadReport> {
        let assets = self.0.client.assets();
        self.0.wait(assets.download(dataset, directory, options))
    }

    fn download_asset(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        destination: &Path,
    ) -> Result<DownloadedFile> {
        let assets = self.0.client.assets();
        self.0
            .wait(assets.download_asset(dataset, asset, destination))
    }

    fn download_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64> {
        let assets = self.0.client.assets();
        self.0.wait(assets.download_url(url, destination))
    }
}
