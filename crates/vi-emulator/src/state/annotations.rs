//! Annotations: the per-asset store of Vi JSONL records, annotation import sessions
//! (I1–I7) and bulk asset deletions (B1–B3).
//!
//! A record is one imported Vi JSONL line (one "whole" annotation): its `id`, its
//! `contents` and its `category`, kept per asset. The per-asset API (N1–N5) shows each
//! record as parts — a `Caption` part and one `PhraseGroundingBoundingBox` part per box
//! for phrase grounding, one `Vqa` part for a VQA record (a modelling choice: the
//! service's VQA parts are not documented) — and writes through them back into the
//! record, so exports (which read the records) agree with the parts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::State;

/// One imported annotation of an asset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct StoredRecord {
    /// The record's `id`, as a string (integers are accepted on import).
    pub(crate) id: String,
    /// The record's `contents` (`type` `PhraseGrounding` or `Vqa`).
    pub(crate) contents: Value,
    /// The record's `category`, when it had one.
    pub(crate) category: Option<String>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) generation: u64,
}

/// One file of an import session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImportFile {
    pub(crate) name: String,
    pub(crate) size: u64,
    /// The declared CRC-32C, base64 of its big-endian bytes.
    pub(crate) crc32c: String,
    /// The blob holding the received bytes.
    pub(crate) blob: Option<String>,
    /// Set once the file was processed: `Processed` or `Failed`.
    pub(crate) status: Option<String>,
}

/// Where an import session stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) enum ImportPhase {
    /// Files may be declared and uploaded.
    Open,
    /// `FilesInserted` reached: processing on the next look.
    Inserted { at: i64 },
    /// Processed: every record applied (or the session rejected).
    Done { at: i64 },
    /// Ended by the client (`FailedReach`) or by the upload window passing.
    Failed { at: i64, reason: Option<String> },
}

/// One annotation import session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Import {
    pub(crate) id: String,
    pub(crate) dataset: String,
    pub(crate) upload_before: i64,
    pub(crate) policies: [String; 3],
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) files: Vec<ImportFile>,
    pub(crate) phase: ImportPhase,
    /// The client's own conditions (`FilesInserted`), as it sent them.
    pub(crate) client_conditions: Vec<Value>,
    /// Annotations by status, once processed.
    pub(crate) annotations: BTreeMap<String, u64>,
    /// A free-text outcome (`status.reason`).
    pub(crate) reason: Option<String>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) generation: u64,
}

/// One bulk asset deletion.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Deletion {
    pub(crate) id: String,
    pub(crate) dataset: String,
    /// The four criteria keys, as sent.
    pub(crate) spec: Value,
    /// The asset ids matched when the session was created.
    pub(crate) targets: Vec<String>,
    pub(crate) created: i64,
    /// When the matched assets were deleted (on the first look after creation).
    pub(crate) finished: Option<i64>,
}

/// The key of an asset's records.
fn key(dataset: &str, asset: &str) -> String {
    format!("{dataset}/{asset}")
}

impl State {
    /// The records of one asset, in import order.
    pub(crate) fn records(&self, dataset: &str, asset: &str) -> &[StoredRecord] {
        self.records
            .get(&key(dataset, asset))
            .map_or(&[], Vec::as_slice)
    }

    /// The records of one asset, for changing them.
    pub(crate) fn records_mut(&mut self, dataset: &str, asset: &str) -> &mut Vec<StoredRecord> {
        let k = key(dataset, asset);
        self.dirty.records.insert(k.clone());
        self.records.entry(k).or_default()
    }

    /// Forgets the records of an asset (deleted with it).
    pub(crate) fn remove_records(&mut self, dataset: &str, asset: &str) {
        let k = key(dataset, asset);
        if self.records.remove(&k).is_some() {
            self.dirty.records.insert(k);
        }
    }

    /// Forgets everything annotation-related of a dataset.
    pub(crate) fn remove_annotation_state(&mut self, dataset: &str) {
        let prefix = format!("{dataset}/");
        let keys: Vec<String> = self
            .records
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for k in keys {
            self.records.remove(&k);
            self.dirty.records.insert(k);
        }
        self.imports.retain(|id, i| {
            let keep = i.dataset != dataset;
            if !keep {
                self.dirty.imports.insert(id.clone());
            }
            keep
        });
        self.deletions.retain(|id, d| {
            let keep = d.dataset != dataset;
            if !keep {
                self.dirty.deletions.insert(id.clone());
            }
            keep
        });
    }

    /// The Vi JSONL records (one JSON object each) of an asset, as exports write them:
    /// string `id`, the asset block from the asset row, `contents` as imported
    /// (coordinates normalized to 0–1), `category` when given.
    pub(crate) fn vi_jsonl_records(&self, dataset: &str, asset_id: &str) -> Vec<Value> {
        let Ok(Some(asset)) = self.store().asset(dataset, asset_id) else {
            return Vec::new();
        };
        self.records(dataset, asset_id)
            .iter()
            .map(|r| {
                let mut line = json!({
                    "id": r.id,
                    "asset": {
                        "type": "Image",
                        "filename": asset.filename,
                        "width": asset.width,
                        "height": asset.height,
                    },
                    "contents": r.contents,
                });
                if let (Some(c), Some(obj)) = (&r.category, line.as_object_mut()) {
                    obj.insert("category".into(), json!(c));
                }
                line
            })
            .collect()
    }

    pub(crate) fn imports(&self) -> &BTreeMap<String, Import> {
        &self.imports
    }

    pub(crate) fn import_mut(&mut self, id: &str) -> Option<&mut Import> {
        let i = self.imports.get_mut(id)?;
        self.dirty.imports.insert(id.to_owned());
        Some(i)
    }

    pub(crate) fn insert_import(&mut self, i: Import) {
        self.dirty.imports.insert(i.id.clone());
        self.imports.insert(i.id.clone(), i);
    }

    pub(crate) fn deletions(&self) -> &BTreeMap<String, Deletion> {
        &self.deletions
    }

    pub(crate) fn deletion_mut(&mut self, id: &str) -> Option<&mut Deletion> {
        let d = self.deletions.get_mut(id)?;
        self.dirty.deletions.insert(id.to_owned());
        Some(d)
    }

    pub(crate) fn insert_deletion(&mut self, d: Deletion) {
        self.dirty.deletions.insert(d.id.clone());
        self.deletions.insert(d.id.clone(), d);
    }
}
