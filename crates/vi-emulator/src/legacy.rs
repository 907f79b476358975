//! Import of a data directory written by an emulator before the database: one JSON
//! document, `state.json`, with every asset inside its dataset.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::state::{Asset, Dataset, DeleteOp, Imported, Multipart, Session, State};

#[derive(Deserialize)]
struct LegacyDataset {
    #[serde(flatten)]
    dataset: Dataset,
    #[serde(default)]
    assets: BTreeMap<String, Asset>,
}

#[derive(Deserialize)]
struct LegacyState {
    #[serde(default)]
    secret_key: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    signing_key: String,
    #[serde(default)]
    datasets: BTreeMap<String, LegacyDataset>,
    #[serde(default)]
    delete_ops: BTreeMap<String, DeleteOp>,
    #[serde(default)]
    sessions: BTreeMap<String, Session>,
    #[serde(default)]
    multiparts: BTreeMap<String, Multipart>,
    #[serde(default)]
    next_seq: u64,
}

/// Reads `path` (an older `state.json`) into `state`, in its open transaction.
pub(crate) fn import(state: &mut State, path: &Path) -> std::io::Result<()> {
    let invalid = |what: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "cannot import {} (written by an older vi-emulator): {what}; \
                 move it away to start with an empty state",
                path.display()
            ),
        )
    };
    let bytes = std::fs::read(path)?;
    let legacy: LegacyState = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    state.secret_key = legacy.secret_key;
    state.organization_id = legacy.organization_id;
    state.signing_key = legacy.signing_key;
    state.touch_meta();
    let db = |e: rusqlite::Error| invalid(e.to_string());
    for (_, ds) in legacy.datasets {
        let assets = ds.assets.into_values().collect();
        state
            .import(Imported::Dataset(ds.dataset, assets))
            .map_err(db)?;
    }
    for (id, op) in legacy.delete_ops {
        state.import(Imported::DeleteOp(id, op)).map_err(db)?;
    }
    for (_, s) in legacy.sessions {
        state.import(Imported::Session(s)).map_err(db)?;
    }
    for (_, m) in legacy.multiparts {
        state.import(Imported::Multipart(m)).map_err(db)?;
    }
    state
        .import(Imported::NextSeq(legacy.next_seq))
        .map_err(db)?;
    Ok(())
}
