//! Upload step 7: every planned file into exactly one bucket of the report.

use std::collections::BTreeMap;

use super::*;
use crate::ids::IngestionSessionId;
use crate::models::IngestionErrorCode;

impl Upload {
    /// Step 7: every planned file into exactly one bucket.
    pub(super) fn report(mut self, cancelled: bool, duration: Duration) -> UploadReport {
        if self.options.dry_run {
            return self.dry_run_report(cancelled, duration);
        }
        // A file we sent is settled when its session finished well, or when the
        // service's own counters cover every file we sent, whatever the session's end:
        // a session that ends `FailedReach` (FailAfterOne after another file failed, or
        // a cancel) keeps the files it had already taken in and counted (spec §6.9).
        let settled: Vec<bool> = (0..self.batches.len())
            .map(|b| {
                self.batches[b].session.as_ref().is_some_and(|s| {
                    (s.failure().is_none() && s.is_finished()) || self.accounted_for(b, s)
                })
            })
            .collect();
        // What each session says, once per session.
        struct Verdicts {
            errors: BTreeMap<String, IngestionErrorCode>,
            id: Option<IngestionSessionId>,
            failure: Option<String>,
        }
        let verdicts: Vec<Verdicts> = self
            .batches
            .iter()
            .map(|b| {
                let session = b.session.as_ref();
                Verdicts {
                    errors: session.map(|s| s.failed_files()).unwrap_or_default(),
                    id: session.and_then(|s| s.id().ok()),
                    failure: session.and_then(|s| s.failure()).map(|c| {
                        format!(
                            "{}{}",
                            c.reason.as_deref().unwrap_or(&c.condition),
                            c.message
                                .as_deref()
                                .map(|m| format!(": {m}"))
                                .unwrap_or_default()
                        )
                    }),
                }
            })
            .collect();
        let mut succeeded = Vec::new();
        let mut failed = std::mem::take(&mut self.cancelled_early);
        let mut processing = Vec::new();
        let file_batch = std::mem::take(&mut self.file_batch);
        let planned = std::mem::take(&mut self.planned);
        let states = std::mem::take(&mut self.states);
        for ((p, state), batch) in planned.into_iter().zip(states).zip(file_batch) {
            let (filename, size) = (p.spec.filename, p.spec.size);
            let source = SourceRef::from(p.spec.source);
            let verdict = batch.map(|b| (&verdicts[b], settled[b]));
            let error = verdict.and_then(|(v, _)| v.errors.get(&filename));
            let reason = match state {
                // The service's verdict on a file it received says more than the
                // transfer error that followed it (e.g. a retry refused after ECORRUPT).
                FileState::Failed(UploadFailure::Transfer { .. }) if error.is_some() => {
                    error.map(|code| UploadFailure::Rejected { code: code.clone() })
                }
                FileState::Failed(reason) => Some(reason),
                FileState::Pending => Some(UploadFailure::Transfer {
                    status: None,
                    message: "the transfer was interrupted before it finished".into(),
                }),
                FileState::Transferred => match (error, verdict) {
                    (Some(code), _) => Some(UploadFailure::Rejected { code: code.clone() }),
                    (None, Some((_, true))) | (None, None) => None,
                    (None, Some((v, false))) => v
                        .failure
                        .clone()
                        .map(|message| UploadFailure::SessionFailed { message }),
                },
            };
            match (
                reason,
                verdict.and_then(|(v, s)| v.id.clone().map(|id| (id, s))),
            ) {
                (Some(reason), _) => failed.push(FailedFile {
                    source,
                    filename,
                    reason,
                }),
                (None, Some((session, settled))) => {
                    let file = UploadedFile {
                        source,
                        filename,
                        size,
                        session,
                        replaced: p.replaces,
                    };
                    if settled {
                        succeeded.push(file);
                    } else {
                        processing.push(file);
                    }
                }
                (None, None) => failed.push(FailedFile {
                    source,
                    filename,
                    reason: UploadFailure::NoUploadUrl,
                }),
            }
        }
        let sessions: Vec<IngestionSession> = std::mem::take(&mut self.batches)
            .into_iter()
            .filter_map(|b| b.session)
            .collect();
        UploadReport {
            dataset: self.dataset.clone(),
            succeeded,
            failed,
            skipped: std::mem::take(&mut self.skipped),
            processing,
            sessions,
            bytes_uploaded: self.bytes_uploaded,
            duration,
            cancelled,
            ignored_in_folders: self.ignored_in_folders,
            dry_run: false,
            planned: Vec::new(),
            assets_listed: self.assets_listed,
        }
    }

    /// A dry run: every planned file is listed as what would be sent.
    fn dry_run_report(mut self, cancelled: bool, duration: Duration) -> UploadReport {
        let planned = std::mem::take(&mut self.planned)
            .into_iter()
            .map(|p| PlannedFile {
                source: SourceRef::from(p.spec.source),
                filename: p.spec.filename,
                size: p.spec.size,
                replaces: p.replaces,
            })
            .collect();
        UploadReport {
            dataset: self.dataset.clone(),
            succeeded: Vec::new(),
            failed: std::mem::take(&mut self.cancelled_early),
            skipped: std::mem::take(&mut self.skipped),
            processing: Vec::new(),
            sessions: Vec::new(),
            bytes_uploaded: 0,
            duration,
            cancelled,
            ignored_in_folders: self.ignored_in_folders,
            dry_run: true,
            planned,
            assets_listed: self.assets_listed,
        }
    }
}
