//! The emulator's data model, its persistence, and the ingestion state machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::FailureModel;
use crate::store::{Docs, Store};

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Dataset {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) owner: String,
    pub(crate) description: Option<String>,
    pub(crate) dataset_type: String,
    pub(crate) content: String,
    pub(crate) localization: Option<String>,
    pub(crate) data_localization: Option<String>,
    pub(crate) status: i64,
    pub(crate) tags: BTreeMap<String, i64>,
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) preference: Map<String, Value>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) generation: u64,
    /// Number of assets (kept with every insert and delete).
    #[serde(default)]
    pub(crate) asset_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Asset {
    pub(crate) id: String,
    pub(crate) filename: String,
    pub(crate) blob: String,
    pub(crate) size: u64,
    pub(crate) mime: String,
    pub(crate) kind: String,
    pub(crate) width: u64,
    pub(crate) height: u64,
    pub(crate) crc: u32,
    pub(crate) custom_metadata: Map<String, Value>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) contents_updated: i64,
    pub(crate) generation: u64,
    pub(crate) seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeleteOp {
    pub(crate) dataset: String,
    pub(crate) created: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) ingestion_id: String,
    pub(crate) dataset: String,
    pub(crate) failure_mode: String,
    pub(crate) keep_linked: bool,
    pub(crate) spec_kind: String,
    /// Stored as rows of their own (one per file), not in the session document.
    #[serde(skip_serializing, default)]
    pub(crate) files: Vec<SessionFile>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) last_activity: i64,
    pub(crate) generation: u64,
    pub(crate) upload_expiry: i64,
    pub(crate) finished: Option<Finish>,
    pub(crate) errors: Vec<ErrorEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Finish {
    pub(crate) reached: bool,
    pub(crate) reason: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ErrorEvent {
    pub(crate) files: BTreeMap<String, String>,
    pub(crate) time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionFile {
    pub(crate) filename: String,
    pub(crate) mime: String,
    pub(crate) size: u64,
    pub(crate) crc32c: Option<i32>,
    pub(crate) custom_metadata: Option<Map<String, Value>>,
    pub(crate) kind: String,
    pub(crate) state: FileState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum FileState {
    Pending,
    Received {
        blob: String,
        width: u64,
        height: u64,
        crc: u32,
    },
    Failed {
        code: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum MultipartState {
    Open,
    Aborted,
    Completed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Multipart {
    pub(crate) id: String,
    pub(crate) session: String,
    pub(crate) dataset: String,
    pub(crate) ingestion_id: String,
    pub(crate) filename: String,
    pub(crate) content_type: Option<String>,
    pub(crate) size: u64,
    pub(crate) part_count: u32,
    pub(crate) parts: BTreeMap<u32, Part>,
    pub(crate) state: MultipartState,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) generation: u64,
    pub(crate) force_corrupt: bool,
}

impl Multipart {
    /// Byte range `[start, end)` of part `n` (1-based) under the §6.8 boundary rule.
    pub(crate) fn part_range(&self, n: u32) -> (u64, u64) {
        part_range(self.size, self.part_count, n)
    }
}

/// `base = floor(size / N)`; part n covers `[(n-1)·base, n·base)`, the last part
/// absorbs the remainder.
pub(crate) fn part_range(size: u64, count: u32, n: u32) -> (u64, u64) {
    let count = u64::from(count.max(1));
    let n = u64::from(n.max(1));
    let base = size / count;
    let start = (n - 1) * base;
    let end = if n >= count { size } else { n * base };
    (start, end)
}

/// `ceil(size / part_size)` clamped to 1..=10 000 (spec §15 #15).
pub(crate) fn part_count(size: u64, part_size: u64) -> u32 {
    let part_size = part_size.max(1);
    let count = size.div_ceil(part_size).clamp(1, 10_000);
    u32::try_from(count).unwrap_or(10_000)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Part {
    pub(crate) size: u64,
    pub(crate) crc: u32,
    pub(crate) registered: bool,
}

impl Part {
    pub(crate) fn etag(&self) -> String {
        format!("\"{:08x}{:016x}\"", self.crc, self.size)
    }
}

/// What became of one uploaded file.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Received {
        blob: String,
        width: u64,
        height: u64,
        crc: u32,
    },
    Failed(&'static str),
}

/// Blob ids whose files can be deleted once the state lock is released.
pub(crate) type Garbage = Vec<String>;

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

    fn bump_session(session: &mut Session, now: i64) {
        session.updated = now;
        session.generation += 1;
    }

    /// Times out files that were never uploaded, then finishes the session when
    /// nothing is pending any more.
    pub(crate) fn refresh_session(
        &mut self,
        session_id: &str,
        now: i64,
        timeout_ms: i64,
        model: FailureModel,
    ) -> Garbage {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return Vec::new();
        };
        if session.finished.is_some() {
            return Vec::new();
        }
        if now.saturating_sub(session.last_activity) >= timeout_ms {
            let mut files = BTreeMap::new();
            for file in &mut session.files {
                if matches!(file.state, FileState::Pending) {
                    file.state = FileState::Failed {
                        code: "ETIMEOUT".into(),
                    };
                    files.insert(file.filename.clone(), "ETIMEOUT".to_owned());
                }
            }
            if !files.is_empty() {
                session.errors.push(ErrorEvent { files, time: now });
                Self::bump_session(session, now);
                self.dirty.sessions.insert(session_id.to_owned());
                self.dirty.all_files.insert(session_id.to_owned());
            }
        }
        self.settle(session_id, now, model)
    }

    /// Records the outcome of one file of an open session and advances the session.
    pub(crate) fn record_outcome(
        &mut self,
        session_id: &str,
        filename: &str,
        outcome: Outcome,
        now: i64,
        model: FailureModel,
    ) -> Garbage {
        let mut garbage = Vec::new();
        let Some(session) = self.sessions.get_mut(session_id) else {
            if let Outcome::Received { blob, .. } = outcome {
                garbage.push(blob);
            }
            return garbage;
        };
        let fail_after_one = session.failure_mode == "FailAfterOne";
        let Some(index) = session.files.iter().position(|f| f.filename == filename) else {
            if let Outcome::Received { blob, .. } = outcome {
                garbage.push(blob);
            }
            return garbage;
        };
        self.dirty.sessions.insert(session_id.to_owned());
        self.dirty.files.insert((session_id.to_owned(), index));
        let file = &mut session.files[index];
        if let FileState::Received { blob, .. } = &file.state {
            garbage.push(blob.clone());
        }
        match outcome {
            Outcome::Received {
                blob,
                width,
                height,
                crc,
            } => {
                file.state = FileState::Received {
                    blob,
                    width,
                    height,
                    crc,
                };
            }
            Outcome::Failed(code) => {
                file.state = FileState::Failed { code: code.into() };
                let mut files = BTreeMap::new();
                files.insert(filename.to_owned(), code.to_owned());
                session.errors.push(ErrorEvent { files, time: now });
                if fail_after_one {
                    // FailAfterOne: stop accepting further files (spec §15 #7).
                    let mut rest = BTreeMap::new();
                    for other in &mut session.files {
                        if matches!(other.state, FileState::Pending) {
                            other.state = FileState::Failed {
                                code: "EUNKNOWN".into(),
                            };
                            rest.insert(other.filename.clone(), "EUNKNOWN".to_owned());
                        }
                    }
                    if !rest.is_empty() {
                        session.errors.push(ErrorEvent {
                            files: rest,
                            time: now,
                        });
                        self.dirty.all_files.insert(session_id.to_owned());
                    }
                }
            }
        }
        session.last_activity = now;
        Self::bump_session(session, now);
        garbage.extend(self.settle(session_id, now, model));
        garbage
    }

    /// Finishes a session whose files are all received or failed, turning received
    /// files into assets.
    fn settle(&mut self, session_id: &str, now: i64, model: FailureModel) -> Garbage {
        let mut garbage = Vec::new();
        let Some(session) = self.sessions.get_mut(session_id) else {
            return garbage;
        };
        if session.finished.is_some()
            || session
                .files
                .iter()
                .any(|f| matches!(f.state, FileState::Pending))
        {
            return garbage;
        }
        let any_failed = session
            .files
            .iter()
            .any(|f| matches!(f.state, FileState::Failed { .. }));
        let failed_reach = model == FailureModel::FailedReachOnFirstError
            && session.failure_mode == "FailAfterOne"
            && any_failed;
        session.finished = Some(if failed_reach {
            Finish {
                reached: false,
                reason: Some("FileFailed".into()),
                message: Some("at least one file failed and failureMode is FailAfterOne".into()),
                time: now,
            }
        } else {
            Finish {
                reached: true,
                reason: None,
                message: None,
                time: now,
            }
        });
        Self::bump_session(session, now);
        self.dirty.sessions.insert(session_id.to_owned());
        let received: Vec<(SessionFile, String, u64, u64, u32)> = session
            .files
            .iter()
            .filter_map(|f| match &f.state {
                FileState::Received {
                    blob,
                    width,
                    height,
                    crc,
                } => Some((f.clone(), blob.clone(), *width, *height, *crc)),
                _ => None,
            })
            .collect();
        let dataset = session.dataset.clone();
        let keep_linked = session.keep_linked;
        self.abort_multiparts(session_id, None, now);
        // Received files become assets, also in model (b): ingestion of a good file is
        // not undone because another file failed.
        for (file, blob, width, height, crc) in received {
            let received = Received {
                blob,
                width,
                height,
                crc,
            };
            garbage.extend(self.ingest(&dataset, keep_linked, &file, received, now));
        }
        garbage
    }

    /// Creates or overwrites the asset named `file.filename`. Overwriting keeps the
    /// asset id and bumps its generation.
    fn ingest(
        &mut self,
        dataset: &str,
        keep_linked: bool,
        file: &SessionFile,
        received: Received,
        now: i64,
    ) -> Garbage {
        let Received {
            blob,
            width,
            height,
            crc,
        } = received;
        if !self.datasets.contains_key(dataset) {
            return vec![blob];
        }
        let existing = logged(self.store.asset_by_filename(dataset, &file.filename)).flatten();
        let (asset, garbage) = match existing {
            Some(mut asset) => {
                let old_blob = std::mem::replace(&mut asset.blob, blob.clone());
                asset.size = file.size;
                asset.mime = file.mime.clone();
                asset.kind = file.kind.clone();
                asset.width = width;
                asset.height = height;
                asset.crc = crc;
                match (&file.custom_metadata, keep_linked) {
                    (Some(meta), _) => asset.custom_metadata = meta.clone(),
                    (None, true) => {}
                    (None, false) => asset.custom_metadata = Map::new(),
                }
                asset.updated = now;
                asset.contents_updated = now;
                asset.generation += 1;
                let garbage = if old_blob == blob {
                    Vec::new()
                } else {
                    vec![old_blob]
                };
                (asset, garbage)
            }
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.dirty.meta = true;
                let mut id = crate::ids::short_id();
                while logged(self.store.asset_id_taken(dataset, &id)).unwrap_or(false) {
                    id = crate::ids::short_id();
                }
                if let Some(ds) = self.dataset_mut(dataset) {
                    ds.asset_count += 1;
                }
                let asset = Asset {
                    id,
                    filename: file.filename.clone(),
                    blob,
                    size: file.size,
                    mime: file.mime.clone(),
                    kind: file.kind.clone(),
                    width,
                    height,
                    crc,
                    custom_metadata: file.custom_metadata.clone().unwrap_or_default(),
                    created: now,
                    updated: now,
                    contents_updated: now,
                    generation: 1,
                    seq,
                };
                (asset, Vec::new())
            }
        };
        if let Some(ds) = self.dataset_mut(dataset) {
            ds.updated = now;
        }
        logged(self.store_mut().put_asset(dataset, &asset));
        garbage
    }

    fn store_mut(&mut self) -> &mut Store {
        &mut self.store
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

    /// Cancels an open session: `Finished`/`FailedReach` with reason `Cancelled`,
    /// received bytes discarded, open multipart uploads aborted.
    pub(crate) fn cancel_session(&mut self, session_id: &str, now: i64) -> Garbage {
        let mut garbage = Vec::new();
        let Some(session) = self.sessions.get_mut(session_id) else {
            return garbage;
        };
        if session.finished.is_some() {
            return garbage;
        }
        for file in &mut session.files {
            if let FileState::Received { blob, .. } = &file.state {
                garbage.push(blob.clone());
            }
        }
        session.finished = Some(Finish {
            reached: false,
            reason: Some("Cancelled".into()),
            message: Some("the ingestion session was cancelled".into()),
            time: now,
        });
        Self::bump_session(session, now);
        self.dirty.sessions.insert(session_id.to_owned());
        self.abort_multiparts(session_id, None, now);
        garbage
    }

    /// Removes a dataset and everything that belongs to it; returns its blobs and
    /// the ids of its multipart uploads.
    pub(crate) fn remove_dataset(&mut self, id: &str) -> (Garbage, Vec<String>) {
        let mut garbage = Vec::new();
        if self.datasets.remove(id).is_some() {
            self.dirty.datasets.insert(id.to_owned());
            garbage.extend(logged(self.store.delete_dataset_assets(id)).unwrap_or_default());
        }
        let sessions: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.dataset == id)
            .map(|s| s.id.clone())
            .collect();
        for sid in sessions {
            if let Some(session) = self.sessions.remove(&sid) {
                self.dirty.sessions.insert(sid);
                for file in session.files {
                    if let FileState::Received { blob, .. } = file.state {
                        garbage.push(blob);
                    }
                }
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

/// The bytes of a received file and what was learnt from them.
struct Received {
    blob: String,
    width: u64,
    height: u64,
    crc: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(part_count(0, 64), 1);
        assert_eq!(part_count(64, 64), 1);
        assert_eq!(part_count(65, 64), 2);
        assert_eq!(part_count(u64::MAX, 1), 10_000);
        assert_eq!(part_range(10, 3, 1), (0, 3));
        assert_eq!(part_range(10, 3, 2), (3, 6));
        assert_eq!(part_range(10, 3, 3), (6, 10));
        assert_eq!(part_range(5, 1, 1), (0, 5));
    }
}
