//! Per-file outcomes as they become known, for callers who cannot keep a report of every
//! file in memory (a million files) or who want each result written down at once (a
//! JSON Lines file that survives a kill).
//!
//! Give an [`OutcomeSink`] (any `Fn(&FileOutcome)`) to
//! [`UploadOptions::outcomes`](crate::upload::UploadOptions::outcomes) or
//! [`DownloadOptions::outcomes`](crate::download::DownloadOptions::outcomes). Every input
//! file is then recorded there exactly once; the report keeps the counts
//! ([`Counts`]), the failures and the problems, but no longer lists the files that
//! succeeded or were skipped, so its size no longer grows with them.

use std::sync::Arc;

use crate::download::report::{DownloadedFile, FailedDownload, SkippedDownload};
use crate::upload::report::{FailedFile, SkippedFile, UploadedFile};

/// What became of one file.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum FileOutcome<'a> {
    /// An upload the service has taken in.
    Uploaded(&'a UploadedFile),
    /// An upload sent that the service was still processing when the call returned.
    Processing(&'a UploadedFile),
    /// An upload that failed.
    UploadFailed(&'a FailedFile),
    /// An input left out of an upload.
    UploadSkipped(&'a SkippedFile),
    /// An asset written to disk.
    Downloaded(&'a DownloadedFile),
    /// An asset already on disk, complete.
    DownloadSkipped(&'a SkippedDownload),
    /// An asset that failed.
    DownloadFailed(&'a FailedDownload),
}

/// Receives [`FileOutcome`]s, possibly from several threads; keep it quick (a line to a
/// buffered file).
pub trait OutcomeSink: Send + Sync {
    /// Called once per input file.
    fn record(&self, outcome: &FileOutcome<'_>);
}

impl<F> OutcomeSink for F
where
    F: Fn(&FileOutcome<'_>) + Send + Sync,
{
    fn record(&self, outcome: &FileOutcome<'_>) {
        self(outcome)
    }
}

/// An optional, shareable outcome sink (the options' field).
#[derive(Clone, Default)]
pub struct Outcomes(Option<Arc<dyn OutcomeSink>>);

impl std::fmt::Debug for Outcomes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Outcomes(set)"
        } else {
            "Outcomes(none)"
        })
    }
}

impl Outcomes {
    /// A sink forwarding to `sink`.
    pub fn new(sink: impl OutcomeSink + 'static) -> Self {
        Outcomes(Some(Arc::new(sink)))
    }

    /// True when a sink is set: the report then keeps counts, not lists of the files that
    /// went well.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Records an outcome, if anyone listens.
    pub fn record(&self, outcome: FileOutcome<'_>) {
        if let Some(sink) = &self.0 {
            sink.record(&outcome);
        }
    }
}

/// How many files ended each way: kept by every report, whether or not its lists hold
/// the files themselves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Uploaded and taken in, or downloaded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Left out (uploads), or already on disk (downloads).
    pub skipped: u64,
    /// Sent, still being processed by the service (uploads).
    pub processing: u64,
}

impl Counts {
    /// Every file counted.
    pub fn total(&self) -> u64 {
        self.succeeded + self.failed + self.skipped + self.processing
    }
}
