//! What an upload did, file by file.

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::ids::{AssetId, DatasetId, IngestionSessionId};
use crate::models::{IngestionErrorCode, IngestionSession};
use crate::outcome::Counts;
use crate::upload::spec::{ComparedBy, SkipReason};

/// Where an uploaded file came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SourceRef {
    /// A file on disk.
    File(PathBuf),
    /// In-memory bytes, given with this filename.
    Memory,
}

impl From<crate::upload::spec::SpecSource> for SourceRef {
    /// Where a file's bytes came from, as the report names it (the bytes themselves are
    /// dropped).
    fn from(source: crate::upload::spec::SpecSource) -> Self {
        match source {
            crate::upload::spec::SpecSource::File(path) => SourceRef::File(path),
            crate::upload::spec::SpecSource::Bytes(_) => SourceRef::Memory,
        }
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceRef::File(path) => write!(f, "{}", path.display()),
            SourceRef::Memory => f.write_str("<in memory>"),
        }
    }
}

/// A file that was transferred.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedFile {
    /// Where it came from.
    pub source: SourceRef,
    /// Its asset filename in the dataset.
    pub filename: String,
    /// Its size in bytes.
    pub size: u64,
    /// The ingestion session that carried it.
    pub session: IngestionSessionId,
    /// The asset of the same name and other content that it replaced, when
    /// [`skip_existing`](crate::upload::UploadOptions::skip_existing) found one.
    pub replaced: Option<AssetId>,
}

/// A file a dry run would send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile {
    /// Where it comes from.
    pub source: SourceRef,
    /// Its asset filename in the dataset.
    pub filename: String,
    /// Its size in bytes.
    pub size: u64,
    /// The asset of the same name and other content it would replace, when
    /// [`skip_existing`](crate::upload::UploadOptions::skip_existing) found one.
    pub replaces: Option<AssetId>,
}

/// Why a file failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadFailure {
    /// The ingestion session for its batch could not be created.
    SessionNotCreated {
        /// The error, as text.
        message: String,
    },
    /// The service gave no upload URL for the file.
    NoUploadUrl,
    /// The bytes could not be sent (after retries).
    Transfer {
        /// The storage's HTTP status, if it answered.
        status: Option<u16>,
        /// The error, as text (never the signed URL).
        message: String,
    },
    /// The service received the file but rejected it.
    Rejected {
        /// The service's error code (e.g. `ECORRUPT`).
        code: IngestionErrorCode,
    },
    /// The session as a whole failed before this file was taken in.
    SessionFailed {
        /// The service's reason.
        message: String,
    },
    /// The upload was cancelled before this file was taken in.
    Cancelled,
    /// A bug in the SDK stopped this file's upload (a worker panicked); please report it.
    Internal {
        /// Where it happened.
        message: String,
    },
}

impl fmt::Display for UploadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadFailure::SessionNotCreated { message } => {
                write!(f, "the ingestion session could not be created: {message}")
            }
            UploadFailure::Internal { message } => write!(f, "internal error: {message}"),
            UploadFailure::NoUploadUrl => {
                f.write_str("the service returned no upload URL for this file; upload it again")
            }
            UploadFailure::Transfer { message, .. } => write!(f, "upload failed: {message}"),
            UploadFailure::Rejected { code } => write!(
                f,
                "the service rejected the file: {} ({})",
                code.as_str(),
                code.description()
            ),
            UploadFailure::SessionFailed { message } => {
                write!(f, "the ingestion session failed: {message}")
            }
            UploadFailure::Cancelled => f.write_str("cancelled before the service took it in"),
        }
    }
}

/// A file that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedFile {
    /// Where it came from.
    pub source: SourceRef,
    /// Its asset filename.
    pub filename: String,
    /// Why it failed.
    pub reason: UploadFailure,
}

/// A file left out before any transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    /// Where it came from.
    pub source: SourceRef,
    /// Its name (the file name, or the name given to in-memory bytes).
    pub filename: String,
    /// Why it was left out.
    pub reason: SkipReason,
}

/// The outcome of an upload: every input file appears in exactly one of `succeeded`,
/// `failed`, `skipped`, `processing` and (for a dry run) `planned`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UploadReport {
    /// The dataset uploaded to.
    pub dataset: DatasetId,
    /// Files the service has taken in.
    pub succeeded: Vec<UploadedFile>,
    /// Files that failed, each with its reason.
    pub failed: Vec<FailedFile>,
    /// Files left out before upload, each with its reason (including those already in
    /// the dataset, [`SkipReason::AlreadyPresent`]; see [`UploadReport::already_present`]).
    pub skipped: Vec<SkippedFile>,
    /// Files transferred that the service was still processing when the call returned
    /// (waiting was off, or timed out).
    pub processing: Vec<UploadedFile>,
    /// The ingestion sessions, in their final observed state.
    pub sessions: Vec<IngestionSession>,
    /// Bytes transferred.
    pub bytes_uploaded: u64,
    /// Wall-clock time of the whole call.
    pub duration: Duration,
    /// True when the upload was cancelled.
    pub cancelled: bool,
    /// Files found in the given folders whose extension is not an image or video one
    /// (docs/protocol.md §12.2). They are not inputs, so they are in none of the lists; the count is
    /// here so that nothing disappears without a word.
    pub ignored_in_folders: u64,
    /// True for a dry run: nothing was sent, and the files that would have been are in
    /// `planned`.
    pub dry_run: bool,
    /// Files a dry run would send (always empty when the upload really ran).
    pub planned: Vec<PlannedFile>,
    /// How many assets of the dataset were listed to find files already there, when
    /// [`skip_existing`](crate::upload::UploadOptions::skip_existing) was on.
    pub assets_listed: Option<u64>,
    /// How many files ended each way. With an outcome sink
    /// ([`UploadOptions::outcomes`](crate::upload::UploadOptions::outcomes)) the lists
    /// hold only the failures, and these counts are the totals.
    pub counts: Counts,
    /// Files already in the dataset (skip-existing), counted whether or not `skipped`
    /// lists them.
    pub present: u64,
}

impl UploadReport {
    /// Every input file.
    pub fn total_files(&self) -> usize {
        self.counts.total() as usize + self.planned.len()
    }

    /// The files left out because the dataset already holds them
    /// ([`SkipReason::AlreadyPresent`]).
    pub fn already_present(&self) -> impl Iterator<Item = &SkippedFile> {
        self.skipped.iter().filter(|s| is_present(&s.reason))
    }

    /// How many of the files already present were compared by size only (the service gave
    /// no CRC-32C for them, or they are over 1 GiB).
    pub fn compared_by_size_only(&self) -> usize {
        self.skipped
            .iter()
            .filter(|s| {
                matches!(
                    s.reason,
                    SkipReason::AlreadyPresent {
                        compared_by: ComparedBy::SizeOnly,
                        ..
                    }
                )
            })
            .count()
    }

    /// Files succeeded or already in the dataset, as a percentage of all input files (0
    /// when there were none).
    pub fn success_rate(&self) -> f64 {
        let total = self.total_files();
        if total == 0 {
            0.0
        } else {
            (self.counts.succeeded + self.present) as f64 * 100.0 / total as f64
        }
    }

    /// True when nothing is still processing.
    pub fn is_complete(&self) -> bool {
        self.counts.processing == 0
    }

    /// True when every input file succeeded or was already in the dataset (for a dry run:
    /// when nothing would fail or be left out for a problem), and nothing was cancelled.
    pub fn is_success(&self) -> bool {
        !self.cancelled
            && self.counts.failed == 0
            && self.counts.processing == 0
            && self.counts.skipped == self.present
    }

    /// The ids of the ingestion sessions.
    pub fn session_ids(&self) -> Vec<String> {
        self.sessions
            .iter()
            .map(|s| s.asset_ingestion_session_id.clone())
            .collect()
    }

    /// Turns any failure, skip, unfinished file or cancellation into an error, for callers
    /// who want all or nothing.
    ///
    /// # Errors
    /// [`Error::Operation`] summarising what did not succeed.
    pub fn into_result(self) -> Result<UploadReport, Error> {
        if self.is_success() {
            return Ok(self);
        }
        let mut problems = Vec::new();
        if self.cancelled {
            problems.push("the upload was cancelled".to_owned());
        }
        if let Some(f) = self.failed.first() {
            problems.push(format!(
                "{} failed (first: {}: {})",
                self.failed.len(),
                f.filename,
                f.reason
            ));
        }
        let mut skipped = self.skipped.iter().filter(|s| !is_present(&s.reason));
        if let Some(s) = skipped.next() {
            problems.push(format!(
                "{} skipped (first: {}: {})",
                skipped.count() + 1,
                s.filename,
                s.reason
            ));
        }
        if !self.processing.is_empty() {
            problems.push(format!("{} still processing", self.counts.processing));
        }
        Err(Error::Operation {
            operation: format!("upload to dataset {}", self.dataset),
            message: problems.join("; "),
        })
    }

    /// A readable table of the numbers, then every failed and skipped file with its reason
    /// (files already present are counted, not listed; nor are the files a dry run would
    /// send: they are in [`UploadReport::planned`]).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let present = self.already_present().count();
        let title = if self.dry_run {
            "Dry run, nothing sent"
        } else if self.cancelled {
            "Upload cancelled"
        } else if !self.is_complete() {
            "Upload sent, still processing"
        } else if self.is_success() {
            "Upload complete"
        } else {
            "Upload complete with problems"
        };
        let _ = writeln!(out, "{title} (dataset {})", self.dataset);
        let mut rows = vec![("Total files", self.total_files().to_string())];
        if self.dry_run {
            rows.push(("Would send", self.planned.len().to_string()));
            let bytes = self.planned.iter().map(|p| p.size).sum();
            rows.push(("Would upload", human_bytes(bytes)));
        } else {
            rows.push(("Succeeded", self.counts.succeeded.to_string()));
            rows.push(("Failed", self.counts.failed.to_string()));
        }
        rows.push(("Skipped", self.counts.skipped.to_string()));
        if self.assets_listed.is_some() || present > 0 {
            rows.push(("  present", present.to_string()));
        }
        if !self.dry_run {
            rows.extend([
                ("Processing", self.counts.processing.to_string()),
                ("Success rate", format!("{:.1}%", self.success_rate())),
                ("Uploaded", human_bytes(self.bytes_uploaded)),
                ("Duration", format!("{:.1}s", self.duration.as_secs_f64())),
                ("Sessions", self.sessions.len().to_string()),
            ]);
        }
        for (label, value) in rows {
            let _ = writeln!(out, "  {label:<13} {value:>10}");
        }
        if let Some(listed) = self.assets_listed {
            let _ = writeln!(
                out,
                "Already in the dataset (compared with its {listed} assets), not sent again: \
                 {present} files"
            );
            let by_size = self.compared_by_size_only();
            if by_size > 0 {
                let _ = writeln!(
                    out,
                    "  of which {by_size} compared by size only: the service gave no CRC-32C \
                     for them (or they are over 1 GiB)"
                );
            }
        }
        if self.ignored_in_folders > 0 {
            let _ = writeln!(
                out,
                "Not image or video files, left alone in the folders: {}",
                self.ignored_in_folders
            );
        }
        let cancelled = self
            .failed
            .iter()
            .filter(|f| f.reason == UploadFailure::Cancelled)
            .count();
        if cancelled > 0 {
            let _ = writeln!(
                out,
                "Cancelled before the service took them in: {cancelled} files"
            );
        }
        list_some(
            &mut out,
            "Failed files:",
            self.failed
                .iter()
                .filter(|f| f.reason != UploadFailure::Cancelled)
                .map(|f| format!("{} ({}): {}", f.filename, f.source, f.reason)),
        );
        list_some(
            &mut out,
            "Skipped files:",
            self.skipped
                .iter()
                .filter(|s| !is_present(&s.reason))
                .map(|s| format!("{} ({}): {}", s.filename, s.source, s.reason)),
        );
        out
    }
}

impl fmt::Display for UploadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

fn is_present(reason: &SkipReason) -> bool {
    matches!(reason, SkipReason::AlreadyPresent { .. })
}

/// How many lines of one kind a summary lists before it says how many more there are.
pub const SUMMARY_LINES: usize = 20;

/// Writes `title` and up to [`SUMMARY_LINES`] lines, then a count of the rest.
pub(crate) fn list_some(out: &mut String, title: &str, lines: impl Iterator<Item = String>) {
    let mut shown = 0;
    let mut more = 0;
    for line in lines {
        if shown == 0 {
            let _ = writeln!(out, "{title}");
        }
        if shown < SUMMARY_LINES {
            // One entry, one line: a name or reason from the service cannot break the
            // summary into forged lines or restyle a terminal.
            let _ = writeln!(out, "  {}", crate::redact::printable(&line, false));
            shown += 1;
        } else {
            more += 1;
        }
    }
    if more > 0 {
        let _ = writeln!(out, "  ... and {more} more (see the report's lists)");
    }
}

/// Bytes in binary units with one decimal (`1.5 MiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
