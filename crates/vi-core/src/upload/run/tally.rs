//! Upload step 7: every planned file into exactly one bucket of the report.

use super::*;

impl Upload {
    /// Step 7: every planned file into exactly one bucket.
    pub(super) fn report(mut self, cancelled: bool, duration: Duration) -> UploadReport {
        if self.options.dry_run {
            return self.dry_run_report(cancelled, duration);
        }
        let settled: Vec<bool> = (0..self.batches.len())
            .map(|b| {
                self.batches[b].session.as_ref().is_some_and(|s| {
                    s.failure().is_none() && (s.is_finished() || self.accounted_for(b, s))
                })
            })
            .collect();
        let batches = std::mem::take(&mut self.batches);
        let mut succeeded = Vec::new();
        let mut failed = std::mem::take(&mut self.cancelled_early);
        let mut processing = Vec::new();
        let mut sessions = Vec::new();
        let mut states = self.states.into_iter();
        let mut planned = self.planned.into_iter();
        for (batch, settled) in batches.into_iter().zip(settled) {
            let session = batch.session;
            let errors = session
                .as_ref()
                .map(|s| s.failed_files())
                .unwrap_or_default();
            let session_id = session.as_ref().and_then(|s| s.id().ok());
            let failure = session.as_ref().and_then(|s| s.failure()).map(|c| {
                format!(
                    "{}{}",
                    c.reason.as_deref().unwrap_or(&c.condition),
                    c.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            });
            for _ in batch.files {
                let (Some(p), Some(state)) = (planned.next(), states.next()) else {
                    break;
                };
                let filename = p.spec.filename.clone();
                let reason = match state {
                    // The service's verdict on a file it received says more than the
                    // transfer error that followed it (e.g. a retry refused after ECORRUPT).
                    FileState::Failed(UploadFailure::Transfer { .. })
                        if errors.contains_key(&filename) =>
                    {
                        errors
                            .get(&filename)
                            .map(|code| UploadFailure::Rejected { code: code.clone() })
                    }
                    FileState::Failed(reason) => Some(reason),
                    FileState::Pending => Some(UploadFailure::Transfer {
                        status: None,
                        message: "the transfer was interrupted before it finished".into(),
                    }),
                    FileState::Transferred => {
                        if let Some(code) = errors.get(&filename) {
                            Some(UploadFailure::Rejected { code: code.clone() })
                        } else if settled {
                            None
                        } else {
                            failure
                                .clone()
                                .map(|message| UploadFailure::SessionFailed { message })
                        }
                    }
                };
                match (reason, &session_id) {
                    (Some(reason), _) => failed.push(FailedFile {
                        source: p.source,
                        filename,
                        reason,
                    }),
                    (None, Some(id)) => {
                        let file = UploadedFile {
                            source: p.source,
                            filename,
                            size: p.spec.size,
                            session: id.clone(),
                            replaced: p.replaces,
                        };
                        if settled {
                            succeeded.push(file);
                        } else {
                            processing.push(file);
                        }
                    }
                    (None, None) => failed.push(FailedFile {
                        source: p.source,
                        filename,
                        reason: UploadFailure::NoUploadUrl,
                    }),
                }
            }
            sessions.extend(session);
        }
        UploadReport {
            dataset: self.dataset,
            succeeded,
            failed,
            skipped: self.skipped,
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
    fn dry_run_report(self, cancelled: bool, duration: Duration) -> UploadReport {
        let planned = self
            .planned
            .into_iter()
            .map(|p| PlannedFile {
                source: p.source,
                filename: p.spec.filename,
                size: p.spec.size,
                replaces: p.replaces,
            })
            .collect();
        UploadReport {
            dataset: self.dataset,
            succeeded: Vec::new(),
            failed: self.cancelled_early,
            skipped: self.skipped,
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
