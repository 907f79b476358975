//! Assets (docs/protocol.md §5): the asset object, its count and the rename body.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::wire::{Asset, AssetHash, SignedUrl};
use crate::error::Error;
use crate::ids::{AssetId, DatasetId};

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

/// The answer of the count-assets call (docs/protocol.md §5.2): `{"count": n}` or a bare `n`.
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
