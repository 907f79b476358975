//! The emulator's data model, its persistence, and the ingestion state machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Map;

use crate::store::{Docs, Store};

mod annotations;
mod exports;
mod ingestion;
mod model;

pub(crate) use annotations::{Deletion, Import, ImportFile, ImportPhase, StoredRecord};
pub(crate) use exports::Export;
pub(crate) use model::*;

/// Everything the emulator remembers. Assets live only in the database; datasets,
/// sessions and multipart uploads are held here and written back to the database
/// (the rows that changed) when the lock is released ([`State::commit`]).
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) secret_key: String,
    pub(crate) organization_id: String,
    /// Hex of the HMAC key that signs URLs and page tokens.
    pub(crate) signing_key: String,
    datasets: BTreeMap<String, Dataset>,
    delete_ops: BTreeMap<String, DeleteOp>,
    sessions: BTreeMap<String, Session>,
    multiparts: BTreeMap<String, Multipart>,
    exports: BTreeMap<String, Export>,
    /// Annotation records by `{dataset}/{asset}`.
    records: BTreeMap<String, Vec<StoredRecord>>,
    imports: BTreeMap<String, Import>,
    deletions: BTreeMap<String, Deletion>,
    /// Monotonic counter giving assets a stable insertion order.
    next_seq: u64,
    store: Store,
    dirty: Dirty,
}

/// What changed since the last commit.
#[derive(Debug, Default)]
struct Dirty {
    meta: bool,
    datasets: BTreeSet<String>,
    delete_ops: BTreeSet<String>,
    sessions: BTreeSet<String>,
    /// Sessions all of whose files are written back.
    all_files: BTreeSet<String>,
    files: BTreeSet<(String, usize)>,
    multiparts: BTreeSet<String>,
    exports: BTreeSet<String>,
    records: BTreeSet<String>,
    imports: BTreeSet<String>,
    deletions: BTreeSet<String>,
}

/// Logs a database error; the emulator carries on with its in-memory state.
fn logged<T>(result: rusqlite::Result<T>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!("database error: {e}");
            None
        }
    }
}

fn doc<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl State {
    /// Opens the state: the database file `state.db` under `dir`, or an in-memory
    /// database without one. A directory written by an older emulator (`state.json`)
    /// is imported once, and its JSON file renamed `state.json.imported`.
    pub(crate) fn open(dir: Option<&Path>) -> std::io::Result<State> {
        let db_path = dir.map(|d| d.join("state.db"));
        let fresh = db_path.as_ref().is_none_or(|p| !p.exists());
        let store = Store::open(db_path.as_deref()).map_err(|e| {
            std::io::Error::other(format!(
                "cannot open the emulator database {}: {e}",
                db_path
                    .as_deref()
                    .map_or_else(|| ":memory:".into(), |p| p.display().to_string())
            ))
        })?;
        let mut state = State {
            secret_key: String::new(),
            organization_id: String::new(),
            signing_key: String::new(),
            datasets: BTreeMap::new(),
            delete_ops: BTreeMap::new(),
            sessions: BTreeMap::new(),
            multiparts: BTreeMap::new(),
            exports: BTreeMap::new(),
            records: BTreeMap::new(),
            imports: BTreeMap::new(),
            deletions: BTreeMap::new(),
            next_seq: 0,
            store,
            dirty: Dirty::default(),
        };
        let legacy = dir.map(|d| d.join("state.json"));
        match legacy {
            Some(json) if fresh && json.exists() => {
                crate::legacy::import(&mut state, &json)?;
                state.commit_or_fail()?;
                let done = json.with_extension("json.imported");
                std::fs::rename(&json, &done)?;
            }
            _ => state.load().map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("cannot read the emulator database: {e}"),
                )
            })?,
        }
        Ok(state)
    }

    fn load(&mut self) -> Result<(), String> {
        let err = |e: rusqlite::Error| e.to_string();
        let meta = |store: &Store, key: &str| -> Result<String, String> {
            Ok(store.meta(key).map_err(err)?.unwrap_or_default())
        };
        self.secret_key = meta(&self.store, "secret_key")?;
        self.organization_id = meta(&self.store, "organization_id")?;
        self.signing_key = meta(&self.store, "signing_key")?;
        self.next_seq = meta(&self.store, "next_seq")?.parse().unwrap_or(0);
        fn parse<T: serde::de::DeserializeOwned>(id: &str, doc: &str) -> Result<T, String> {
            serde_json::from_str(doc).map_err(|e| format!("row {id}: {e}"))
        }
        for (id, d) in self.store.docs(Docs::Datasets).map_err(err)? {
            self.datasets.insert(id.clone(), parse(&id, &d)?);
        }
        for (id, d) in self.store.docs(Docs::DeleteOps).map_err(err)? {
            self.delete_ops.insert(id.clone(), parse(&id, &d)?);
        }
        for (id, d) in self.store.docs(Docs::Sessions).map_err(err)? {
            self.sessions.insert(id.clone(), parse(&id, &d)?);
        }
        for (sid, _, d) in self.store.files().map_err(err)? {
            let file: SessionFile = parse(&sid, &d)?;
            if let Some(session) = self.sessions.get_mut(&sid) {
                session.files.push(file);
            }
        }
        for (id, d) in self.store.docs(Docs::Multiparts).map_err(err)? {
            self.multiparts.insert(id.clone(), parse(&id, &d)?);
        }
        for (id, d) in self.store.docs(Docs::Exports).map_err(err)? {
            self.exports.insert(id.clone(), parse(&id, &d)?);
        }
        for (id, d) in self.store.docs(Docs::Records).map_err(err)? {
            self.records.insert(id.clone(), parse(&id, &d)?);
        }
        for (id, d) in self.store.docs(Docs::Imports).map_err(err)? {
            self.imports.insert(id.clone(), parse(&id, &d)?);
        }
        for (id, d) in self.store.docs(Docs::Deletions).map_err(err)? {
            self.deletions.insert(id.clone(), parse(&id, &d)?);
        }
        Ok(())
    }

    /// Writes what changed since the last commit, in one transaction. Database
    /// errors are logged (the in-memory state stays authoritative for this run).
    pub(crate) fn commit(&mut self) {
        if let Err(e) = self.commit_or_fail() {
            tracing::error!("cannot write the emulator state: {e}");
        }
    }

    fn commit_or_fail(&mut self) -> std::io::Result<()> {
        let dirty = std::mem::take(&mut self.dirty);
        let result = self.write_dirty(dirty).and_then(|()| self.store.commit());
        result.map_err(|e| {
            self.store.rollback();
            std::io::Error::other(e.to_string())
        })
    }

    fn write_dirty(&mut self, dirty: Dirty) -> rusqlite::Result<()> {
        let store = &mut self.store;
        if dirty.meta {
            store.set_meta("secret_key", &self.secret_key)?;
            store.set_meta("organization_id", &self.organization_id)?;
            store.set_meta("signing_key", &self.signing_key)?;
            store.set_meta("next_seq", &self.next_seq.to_string())?;
        }
        for id in &dirty.datasets {
            match self.datasets.get(id) {
                Some(d) => store.put_doc(Docs::Datasets, id, &doc(d))?,
                None => store.delete_doc(Docs::Datasets, id)?,
            }
        }
        for id in &dirty.delete_ops {
            match self.delete_ops.get(id) {
                Some(d) => store.put_doc(Docs::DeleteOps, id, &doc(d))?,
                None => store.delete_doc(Docs::DeleteOps, id)?,
            }
        }
        for id in &dirty.sessions {
            match self.sessions.get(id) {
                Some(s) => store.put_doc(Docs::Sessions, id, &doc(s))?,
                None => {
                    store.delete_doc(Docs::Sessions, id)?;
                    store.delete_files(id)?;
                }
            }
        }
        for id in &dirty.all_files {
            if let Some(s) = self.sessions.get(id) {
                for (i, f) in s.files.iter().enumerate() {
                    store.put_file(id, i, &doc(f))?;
                }
            }
        }
        for (id, i) in &dirty.files {
            if dirty.all_files.contains(id) {
                continue;
            }
            if let Some(f) = self.sessions.get(id).and_then(|s| s.files.get(*i)) {
                store.put_file(id, *i, &doc(f))?;
            }
        }
        for id in &dirty.multiparts {
            match self.multiparts.get(id) {
                Some(m) => store.put_doc(Docs::Multiparts, id, &doc(m))?,
                None => store.delete_doc(Docs::Multiparts, id)?,
            }
        }
        for id in &dirty.exports {
            match self.exports.get(id) {
                Some(e) => store.put_doc(Docs::Exports, id, &doc(e))?,
                None => store.delete_doc(Docs::Exports, id)?,
            }
        }
        for id in &dirty.records {
            match self.records.get(id) {
                Some(r) => store.put_doc(Docs::Records, id, &doc(r))?,
                None => store.delete_doc(Docs::Records, id)?,
            }
        }
        for id in &dirty.imports {
            match self.imports.get(id) {
                Some(i) => store.put_doc(Docs::Imports, id, &doc(i))?,
                None => store.delete_doc(Docs::Imports, id)?,
            }
        }
        for id in &dirty.deletions {
            match self.deletions.get(id) {
                Some(d) => store.put_doc(Docs::Deletions, id, &doc(d))?,
                None => store.delete_doc(Docs::Deletions, id)?,
            }
        }
        Ok(())
    }

    /// Marks the credentials and counters for writing.
    pub(crate) fn touch_meta(&mut self) {
        self.dirty.meta = true;
    }

    /// The database, for reads.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn datasets(&self) -> &BTreeMap<String, Dataset> {
        &self.datasets
    }

    pub(crate) fn dataset_mut(&mut self, id: &str) -> Option<&mut Dataset> {
        let ds = self.datasets.get_mut(id)?;
        self.dirty.datasets.insert(id.to_owned());
        Some(ds)
    }

    pub(crate) fn insert_dataset(&mut self, ds: Dataset) {
        self.dirty.datasets.insert(ds.id.clone());
        self.datasets.insert(ds.id.clone(), ds);
    }

    pub(crate) fn delete_ops(&self) -> &BTreeMap<String, DeleteOp> {
        &self.delete_ops
    }

    pub(crate) fn insert_delete_op(&mut self, id: &str, op: DeleteOp) {
        self.dirty.delete_ops.insert(id.to_owned());
        self.delete_ops.insert(id.to_owned(), op);
    }

    pub(crate) fn remove_delete_op(&mut self, id: &str) {
        if self.delete_ops.remove(id).is_some() {
            self.dirty.delete_ops.insert(id.to_owned());
        }
    }

    pub(crate) fn sessions(&self) -> &BTreeMap<String, Session> {
        &self.sessions
    }

    /// A session for changing its header (not its files).
    pub(crate) fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        let s = self.sessions.get_mut(id)?;
        self.dirty.sessions.insert(id.to_owned());
        Some(s)
    }

    pub(crate) fn insert_session(&mut self, s: Session) {
        self.dirty.sessions.insert(s.id.clone());
        self.dirty.all_files.insert(s.id.clone());
        self.sessions.insert(s.id.clone(), s);
    }

    pub(crate) fn multiparts(&self) -> &BTreeMap<String, Multipart> {
        &self.multiparts
    }

    pub(crate) fn multipart_mut(&mut self, id: &str) -> Option<&mut Multipart> {
        let m = self.multiparts.get_mut(id)?;
        self.dirty.multiparts.insert(id.to_owned());
        Some(m)
    }

    pub(crate) fn insert_multipart(&mut self, m: Multipart) {
        self.dirty.multiparts.insert(m.id.clone());
        self.multiparts.insert(m.id.clone(), m);
    }

    /// Aborts the open multipart uploads of a session (all files, or one file).
    /// Returns their ids.
    pub(crate) fn abort_multiparts(
        &mut self,
        session: &str,
        filename: Option<&str>,
        now: i64,
    ) -> Vec<String> {
        let mut aborted = Vec::new();
        for mp in self.multiparts.values_mut() {
            if mp.session == session
                && filename.is_none_or(|f| f == mp.filename)
                && mp.state == MultipartState::Open
            {
                mp.state = MultipartState::Aborted;
                mp.updated = now;
                aborted.push(mp.id.clone());
            }
        }
        self.dirty.multiparts.extend(aborted.iter().cloned());
        aborted
    }

    pub(crate) fn session_by_ingestion(&self, ingestion_id: &str) -> Option<&Session> {
        self.sessions
            .values()
            .find(|s| s.ingestion_id == ingestion_id)
    }

    /// Writes a changed asset (rename).
    pub(crate) fn update_asset(&mut self, dataset: &str, asset: &Asset) -> rusqlite::Result<()> {
        self.store.put_asset(dataset, asset)
    }

    /// Deletes an asset; returns its blob when it existed.
    pub(crate) fn delete_asset(
        &mut self,
        dataset: &str,
        id: &str,
        now: i64,
    ) -> rusqlite::Result<Option<String>> {
        let blob = self.store.delete_asset(dataset, id)?;
        if blob.is_some() {
            self.remove_records(dataset, id);
            if let Some(ds) = self.dataset_mut(dataset) {
                ds.asset_count = ds.asset_count.saturating_sub(1);
                ds.updated = now;
            }
        }
        Ok(blob)
    }

    /// Creates a dataset holding `count` generated assets that all share one blob
    /// (`blob`: id, size, CRC32C), for measurements. Returns the short dataset id.
    pub(crate) fn seed_dataset(
        &mut self,
        owner: &str,
        name: &str,
        count: u64,
        now: i64,
        blob: (&str, u64, u32),
    ) -> rusqlite::Result<String> {
        let mut id = crate::ids::short_id();
        while self.datasets.contains_key(&id) || self.delete_ops.contains_key(&id) {
            id = crate::ids::short_id();
        }
        self.insert_dataset(Dataset {
            id: id.clone(),
            name: name.to_owned(),
            owner: owner.to_owned(),
            description: None,
            dataset_type: "phrase-grounding".into(),
            content: "Image".into(),
            localization: Some("Datature/Multi".into()),
            data_localization: Some("Datature/Multi".into()),
            status: 0,
            tags: BTreeMap::new(),
            attributes: BTreeMap::new(),
            preference: Map::new(),
            created: now,
            updated: now,
            generation: 1,
            asset_count: count,
        });
        let first = self.next_seq;
        self.store.seed_assets(&id, count, first, now, blob)?;
        self.next_seq += count;
        self.dirty.meta = true;
        Ok(id)
    }

    /// Removes a dataset and everything that belongs to it; returns its blobs and
    /// the ids of its multipart uploads.
    pub(crate) fn remove_dataset(&mut self, id: &str) -> (Garbage, Vec<String>) {
        let mut garbage = Vec::new();
        if self.datasets.remove(id).is_some() {
            self.dirty.datasets.insert(id.to_owned());
            garbage.extend(logged(self.store.delete_dataset_assets(id)).unwrap_or_default());
        }
        garbage.extend(self.remove_exports(id));
        garbage.extend(
            self.imports
                .values()
                .filter(|i| i.dataset == id)
                .flat_map(|i| i.files.iter().filter_map(|f| f.blob.clone()))
                .collect::<Vec<_>>(),
        );
        self.remove_annotation_state(id);
        let sessions: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.dataset == id)
            .map(|s| s.id.clone())
            .collect();
        for sid in sessions {
            // Received files are assets; their blobs went with the dataset's assets.
            if self.sessions.remove(&sid).is_some() {
                self.dirty.sessions.insert(sid);
            }
        }
        let multiparts: Vec<String> = self
            .multiparts
            .values()
            .filter(|m| m.dataset == id)
            .map(|m| m.id.clone())
            .collect();
        for mid in &multiparts {
            self.multiparts.remove(mid);
            self.dirty.multiparts.insert(mid.clone());
        }
        (garbage, multiparts)
    }

    /// Adds a dataset, session, multipart upload or delete operation read from an
    /// older state file, and its assets (import of `state.json`).
    pub(crate) fn import(&mut self, item: Imported) -> rusqlite::Result<()> {
        match item {
            Imported::Dataset(ds, assets) => {
                for asset in &assets {
                    self.store.put_asset(&ds.id, asset)?;
                }
                let mut ds = ds;
                ds.asset_count = assets.len() as u64;
                self.insert_dataset(ds);
            }
            Imported::DeleteOp(id, op) => self.insert_delete_op(&id, op),
            Imported::Session(s) => self.insert_session(s),
            Imported::Multipart(m) => self.insert_multipart(m),
            Imported::NextSeq(n) => {
                self.next_seq = n;
                self.dirty.meta = true;
            }
        }
        Ok(())
    }
}

/// One item of an imported older state.
pub(crate) enum Imported {
    Dataset(Dataset, Vec<Asset>),
    DeleteOp(String, DeleteOp),
    Session(Session),
    Multipart(Multipart),
    NextSeq(u64),
}
