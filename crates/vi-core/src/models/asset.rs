//! Assets (spec §5): the asset object, its count and the rename body.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::common::Timestamp;
use super::signed_url::SignedUrl;
use crate::error::Error;
use crate::ids::{AssetId, DatasetId};

/// One file in a dataset (spec §5.6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// The asset id.
    pub asset_id: String,
    /// The composite dataset id `{organization}_{dataset}`; see [`Asset::dataset`].
    pub dataset_id: String,
    /// The organization (workspace) id.
    #[serde(default)]
    pub workspace_id: String,
    /// The file name, unique within the dataset.
    pub filename: String,
    /// The type tag (free-form).
    #[serde(default)]
    pub kind: String,
    /// Who owns the asset.
    #[serde(default)]
    pub owner: String,
    /// Size, dimensions, status and other details.
    #[serde(default)]
    pub metadata: AssetMetadata,
    /// The API path of this asset.
    #[serde(default)]
    pub self_link: String,
    /// The version tag.
    #[serde(default)]
    pub etag: String,
    /// Signed download URLs, present when they were requested (`contents=y`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<AssetContents>,
}

impl Asset {
    /// The short id of the asset's dataset.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the recovered id is not a valid dataset id.
    pub fn dataset(&self) -> Result<DatasetId, Error> {
        DatasetId::from_composite(&self.dataset_id, &self.workspace_id)
    }

    /// The asset id, validated.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `assetId` is not a valid asset id.
    pub fn id(&self) -> Result<AssetId, Error> {
        AssetId::new(self.asset_id.as_str())
    }

    /// The signed download URL of the file, when one was returned.
    pub fn download_url(&self) -> Option<&SignedUrl> {
        self.contents.as_ref()?.asset.as_ref()
    }
}

/// Details of an asset. Every key is required by the spec; all default here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetMetadata {
    /// Generation tags of the stored file and thumbnail.
    #[serde(default)]
    pub generations: AssetGenerations,
    /// Who inserted the asset.
    #[serde(default)]
    pub inserted_by: String,
    /// Annotation counts.
    #[serde(default)]
    pub annotations: AssetAnnotations,
    /// Number of frames (1 for images).
    #[serde(default)]
    pub frames: u64,
    /// Cohorts the asset belongs to.
    #[serde(default)]
    pub cohorts: Vec<String>,
    /// Size in bytes.
    #[serde(default)]
    pub file_size: u64,
    /// Height in pixels.
    #[serde(default)]
    pub height: u64,
    /// Width in pixels.
    #[serde(default)]
    pub width: u64,
    /// The MIME type, e.g. `image/jpeg`.
    #[serde(default)]
    pub mime_type: String,
    /// Where the asset came from (free-form).
    #[serde(default)]
    pub source: String,
    /// Processing status (free-form).
    #[serde(default)]
    pub status: String,
    /// Upload status (free-form; `completed` when uploaded).
    #[serde(default)]
    pub upload_status: String,
    /// Visibility (free-form).
    #[serde(default)]
    pub visibility: String,
    /// User-defined values (any JSON).
    #[serde(default)]
    pub user_defined: BTreeMap<String, serde_json::Value>,
    /// Custom metadata values.
    #[serde(default)]
    pub custom_metadata: BTreeMap<String, CustomValue>,
    /// Pixel dimensions.
    #[serde(default)]
    pub dimensions: Dimensions,
    /// Pixel aspect ratio (integers).
    #[serde(default)]
    pub pixel_ratio: Dimensions,
    /// Number of comments.
    #[serde(default)]
    pub comments: u64,
    /// Number of custom metadata entries.
    #[serde(default)]
    pub custom_metadata_count: u64,
    /// Checksum of the contents.
    #[serde(default)]
    pub hash: AssetHash,
    /// How the contents arrived (free-form).
    #[serde(default)]
    pub contents_from: String,
    /// Per-frame change counters.
    #[serde(default)]
    pub frames_change: BTreeMap<String, i64>,
    /// When the asset was created.
    #[serde(default)]
    pub time_created: Timestamp,
    /// When the asset last changed.
    #[serde(default)]
    pub last_updated: Timestamp,
    /// When the file contents last changed.
    #[serde(default)]
    pub contents_last_updated: Timestamp,
}

/// Generation tags of an asset's stored objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetGenerations {
    /// Generation of the file.
    #[serde(default)]
    pub asset: String,
    /// Generation of the thumbnail.
    #[serde(default)]
    pub thumbnail: String,
}

/// Annotation counts of an asset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetAnnotations {
    /// Annotations per tag.
    #[serde(default)]
    pub with_tag: BTreeMap<String, i64>,
    /// All annotations.
    #[serde(default)]
    pub total: i64,
}

/// Height, width and optional depth; used for pixel dimensions and pixel ratio.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dimensions {
    /// Height.
    #[serde(default)]
    pub height: u64,
    /// Width.
    #[serde(default)]
    pub width: u64,
    /// Depth, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u64>,
}

/// A checksum of an asset's contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetHash {
    /// The algorithm, e.g. `crc32c`.
    #[serde(default)]
    pub algorithm: String,
    /// The checksum as text.
    #[serde(default)]
    pub contents: String,
}

impl AssetHash {
    /// The CRC-32C this hash gives, when its algorithm is `crc32c` (any case) and its
    /// contents decode: eight hex digits, or the base64 of the four big-endian bytes (the
    /// form of cloud storage's `x-goog-hash`). `None` for any other algorithm or text.
    pub fn crc32c(&self) -> Option<u32> {
        if !self.algorithm.eq_ignore_ascii_case("crc32c") {
            return None;
        }
        let text = self.contents.trim();
        if text.len() == 8 {
            if let Ok(v) = u32::from_str_radix(text, 16) {
                return Some(v);
            }
        }
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    }
}

/// Signed URLs for an asset's file and thumbnail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetContents {
    /// Download URL of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<SignedUrl>,
    /// Download URL of the thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<SignedUrl>,
}

/// A custom metadata value: a boolean, an integer, a float or a string.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CustomValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
}

impl fmt::Display for CustomValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomValue::Bool(b) => write!(f, "{b}"),
            CustomValue::Int(i) => write!(f, "{i}"),
            CustomValue::Float(x) => write!(f, "{x}"),
            CustomValue::String(s) => f.write_str(s),
        }
    }
}

impl From<bool> for CustomValue {
    fn from(value: bool) -> Self {
        CustomValue::Bool(value)
    }
}

impl From<i64> for CustomValue {
    fn from(value: i64) -> Self {
        CustomValue::Int(value)
    }
}

impl From<f64> for CustomValue {
    fn from(value: f64) -> Self {
        CustomValue::Float(value)
    }
}

impl From<String> for CustomValue {
    fn from(value: String) -> Self {
        CustomValue::String(value)
    }
}

impl From<&str> for CustomValue {
    fn from(value: &str) -> Self {
        CustomValue::String(value.to_owned())
    }
}

/// The body of the rename-asset calls (spec §5.5). The key is `filename`, not `name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenameAssetRequest {
    /// The new file name.
    pub filename: String,
}

/// The answer of the count-assets call (spec §5.2): `{"count": n}` or a bare `n`.
/// Serializes as the object form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct AssetCount {
    /// The number of matching assets.
    pub count: u64,
}

impl AssetCount {
    /// The number of matching assets.
    pub fn value(&self) -> u64 {
        self.count
    }
}

/// An integer, or a string of digits (the official client converts `count` with `int()`).
#[derive(Deserialize)]
#[serde(untagged)]
enum CountNumber {
    Int(u64),
    Text(String),
}

impl CountNumber {
    fn get<E: serde::de::Error>(self) -> Result<u64, E> {
        match self {
            CountNumber::Int(n) => Ok(n),
            CountNumber::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| E::custom(format!("count {text:?} is not a whole number"))),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CountWire {
    Object { count: CountNumber },
    Bare(CountNumber),
}

impl<'de> Deserialize<'de> for AssetCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let count = match CountWire::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "expected a count: {\"count\": <non-negative integer>} or a bare integer",
            )
        })? {
            CountWire::Object { count } | CountWire::Bare(count) => count.get()?,
        };
        Ok(AssetCount { count })
    }
}
