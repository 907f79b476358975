//! Datasets (docs/protocol.md §4): the dataset object, its deletion operation and the create and
//! update request bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{all_reached, failed};
use super::wire::{CreateDatasetRequest, Dataset, DeletedDataset, ResourceCondition};
use crate::error::Error;
use crate::ids::DatasetId;

impl Dataset {
    /// The short dataset id, recovered from the composite `datasetId` and `workspaceId`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the recovered id is not a valid dataset id.
    pub fn id(&self) -> Result<DatasetId, Error> {
        DatasetId::from_composite(&self.dataset_id, &self.workspace_id)
    }
}

/// A dataset member's role: either a plain role name or a detailed record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DatasetUser {
    /// A role name such as `Owner`.
    Role(String),
    /// A workspace role plus roles per (composite) dataset id.
    #[serde(rename_all = "camelCase")]
    Detailed {
        /// The member's role in the workspace.
        workspace_role: String,
        /// Roles by composite dataset id.
        #[serde(default)]
        datasets: BTreeMap<String, String>,
    },
    /// Any other shape, kept as raw JSON so the dataset still decodes.
    Other(serde_json::Value),
}

impl DeletedDataset {
    /// True when the deletion is complete: there are conditions and all are `Reached`.
    pub fn is_done(&self) -> bool {
        all_reached(&self.status.conditions)
    }

    /// The condition that failed, if the deletion failed.
    pub fn failure(&self) -> Option<&ResourceCondition> {
        failed(&self.status.conditions)
    }

    /// The short id of the dataset being deleted.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the recovered id is not a valid dataset id.
    pub fn dataset(&self) -> Result<DatasetId, Error> {
        DatasetId::from_composite(&self.dataset_id, &self.workspace_id)
    }
}

impl CreateDatasetRequest {
    /// A request with the official client's defaults for everything but name and owner.
    pub fn new(name: impl Into<String>, owner: impl Into<String>) -> Self {
        CreateDatasetRequest {
            name: name.into(),
            owner: owner.into(),
            ..Default::default()
        }
    }
}
