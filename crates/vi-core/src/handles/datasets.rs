//! Dataset operations: `client.datasets()`.

use std::time::Duration;

use crate::endpoints::{
    CreateDataset, CreateExport, DeleteDataset, ExportSettings, GetDataset, GetDatasetDeletion,
    GetExport, ListDatasets, ListExports, NewDataset, check_page_size,
};
use crate::engine::Core;
use crate::error::{Error, Result};
use crate::export::{DatasetDownloadOptions, DownloadedDataset};
use crate::ids::{DatasetId, ExportId};
use crate::models::{Dataset, DatasetExport, DeletedDataset};
use crate::paging::{Cursor, Page, Pager};

use super::Listing;

/// Dataset operations: `client.datasets()`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Datasets {
    pub(super) core: Core,
}

impl From<Core> for Datasets {
    fn from(core: Core) -> Self {
        Datasets::new(core)
    }
}

impl Datasets {
    /// The dataset operations of an engine (what `client.datasets()` returns).
    pub fn new(core: Core) -> Self {
        Datasets { core }
    }

    /// Every dataset of the organization, fetched lazily page by page (`page_size` per
    /// request, 1–1000).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a page size outside 1–1000.
    pub fn list(&self, page_size: u32) -> Result<Listing<Dataset>> {
        check_page_size(page_size)?;
        let endpoint = ListDatasets {
            page_size,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }

    /// One page of the organization's datasets, starting at `cursor` (`None` for the first
    /// page). Use the page's `next` cursor to resume a listing later.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a page size outside 1–1000; otherwise as any API call
    /// (transport, API error, decode).
    pub async fn page(&self, page_size: u32, cursor: Option<Cursor>) -> Result<Page<Dataset>> {
        let envelope = self
            .core
            .execute(&ListDatasets { page_size, cursor })
            .await?;
        Ok(Page::from_envelope(envelope))
    }

    /// One dataset, with its statistics (asset total, annotations).
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the dataset does not exist.
    pub async fn get(&self, dataset: &DatasetId) -> Result<Dataset> {
        let dataset = dataset.clone();
        self.core.execute(&GetDataset { dataset }).await
    }

    /// Creates a dataset: `create("Drone survey")` or
    /// `create(NewDataset::new("Drone survey").description("spring"))`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name; otherwise as any API call. Creation is
    /// never retried after the request may have reached the service, so a dataset is never
    /// created twice.
    pub async fn create(&self, dataset: impl Into<NewDataset>) -> Result<Dataset> {
        let dataset = dataset.into();
        self.core.execute(&CreateDataset { dataset }).await
    }

    /// Starts deleting a dataset (deletion is asynchronous on the service) and returns the
    /// deletion operation.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when the dataset does not exist.
    pub async fn delete(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        let dataset = dataset.clone();
        self.core.execute(&DeleteDataset { dataset }).await
    }

    /// The state of a dataset's deletion operation.
    ///
    /// # Errors
    /// As any API call.
    pub async fn deletion(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        let dataset = dataset.clone();
        self.core.execute(&GetDatasetDeletion { dataset }).await
    }

    /// Deletes a dataset and polls, with backoff, until the deletion is done or `timeout`
    /// passes; returns the last state seen (check [`DeletedDataset::is_done`] when the
    /// timeout may have passed first).
    ///
    /// # Errors
    /// As [`delete`](Self::delete); [`Error::Operation`] when the service reports that the
    /// deletion failed.
    pub async fn delete_and_wait(
        &self,
        dataset: &DatasetId,
        timeout: Duration,
    ) -> Result<DeletedDataset> {
        let runtime = self.core.runtime();
        let mut op = self.delete(dataset).await?;
        let started = runtime.now();
        let mut delay = Duration::from_millis(200);
        loop {
            if let Some(failed) = op.failure() {
                return Err(Error::Operation {
                    operation: format!("deleting dataset {dataset}"),
                    message: format!(
                        "{}: {}",
                        failed.condition,
                        failed.message.as_deref().unwrap_or("no reason given")
                    ),
                });
            }
            if op.is_done() || runtime.now().saturating_duration_since(started) + delay > timeout {
                return Ok(op);
            }
            runtime.sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
            op = self.deletion(dataset).await?;
        }
    }
}

impl Datasets {
    /// Starts building an export archive of `dataset` with `settings` (format, normalized
    /// coordinates, split ratio); poll it with [`get_export`](Self::get_export), or use
    /// [`download_dataset`](Self::download_dataset), which does the whole job.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a split ratio outside 0–1 or an unknown format;
    /// otherwise as any API call. Never retried once the request may have arrived, so
    /// at most one export is created.
    pub async fn export(
        &self,
        dataset: &DatasetId,
        settings: ExportSettings,
    ) -> Result<DatasetExport> {
        let dataset = dataset.clone();
        self.core.execute(&CreateExport { dataset, settings }).await
    }

    /// One export of `dataset`, with its progress and, once built, its download URL.
    ///
    /// # Errors
    /// An API error of kind `NotFound` when there is no such export.
    pub async fn get_export(
        &self,
        dataset: &DatasetId,
        export: &ExportId,
    ) -> Result<DatasetExport> {
        let (dataset, export) = (dataset.clone(), export.clone());
        self.core.execute(&GetExport { dataset, export }).await
    }

    /// Every export of `dataset`, fetched lazily page by page (`page_size` per request,
    /// 1–1000; `None` leaves the page size to the service).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a page size outside 1–1000.
    pub fn list_exports(
        &self,
        dataset: &DatasetId,
        page_size: Option<u32>,
    ) -> Result<Listing<DatasetExport>> {
        page_size.map(check_page_size).transpose()?;
        let endpoint = ListExports {
            dataset: dataset.clone(),
            page_size,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }

    /// Downloads `dataset` with its annotations into `<dir>/<dataset id>/`, ready for
    /// training: creates an export (or reuses one, see the options), waits for it,
    /// downloads its archive in parallel ranged reads, each checked, continuing what an
    /// interrupted call left, unpacks it safely into a staging folder and renames that
    /// into place only when complete, with `metadata.json` written last. A complete copy
    /// already in the folder is returned without asking the service (unless
    /// `overwrite`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad options or a format that does not suit the dataset
    /// type (see [`DatasetDownloadOptions::skip_format_check`]); [`Error::Operation`] when
    /// the export fails or the wait times out; [`Error::Verification`] when the storage
    /// answers a range with other bytes or the archive's checksum does not match;
    /// [`Error::Archive`] when the archive is unsafe or corrupt (nothing is put in
    /// place); [`Error::Io`] for the disk; otherwise as any API call.
    pub async fn download_dataset(
        &self,
        dataset: &DatasetId,
        dir: impl AsRef<std::path::Path>,
        options: &DatasetDownloadOptions,
    ) -> Result<DownloadedDataset> {
        self.core
            .download_dataset(dataset, dir.as_ref(), options)
            .await
    }
}
