//! Ingestion sessions (spec §6.5, §6.9–6.11): the session object that hands out upload
//! URLs and reports per-file results, and the create request.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::asset::CustomValue;
use super::common::{
    ResourceCondition, ResourceMetadata, Timestamp, crc32c_lenient, failed, is_finished_reached,
};
use super::signed_url::SignedUrl;
use crate::error::Error;
use crate::ids::{DatasetId, IngestionSessionId};

wire_enum! {
    /// What the service does when one file of a session fails (`failureMode`).
    #[derive(Default)]
    pub enum FailureMode {
        /// Stop at the first failed file (the default).
        #[default]
        FailAfterOne = "FailAfterOne",
        /// Process every file, then report the failures.
        FailAfterAll = "FailAfterAll",
    }
}

wire_enum! {
    /// What happens to resources linked to an asset (annotations) when an upload
    /// replaces it (`onAssetOverwritten`).
    ///
    /// The official client sends the singular `KeepLinkedResource` but the service emits
    /// the plural `KeepLinkedResources` (spec §15 #1). Both spellings decode to
    /// [`OnAssetOverwritten::KeepLinkedResources`], which always serializes plural.
    #[derive(Default)]
    pub enum OnAssetOverwritten {
        /// Remove the linked resources (the default).
        #[default]
        RemoveLinkedResource = "RemoveLinkedResource",
        /// Keep the linked resources.
        KeepLinkedResources = "KeepLinkedResources" | "KeepLinkedResource",
    }
}

wire_enum! {
    /// Why the service rejected one file of a session. The meanings are inferred from
    /// the names (spec §6.5).
    pub enum IngestionErrorCode {
        /// The asset already exists or was already ingested.
        Ealready = "EALREADY",
        /// The MIME type is unsupported or inconsistent with the content.
        Ebadmime = "EBADMIME",
        /// The size does not match the declaration or is over a limit.
        Ebadsize = "EBADSIZE",
        /// The content is corrupt, fails its checksum, or cannot be decoded.
        Ecorrupt = "ECORRUPT",
        /// A storage or asset quota is exhausted.
        Enoquota = "ENOQUOTA",
        /// The metadata is stale.
        Eoldmeta = "EOLDMETA",
        /// The file was not uploaded in time.
        Etimeout = "ETIMEOUT",
        /// A referenced resource does not exist.
        Eresnent = "ERESNENT",
        /// A dataset (project) level problem.
        Eproject = "EPROJECT",
        /// The asset is missing.
        Enoasset = "ENOASSET",
        /// A problem with sequence (video) metadata.
        Eseqmeta = "ESEQMETA",
        /// Any other failure.
        Eunknown = "EUNKNOWN",
    }
}

impl IngestionErrorCode {
    /// The likely meaning of the code, for messages.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Ealready => "the asset already exists or was already ingested",
            Self::Ebadmime => "the MIME type is unsupported or does not match the content",
            Self::Ebadsize => "the size does not match the declared size or exceeds a limit",
            Self::Ecorrupt => "the content is corrupt, failed its checksum, or cannot be decoded",
            Self::Enoquota => "the storage or asset quota is exhausted",
            Self::Eoldmeta => "the metadata is stale",
            Self::Etimeout => "the file was not uploaded in time",
            Self::Eresnent => "a referenced resource does not exist",
            Self::Eproject => "a problem with the dataset",
            Self::Enoasset => "the asset is missing",
            Self::Eseqmeta => "a problem with the video (sequence) metadata",
            Self::Eunknown | Self::Unknown(_) => "an unknown error",
        }
    }
}

/// An ingestion session (spec §6.5): created once per upload batch, it hands out one
/// signed upload URL per declared file and later reports which files were ingested.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionSession {
    /// The type tag, `AssetIngestionSession` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The organization (workspace) id.
    #[serde(default)]
    pub workspace_id: String,
    /// The composite dataset id.
    pub dataset_id: String,
    /// The asset source class (`managed`).
    #[serde(default)]
    pub asset_source_class: String,
    /// The asset source provider (`datature`).
    #[serde(default)]
    pub asset_source_provider: String,
    /// The asset source id (`default`).
    #[serde(default)]
    pub asset_source_id: String,
    /// The session id used in the get and cancel paths.
    pub asset_ingestion_session_id: String,
    /// A different id, used when creating multipart uploads.
    pub ingestion_id: String,
    /// The API path of this session.
    #[serde(default)]
    pub self_link: String,
    /// The version tag.
    #[serde(default)]
    pub etag: String,
    /// Creation and update times.
    #[serde(default)]
    pub metadata: ResourceMetadata,
    /// What was asked for.
    #[serde(default)]
    pub spec: IngestionSessionSpec,
    /// Progress, per-file errors and (on creation) the upload URLs.
    pub status: IngestionStatus,
}

impl IngestionSession {
    /// The session id, validated.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `assetIngestionSessionId` is not a valid id.
    pub fn id(&self) -> Result<IngestionSessionId, Error> {
        IngestionSessionId::new(self.asset_ingestion_session_id.as_str())
    }

    /// The short id of the session's dataset.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the recovered id is not a valid dataset id.
    pub fn dataset(&self) -> Result<DatasetId, Error> {
        DatasetId::from_composite(&self.dataset_id, &self.workspace_id)
    }

    /// True when the session has finished: a `Finished` condition is `Reached`.
    pub fn is_finished(&self) -> bool {
        is_finished_reached(&self.status.conditions)
    }

    /// The condition that failed, if the session failed.
    pub fn failure(&self) -> Option<&ResourceCondition> {
        failed(&self.status.conditions)
    }

    /// Every failed file with its error code, from all `Error` events. When a file
    /// appears in several events, the one with the later `time` wins (array order breaks
    /// ties).
    pub fn failed_files(&self) -> BTreeMap<String, IngestionErrorCode> {
        let mut errors: Vec<(Timestamp, &BTreeMap<String, IngestionErrorCode>)> = self
            .status
            .events
            .iter()
            .filter_map(|event| match event {
                IngestionEvent::Error { files, time, .. } => Some((*time, files)),
                _ => None,
            })
            .collect();
        // A stable sort keeps array order among events with the same time.
        errors.sort_by_key(|(time, _)| *time);
        let mut out = BTreeMap::new();
        for (_, files) in errors {
            for (name, code) in files {
                out.insert(name.clone(), code.clone());
            }
        }
        out
    }
}

/// What a session was asked to do, as the service echoes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionSessionSpec {
    /// The session kind (`Upload`).
    #[serde(default)]
    pub kind: String,
    /// What happens when one file fails.
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// What happens to linked resources of replaced assets.
    #[serde(default)]
    pub on_asset_overwritten: OnAssetOverwritten,
    /// The declared files, when echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<Vec<UploadedAssetMetadata>>,
}

/// A file as declared to, and echoed by, a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedAssetMetadata {
    /// `Image` or `Video`.
    #[serde(default)]
    pub kind: String,
    /// The upload name.
    pub filename: String,
    /// The declared MIME type.
    #[serde(default)]
    pub mime: String,
    /// The declared size in bytes.
    #[serde(default)]
    pub size: u64,
    /// The declared CRC-32C as a signed 32-bit integer, if one was declared.
    #[serde(
        default,
        deserialize_with = "crc32c_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub crc32c: Option<i32>,
    /// Declared custom metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_metadata: Option<BTreeMap<String, CustomValue>>,
}

/// The state of a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionStatus {
    /// Steps of the session (`Started`, `Finished`), in any order.
    pub conditions: Vec<ResourceCondition>,
    /// Progress and per-file error reports.
    #[serde(default)]
    pub events: Vec<IngestionEvent>,
    /// File counters.
    #[serde(default)]
    pub progress_count: ProgressCount,
    /// One upload URL per declared file (in the create response only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<Vec<IngestionAssetUpload>>,
}

/// File counters of a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressCount {
    /// Files declared.
    #[serde(default)]
    pub total: u64,
    /// Files ingested.
    #[serde(default)]
    pub succeeded: u64,
    /// Files that failed.
    #[serde(default)]
    pub errored: u64,
}

/// A declared file and the signed URL to upload it to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionAssetUpload {
    /// The file as declared.
    pub metadata: UploadedAssetMetadata,
    /// Where to send its bytes.
    pub upload: SignedUrl,
}

/// A session event, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum IngestionEvent {
    /// Some files failed.
    Error {
        /// Error code per file name.
        files: BTreeMap<String, IngestionErrorCode>,
        /// Corrections the service suggests (undocumented).
        corrections: BTreeMap<String, String>,
        /// When the errors were recorded.
        time: Timestamp,
    },
    /// Progress counters per task; names are undocumented and opaque.
    Progress {
        /// Counters by task name, then counter name.
        tasks: BTreeMap<String, BTreeMap<String, i64>>,
    },
    /// An event of another kind, kept as the raw JSON object.
    #[serde(untagged)]
    Unknown(serde_json::Value),
}

impl IngestionEvent {
    /// The event's `kind` (`Error`, `Progress`, or whatever an unknown event carries).
    pub fn kind(&self) -> &str {
        match self {
            IngestionEvent::Error { .. } => "Error",
            IngestionEvent::Progress { .. } => "Progress",
            IngestionEvent::Unknown(raw) => raw
                .get("kind")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(""),
        }
    }
}

#[derive(Deserialize)]
struct ErrorEventWire {
    #[serde(default)]
    files: BTreeMap<String, IngestionErrorCode>,
    #[serde(default)]
    corrections: BTreeMap<String, String>,
    #[serde(default)]
    time: Timestamp,
}

#[derive(Deserialize)]
struct ProgressEventWire {
    #[serde(default)]
    tasks: BTreeMap<String, BTreeMap<String, i64>>,
}

impl<'de> Deserialize<'de> for IngestionEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let raw = serde_json::Value::deserialize(deserializer)?;
        match raw.get("kind").and_then(serde_json::Value::as_str) {
            Some("Error") => {
                let wire: ErrorEventWire = serde_json::from_value(raw).map_err(D::Error::custom)?;
                Ok(IngestionEvent::Error {
                    files: wire.files,
                    corrections: wire.corrections,
                    time: wire.time,
                })
            }
            Some("Progress") => {
                let wire: ProgressEventWire =
                    serde_json::from_value(raw).map_err(D::Error::custom)?;
                Ok(IngestionEvent::Progress { tasks: wire.tasks })
            }
            _ => Ok(IngestionEvent::Unknown(raw)),
        }
    }
}

/// The top-level media type of a file to upload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AssetKind {
    /// An image (`image/*`).
    #[default]
    Image,
    /// A video (`video/*`).
    Video,
}

impl AssetKind {
    /// The kind for a MIME type: `image/*` is an image, `video/*` a video, anything else
    /// has no kind (and cannot be uploaded).
    pub fn from_mime(mime: &str) -> Option<AssetKind> {
        let top = mime.split('/').next().unwrap_or("");
        if top.eq_ignore_ascii_case("image") {
            Some(AssetKind::Image)
        } else if top.eq_ignore_ascii_case("video") {
            Some(AssetKind::Video)
        } else {
            None
        }
    }

    /// The value as written on the wire (`Image`, `Video`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Image => "Image",
            AssetKind::Video => "Video",
        }
    }
}

/// The body of the create-ingestion-session call (spec §6.5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateIngestionSessionRequest {
    /// What to ingest.
    pub spec: IngestionRequestSpec,
}

impl CreateIngestionSessionRequest {
    /// An upload session for `assets`.
    pub fn upload(
        assets: Vec<AssetSpec>,
        failure_mode: FailureMode,
        on_asset_overwritten: OnAssetOverwritten,
    ) -> Self {
        CreateIngestionSessionRequest {
            spec: IngestionRequestSpec {
                kind: IngestionRequestSpec::UPLOAD.to_owned(),
                failure_mode,
                on_asset_overwritten,
                assets,
            },
        }
    }
}

/// The `spec` of a create-ingestion-session request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionRequestSpec {
    /// The session kind; always `Upload`.
    #[serde(default = "upload_kind")]
    pub kind: String,
    /// What happens when one file fails.
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// What happens to linked resources of replaced assets.
    #[serde(default)]
    pub on_asset_overwritten: OnAssetOverwritten,
    /// One entry per file; may be empty.
    #[serde(default)]
    pub assets: Vec<AssetSpec>,
}

impl IngestionRequestSpec {
    /// The only session kind: `Upload`.
    pub const UPLOAD: &'static str = "Upload";
}

fn upload_kind() -> String {
    IngestionRequestSpec::UPLOAD.to_owned()
}

impl Default for IngestionRequestSpec {
    fn default() -> Self {
        IngestionRequestSpec {
            kind: upload_kind(),
            failure_mode: FailureMode::default(),
            on_asset_overwritten: OnAssetOverwritten::default(),
            assets: Vec::new(),
        }
    }
}

/// One file declared in a create-ingestion-session request.
///
/// `crc32c` and `customMetadata` are always written, as `null` when `None`, like the
/// official client does (spec §6.5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetSpec {
    /// The upload name (base name of the file).
    pub filename: String,
    /// The MIME type, from the extension map.
    pub mime: String,
    /// The size in bytes.
    pub size: u64,
    /// The CRC-32C of the whole file, big-endian bits read as a signed 32-bit integer
    /// (`crc as i32`); `None` for files above 1 GiB.
    #[serde(default, deserialize_with = "crc32c_lenient")]
    pub crc32c: Option<i32>,
    /// Custom metadata to attach to the asset.
    #[serde(default)]
    pub custom_metadata: Option<BTreeMap<String, CustomValue>>,
    /// Image or video.
    pub kind: AssetKind,
}
