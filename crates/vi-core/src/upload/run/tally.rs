//! Upload step 7: every file into exactly one bucket of the report.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Upload;
use super::coord::{FileEntry, FileState};
use crate::ids::IngestionSessionId;
use crate::models::{IngestionErrorCode, IngestionSession};
use crate::outcome::{Counts, FileOutcome};
use crate::upload::report::{
    FailedFile, PlannedFile, SkippedFile, UploadFailure, UploadReport, UploadedFile,
};

/// What one session says of its files, once per session.
struct Verdicts {
    errors: BTreeMap<String, IngestionErrorCode>,
    id: Option<IngestionSessionId>,
    failure: Option<String>,
    /// Every file we sent in it is settled (see [`Upload::report`]).
    settled: bool,
}

impl Verdicts {
    fn of(session: Option<&IngestionSession>, settled: bool) -> Self {
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
            settled,
        }
    }
}

/// Where one file goes in the report.
enum Bucket {
    Succeeded(UploadedFile),
    Processing(UploadedFile),
    Failed(FailedFile),
    /// Already in the skipped list, or a dry run's plan.
    None,
}

impl Upload {
    /// Step 7: every file into exactly one bucket.
    pub(super) fn report(mut self, cancelled: bool, duration: Duration) -> UploadReport {
        // A file we sent is settled when its session finished well, or when the service's
        // own counters cover every file we sent, whatever the session's end: a session
        // that ends `FailedReach` keeps the files it had already taken in and counted.
        let verdicts: Vec<Verdicts> = (0..self.flow.batches.len())
            .map(|b| {
                let session = self.flow.batches[b].session.as_ref();
                let settled = session.is_some_and(|s| {
                    (s.failure().is_none() && s.is_finished()) || self.flow.accounted_for(b, s)
                });
                Verdicts::of(session, settled)
            })
            .collect();
        let dry_run = self.options.dry_run;
        let mut report = UploadReport {
            dataset: self.dataset.clone(),
            succeeded: Vec::new(),
            failed: Vec::new(),
            skipped: in_input_order(std::mem::take(&mut self.flow.skipped)),
            processing: Vec::new(),
            sessions: Vec::new(),
            bytes_uploaded: self.flow.bytes_uploaded,
            duration,
            cancelled,
            ignored_in_folders: self.ignored_in_folders,
            dry_run,
            planned: Vec::new(),
            assets_listed: self.flow.assets_listed,
            counts: Counts {
                skipped: self.flow.skipped_count,
                ..Counts::default()
            },
            present: self.flow.present,
        };
        let outcomes = self.options.outcomes.clone();
        let keep = !outcomes.is_set();
        for file in std::mem::take(&mut self.flow.files) {
            if dry_run && matches!(file.state, FileState::Pending) {
                report.planned.push(planned(file));
                continue;
            }
            let verdict = file.batch.map(|b| &verdicts[b]);
            match bucket(file, verdict) {
                Bucket::Succeeded(f) => {
                    report.counts.succeeded += 1;
                    outcomes.record(FileOutcome::Uploaded(&f));
                    if keep {
                        report.succeeded.push(f);
                    }
                }
                Bucket::Processing(f) => {
                    report.counts.processing += 1;
                    outcomes.record(FileOutcome::Processing(&f));
                    if keep {
                        report.processing.push(f);
                    }
                }
                Bucket::Failed(f) => {
                    report.counts.failed += 1;
                    outcomes.record(FileOutcome::UploadFailed(&f));
                    report.failed.push(f);
                }
                Bucket::None => {}
            }
        }
        report.sessions = std::mem::take(&mut self.flow.batches)
            .into_iter()
            .filter_map(|b| b.session)
            .collect();
        report
    }
}

/// The skipped inputs in input order (the sort is stable: those left out while gathering
/// keep theirs).
fn in_input_order(mut skipped: Vec<(usize, SkippedFile)>) -> Vec<SkippedFile> {
    skipped.sort_by_key(|(order, _)| *order);
    skipped.into_iter().map(|(_, file)| file).collect()
}

fn planned(mut file: FileEntry) -> PlannedFile {
    let source = file.source();
    let size = file.spec.as_ref().map_or(0, |s| s.size);
    PlannedFile {
        source,
        filename: file.take_name(),
        size,
        replaces: file.replaces,
    }
}

/// The bucket of one file, from its state and its session's verdicts.
fn bucket(mut file: FileEntry, verdict: Option<&Verdicts>) -> Bucket {
    let source = file.source();
    let size = file.spec.as_ref().map_or(0, |s| s.size);
    let filename = file.take_name();
    let error = verdict.and_then(|v| v.errors.get(&filename));
    let reason = match file.state {
        FileState::Skipped => return Bucket::None,
        // The service's verdict on a file it received says more than the transfer error
        // that followed it (e.g. a retry refused after ECORRUPT).
        FileState::Failed(UploadFailure::Transfer { .. }) if error.is_some() => {
            error.map(|code| UploadFailure::Rejected { code: code.clone() })
        }
        FileState::Failed(reason) => Some(reason),
        FileState::Unprepared | FileState::Preparing => Some(UploadFailure::Cancelled),
        FileState::Pending => Some(UploadFailure::Transfer {
            status: None,
            message: "the transfer was interrupted before it finished".into(),
        }),
        FileState::Transferred => match (error, verdict) {
            (Some(code), _) => Some(UploadFailure::Rejected { code: code.clone() }),
            (None, Some(v)) if !v.settled => v
                .failure
                .clone()
                .map(|message| UploadFailure::SessionFailed { message }),
            (None, _) => None,
        },
    };
    match (
        reason,
        verdict.and_then(|v| v.id.clone().map(|id| (id, v.settled))),
    ) {
        (Some(reason), _) => Bucket::Failed(FailedFile {
            source,
            filename,
            reason,
        }),
        (None, Some((session, settled))) => {
            let uploaded = UploadedFile {
                source,
                filename,
                size,
                session,
                replaced: file.replaces,
            };
            if settled {
                Bucket::Succeeded(uploaded)
            } else {
                Bucket::Processing(uploaded)
            }
        }
        (None, None) => Bucket::Failed(FailedFile {
            source,
            filename,
            reason: UploadFailure::NoUploadUrl,
        }),
    }
}
