//! What a download did, asset by asset.

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::ids::{AssetId, DatasetId};
use crate::outcome::Counts;
use crate::upload::report::{human_bytes, list_some};

/// An asset written to disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadedFile {
    /// The asset.
    pub asset: AssetId,
    /// The asset's filename on the service.
    pub filename: String,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// True when an earlier partial download was continued.
    pub resumed: bool,
}

/// An asset left alone because a complete copy is already there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedDownload {
    /// The asset.
    pub asset: AssetId,
    /// The asset's filename on the service.
    pub filename: String,
    /// The existing file.
    pub path: PathBuf,
}

/// Why an asset could not be downloaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadFailure {
    /// The asset does not exist (an id that was asked for explicitly).
    NotFound,
    /// The service gave no download URL for the asset.
    NoDownloadUrl,
    /// A different file already exists under the asset's name.
    DifferentFileExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The bytes could not be fetched (after retries).
    Transfer {
        /// The storage's HTTP status, if it answered.
        status: Option<u16>,
        /// The error, as text (never the signed URL).
        message: String,
    },
    /// The bytes arrived but did not match the asset's size or checksum (after retries).
    Verification {
        /// What did not match.
        message: String,
    },
    /// The file could not be written.
    Io {
        /// The error, as text, with the path.
        message: String,
    },
    /// The download was cancelled first; a partial file may remain and resumes
    /// next time.
    Cancelled,
    /// A bug in the SDK stopped this download (a worker panicked); please report it.
    Internal {
        /// Where it happened.
        message: String,
    },
}

impl fmt::Display for DownloadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownloadFailure::NotFound => f.write_str("no such asset in this dataset"),
            DownloadFailure::Internal { message } => write!(f, "internal error: {message}"),
            DownloadFailure::NoDownloadUrl => {
                f.write_str("the service gave no download URL for this asset")
            }
            DownloadFailure::DifferentFileExists { path } => write!(
                f,
                "a different file already exists at {}; pass overwrite to replace it",
                path.display()
            ),
            DownloadFailure::Transfer { message, .. } => write!(f, "download failed: {message}"),
            DownloadFailure::Verification { message } => {
                write!(f, "the downloaded bytes did not check out: {message}")
            }
            DownloadFailure::Io { message } => write!(f, "could not write the file: {message}"),
            DownloadFailure::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// An asset that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedDownload {
    /// The asset.
    pub asset: AssetId,
    /// The asset's filename, when known.
    pub filename: Option<String>,
    /// Why it failed.
    pub reason: DownloadFailure,
}

/// The outcome of a download: every asset seen appears in exactly one of `downloaded`,
/// `skipped` and `failed`. (After a cancellation, assets the listing had not reached yet
/// are not in the report.)
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DownloadReport {
    /// The dataset.
    pub dataset: DatasetId,
    /// Where the files are: `<directory given>/<dataset id>`.
    pub directory: PathBuf,
    /// Assets written in this run.
    pub downloaded: Vec<DownloadedFile>,
    /// Assets already present, complete.
    pub skipped: Vec<SkippedDownload>,
    /// Assets that failed, each with its reason.
    pub failed: Vec<FailedDownload>,
    /// Bytes transferred in this run.
    pub bytes_downloaded: u64,
    /// Wall-clock time of the call.
    pub duration: Duration,
    /// True when the download was cancelled.
    pub cancelled: bool,
    /// Problems not tied to one asset: the listing failing part-way (the assets after that
    /// point are not in the report), or an asset the service listed with an invalid id.
    pub problems: Vec<String>,
    /// How many assets ended each way. With an outcome sink
    /// ([`DownloadOptions::outcomes`](crate::download::DownloadOptions::outcomes)) the
    /// lists hold only the failures, and these counts are the totals.
    pub counts: Counts,
}

impl DownloadReport {
    /// Every asset accounted for.
    pub fn total(&self) -> usize {
        self.counts.total() as usize
    }

    /// True when nothing failed and the run was not cancelled.
    pub fn is_success(&self) -> bool {
        self.counts.failed == 0 && self.problems.is_empty() && !self.cancelled
    }

    /// Turns any failure or cancellation into an error.
    ///
    /// # Errors
    /// [`Error::Operation`] summarising what failed.
    pub fn into_result(self) -> Result<DownloadReport, Error> {
        if self.is_success() {
            return Ok(self);
        }
        let mut problems = Vec::new();
        if self.cancelled {
            problems.push("the download was cancelled".to_owned());
        }
        problems.extend(self.problems.iter().cloned());
        if let Some(f) = self.failed.first() {
            problems.push(format!(
                "{} failed (first: {}: {})",
                self.failed.len(),
                f.filename.as_deref().unwrap_or(f.asset.as_str()),
                f.reason
            ));
        }
        Err(Error::Operation {
            operation: format!("download of dataset {}", self.dataset),
            message: problems.join("; "),
        })
    }

    /// A readable table of the numbers, then every failed asset with its reason.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let title = if self.cancelled {
            "Download cancelled"
        } else if !self.problems.is_empty() {
            "Download incomplete"
        } else if self.failed.is_empty() {
            "Download complete"
        } else {
            "Download complete with failures"
        };
        let _ = writeln!(out, "{title} (dataset {})", self.dataset);
        let rows = [
            ("Location", self.directory.display().to_string()),
            ("Assets", self.total().to_string()),
            ("Downloaded", self.counts.succeeded.to_string()),
            ("Already there", self.counts.skipped.to_string()),
            ("Failed", self.counts.failed.to_string()),
            ("Transferred", human_bytes(self.bytes_downloaded)),
            ("Duration", format!("{:.1}s", self.duration.as_secs_f64())),
        ];
        for (label, value) in rows {
            let _ = writeln!(out, "  {label:<14} {value:>10}");
        }
        for problem in &self.problems {
            let _ = writeln!(out, "Problem: {problem}");
        }
        let cancelled = self
            .failed
            .iter()
            .filter(|f| f.reason == DownloadFailure::Cancelled)
            .count();
        if cancelled > 0 {
            let _ = writeln!(out, "Not downloaded, cancelled: {cancelled} assets");
        }
        list_some(
            &mut out,
            "Failed assets:",
            self.failed
                .iter()
                .filter(|f| f.reason != DownloadFailure::Cancelled)
                .map(|f| {
                    format!(
                        "{} ({}): {}",
                        f.filename.as_deref().unwrap_or("?"),
                        f.asset,
                        f.reason
                    )
                }),
        );
        out
    }
}

impl fmt::Display for DownloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}
