//! The ingestion state machine: lazy timeouts, per-file outcomes (a received file
//! becomes an asset at once), finishing a session, cancellation.

use std::collections::BTreeMap;

use serde_json::Map;

use super::{
    Asset, CANCELLED, ErrorEvent, FileState, Finish, Garbage, Outcome, Session, SessionFile, State,
    logged,
};
use crate::config::FailureModel;

impl State {
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
    ///
    /// A received file becomes an asset at once, so that `progressCount.succeeded`
    /// always counts files that exist as assets: a client that stops waiting once the
    /// counter covers what it sent, and then lists the dataset, finds them all. (The
    /// alternative, assets made only when the whole session settles, leaves a session
    /// whose client gave up on one file holding every other file back until that file
    /// times out.)
    pub(crate) fn record_outcome(
        &mut self,
        session_id: &str,
        filename: &str,
        outcome: Outcome,
        now: i64,
        model: FailureModel,
    ) -> Garbage {
        let mut garbage = Vec::new();
        let found = self.sessions.get(session_id).and_then(|session| {
            session
                .files
                .iter()
                .position(|f| f.filename == filename)
                .map(|i| (i, session.files[i].state.clone()))
        });
        let Some((index, previous)) = found else {
            if let Outcome::Received { blob, .. } = outcome {
                garbage.push(blob);
            }
            return garbage;
        };
        if matches!(previous, FileState::Received { .. }) {
            // Already an asset: ingestion of a good file is not undone, and not done
            // twice (the storage answers such retries without calling here).
            if let Outcome::Received { blob, .. } = outcome {
                garbage.push(blob);
            }
            return garbage;
        }
        self.dirty.sessions.insert(session_id.to_owned());
        self.dirty.files.insert((session_id.to_owned(), index));
        match outcome {
            Outcome::Received {
                blob,
                width,
                height,
                crc,
            } => {
                let Some(session) = self.sessions.get_mut(session_id) else {
                    return vec![blob];
                };
                let file = &mut session.files[index];
                file.state = FileState::Received {
                    blob: blob.clone(),
                    width,
                    height,
                    crc,
                };
                let file = file.clone();
                let (dataset, keep_linked) = (session.dataset.clone(), session.keep_linked);
                let received = Received {
                    blob,
                    width,
                    height,
                    crc,
                };
                garbage.extend(self.ingest(&dataset, keep_linked, &file, received, now));
            }
            Outcome::Failed(code) => {
                let Some(session) = self.sessions.get_mut(session_id) else {
                    return garbage;
                };
                session.files[index].state = FileState::Failed { code: code.into() };
                let mut files = BTreeMap::new();
                files.insert(filename.to_owned(), code.to_owned());
                session.errors.push(ErrorEvent { files, time: now });
                if session.failure_mode == "FailAfterOne" {
                    // FailAfterOne: stop accepting further files (docs/protocol.md §15 #7).
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
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.last_activity = now;
            Self::bump_session(session, now);
        }
        garbage.extend(self.settle(session_id, now, model));
        garbage
    }

    /// Finishes a session whose files are all received (already assets) or failed.
    fn settle(&mut self, session_id: &str, now: i64, model: FailureModel) -> Garbage {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return Vec::new();
        };
        if session.finished.is_some()
            || session
                .files
                .iter()
                .any(|f| matches!(f.state, FileState::Pending))
        {
            return Vec::new();
        }
        let any_failed = session
            .files
            .iter()
            .any(|f| matches!(f.state, FileState::Failed { .. }));
        // Model (b) fails the session, but the files it received stay assets: ingestion
        // of a good file is not undone because another file failed.
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
        self.abort_multiparts(session_id, None, now);
        Vec::new()
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
        logged(self.store.put_asset(dataset, &asset));
        garbage
    }

    /// Cancels an open session: `Finished`/`FailedReach` with reason `Cancelled`, open
    /// multipart uploads aborted, later uploads refused (409).
    ///
    /// Spec §15 #27 recommends that a cancelled session "creates no assets". Files are
    /// ingested as they arrive here (see [`State::record_outcome`]), so a cancel creates
    /// no asset from any file not yet received, and does not remove the assets of files
    /// already received and counted as succeeded: a counter that once said "succeeded"
    /// never turns out to have been wrong.
    pub(crate) fn cancel_session(&mut self, session_id: &str, now: i64) -> Garbage {
        let garbage = Vec::new();
        let Some(session) = self.sessions.get_mut(session_id) else {
            return garbage;
        };
        if session.finished.is_some() {
            return garbage;
        }
        session.finished = Some(Finish {
            reached: false,
            reason: Some(CANCELLED.into()),
            message: Some("the ingestion session was cancelled".into()),
            time: now,
        });
        Self::bump_session(session, now);
        self.dirty.sessions.insert(session_id.to_owned());
        self.abort_multiparts(session_id, None, now);
        garbage
    }
}

/// The bytes of a received file and what was learnt from them.
struct Received {
    blob: String,
    width: u64,
    height: u64,
    crc: u32,
}
