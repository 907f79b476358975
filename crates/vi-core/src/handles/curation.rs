//! Curation: dataset update and the lightweight dataset list (`client.datasets()`), bulk
//! asset deletion (`client.assets()`).

use std::time::Duration;

use crate::endpoints::{
    CreateBulkDeletion, DatasetUpdate, DeleteCriteria, GetBulkDeletion, ListBulkDeletions,
    ListSimpleDatasets, UpdateDataset, check_page_size,
};
use crate::error::Result;
use crate::ids::{BulkDeletionId, DatasetId};
use crate::import::{Verdict, wait_until};
use crate::models::{BulkDeletionSession, Dataset, SimpleDataset};
use crate::paging::Pager;

use super::{Assets, Datasets, Listing};

impl Datasets {
    /// Changes a dataset's name, description, preferences or attributes; only what
    /// `update` sets is sent.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an empty update or an empty name; as any API call.
    pub async fn update(&self, dataset: &DatasetId, update: DatasetUpdate) -> Result<Dataset> {
        let dataset = dataset.clone();
        self.core.execute(&UpdateDataset { dataset, update }).await
    }

    /// Every dataset reduced to id, name and type, lazily: cheaper than
    /// [`list`](Self::list) when the statistics are not needed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a page size outside 1–1000.
    pub fn list_simple(&self, page_size: u32) -> Result<Listing<SimpleDataset>> {
        check_page_size(page_size)?;
        let endpoint = ListSimpleDatasets {
            page_size,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }
}

/// The verdict on a bulk deletion.
fn judge_deletion(session: &BulkDeletionSession) -> Verdict {
    match session.failure() {
        Some(failed) => Verdict::Failed(failed.condition.clone()),
        None if session.is_done() => Verdict::Done,
        None => Verdict::Pending,
    }
}

impl Assets {
    /// Starts deleting every asset that matches `criteria` and returns the deletion
    /// session at once (wait for it with [`wait_for_deletion`](Self::wait_for_deletion)).
    /// Criteria with nothing set are refused unless they are
    /// [`DeleteCriteria::all_assets`]. The call is not repeated after it may have reached
    /// the service; if its answer is lost, look for the session with
    /// [`deletions`](Self::deletions).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for empty criteria; as any API call.
    pub async fn delete_many(
        &self,
        dataset: &DatasetId,
        criteria: DeleteCriteria,
    ) -> Result<BulkDeletionSession> {
        let dataset = dataset.clone();
        self.core
            .execute(&CreateBulkDeletion { dataset, criteria })
            .await
    }

    /// One bulk deletion session.
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown session.
    pub async fn deletion(
        &self,
        dataset: &DatasetId,
        session: &BulkDeletionId,
    ) -> Result<BulkDeletionSession> {
        let get = GetBulkDeletion {
            dataset: dataset.clone(),
            session: session.clone(),
        };
        self.core.execute(&get).await
    }

    /// Every bulk deletion session of a dataset, lazily.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a page size outside 1–1000.
    pub fn deletions(
        &self,
        dataset: &DatasetId,
        page_size: u32,
    ) -> Result<Listing<BulkDeletionSession>> {
        check_page_size(page_size)?;
        let endpoint = ListBulkDeletions {
            dataset: dataset.clone(),
            page_size,
            cursor: None,
        };
        Ok(Listing::new(Pager::new(self.core.clone(), endpoint)))
    }

    /// Waits until a bulk deletion is done or `timeout` passes and returns it as last
    /// seen (check [`BulkDeletionSession::is_done`] when the timeout may have come first).
    ///
    /// # Errors
    /// [`Error::Operation`](crate::Error::Operation) when the deletion failed; any error of the get call.
    pub async fn wait_for_deletion(
        &self,
        dataset: &DatasetId,
        session: &BulkDeletionId,
        timeout: Duration,
    ) -> Result<BulkDeletionSession> {
        let get = GetBulkDeletion {
            dataset: dataset.clone(),
            session: session.clone(),
        };
        wait_until(
            &self.core,
            timeout,
            format!("bulk asset deletion {session}"),
            || self.core.execute(&get),
            judge_deletion,
        )
        .await
    }
}
