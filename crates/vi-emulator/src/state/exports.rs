//! Dataset exports (E1–E3): the export records and their archive blobs.

use serde::{Deserialize, Serialize};

use super::State;

/// One dataset export. Its archive is built when the export is created (from the assets
/// and annotations the dataset holds then) and stored as a blob; the export reports
/// itself finished from its first poll on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Export {
    pub(crate) id: String,
    pub(crate) dataset: String,
    pub(crate) format: String,
    pub(crate) normalized: bool,
    pub(crate) split_ratio: Option<f64>,
    pub(crate) created: i64,
    /// When the first poll saw it (then it is finished).
    pub(crate) finished: Option<i64>,
    /// A failure injected by a test: (reason, message).
    pub(crate) failure: Option<(String, String)>,
    pub(crate) blob: String,
    pub(crate) size: u64,
    pub(crate) crc: u32,
}

impl State {
    pub(crate) fn exports(&self) -> &std::collections::BTreeMap<String, Export> {
        &self.exports
    }

    pub(crate) fn export_mut(&mut self, id: &str) -> Option<&mut Export> {
        let e = self.exports.get_mut(id)?;
        self.dirty.exports.insert(id.to_owned());
        Some(e)
    }

    pub(crate) fn insert_export(&mut self, e: Export) {
        self.dirty.exports.insert(e.id.clone());
        self.exports.insert(e.id.clone(), e);
    }

    /// Removes the exports of a dataset; returns their blobs.
    pub(crate) fn remove_exports(&mut self, dataset: &str) -> Vec<String> {
        let ids: Vec<String> = self
            .exports
            .values()
            .filter(|e| e.dataset == dataset)
            .map(|e| e.id.clone())
            .collect();
        let mut blobs = Vec::new();
        for id in ids {
            if let Some(e) = self.exports.remove(&id) {
                blobs.push(e.blob);
                self.dirty.exports.insert(id);
            }
        }
        blobs
    }
}
