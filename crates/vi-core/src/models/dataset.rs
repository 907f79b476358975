//! Datasets (spec §4): the dataset object, its deletion operation and the create and
//! update request bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{ResourceCondition, ResourceMetadata, Timestamp, all_reached, failed};
use crate::error::Error;
use crate::ids::DatasetId;

wire_enum! {
    /// What a dataset's annotations describe (`type`).
    #[derive(Default)]
    pub enum DatasetType {
        /// Phrase grounding (`phrase-grounding`), the default.
        #[default]
        PhraseGrounding = "phrase-grounding",
        /// Visual question answering (`vqa`).
        Vqa = "vqa",
        /// Free-form annotations (`freeform`).
        Freeform = "freeform",
    }
}

wire_enum! {
    /// The kind of media a dataset holds (`content`).
    #[derive(Default)]
    pub enum DatasetContent {
        /// Images.
        #[default]
        Image = "Image",
    }
}

wire_enum! {
    /// Where a dataset's data is stored (`localization`, `dataLocalization`).
    #[derive(Default)]
    pub enum Localization {
        /// Datature's multi-region storage (`Datature/Multi`), the default.
        #[default]
        DatatureMulti = "Datature/Multi",
    }
}

/// A dataset (spec §4.5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    /// The type tag, `Dataset` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The composite id `{organization}_{dataset}`; see [`Dataset::id`] for the short one.
    pub dataset_id: String,
    /// The display name.
    pub name: String,
    /// Who owns the dataset.
    #[serde(default)]
    pub owner: String,
    /// The organization (workspace) id.
    #[serde(default)]
    pub workspace_id: String,
    /// What the annotations describe.
    #[serde(default, rename = "type")]
    pub dataset_type: DatasetType,
    /// The kind of media held.
    #[serde(default)]
    pub content: DatasetContent,
    /// When the dataset was created.
    #[serde(default)]
    pub create_date: Timestamp,
    /// Asset and annotation counts.
    #[serde(default)]
    pub statistic: DatasetStatistic,
    /// Members and their roles, by user id.
    #[serde(default)]
    pub users: BTreeMap<String, DatasetUser>,
    /// Tag names and their indices.
    #[serde(default)]
    pub tags: BTreeMap<String, i64>,
    /// Cohorts (shape undocumented, kept as raw JSON).
    #[serde(default)]
    pub cohorts: Vec<serde_json::Value>,
    /// A numeric status code.
    #[serde(default)]
    pub status: i64,
    /// When the dataset was last opened.
    #[serde(default)]
    pub last_accessed: Timestamp,
    /// Whether the dataset is locked against changes.
    #[serde(default)]
    pub is_locked: bool,
    /// Visibility settings.
    #[serde(default)]
    pub access: DatasetAccess,
    /// User preferences (values are booleans or strings; kept as raw JSON).
    #[serde(default)]
    pub preference: BTreeMap<String, serde_json::Value>,
    /// Review statuses assets can have, by name.
    #[serde(default)]
    pub asset_statuses: BTreeMap<String, AssetStatusDetail>,
    /// The API path of this dataset.
    #[serde(default)]
    pub self_link: String,
    /// The version tag.
    #[serde(default)]
    pub etag: String,
    /// Where the dataset's metadata is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localization: Option<Localization>,
    /// Where the dataset's files are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_localization: Option<Localization>,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Descriptions and colours of tags, by tag name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_details: Option<BTreeMap<String, TagDetail>>,
    /// Whether this is a demo project.
    #[serde(default)]
    pub is_demo_project: bool,
    /// The id of a pending deletion, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_op: Option<String>,
    /// Whether quota checks are bypassed.
    #[serde(default)]
    pub bypass_quota: bool,
}

impl Dataset {
    /// The short dataset id, recovered from the composite `datasetId` and `workspaceId`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the recovered id is not a valid dataset id.
    pub fn id(&self) -> Result<DatasetId, Error> {
        DatasetId::from_composite(&self.dataset_id, &self.workspace_id)
    }
}

/// Counts kept for a dataset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetStatistic {
    /// Number of assets (what the download flow reports).
    #[serde(default)]
    pub asset_total: u64,
    /// Number of annotations.
    #[serde(default)]
    pub annotation_total: u64,
    /// Annotations per tag.
    #[serde(default)]
    pub tags_count: BTreeMap<String, u64>,
    /// Number of assets with at least one annotation.
    #[serde(default)]
    pub asset_annotated: u64,
}

/// Visibility settings of a dataset. `isPublic` and `isReadOnly` are always written
/// (as `null` when unknown), as the spec requires the keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetAccess {
    /// Whether anyone may view the dataset.
    #[serde(default)]
    pub is_public: Option<bool>,
    /// Whether the dataset is read-only.
    #[serde(default)]
    pub is_read_only: Option<bool>,
    /// Whether the dataset is hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_hidden: Option<bool>,
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

/// A review status assets can be given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetStatusDetail {
    /// What the status means.
    #[serde(default)]
    pub description: String,
    /// Display colour, e.g. `#9e9e9e`.
    #[serde(default)]
    pub color: String,
    /// When the status was defined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_date: Option<Timestamp>,
}

/// Description and colour of a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagDetail {
    /// What the tag means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Display colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// The asynchronous deletion of a dataset (spec §4.4), returned by the delete call and
/// by polling `deleteOperation`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedDataset {
    /// The type tag (value undocumented).
    #[serde(default)]
    pub kind: String,
    /// Who requested the deletion.
    #[serde(default)]
    pub user: String,
    /// The organization (workspace) id.
    #[serde(default)]
    pub workspace_id: String,
    /// The composite id of the dataset being deleted.
    pub dataset_id: String,
    /// The API path of this operation.
    #[serde(default)]
    pub self_link: String,
    /// The version tag.
    #[serde(default)]
    pub etag: String,
    /// Creation and update times.
    #[serde(default)]
    pub metadata: ResourceMetadata,
    /// Progress of the deletion.
    #[serde(default)]
    pub status: DeletionStatus,
}

/// The conditions of a dataset deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionStatus {
    /// Steps of the deletion, in any order.
    #[serde(default)]
    pub conditions: Vec<ResourceCondition>,
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

/// Optional metadata sent when creating or updating a dataset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetMetadataInput {
    /// Free-form string attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// The body of the create-dataset call (spec §4.3), with every key the official client
/// sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDatasetRequest {
    /// The display name (non-empty).
    pub name: String,
    /// The owner: the client sets the organization id.
    #[serde(default)]
    pub owner: String,
    /// The description (`""` when none).
    #[serde(default)]
    pub description: String,
    /// What the annotations describe.
    #[serde(default, rename = "type")]
    pub dataset_type: DatasetType,
    /// The kind of media.
    #[serde(default)]
    pub content: DatasetContent,
    /// Where metadata is stored.
    #[serde(default)]
    pub localization: Localization,
    /// Where files are stored.
    #[serde(default)]
    pub data_localization: Localization,
    /// Always `0`.
    #[serde(default)]
    pub status: i64,
    /// Always empty.
    #[serde(default)]
    pub tags: BTreeMap<String, i64>,
    /// Optional attributes; left out when `None` (strict servers may reject it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<DatasetMetadataInput>,
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

/// The body of the update-dataset call (spec §4.6); keys left `None` are not sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDatasetRequest {
    /// A new display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New preferences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<BTreeMap<String, serde_json::Value>>,
    /// New attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<DatasetMetadataInput>,
}
