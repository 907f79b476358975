//! Annotation import sessions, per-asset annotation parts, assets with objects, bulk
//! deletion sessions and the lightweight dataset list: accessors, the open union of a
//! part's contents, and the redacting `Debug` of an annotation file's upload URL.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::common::{all_reached, failed};
use super::signed_url::redacted_headers;
use super::wire::{
    Annotation, AnnotationFileUpload, AnnotationImportSession, Asset, BulkDeletionSession,
    ResourceCondition, SimpleDataset,
};
use crate::error::Error;
use crate::ids::DatasetId;

/// What one annotation part holds, by its `kind`. Kinds this SDK does not know (the
/// service's VQA or freeform parts, say) are kept as they came.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AnnotationContents {
    /// The caption of a phrase-grounding annotation.
    Caption {
        /// The caption text (`""` when the service leaves it out).
        contents: String,
    },
    /// One box of a grounded phrase.
    PhraseGroundingBoundingBox {
        /// The box as the service gives it: a list of `[x, y]` corners.
        bound: Vec<Vec<f64>>,
        /// The phrase's start and end token index in the caption.
        target: [i64; 2],
    },
    /// Any other kind, or a known kind whose keys do not decode, verbatim.
    Unknown(Value),
}

impl Default for AnnotationContents {
    fn default() -> Self {
        AnnotationContents::Unknown(Value::Null)
    }
}

#[derive(Deserialize)]
struct CaptionWire {
    #[serde(default)]
    contents: String,
}

#[derive(Deserialize)]
struct BoxWire {
    bound: Vec<Vec<f64>>,
    target: [i64; 2],
}

impl AnnotationContents {
    /// The `kind` tag, as on the wire (`None` for an unknown value without one).
    pub fn kind(&self) -> Option<&str> {
        match self {
            AnnotationContents::Caption { .. } => Some("Caption"),
            AnnotationContents::PhraseGroundingBoundingBox { .. } => {
                Some("PhraseGroundingBoundingBox")
            }
            AnnotationContents::Unknown(v) => v.get("kind").and_then(Value::as_str),
        }
    }

    fn from_value(value: Value) -> Self {
        let parsed = match value.get("kind").and_then(Value::as_str) {
            Some("Caption") => serde_json::from_value::<CaptionWire>(value.clone())
                .ok()
                .map(|c| AnnotationContents::Caption {
                    contents: c.contents,
                }),
            Some("PhraseGroundingBoundingBox") => serde_json::from_value::<BoxWire>(value.clone())
                .ok()
                .map(|b| AnnotationContents::PhraseGroundingBoundingBox {
                    bound: b.bound,
                    target: b.target,
                }),
            _ => None,
        };
        parsed.unwrap_or(AnnotationContents::Unknown(value))
    }

    fn to_value(&self) -> Value {
        match self {
            AnnotationContents::Caption { contents } => {
                serde_json::json!({"kind": "Caption", "contents": contents})
            }
            AnnotationContents::PhraseGroundingBoundingBox { bound, target } => {
                serde_json::json!({"kind": "PhraseGroundingBoundingBox", "bound": bound, "target": target})
            }
            AnnotationContents::Unknown(v) => v.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for AnnotationContents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(AnnotationContents::from_value(Value::deserialize(
            deserializer,
        )?))
    }
}

impl Serialize for AnnotationContents {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl fmt::Debug for AnnotationFileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnnotationFileUpload")
            .field("method", &self.method)
            .field("url", &crate::redact::url(&self.url))
            .field("headers", &redacted_headers(&self.headers))
            .finish()
    }
}

impl AnnotationImportSession {
    /// True when the service has finished the import: there are conditions and every one
    /// is `Reached`.
    pub fn is_done(&self) -> bool {
        all_reached(&self.status.conditions)
    }

    /// The condition that failed, if the import failed.
    pub fn failure(&self) -> Option<&ResourceCondition> {
        failed(&self.status.conditions)
    }

    /// True when a `Complete` condition is `Reached` (the official client's
    /// `is_complete`).
    pub fn is_complete(&self) -> bool {
        self.status
            .conditions
            .iter()
            .any(|c| c.condition == "Complete" && c.is_reached())
    }

    /// Annotations counted by the service, over every status.
    pub fn total_annotations(&self) -> u64 {
        self.status.annotations.status_count.values().sum()
    }

    /// Annotations by status (the vocabulary is the service's).
    pub fn annotations_by_status(&self) -> &BTreeMap<String, u64> {
        &self.status.annotations.status_count
    }

    /// Files by status (the vocabulary is the service's).
    pub fn files_by_status(&self) -> &BTreeMap<String, u64> {
        &self.status.files.status_count
    }
}

impl Annotation {
    /// The id of the whole annotation this part belongs to.
    pub fn whole_id(&self) -> &str {
        &self.spec.aggregation.whole.id
    }
}

impl BulkDeletionSession {
    /// True when the deletion is done: there are conditions and every one is `Reached`.
    pub fn is_done(&self) -> bool {
        all_reached(&self.status.conditions)
    }

    /// The condition that failed, if the deletion failed.
    pub fn failure(&self) -> Option<&ResourceCondition> {
        failed(&self.status.conditions)
    }
}

impl SimpleDataset {
    /// The short dataset id (the composite id without its organization prefix).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the id is not a valid dataset id.
    pub fn dataset(&self) -> Result<DatasetId, Error> {
        DatasetId::from_composite(&self.dataset_id, "")
    }
}

/// An asset with its annotation parts, as the service sent it (`{asset, objects}`), with a
/// lenient typed view: the shape is not documented, so nothing is dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct AssetWithObjects {
    raw: Value,
}

impl AssetWithObjects {
    /// The entry as JSON, verbatim.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The asset, when `asset` decodes as one.
    pub fn asset(&self) -> Option<Asset> {
        self.raw
            .get("asset")
            .and_then(|a| serde_json::from_value(a.clone()).ok())
    }

    /// The annotation parts of `objects` that decode as parts; others are left out here
    /// and remain in [`raw`](Self::raw).
    pub fn objects(&self) -> Vec<Annotation> {
        self.raw
            .get("objects")
            .and_then(Value::as_array)
            .map(|objects| {
                objects
                    .iter()
                    .filter_map(|o| serde_json::from_value(o.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for AssetWithObjects {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(AssetWithObjects {
            raw: Value::deserialize(deserializer)?,
        })
    }
}

impl Serialize for AssetWithObjects {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_decode_as_an_open_union() {
        let caption: AnnotationContents =
            serde_json::from_str(r#"{"kind":"Caption","contents":"a car"}"#).unwrap();
        assert_eq!(
            caption,
            AnnotationContents::Caption {
                contents: "a car".into()
            }
        );
        let bx: AnnotationContents = serde_json::from_str(
            r#"{"kind":"PhraseGroundingBoundingBox","bound":[[0,0],[1,0],[1,1],[0,1]],"target":[0,3]}"#,
        )
        .unwrap();
        assert!(matches!(
            bx,
            AnnotationContents::PhraseGroundingBoundingBox { target: [0, 3], .. }
        ));
        // A target of three numbers is not a box: kept raw rather than failing the page.
        let odd = r#"{"kind":"PhraseGroundingBoundingBox","bound":[],"target":[0,1,2]}"#;
        let odd: AnnotationContents = serde_json::from_str(odd).unwrap();
        assert!(matches!(odd, AnnotationContents::Unknown(_)));
        let vqa: AnnotationContents =
            serde_json::from_str(r#"{"kind":"Vqa","question":"q"}"#).unwrap();
        assert_eq!(vqa.kind(), Some("Vqa"));
        assert_eq!(
            serde_json::to_value(&vqa).unwrap(),
            serde_json::json!({"kind":"Vqa","question":"q"})
        );
    }

    #[test]
    fn upload_urls_are_redacted_in_debug() {
        let upload = AnnotationFileUpload {
            method: "PUT".into(),
            url: "https://store.example/a.jsonl?X-Goog-Signature=secret".into(),
            headers: BTreeMap::from([("x-sig".into(), "secret".into())]),
        };
        let text = format!("{upload:?}");
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("store.example/a.jsonl"), "{text}");
    }

    #[test]
    fn simple_datasets_give_their_short_id() {
        let d = SimpleDataset {
            dataset_id: "org-1_ds9".into(),
            ..SimpleDataset::default()
        };
        assert_eq!(d.dataset().unwrap().as_str(), "ds9");
    }
}
