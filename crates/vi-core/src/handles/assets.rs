//! Asset operations: `client.assets()`.

use std::path::Path;

use crate::download::{DownloadOptions, DownloadReport, DownloadedFile};
use crate::endpoints::{
    CountAssets, CountAssetsOptions, DeleteAsset, GetAsset, ListAssets, ListAssetsOptions,
    RenameAsset, RenameTarget, check_page_size,
};
use crate::engine::Core;
use crate::error::Result;
use crate::ids::{AssetId, DatasetId};
use crate::models::{Asset, SignedUrl};
use crate::paging::{Cursor, Page, Pager};
use crate::upload::{UploadOptions, UploadReport, UploadSources};

use super::Listing;

/// Asset operations: `client.assets()`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Assets {
    pub(super) core: Core,
}

impl From<Core> for Assets {
    fn from(core: Core) -> Self {
        Assets::new(core)
    }
}

impl Assets {
    /// The asset operations of an engine (what `client.assets()` returns).
    pub fn new(core: Core) -> Self {
        Assets { core }
    }

    /// Every asset of a dataset matching `options`, fetched lazily page by page.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a page size outside 1–1000.
    pub fn list(&self, dataset: &DatasetId, options: ListAssetsOptions) -> Result<Listing<Asset>> {
        check_page_size(options.page_size)?;
        let endpoint = ListAssets {
            dataset: dataset.clone(),
            options,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }

    /// One page of a dataset's assets, starting at `cursor` (`None` for the first page),
    /// with the listing options (page size, filter, sort, signed URLs).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a page size outside 1–1000;
    /// an API error of kind `NotFound` for an unknown dataset.
    pub async fn page(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
        cursor: Option<Cursor>,
    ) -> Result<Page<Asset>> {
        let dataset = dataset.clone();
        let endpoint = ListAssets {
            dataset,
            options,
            cursor,
        };
        Ok(Page::from_envelope(self.core.execute(&endpoint).await?))
    }

    /// How many assets match the options (all of them with `CountAssetsOptions::new()`).
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown dataset.
    pub async fn count(&self, dataset: &DatasetId, options: CountAssetsOptions) -> Result<u64> {
        let dataset = dataset.clone();
        self.core.execute(&CountAssets { dataset, options }).await
    }

    /// One asset's metadata, without a download URL.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the asset or dataset does not exist.
    pub async fn get(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        self.core
            .execute(&GetAsset::new(dataset, asset, false))
            .await
    }

    /// One asset with `contents`: its signed download URL and the URL's expiry
    /// (`asset.contents.asset.expires_at()`). The URL is a credential: it is never printed
    /// by `Debug`.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the asset or dataset does not exist.
    pub async fn get_with_contents(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        self.core
            .execute(&GetAsset::new(dataset, asset, true))
            .await
    }

    /// Deletes an asset. A retried delete that finds the asset already gone counts as
    /// success.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the asset does not exist.
    pub async fn delete(&self, dataset: &DatasetId, asset: &AssetId) -> Result<()> {
        let (dataset, asset) = (dataset.clone(), asset.clone());
        self.core.execute(&DeleteAsset { dataset, asset }).await
    }

    /// Renames an asset addressed by id and returns it as it now is.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an empty name; an API error
    /// of kind `Conflict` when another asset already has that name.
    pub async fn rename(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        new_filename: &str,
    ) -> Result<Asset> {
        let target = RenameTarget::Id(asset.clone());
        self.rename_target(dataset, target, new_filename).await
    }

    /// Renames the asset whose filename is `current_filename` (any characters, `/`
    /// included, are sent as one path segment).
    ///
    /// # Errors
    /// As [`rename`](Self::rename); `NotFound` when no asset has that filename.
    pub async fn rename_by_filename(
        &self,
        dataset: &DatasetId,
        current_filename: &str,
        new_filename: &str,
    ) -> Result<Asset> {
        let target = RenameTarget::Filename(current_filename.to_owned());
        self.rename_target(dataset, target, new_filename).await
    }

    async fn rename_target(
        &self,
        dataset: &DatasetId,
        target: RenameTarget,
        new_filename: &str,
    ) -> Result<Asset> {
        let by_id = match &target {
            RenameTarget::Id(id) => Some(id.clone()),
            RenameTarget::Filename(_) => None,
        };
        let endpoint = RenameAsset {
            dataset: dataset.clone(),
            target,
            new_filename: new_filename.to_owned(),
        };
        if let Some(asset) = self.core.execute(&endpoint).await? {
            return Ok(asset);
        }
        // The rename is done but the reply did not show the asset: read it back, by id
        // when we have one, else by its new name (unique in the dataset).
        match by_id {
            Some(id) => self.core.execute(&GetAsset::new(dataset, &id, false)).await,
            None => self.find_by_filename(dataset, new_filename).await,
        }
    }

    /// The asset of `dataset` named `filename`, looked for page by page.
    async fn find_by_filename(&self, dataset: &DatasetId, filename: &str) -> Result<Asset> {
        let mut cursor = None;
        // A service that repeats a page token would otherwise keep us here for ever.
        let mut seen = std::collections::HashSet::new();
        loop {
            let options = ListAssetsOptions::new().page_size(crate::endpoints::MAX_PAGE_SIZE);
            let page = self.page(dataset, options, cursor).await?;
            if let Some(found) = page.items.into_iter().find(|a| a.filename == filename) {
                return Ok(found);
            }
            match page.next {
                Some(next) if seen.insert(next.clone()) => cursor = Some(next),
                _ => {
                    return Err(crate::Error::Decode {
                        operation: "rename asset".to_owned(),
                        message: format!(
                            "the service confirmed the rename but no asset is named {filename:?} \
                             afterwards; list the dataset to see what it holds"
                        ),
                    });
                }
            }
        }
    }

    /// Uploads files, folders (recursively) and in-memory bytes to a dataset through
    /// ingestion sessions, and by default waits until the service has taken them in.
    /// `sources` is a path (`"photos/"`), a `Vec<PathBuf>`, a `Vec<(name, bytes)>` or an
    /// [`UploadSources`] mixing them.
    ///
    /// Every input file ends up in exactly one of the report's `succeeded`, `failed`,
    /// `skipped` and `processing` lists, with a reason for the last three; call
    /// `into_result()` on the report to turn any shortfall into an error.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) before anything is sent (nothing
    /// to upload, a missing path, a bad option); an API error when the dataset cannot be
    /// uploaded to at all (unknown dataset, wrong credentials).
    pub async fn upload(
        &self,
        dataset: &DatasetId,
        sources: impl Into<UploadSources>,
        options: UploadOptions,
    ) -> Result<UploadReport> {
        self.core.upload(dataset, sources.into(), options).await
    }

    /// Downloads assets of a dataset into `<directory>/<dataset id>/`: all of them by
    /// default, or the chosen ids, or a listing's (see [`DownloadOptions`]). Complete
    /// existing files are skipped, a partial file left by an interrupted run is continued,
    /// every file is verified before it gets its final name.
    ///
    /// Every asset ends up in exactly one of the report's `downloaded`, `skipped` and
    /// `failed` lists.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for bad options; an API error
    /// when the dataset cannot be listed at all; an I/O error when the directory cannot be
    /// created.
    pub async fn download(
        &self,
        dataset: &DatasetId,
        directory: &Path,
        options: DownloadOptions,
    ) -> Result<DownloadReport> {
        self.core.download(dataset, directory, options).await
    }

    /// Downloads one asset to exactly `destination` (replacing any file there), through a
    /// partial file, verified, with a fresh URL if the first one expires.
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown asset;
    /// [`Error::Operation`](crate::Error::Operation) when the transfer or the verification
    /// fails after retries.
    pub async fn download_asset(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        destination: &Path,
    ) -> Result<DownloadedFile> {
        self.core.download_asset(dataset, asset, destination).await
    }

    /// Downloads a signed URL (from `get_with_contents` or a listing with contents) to
    /// `destination` and returns the bytes written. The body streams to a partial file and
    /// is renamed into place only when complete.
    ///
    /// # Errors
    /// An API error of kind `PermissionDenied` (403) when the URL was tampered with or has
    /// expired; transport errors after retries; I/O errors naming the path.
    pub async fn download_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64> {
        self.core.download_url(url, destination).await
    }
}
