//! Multipart uploads for large files (spec §6.8): the upload object, the per-part signed
//! URL and the request bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{ResourceCondition, ResourceMetadata};
use super::signed_url::SignedUrl;
use crate::error::Error;
use crate::ids::DatasetId;

/// A multipart upload of one file (the answer of the create call).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultipartUpload {
    /// The type tag, `MultipartUpload` when present.
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
    /// The id used in the part, completion and abort paths.
    pub multipart_upload_id: String,
    /// The API path of this upload.
    #[serde(default)]
    pub self_link: String,
    /// The version tag.
    #[serde(default)]
    pub etag: String,
    /// Creation and update times.
    #[serde(default)]
    pub metadata: ResourceMetadata,
    /// What is being uploaded.
    #[serde(default)]
    pub spec: MultipartUploadSpec,
    /// Conditions and the number of parts.
    #[serde(default)]
    pub status: MultipartUploadStatus,
}

impl MultipartUpload {
    /// The short id of the upload's dataset.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the recovered id is not a valid dataset id.
    pub fn dataset(&self) -> Result<DatasetId, Error> {
        DatasetId::from_composite(&self.dataset_id, &self.workspace_id)
    }

    /// The number of parts the server chose (at least 1 for a usable upload).
    pub fn part_count(&self) -> u64 {
        self.status.part_count
    }
}

/// The file a multipart upload is for; the `spec` of both the create request and the
/// upload object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultipartUploadSpec {
    /// The session's `ingestionId` (not its `assetIngestionSessionId`).
    #[serde(default)]
    pub ingestion_id: String,
    /// The upload name, as declared in the session.
    #[serde(default)]
    pub filename: String,
    /// The MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The file size in bytes.
    #[serde(default)]
    pub size_bytes: u64,
}

/// The state of a multipart upload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultipartUploadStatus {
    /// Steps of the upload.
    #[serde(default)]
    pub conditions: Vec<ResourceCondition>,
    /// How many parts to send; part boundaries follow from it (spec §6.8).
    #[serde(default)]
    pub part_count: u64,
}

/// The body of the create-multipart-upload call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMultipartUploadRequest {
    /// The file to upload.
    pub spec: MultipartUploadSpec,
}

/// A signed URL for one part, and what to report back once it is sent.
///
/// The URL itself is a [`SignedUrl`] (flattened on the wire: `method`, `url`, `expiry`,
/// `headers`), so it redacts, expires and names its method like every other signed URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartUploadUrl {
    /// The signed URL, its method (`PUT` in practice), expiry and headers to send.
    #[serde(flatten)]
    pub signed: SignedUrl,
    /// Response headers to report back in the part completion.
    #[serde(default)]
    pub response_headers: Vec<String>,
    /// Whether to report the response body back (base64).
    #[serde(default)]
    pub response_body: bool,
}

/// The body of the part-completion call: the requested response headers (missing ones as
/// `""`) and, when requested and non-empty, the base64 response body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletePartRequest {
    /// Response header values by the names the part URL asked for.
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    /// The response body, base64 (standard alphabet, padded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
}
