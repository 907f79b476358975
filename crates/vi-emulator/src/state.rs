//! The emulator's data model, its persistence, and the ingestion state machine.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::FailureModel;

/// Everything the emulator remembers. Serialized as one JSON document.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) secret_key: String,
    pub(crate) organization_id: String,
    /// Hex of the HMAC key that signs URLs and page tokens.
    pub(crate) signing_key: String,
    pub(crate) datasets: BTreeMap<String, Dataset>,
    pub(crate) delete_ops: BTreeMap<String, DeleteOp>,
    pub(crate) sessions: BTreeMap<String, Session>,
    pub(crate) multiparts: BTreeMap<String, Multipart>,
    /// Monotonic counter giving assets a stable insertion order.
    pub(crate) next_seq: u64,
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
    pub(crate) assets: BTreeMap<String, Asset>,
}

impl Dataset {
    pub(crate) fn asset_by_filename(&self, filename: &str) -> Option<&Asset> {
        self.assets.values().find(|a| a.filename == filename)
    }
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

impl State {
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
        let Some(file) = session.files.iter_mut().find(|f| f.filename == filename) else {
            if let Outcome::Received { blob, .. } = outcome {
                garbage.push(blob);
            }
            return garbage;
        };
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
        let session = session.clone();
        for mp in self.multiparts.values_mut() {
            if mp.session == session.id && mp.state == MultipartState::Open {
                mp.state = MultipartState::Aborted;
            }
        }
        // Received files become assets, also in model (b): ingestion of a good file is
        // not undone because another file failed.
        for file in &session.files {
            if let FileState::Received {
                blob,
                width,
                height,
                crc,
            } = &file.state
            {
                garbage.extend(self.ingest(&session, file, blob, *width, *height, *crc, now));
            }
        }
        garbage
    }

    /// Creates or overwrites the asset named `file.filename`. Overwriting keeps the
    /// asset id and bumps its generation.
    #[allow(clippy::too_many_arguments)]
    fn ingest(
        &mut self,
        session: &Session,
        file: &SessionFile,
        blob: &str,
        width: u64,
        height: u64,
        crc: u32,
        now: i64,
    ) -> Garbage {
        let seq = self.next_seq;
        let Some(dataset) = self.datasets.get_mut(&session.dataset) else {
            return vec![blob.to_owned()];
        };
        dataset.updated = now;
        let existing = dataset
            .assets
            .values_mut()
            .find(|a| a.filename == file.filename);
        match existing {
            Some(asset) => {
                let old_blob = std::mem::replace(&mut asset.blob, blob.to_owned());
                asset.size = file.size;
                asset.mime = file.mime.clone();
                asset.kind = file.kind.clone();
                asset.width = width;
                asset.height = height;
                asset.crc = crc;
                match (&file.custom_metadata, session.keep_linked) {
                    (Some(meta), _) => asset.custom_metadata = meta.clone(),
                    (None, true) => {}
                    (None, false) => asset.custom_metadata = Map::new(),
                }
                asset.updated = now;
                asset.contents_updated = now;
                asset.generation += 1;
                if old_blob == blob {
                    Vec::new()
                } else {
                    vec![old_blob]
                }
            }
            None => {
                self.next_seq += 1;
                let mut id = crate::ids::short_id();
                while dataset.assets.contains_key(&id) {
                    id = crate::ids::short_id();
                }
                dataset.assets.insert(
                    id.clone(),
                    Asset {
                        id,
                        filename: file.filename.clone(),
                        blob: blob.to_owned(),
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
                    },
                );
                Vec::new()
            }
        }
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
        for mp in self.multiparts.values_mut() {
            if mp.session == session_id && mp.state == MultipartState::Open {
                mp.state = MultipartState::Aborted;
            }
        }
        garbage
    }

    /// Removes a dataset and everything that belongs to it; returns its blobs.
    pub(crate) fn remove_dataset(&mut self, id: &str) -> (Garbage, Vec<String>) {
        let mut garbage = Vec::new();
        if let Some(dataset) = self.datasets.remove(id) {
            garbage.extend(dataset.assets.into_values().map(|a| a.blob));
        }
        let sessions: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.dataset == id)
            .map(|s| s.id.clone())
            .collect();
        for sid in sessions {
            if let Some(session) = self.sessions.remove(&sid) {
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
        }
        (garbage, multiparts)
    }

    /// Reads a persisted state, `None` when there is none yet.
    pub(crate) fn load(path: &Path) -> std::io::Result<Option<State>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("cannot parse {}: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn to_json(&self) -> std::io::Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(std::io::Error::other)
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced,
/// then renamed over the target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
