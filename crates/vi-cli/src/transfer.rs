//! `vi assets upload` and `vi assets download`: progress bars, Ctrl-C, reports.

use std::time::Duration;

use serde::Serialize;
use vi_blocking::{
    AssetId, ComparedBy, DatasetId, DownloadFailure, DownloadOptions, DownloadReport,
    OverwriteMode, SkipReason, SourceRef, UploadFailure, UploadFailureMode, UploadOptions,
    UploadReport,
};

use crate::args::{DownloadArgs, FailureModeArg, Global, OverwriteModeArg, UploadArgs};
use crate::exit::{CliError, Exit};
use crate::interrupt::cancel_on_ctrl_c;
use crate::jobs::{Job, apply_job};
use crate::output::Output;
use crate::progress::TransferBars;

const UPLOAD_CANCELLED: &str = "cancelled: the ingestion sessions were cancelled; files the \
    service had already taken in stay in the dataset, run the same upload again to finish";
const DOWNLOAD_CANCELLED: &str = "cancelled: partial downloads are kept in .vi-partial/ and \
    resume next time you run the same download";

/// Uploads files and folders.
pub fn upload(args: UploadArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let dataset = DatasetId::new(args.dataset)?;
    let mut job = Job::from_args(args.job)?;
    let mut paths = args.paths;
    paths.extend(job.listed.take().unwrap_or_default());
    let client = crate::client(global)?;
    let bars = out
        .show_progress()
        .then(|| TransferBars::new("upload", false));
    let token = cancel_on_ctrl_c(bars.clone());
    let mut options = UploadOptions::new()
        .wait(!args.no_wait)
        .failure_mode(match args.failure_mode {
            FailureModeArg::FailAfterOne => UploadFailureMode::FailAfterOne,
            FailureModeArg::FailAfterAll => UploadFailureMode::FailAfterAll,
        })
        .overwrite(match args.overwrite_mode {
            OverwriteModeArg::RemoveLinked => OverwriteMode::RemoveLinkedResources,
            OverwriteModeArg::KeepLinked => OverwriteMode::KeepLinkedResources,
        })
        .skip_existing(args.skip_existing)
        .dry_run(args.dry_run)
        .cancel_token(token);
    if let Some(n) = args.concurrency {
        options = options.concurrency(to_usize(n));
    }
    if let Some(n) = args.max_concurrency {
        options = options.max_concurrency(to_usize(n));
    }
    if let Some(secs) = args.wait_timeout {
        options = options.wait_timeout(Duration::from_secs(secs));
    }
    if let Some(n) = args.batch_size {
        options = options.batch_size(to_usize(n));
    }
    options = apply_job!(options, job, job.filter.clone(), bars);
    let result = client.assets().upload(&dataset, paths, options);
    if let Some(bars) = &bars {
        bars.finish();
    }
    let report = result?;
    if out.json {
        out.json_value(&UploadJson::from(&report))?;
    } else {
        if report.dry_run {
            // A dry run is asked for its list: every file, not the summary's first few.
            out.text(&dry_run_lines(&report))?;
        }
        if !out.quiet || !report.is_success() {
            out.text(&report.summary())?;
        }
    }
    Ok(if report.cancelled {
        out.error_line(UPLOAD_CANCELLED);
        Exit::Cancelled
    } else if report.is_success() {
        Exit::Success
    } else {
        Exit::Partial
    })
}

/// Downloads a dataset's assets into a folder.
pub fn download(args: DownloadArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let dataset = DatasetId::new(args.dataset)?;
    let ids = args
        .assets
        .into_iter()
        .map(AssetId::new)
        .collect::<Result<Vec<_>, _>>()?;
    let job = Job::from_args(args.job)?;
    let client = crate::client(global)?;
    let bars = out
        .show_progress()
        .then(|| TransferBars::new("download", true));
    let token = cancel_on_ctrl_c(bars.clone());
    let mut options = DownloadOptions::new()
        .overwrite(args.overwrite)
        .cancel_token(token);
    if !ids.is_empty() {
        options = options.assets(ids);
    }
    if let Some(n) = args.concurrency {
        options = options.concurrency(to_usize(n));
    }
    if let Some(n) = args.max_concurrency {
        options = options.max_concurrency(to_usize(n));
    }
    let mut filter = job.filter.clone();
    if let Some(names) = &job.listed {
        filter = filter.names(names.iter().map(|p| p.to_string_lossy().into_owned()));
    }
    options = apply_job!(options, job, filter, bars);
    let result = client.assets().download(&dataset, &args.to, options);
    if let Some(bars) = &bars {
        bars.finish();
    }
    let report = result?;
    if out.json {
        out.json_value(&DownloadJson::from(&report))?;
    } else if !out.quiet || !report.is_success() {
        out.text(&report.summary())?;
    }
    Ok(if report.cancelled {
        out.error_line(DOWNLOAD_CANCELLED);
        Exit::Cancelled
    } else if report.is_success() {
        Exit::Success
    } else if report
        .failed
        .iter()
        .all(|f| f.reason == DownloadFailure::NotFound)
        && report.counts.succeeded == 0
        && report.counts.skipped == 0
        && report.problems.is_empty()
    {
        // Every asset asked for by id is unknown: the same answer as for `assets get`.
        Exit::NotFound
    } else {
        Exit::Partial
    })
}

/// One line per file of a dry run: what would be sent, then what would be left out.
fn dry_run_lines(report: &UploadReport) -> String {
    let mut out = String::new();
    for p in &report.planned {
        out.push_str(&format!(
            "send {} ({}, {} bytes)",
            p.filename, p.source, p.size
        ));
        if let Some(asset) = &p.replaces {
            out.push_str(&format!(", replacing asset {asset}"));
        }
        out.push('\n');
    }
    for s in &report.skipped {
        out.push_str(&format!(
            "skip {} ({}): {}\n",
            s.filename, s.source, s.reason
        ));
    }
    out
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn source_text(source: &SourceRef) -> String {
    source.to_string()
}

/// A file that made it (or is still being processed), in `--json` output.
#[derive(Serialize)]
struct UploadedJson {
    filename: String,
    source: String,
    size: u64,
    session_id: String,
    /// The asset of the same name and other content it replaced (`--skip-existing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced: Option<String>,
}

/// A file a dry run would send, in `--json` output.
#[derive(Serialize)]
struct PlannedJson {
    filename: String,
    source: String,
    size: u64,
    /// The asset of the same name and other content it would replace.
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<String>,
}

/// A file that failed or was skipped, in `--json` output.
#[derive(Serialize)]
struct ProblemJson {
    filename: String,
    source: String,
    reason: String,
    /// The service's ingestion error code, for files it rejected (e.g. `ECORRUPT`), or
    /// the skip reason's code (e.g. `already_present`).
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// The asset already holding this file (`already_present` skips).
    #[serde(skip_serializing_if = "Option::is_none")]
    asset_id: Option<String>,
    /// How it was compared with that asset: `size_and_crc32c` or `size_only`.
    #[serde(skip_serializing_if = "Option::is_none")]
    compared_by: Option<&'static str>,
}

/// The upload report in `--json` output.
#[derive(Serialize)]
struct UploadJson {
    dataset: String,
    total_files: usize,
    succeeded: Vec<UploadedJson>,
    failed: Vec<ProblemJson>,
    skipped: Vec<ProblemJson>,
    processing: Vec<UploadedJson>,
    session_ids: Vec<String>,
    bytes: u64,
    duration_secs: f64,
    success_rate: f64,
    complete: bool,
    success: bool,
    cancelled: bool,
    ignored_in_folders: u64,
    /// Files skipped because the dataset already holds them.
    already_present: usize,
    /// Of those, how many were compared by size only.
    compared_by_size_only: usize,
    /// Assets listed for `--skip-existing` (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    assets_listed: Option<u64>,
    dry_run: bool,
    /// What a dry run would send (empty otherwise).
    planned: Vec<PlannedJson>,
}

impl From<&UploadReport> for UploadJson {
    fn from(r: &UploadReport) -> Self {
        let uploaded = |files: &[vi_blocking::UploadedFile]| {
            files
                .iter()
                .map(|f| UploadedJson {
                    filename: f.filename.clone(),
                    source: source_text(&f.source),
                    size: f.size,
                    session_id: f.session.to_string(),
                    replaced: f.replaced.as_ref().map(ToString::to_string),
                })
                .collect()
        };
        UploadJson {
            dataset: r.dataset.to_string(),
            total_files: r.total_files(),
            succeeded: uploaded(&r.succeeded),
            failed: r
                .failed
                .iter()
                .map(|f| ProblemJson {
                    filename: f.filename.clone(),
                    source: source_text(&f.source),
                    reason: f.reason.to_string(),
                    code: match &f.reason {
                        UploadFailure::Rejected { code } => Some(code.as_str().to_owned()),
                        _ => None,
                    },
                    asset_id: None,
                    compared_by: None,
                })
                .collect(),
            skipped: r
                .skipped
                .iter()
                .map(|s| ProblemJson {
                    filename: s.filename.clone(),
                    source: source_text(&s.source),
                    reason: s.reason.to_string(),
                    code: Some(s.reason.code().to_owned()),
                    asset_id: match &s.reason {
                        SkipReason::AlreadyPresent { asset, .. } => Some(asset.to_string()),
                        _ => None,
                    },
                    compared_by: match &s.reason {
                        SkipReason::AlreadyPresent { compared_by, .. } => Some(match compared_by {
                            ComparedBy::SizeAndCrc32c => "size_and_crc32c",
                            ComparedBy::SizeOnly => "size_only",
                            _ => "other",
                        }),
                        _ => None,
                    },
                })
                .collect(),
            processing: uploaded(&r.processing),
            session_ids: r.session_ids(),
            bytes: r.bytes_uploaded,
            duration_secs: r.duration.as_secs_f64(),
            success_rate: r.success_rate(),
            complete: r.is_complete(),
            success: r.is_success(),
            cancelled: r.cancelled,
            ignored_in_folders: r.ignored_in_folders,
            already_present: r.already_present().count(),
            compared_by_size_only: r.compared_by_size_only(),
            assets_listed: r.assets_listed,
            dry_run: r.dry_run,
            planned: r
                .planned
                .iter()
                .map(|p| PlannedJson {
                    filename: p.filename.clone(),
                    source: source_text(&p.source),
                    size: p.size,
                    replaces: p.replaces.as_ref().map(ToString::to_string),
                })
                .collect(),
        }
    }
}

/// A downloaded file in `--json` output.
#[derive(Serialize)]
struct DownloadedJson {
    asset_id: String,
    filename: String,
    path: String,
    size: u64,
    resumed: bool,
}

/// A file already present in `--json` output.
#[derive(Serialize)]
struct SkippedDownloadJson {
    asset_id: String,
    filename: String,
    path: String,
    reason: &'static str,
}

/// A failed asset in `--json` output.
#[derive(Serialize)]
struct FailedDownloadJson {
    asset_id: String,
    filename: Option<String>,
    reason: String,
}

/// The download report in `--json` output.
#[derive(Serialize)]
struct DownloadJson {
    dataset: String,
    directory: String,
    total: usize,
    downloaded: Vec<DownloadedJson>,
    skipped: Vec<SkippedDownloadJson>,
    failed: Vec<FailedDownloadJson>,
    problems: Vec<String>,
    bytes: u64,
    duration_secs: f64,
    success: bool,
    cancelled: bool,
}

impl From<&DownloadReport> for DownloadJson {
    fn from(r: &DownloadReport) -> Self {
        DownloadJson {
            dataset: r.dataset.to_string(),
            directory: r.directory.display().to_string(),
            total: r.total(),
            downloaded: r
                .downloaded
                .iter()
                .map(|d| DownloadedJson {
                    asset_id: d.asset.to_string(),
                    filename: d.filename.clone(),
                    path: d.path.display().to_string(),
                    size: d.size,
                    resumed: d.resumed,
                })
                .collect(),
            skipped: r
                .skipped
                .iter()
                .map(|s| SkippedDownloadJson {
                    asset_id: s.asset.to_string(),
                    filename: s.filename.clone(),
                    path: s.path.display().to_string(),
                    reason: "a complete copy is already there",
                })
                .collect(),
            failed: r
                .failed
                .iter()
                .map(|f| FailedDownloadJson {
                    asset_id: f.asset.to_string(),
                    filename: f.filename.clone(),
                    reason: f.reason.to_string(),
                })
                .collect(),
            problems: r.problems.clone(),
            bytes: r.bytes_downloaded,
            duration_secs: r.duration.as_secs_f64(),
            success: r.is_success(),
            cancelled: r.cancelled,
        }
    }
}
