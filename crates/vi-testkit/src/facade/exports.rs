//! The export calls of both facades (`client.datasets().export(…)`, `get_export`,
//! `download_dataset`), waited for, as one trait both facade types implement.

use std::path::Path;

use vi_core::api::{DatasetDownloadOptions, DownloadedDataset, ExportId, ExportSettings};
use vi_core::models::DatasetExport;
use vi_core::{DatasetId, Result};

use super::{AsyncFacade, BlockingFacade, Facade};

/// `client.datasets()`'s export calls.
pub trait ExportOps: Facade {
    /// `datasets().export(dataset, settings)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn export(&self, dataset: &DatasetId, settings: ExportSettings) -> Result<DatasetExport>;

    /// `datasets().get_export(dataset, export)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn get_export(&self, dataset: &DatasetId, export: &ExportId) -> Result<DatasetExport>;

    /// `datasets().list_exports(dataset, page_size)`, every page; returns the pages' sizes
    /// and the exports.
    ///
    /// # Errors
    /// As the facade's method.
    fn list_exports(
        &self,
        dataset: &DatasetId,
        page_size: Option<u32>,
    ) -> Result<(Vec<usize>, Vec<DatasetExport>)>;

    /// `datasets().download_dataset(dataset, dir, options)`.
    ///
    /// # Errors
    /// As the facade's method.
    fn download_dataset(
        &self,
        dataset: &DatasetId,
        dir: &Path,
        options: &DatasetDownloadOptions,
    ) -> Result<DownloadedDataset>;
}

impl ExportOps for AsyncFacade {
    fn list_exports(
        &self,
        dataset: &DatasetId,
        page_size: Option<u32>,
    ) -> Result<(Vec<usize>, Vec<DatasetExport>)> {
        let mut listing = self.client().datasets().list_exports(dataset, page_size)?;
        let mut pages = (Vec::new(), Vec::new());
        while let Some(page) = self.wait(listing.next_page()) {
            let page = page?;
            pages.0.push(page.items.len());
            pages.1.extend(page.items);
        }
        Ok(pages)
    }

    fn export(&self, dataset: &DatasetId, settings: ExportSettings) -> Result<DatasetExport> {
        self.wait(self.client().datasets().export(dataset, settings))
    }

    fn get_export(&self, dataset: &DatasetId, export: &ExportId) -> Result<DatasetExport> {
        self.wait(self.client().datasets().get_export(dataset, export))
    }

    fn download_dataset(
        &self,
        dataset: &DatasetId,
        dir: &Path,
        options: &DatasetDownloadOptions,
    ) -> Result<DownloadedDataset> {
        self.wait(
            self.client()
                .datasets()
                .download_dataset(dataset, dir, options),
        )
    }
}

impl ExportOps for BlockingFacade {
    fn list_exports(
        &self,
        dataset: &DatasetId,
        page_size: Option<u32>,
    ) -> Result<(Vec<usize>, Vec<DatasetExport>)> {
        let mut listing = self.client().datasets().list_exports(dataset, page_size)?;
        let mut pages = (Vec::new(), Vec::new());
        while let Some(page) = listing.next_page() {
            let page = page?;
            pages.0.push(page.items.len());
            pages.1.extend(page.items);
        }
        Ok(pages)
    }

    fn export(&self, dataset: &DatasetId, settings: ExportSettings) -> Result<DatasetExport> {
        self.client().datasets().export(dataset, settings)
    }

    fn get_export(&self, dataset: &DatasetId, export: &ExportId) -> Result<DatasetExport> {
        self.client().datasets().get_export(dataset, export)
    }

    fn download_dataset(
        &self,
        dataset: &DatasetId,
        dir: &Path,
        options: &DatasetDownloadOptions,
    ) -> Result<DownloadedDataset> {
        self.client()
            .datasets()
            .download_dataset(dataset, dir, options)
    }
}
