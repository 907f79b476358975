//! Ingestion sessions (docs/protocol.md §6.5, §6.9–6.11): the session object that hands out upload
//! URLs and reports per-file results, and the create request.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::common::{Timestamp, failed, is_finished_reached};
use super::wire::{
    AssetSpec, CreateIngestionSessionRequest, FailureMode, IngestionErrorCode,
    IngestionRequestSpec, IngestionSession, OnAssetOverwritten, ResourceCondition,
};
use crate::error::Error;
use crate::ids::{DatasetId, IngestionSessionId};

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
        failed_files(&self.status.events)
    }
}

/// The failed files named by the `Error` events among `events`, each with its code; when a
/// file is named by several, the latest event wins (see
/// [`IngestionSession::failed_files`]).
pub fn failed_files(events: &[IngestionEvent]) -> BTreeMap<String, IngestionErrorCode> {
    let mut errors: Vec<(Timestamp, &BTreeMap<String, IngestionErrorCode>)> = events
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

impl IngestionRequestSpec {
    /// The only session kind: `Upload`.
    pub const UPLOAD: &'static str = "Upload";
}
