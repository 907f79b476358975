//! The ingestion state machine: lazy timeouts, per-file outcomes, finishing a
//! session (received files become assets), cancellation.

use std::collections::BTreeMap;

use serde_json::Map;

use super::{
    Asset, ErrorEvent, FileState, Finish, Garbage, Outcome, Session, SessionFile, State, logged,
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
        logged(self.store.put_asset(dataset, &asset));
        garbage
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
}

/// The bytes of a received file and what was learnt from them.
struct Received {
    blob: String,
    width: u64,
    height: u64,
    crc: u32,
}
