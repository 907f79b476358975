//! Annotation operations: `client.annotations()`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::endpoints::{
    AnnotationRef, DeleteAnnotation, GetAnnotation, GetAnnotationImportSession,
    ListAnnotationImportSessions, ListAnnotations, SetAnnotationImportStatus, WriteAnnotation,
    check_page_size,
};
use crate::engine::Core;
use crate::error::{Error, Result};
use crate::ids::{AnnotationId, AnnotationImportSessionId, AssetId, DatasetId};
use crate::import::{ImportOptions, ImportReport};
use crate::models::{Annotation, AnnotationImportSession};
use crate::paging::{Cursor, Page, Pager};

use super::Listing;

/// Annotation operations: `client.annotations()`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Annotations {
    core: Core,
}

impl From<Core> for Annotations {
    fn from(core: Core) -> Self {
        Annotations { core }
    }
}

fn part(dataset: &DatasetId, asset: &AssetId, annotation: &AnnotationId) -> AnnotationRef {
    AnnotationRef {
        dataset: dataset.clone(),
        asset: asset.clone(),
        annotation: annotation.clone(),
    }
}

impl Annotations {
    /// Imports annotation files (Vi JSONL, or any format the service recognises by name and
    /// content) into a dataset: files named are taken whatever their extension, folders are
    /// searched for `.json` and `.jsonl` files. Each file is declared with its size and
    /// CRC-32C, sent to its own upload URL (never another file's), and the session is
    /// waited for unless `options` say not to.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before anything is sent for a missing path, no files, or two
    /// files of the same name (see [`DuplicateNames`](crate::import::DuplicateNames)); any
    /// error of the session calls. Files that could not be sent are in the report, with
    /// the session marked failed.
    pub async fn upload<P: Into<PathBuf>>(
        &self,
        dataset: &DatasetId,
        paths: impl IntoIterator<Item = P>,
        options: ImportOptions,
    ) -> Result<ImportReport> {
        let paths: Vec<PathBuf> = paths.into_iter().map(Into::into).collect();
        crate::import::import(&self.core, dataset, paths, &options).await
    }

    /// One annotation import session.
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown session.
    pub async fn session(
        &self,
        dataset: &DatasetId,
        session: &AnnotationImportSessionId,
    ) -> Result<AnnotationImportSession> {
        let get = GetAnnotationImportSession {
            dataset: dataset.clone(),
            session: session.clone(),
        };
        self.core.execute(&get).await
    }

    /// Every annotation import session of a dataset, lazily.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a page size outside 1–1000.
    pub fn sessions(
        &self,
        dataset: &DatasetId,
        page_size: u32,
    ) -> Result<Listing<AnnotationImportSession>> {
        check_page_size(page_size)?;
        let endpoint = ListAnnotationImportSessions {
            dataset: dataset.clone(),
            page_size,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }

    /// Waits until an import session is done or `timeout` passes (polling with backoff up
    /// to every 10 s) and returns it as last seen; check
    /// [`AnnotationImportSession::is_done`] when the timeout may have come first.
    ///
    /// # Errors
    /// [`Error::Operation`] when the session failed; any error of the get call.
    pub async fn wait(
        &self,
        dataset: &DatasetId,
        session: &AnnotationImportSessionId,
        timeout: Duration,
    ) -> Result<AnnotationImportSession> {
        let get = GetAnnotationImportSession {
            dataset: dataset.clone(),
            session: session.clone(),
        };
        crate::import::wait_until(
            &self.core,
            timeout,
            format!("annotation import {session}"),
            || self.core.execute(&get),
            crate::import::judge,
        )
        .await
    }

    /// Ends an import session that was not completed: reports `FilesInserted` failed with
    /// reason `CancelledByUser` (what the official client's uploader sends on interrupt).
    ///
    /// # Errors
    /// As any API call (e.g. `Conflict` when the session is already finished).
    pub async fn cancel(
        &self,
        dataset: &DatasetId,
        session: &AnnotationImportSessionId,
    ) -> Result<AnnotationImportSession> {
        let set = SetAnnotationImportStatus {
            dataset: dataset.clone(),
            session: session.clone(),
            body: crate::import::files_inserted(false, Some("CancelledByUser")),
        };
        self.core.execute(&set).await
    }

    /// Every annotation part of an asset, lazily (`page_size` per request, 1–1000).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a page size outside 1–1000.
    pub fn list(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        page_size: u32,
    ) -> Result<Listing<Annotation>> {
        check_page_size(page_size)?;
        let endpoint = ListAnnotations {
            dataset: dataset.clone(),
            asset: asset.clone(),
            page_size,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }

    /// One page of an asset's annotation parts from `cursor`.
    ///
    /// # Errors
    /// As any API call.
    pub async fn page(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        page_size: u32,
        cursor: Option<Cursor>,
    ) -> Result<Page<Annotation>> {
        let endpoint = ListAnnotations {
            dataset: dataset.clone(),
            asset: asset.clone(),
            page_size,
            cursor,
        };
        Ok(Page::from_envelope(self.core.execute(&endpoint).await?))
    }

    /// One annotation part.
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown part.
    pub async fn get(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
    ) -> Result<Annotation> {
        let get = GetAnnotation {
            target: part(dataset, asset, annotation),
        };
        self.core.execute(&get).await
    }

    /// Deletes an annotation part (a repeated delete that finds it gone succeeds).
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown part.
    pub async fn delete(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
    ) -> Result<()> {
        let delete = DeleteAnnotation {
            target: part(dataset, asset, annotation),
        };
        self.core.execute(&delete).await
    }

    /// Replaces an annotation part with `annotation` (read it with [`get`](Self::get),
    /// change it, send it back).
    ///
    /// # Errors
    /// As any API call.
    pub async fn replace(
        &self,
        dataset: &DatasetId,
        annotation: &Annotation,
    ) -> Result<Annotation> {
        let asset = AssetId::new(annotation.asset_id.clone())?;
        let id = AnnotationId::new(annotation.annotation_id.clone())?;
        let body = serde_json::to_value(annotation)
            .map_err(|e| Error::invalid("annotation", e.to_string()))?;
        self.write(dataset, &asset, &id, true, body).await
    }

    /// Replaces an annotation part with a JSON body of its shape, as given.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `body` is not a JSON object; as any API call.
    pub async fn replace_raw(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
        body: Value,
    ) -> Result<Annotation> {
        self.write(dataset, asset, annotation, true, body).await
    }

    /// Changes the keys of an annotation part that `changes` gives (a partial of its
    /// shape, e.g. `{"spec": {"tag": 2}}`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `changes` is not a JSON object; as any API call.
    pub async fn update(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
        changes: Value,
    ) -> Result<Annotation> {
        self.write(dataset, asset, annotation, false, changes).await
    }

    async fn write(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        annotation: &AnnotationId,
        replace: bool,
        body: Value,
    ) -> Result<Annotation> {
        let write = WriteAnnotation {
            target: part(dataset, asset, annotation),
            replace,
            body,
        };
        self.core.execute(&write).await
    }
}
