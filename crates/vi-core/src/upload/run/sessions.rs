//! Upload steps 4b and 6: cancelling the sessions left open, and waiting for the
//! sessions that received files to take them in.

use super::*;
use crate::ids::IngestionSessionId;

impl Upload {
    /// Sends U3 for every session that still had files to send (all of them when
    /// `all`), and marks the files not yet sent cancelled. Files already sent keep their
    /// state: the last look at the session (step 6) tells whether the service had taken
    /// them in before the cancel (it counts them succeeded) or drops them with the
    /// session (spec §15 #27).
    pub(super) async fn cancel_open_sessions(&mut self, all: bool) {
        for b in 0..self.batches.len() {
            let Some(id) = self.session_id(b) else {
                continue;
            };
            if !(all || self.has_unsent(b)) {
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
        for state in &mut self.states {
            if matches!(state, FileState::Pending) {
                *state = FileState::Failed(UploadFailure::Cancelled);
            }
        }
    }

    /// The id of batch `b`'s session, once it exists.
    pub(super) fn session_id(&self, b: usize) -> Option<IngestionSessionId> {
        self.batches[b].session.as_ref()?.id().ok()
    }

    /// True when batch `b` has files it has not sent (pending or failed).
    pub(super) fn has_unsent(&self, b: usize) -> bool {
        self.files_of(b)
            .iter()
            .any(|&i| !matches!(self.states[i], FileState::Transferred))
    }

    /// The files whose current session is batch `b` (files moved on are not).
    pub(super) fn files_of(&self, b: usize) -> Vec<usize> {
        self.batches[b]
            .files
            .iter()
            .copied()
            .filter(|&i| self.file_batch[i] == Some(b))
            .collect()
    }

    /// Step 6: polls each session that received files until it finishes, fails, or the
    /// timeout passes. After a cancellation, looks once without waiting.
    pub(super) async fn wait_for_sessions(&mut self, cancelled: bool) {
        // Every created session is looked at at least once, so that the service's verdict on
        // files whose transfer failed (e.g. ECORRUPT) reaches the report.
        let live: Vec<usize> = (0..self.batches.len())
            .filter(|&b| self.batches[b].session.is_some())
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
                let Some(id) = self.session_id(b) else {
                    continue;
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
                            || !self.sent_any(b)
                            || self.accounted_for(b, &session);
                        self.batches[b].session = Some(session);
                        if !done {
                            still.push(b);
                        }
                    }
                    // A permanent refusal (401, 403, 404: credentials revoked, session
                    // gone) will not change by asking again: stop polling this session; its
                    // files are reported as processing.
                    Err(e) if !e.is_retryable() && !matches!(e, Error::RetriesExhausted { .. }) => {
                        tracing::warn!(error = %e, "polling an ingestion session was refused; its files are reported as processing");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "polling an ingestion session failed; will try again");
                        still.push(b);
                    }
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

    pub(super) fn sent_any(&self, b: usize) -> bool {
        self.files_of(b)
            .into_iter()
            .any(|i| matches!(self.states[i], FileState::Transferred))
    }

    /// True when the service has settled every file of batch `b` that we sent: its
    /// succeeded count plus the sent files it reports as failed cover them all. The
    /// session may still wait for files whose transfer failed or that moved to another
    /// session (they time out on the service), but nothing we sent is pending any more,
    /// so waiting longer tells nothing.
    pub(super) fn accounted_for(&self, b: usize, session: &IngestionSession) -> bool {
        let errors = session.failed_files();
        let sent: Vec<&str> = self
            .files_of(b)
            .into_iter()
            .filter(|&i| matches!(self.states[i], FileState::Transferred))
            .map(|i| self.planned[i].spec.filename.as_str())
            .collect();
        let rejected = sent.iter().filter(|n| errors.contains_key(**n)).count() as u64;
        !sent.is_empty() && session.status.progress_count.succeeded + rejected >= sent.len() as u64
    }
}

impl Drop for Upload {
    /// An upload dropped before its end (its future dropped by a timeout or a `select!`)
    /// has already stopped its transfers (their task set aborts them). Its sessions that
    /// still had files to send are cancelled here, best effort and in the background, so
    /// the service does not keep them open until its own timeout; files already taken in
    /// stay (spec §6.10).
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let unfinished: Vec<CancelIngestionSession> = (0..self.batches.len())
            .filter(|&b| self.has_unsent(b))
            .filter_map(|b| self.session_id(b))
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
/// the echo of the declaration): the report keeps sessions for their ids, counters, events
/// and conditions, and per-file copies would make memory grow with the file count.
pub(super) fn trimmed(mut session: IngestionSession) -> IngestionSession {
    session.status.assets = None;
    session.spec.assets = None;
    session
}
