//! Upload steps 4b and 6: cancelling the sessions left open, and waiting for the
//! sessions that received files to take them in. These run after the coordinator, one
//! request at a time on the caller's task.

use std::time::Duration;

use futures_util::future::{Either, select};

use super::Upload;
use super::coord::FileState;
use crate::endpoints::{CancelIngestionSession, GetIngestionSession};
use crate::error::Error;
use crate::models::IngestionSession;
use crate::progress::ProgressEvent;
use crate::upload::report::UploadFailure;

impl Upload {
    /// Sends U3 for every session that still had files to send (all of them when `all`),
    /// and marks the files not yet sent cancelled. Files already sent keep their state:
    /// the last look at the session (step 6) tells whether the service had taken them in
    /// before the cancel (it counts them succeeded) or drops them with the session.
    pub(super) async fn cancel_open_sessions(&mut self, all: bool) {
        for b in 0..self.flow.batches.len() {
            let Some(id) = self.flow.session_id(b) else {
                continue;
            };
            if !(all || self.flow.has_unsent(b)) {
                continue;
            }
            let endpoint = CancelIngestionSession {
                dataset: self.dataset.clone(),
                session: id,
            };
            // Best effort: the session times out on the service anyway.
            if let Err(e) = self.core.execute(&endpoint).await {
                tracing::warn!(error = %e, "could not cancel an ingestion session");
            }
        }
        // Every file not sent, whether its session exists or not, is cancelled.
        for file in &mut self.flow.files {
            if matches!(file.state, FileState::Pending | FileState::Unprepared) {
                file.state = FileState::Failed(UploadFailure::Cancelled);
            }
        }
    }

    /// Step 6: polls each session that received files until it finishes, fails, or the
    /// timeout passes. After a cancellation, looks once without waiting.
    pub(super) async fn wait_for_sessions(&mut self, cancelled: bool) {
        // Every created session is looked at at least once, so that the service's verdict
        // on files whose transfer failed (e.g. ECORRUPT) reaches the report.
        let live: Vec<usize> = (0..self.flow.batches.len())
            .filter(|&b| self.flow.batches[b].session.is_some())
            .collect();
        if live.is_empty() {
            return;
        }
        self.options.progress.emit(ProgressEvent::Waiting {
            sessions: live.len(),
        });
        let runtime = self.core.runtime().clone();
        let started = runtime.now();
        let mut delay = Duration::from_millis(100);
        let mut remaining = live;
        loop {
            let mut still = Vec::new();
            for b in remaining {
                if self.look_once(b).await {
                    still.push(b);
                }
            }
            remaining = still;
            if remaining.is_empty() || cancelled || self.cancel.is_cancelled() {
                return;
            }
            let elapsed = runtime.now().saturating_duration_since(started);
            if let Some(timeout) = self.options.wait_timeout {
                if elapsed >= timeout {
                    return;
                }
                delay = delay.min(timeout - elapsed);
            }
            let sleep = runtime.sleep(delay);
            if let Either::Right(_) = select(sleep, Box::pin(self.cancel.cancelled())).await {
                return;
            }
            delay = (delay * 2).min(self.options.max_poll_interval);
        }
    }

    /// Looks at batch `b`'s session once; true when it should be looked at again.
    async fn look_once(&mut self, b: usize) -> bool {
        let Some(id) = self.flow.session_id(b) else {
            return false;
        };
        let endpoint = GetIngestionSession {
            dataset: self.dataset.clone(),
            session: id,
        };
        match self.core.execute(&endpoint).await {
            Ok(session) => {
                let session = trimmed(session);
                let done = !self.options.wait
                    || session.is_finished()
                    || session.failure().is_some()
                    || !self.flow.sent_any(b)
                    || self.flow.accounted_for(b, &session);
                self.flow.batches[b].session = Some(session);
                !done
            }
            // A permanent refusal (401, 403, 404: credentials revoked, session gone) will
            // not change by asking again: its files are reported as processing.
            Err(e) if !e.is_retryable() && !matches!(e, Error::RetriesExhausted { .. }) => {
                tracing::warn!(error = %e, "polling an ingestion session was refused; its files are reported as processing");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "polling an ingestion session failed; will try again");
                true
            }
        }
    }
}

impl Drop for Upload {
    /// An upload dropped before its end (its future dropped by a timeout or a `select!`)
    /// has already stopped its transfers (the driver's tasks stop with it). Its sessions
    /// that still had files to send are cancelled here, best effort and in the
    /// background, so the service does not keep them open until its own timeout; files
    /// already taken in stay.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let unfinished: Vec<CancelIngestionSession> = (0..self.flow.batches.len())
            .filter(|&b| self.flow.has_unsent(b))
            .filter_map(|b| self.flow.session_id(b))
            .map(|session| CancelIngestionSession {
                dataset: self.dataset.clone(),
                session,
            })
            .collect();
        if unfinished.is_empty() {
            return;
        }
        let core = self.core.clone();
        self.core.runtime().spawn(Box::pin(async move {
            for endpoint in unfinished {
                if let Err(e) = core.execute(&endpoint).await {
                    tracing::debug!(error = %e, "could not cancel the session of a dropped upload");
                }
            }
        }));
    }
}

/// Drops the per-file lists a session carries (the upload URLs once they are handed out,
/// the echo of the declaration): the report keeps sessions for their ids, counters,
/// events and conditions, and per-file copies would make memory grow with the file count.
pub(super) fn trimmed(mut session: IngestionSession) -> IngestionSession {
    session.status.assets = None;
    session.spec.assets = None;
    session
}
