//! Ingestion sessions as resources, and assets with their annotation parts
//! (`client.assets()`): an upload started without waiting is finished later from its
//! report, or from a session id alone.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::endpoints::{
    AssetsWithObjectsOptions, CancelIngestionSession, GetAssetWithObjects, GetIngestionSession,
    ListAssetsWithObjects, ListIngestionSessions, check_page_size,
};
use crate::error::Result;
use crate::ids::{AssetId, DatasetId, IngestionSessionId};
use crate::import::{Verdict, poll, wait_until};
use crate::models::{AssetWithObjects, IngestionSession, is_finished_reached};
use crate::paging::Pager;
use crate::upload::{FailedFile, UploadFailure, UploadReport};

use super::{Assets, Listing};

/// The verdict on an ingestion session: done once a `Finished` condition is reached (the
/// rule of the official client's wait), failed on any `FailedReach`.
fn judge_ingestion(session: &IngestionSession) -> Verdict {
    match session.failure() {
        Some(failed) => Verdict::Failed(failed.condition.clone()),
        None if is_finished_reached(&session.status.conditions) => Verdict::Done,
        None => Verdict::Pending,
    }
}

/// Moves the files still processing in `report` to where the final `sessions` put them:
/// rejected by an `Error` event, failed with their session, or taken in; files of a
/// session still running stay processing.
pub(crate) fn settle(report: &mut UploadReport, sessions: &BTreeMap<String, IngestionSession>) {
    let processing = std::mem::take(&mut report.processing);
    for file in processing {
        let Some(session) = sessions.get(file.session.as_str()) else {
            report.processing.push(file);
            continue;
        };
        let rejected = session.failed_files();
        let reason = if let Some(code) = rejected.get(&file.filename) {
            Some(UploadFailure::Rejected { code: code.clone() })
        } else {
            match judge_ingestion(session) {
                Verdict::Failed(message) => Some(UploadFailure::SessionFailed { message }),
                Verdict::Done => None,
                Verdict::Pending => {
                    report.processing.push(file);
                    continue;
                }
            }
        };
        match reason {
            Some(reason) => report.failed.push(FailedFile {
                source: file.source,
                filename: file.filename,
                reason,
            }),
            None => report.succeeded.push(file),
        }
    }
    for seen in &mut report.sessions {
        if let Some(last) = sessions.get(&seen.asset_ingestion_session_id) {
            *seen = last.clone();
        }
    }
}

impl Assets {
    /// Every ingestion session of a dataset, lazily (`page_size` per request).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a page size outside 1–1000.
    pub fn sessions(
        &self,
        dataset: &DatasetId,
        page_size: u32,
    ) -> Result<Listing<IngestionSession>> {
        check_page_size(page_size)?;
        let endpoint = ListIngestionSessions {
            dataset: dataset.clone(),
            page_size,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }

    /// One ingestion session.
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown session.
    pub async fn session(
        &self,
        dataset: &DatasetId,
        session: &IngestionSessionId,
    ) -> Result<IngestionSession> {
        let get = GetIngestionSession {
            dataset: dataset.clone(),
            session: session.clone(),
        };
        self.core.execute(&get).await
    }

    /// Cancels an ingestion session (files not yet taken in are abandoned). Unlike the
    /// upload's own cleanup, a failure is reported.
    ///
    /// # Errors
    /// As any API call.
    pub async fn cancel_session(
        &self,
        dataset: &DatasetId,
        session: &IngestionSessionId,
    ) -> Result<()> {
        let cancel = CancelIngestionSession {
            dataset: dataset.clone(),
            session: session.clone(),
        };
        self.core.execute(&cancel).await
    }

    /// Waits until an ingestion session has finished or `timeout` passes, and returns it
    /// as last seen (the files it rejected are in [`IngestionSession::failed_files`]).
    ///
    /// # Errors
    /// [`Error::Operation`](crate::Error::Operation) when the session failed; any error of the get call.
    pub async fn wait_for_session(
        &self,
        dataset: &DatasetId,
        session: &IngestionSessionId,
        timeout: Duration,
    ) -> Result<IngestionSession> {
        let get = GetIngestionSession {
            dataset: dataset.clone(),
            session: session.clone(),
        };
        wait_until(
            &self.core,
            timeout,
            format!("ingestion session {session}"),
            || self.core.execute(&get),
            judge_ingestion,
        )
        .await
    }

    /// Finishes an upload that returned without waiting (or timed out): waits, up to
    /// `timeout` in all, for the sessions of the files still processing, and returns the
    /// report with those files moved to `succeeded` or `failed` (files of a session still
    /// running after the timeout stay in `processing`).
    ///
    /// # Errors
    /// Any error of the get calls.
    pub async fn finish_upload(
        &self,
        mut report: UploadReport,
        timeout: Duration,
    ) -> Result<UploadReport> {
        let started = self.core.runtime().now();
        let mut ids: Vec<IngestionSessionId> = report
            .processing
            .iter()
            .map(|f| f.session.clone())
            .collect();
        ids.sort();
        ids.dedup();
        let mut last = BTreeMap::new();
        for id in ids {
            let spent = self.core.runtime().now().saturating_duration_since(started);
            let get = GetIngestionSession {
                dataset: report.dataset.clone(),
                session: id.clone(),
            };
            let (session, _) = poll(
                &self.core,
                timeout.saturating_sub(spent),
                None,
                || self.core.execute(&get),
                judge_ingestion,
            )
            .await?;
            last.insert(id.as_str().to_owned(), session);
        }
        settle(&mut report, &last);
        Ok(report)
    }

    /// Every asset matching `options`, each with its annotation parts, lazily.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a page size outside 1–1000.
    pub fn with_objects(
        &self,
        dataset: &DatasetId,
        options: AssetsWithObjectsOptions,
    ) -> Result<Listing<AssetWithObjects>> {
        if let Some(size) = options.page_size {
            check_page_size(size)?;
        }
        let endpoint = ListAssetsWithObjects {
            dataset: dataset.clone(),
            options,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }

    /// One asset with its annotation parts.
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown asset.
    pub async fn with_objects_one(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
    ) -> Result<AssetWithObjects> {
        let get = GetAssetWithObjects {
            dataset: dataset.clone(),
            asset: asset.clone(),
            contents: None,
        };
        self.core.execute(&get).await
    }
}
