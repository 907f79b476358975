//! `dtvi assets download`: progress bars, Ctrl-C, the report (numbers on stdout, problems
//! on stderr).

use serde::Serialize;
use vi_blocking::{AssetId, DownloadFailure, DownloadOptions, DownloadReport};

use crate::args::{DownloadArgs, Global};
use crate::exit::{CliError, Exit};
use crate::interrupt::cancel_on_ctrl_c;
use crate::jobs::{Job, apply_job};
use crate::output::Output;
use crate::progress::TransferBars;

const DOWNLOAD_CANCELLED: &str = "cancelled: partial downloads are kept in .vi-partial/ and \
    resume next time you run the same download";

/// Downloads a dataset's assets into a folder.
pub fn download(args: DownloadArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let client = crate::client(global)?;
    let dataset = crate::dataset_id(&client, &args.dataset)?;
    let ids = args
        .assets
        .into_iter()
        .map(AssetId::new)
        .collect::<Result<Vec<_>, _>>()?;
    let job = Job::from_args(args.job)?;
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
    tracing::info!("downloading dataset {dataset} into {}", args.to.display());
    let result = client.assets().download(&dataset, &args.to, options);
    if let Some(bars) = &bars {
        bars.finish();
    }
    let report = result?;
    let exit = if report.cancelled {
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
    };
    download_problems(out, &report);
    // The exit code is decided: a reader that went away does not change it.
    Output::ignore_closed(if out.json {
        out.json_value(&DownloadJson::from(&report))
    } else if !out.quiet || exit != Exit::Success {
        out.text(&download_summary(&report))
    } else {
        Ok(())
    })?;
    if report.cancelled {
        out.error_line(DOWNLOAD_CANCELLED);
    }
    Ok(exit)
}

/// Failed assets and problems of the download as a whole, on stderr.
fn download_problems(out: &Output, report: &DownloadReport) {
    for f in report
        .failed
        .iter()
        .filter(|f| f.reason != DownloadFailure::Cancelled)
    {
        out.error_line(&format!(
            "failed: {} (asset {}): {}",
            f.filename.as_deref().unwrap_or("?"),
            f.asset,
            f.reason
        ));
    }
    for problem in &report.problems {
        out.error_line(&format!("problem: {problem}"));
    }
    if !report.failed.is_empty() {
        out.error_line(&format!(
            "warning: of {} assets, {} were not downloaded",
            report.total(),
            report.failed.len()
        ));
    }
}

/// The numbers of a download, for people.
fn download_summary(r: &DownloadReport) -> String {
    let title = if r.cancelled {
        "Download cancelled"
    } else if !r.problems.is_empty() {
        "Download incomplete"
    } else if r.failed.is_empty() {
        "Download complete"
    } else {
        "Download complete with failures"
    };
    let mut text = format!("{title} (dataset {})\n", r.dataset);
    for (label, value) in [
        ("Location", r.directory.display().to_string()),
        ("Assets", r.total().to_string()),
        ("Downloaded", r.downloaded.len().to_string()),
        ("Already there", r.skipped.len().to_string()),
        ("Failed", r.failed.len().to_string()),
        (
            "Transferred",
            crate::output::human_bytes(r.bytes_downloaded),
        ),
        ("Duration", format!("{:.1}s", r.duration.as_secs_f64())),
    ] {
        text.push_str(&format!("  {label:<14} {value:>10}\n"));
    }
    text
}

/// A count from the command line as a `usize` (saturating on 32-bit targets).
pub fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
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
    dataset_id: String,
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
            dataset_id: r.dataset.to_string(),
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
