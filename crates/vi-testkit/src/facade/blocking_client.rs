//! [`Facade`] for `vi_blocking::Client`: every call is the client's own blocking method.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use vi_blocking::Client;
use vi_core::api::{
    DownloadOptions, DownloadReport, DownloadedFile, UploadOptions, UploadReport, UploadSources,
};
use vi_core::models::{Asset, Dataset, DeletedDataset, SignedUrl};
use vi_core::{
    AssetId, Config, Core, CountAssetsOptions, Cursor, DatasetId, ListAssetsOptions, NewDataset,
    Page, Result,
};

use super::{AssetOps, DatasetOps, Facade, Pages};

/// The blocking client. Cheap to clone; clones share connections.
#[derive(Clone, Debug)]
pub struct BlockingFacade(Client);

impl BlockingFacade {
    /// The wrapped client.
    pub fn client(&self) -> &Client {
        &self.0
    }
}

impl Facade for BlockingFacade {
    type Datasets = BlockingDatasets;
    type Assets = BlockingAssets;

    fn from_config(config: Config) -> Result<Self> {
        Client::from_config(config).map(BlockingFacade)
    }

    fn core(&self) -> &Core {
        self.0.core()
    }

    fn wait<T>(&self, future: impl Future<Output = T>) -> T {
        vi_blocking::runtime::block_on(future)
    }

    fn datasets(&self) -> BlockingDatasets {
        BlockingDatasets(self.0.clone())
    }

    fn assets(&self) -> BlockingAssets {
        BlockingAssets(self.0.clone())
    }
}

/// `client.datasets()` of [`BlockingFacade`].
#[derive(Clone, Debug)]
pub struct BlockingDatasets(Client);

impl DatasetOps for BlockingDatasets {
    fn page(&self, page_size: u32, cursor: Option<Cursor>) -> Result<Page<Dataset>> {
        self.0.datasets().page(page_size, cursor)
    }

    fn get(&self, dataset: &DatasetId) -> Result<Dataset> {
        self.0.datasets().get(dataset)
    }

    fn create(&self, dataset: impl Into<NewDataset> + Send) -> Result<Dataset> {
        self.0.datasets().create(dataset)
    }

    fn delete(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        self.0.datasets().delete(dataset)
    }

    fn deletion(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        self.0.datasets().deletion(dataset)
    }

    fn delete_and_wait(&self, dataset: &DatasetId, timeout: Duration) -> Result<DeletedDataset> {
        self.0.datasets().delete_and_wait(dataset, timeout)
    }

    fn list(&self, page_size: u32) -> Result<Pages<Dataset>> {
        let mut listing = self.0.datasets().list(page_size)?;
        Ok(Pages::new(move || listing.next_page()))
    }
}

/// `client.assets()` of [`BlockingFacade`].
#[derive(Clone, Debug)]
pub struct BlockingAssets(Client);

impl AssetOps for BlockingAssets {
    fn page(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
        cursor: Option<Cursor>,
    ) -> Result<Page<Asset>> {
        self.0.assets().page(dataset, options, cursor)
    }

    fn list(&self, dataset: &DatasetId, options: ListAssetsOptions) -> Result<Pages<Asset>> {
        let mut listing = self.0.assets().list(dataset, options)?;
        Ok(Pages::new(move || listing.next_page()))
    }

    fn count(&self, dataset: &DatasetId, options: CountAssetsOptions) -> Result<u64> {
        self.0.assets().count(dataset, options)
    }

    fn get(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        self.0.assets().get(dataset, asset)
    }

    fn get_with_contents(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        self.0.assets().get_with_contents(dataset, asset)
    }

    fn delete(&self, dataset: &DatasetId, asset: &AssetId) -> Result<()> {
        self.0.assets().delete(dataset, asset)
    }

    fn rename(&self, dataset: &DatasetId, asset: &AssetId, new_filename: &str) -> Result<Asset> {
        self.0.assets().rename(dataset, asset, new_filename)
    }

    fn rename_by_filename(
        &self,
        dataset: &DatasetId,
        current_filename: &str,
        new_filename: &str,
    ) -> Result<Asset> {
        self.0
            .assets()
            .rename_by_filename(dataset, current_filename, new_filename)
    }

    fn upload(
        &self,
        dataset: &DatasetId,
        sources: impl Into<UploadSources> + Send,
        options: UploadOptions,
    ) -> Result<UploadReport> {
        self.0.assets().upload(dataset, sources, options)
    }

    fn download(
        &self,
        dataset: &DatasetId,
        directory: &Path,
        options: DownloadOptions,
    ) -> Result<DownloadReport> {
        self.0.assets().download(dataset, directory, options)
    }

    fn download_asset(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        destination: &Path,
    ) -> Result<DownloadedFile> {
        self.0.assets().download_asset(dataset, asset, destination)
    }

    fn download_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64> {
        self.0.assets().download_url(url, destination)
    }
}
