//! `dtvi assets upload`: the upload, the asset ids of what it made, the names it replaced,
//! and its report (numbers on stdout, problems on stderr).
//!
//! The SDK's report names files, not assets: the asset ids come from a listing of the
//! dataset after the upload (filenames are unique in a dataset), and the names replaced
//! from a listing before it, made only when the dataset holds assets already (with
//! `--skip-existing` the SDK's own comparison listing says it instead). Each listing costs
//! one request per 500 assets of the dataset.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use vi_blocking::{
    AssetId, Client, ComparedBy, DatasetId, ListAssetsOptions, OverwriteMode, SkipReason,
    UploadFailure, UploadFailureMode, UploadOptions, UploadReport,
};

use crate::args::{FailureModeArg, Global, OverwriteModeArg, UploadArgs};
use crate::exit::{CliError, Exit};
use crate::interrupt::cancel_on_ctrl_c;
use crate::jobs::{Job, apply_job};
use crate::output::{Output, human_bytes};
use crate::progress::TransferBars;
use crate::transfer::to_usize;

/// Assets per request of the listings before and after an upload (the most the service
/// gives in one page).
const LISTING_PAGE: u32 = 500;

/// Lines of one kind shown in the human summary before "and N more".
const SHOWN: usize = 20;

const UPLOAD_CANCELLED: &str = "cancelled: the ingestion sessions were cancelled; files the \
    service had already taken in stay in the dataset, run the same upload again to finish";

/// Uploads files and folders.
pub fn upload(mut args: UploadArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let mut job = Job::from_args(std::mem::take(&mut args.job))?;
    args.paths.extend(job.listed.take().unwrap_or_default());
    // Before any listing: a mistyped path is the user's to fix, whatever the dataset.
    if let Some(missing) = args
        .paths
        .iter()
        .find(|p| std::fs::symlink_metadata(p).is_err())
    {
        return Err(CliError::new(
            Exit::Usage,
            format!(
                "no such file or folder: {}; give the images, videos or folders to upload",
                missing.display()
            ),
        ));
    }
    let client = crate::client(global)?;
    let dataset = crate::dataset_id(&client, &args.dataset)?;
    // With --skip-existing the SDK lists the dataset itself and names what is replaced.
    let before = if args.skip_existing {
        None
    } else {
        Some(existing_names(&client, &dataset)?)
    };
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
    tracing::info!("uploading {} paths to dataset {dataset}", args.paths.len());
    let result = client
        .assets()
        .upload(&dataset, args.paths.clone(), options);
    if let Some(bars) = &bars {
        bars.finish();
    }
    let report = result?;
    if report.total_files() == 0 && !report.cancelled {
        return Err(nothing_to_upload(&args.paths, report.ignored_in_folders));
    }
    let mut files = Files::new(&report, before.as_ref());
    if !report.dry_run && !report.succeeded.is_empty() {
        files.asset_ids = new_asset_ids(&client, &dataset, &report)?;
    }
    let exit = if report.cancelled {
        Exit::Cancelled
    } else if report.is_success() {
        Exit::Success
    } else {
        Exit::Partial
    };
    report_problems(out, &report, &files, bars.is_some(), args.overwrite_mode);
    // The exit code is decided: a reader that went away does not change it.
    Output::ignore_closed(if out.json {
        out.json_value(&UploadJson::new(&report, &files))
    } else if report.dry_run {
        // A dry run is asked for its list: every file, not the summary's first few.
        out.text(&dry_run_lines(&report, &files))
            .and_then(|()| out.text(&summary(&report, &files)))
    } else if !out.quiet || exit != Exit::Success {
        out.text(&summary(&report, &files))
    } else {
        Ok(())
    })?;
    if report.cancelled {
        out.error_line(UPLOAD_CANCELLED);
    }
    Ok(exit)
}

/// Exit 2 for paths that hold nothing to send: a wrong but existing folder must not pass
/// for a successful upload.
fn nothing_to_upload(paths: &[PathBuf], ignored: u64) -> CliError {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let others = if ignored > 0 {
        format!("; {ignored} other files there were left alone")
    } else {
        String::new()
    };
    CliError::new(
        Exit::Usage,
        format!(
            "nothing to upload: {} holds no image or video files (looked for files named \
             .jpg, .jpeg, .png, .webp, .bmp, .gif, .tif, .heic, .avif, .mp4, .mov, .avi, \
             .mkv, .webm and the other image and video extensions, in folders recursively){others}",
            shown.join(", ")
        ),
    )
}

/// Every asset of the dataset by filename, when it holds any (one `datasets get` tells).
fn existing_names(
    client: &Client,
    dataset: &DatasetId,
) -> Result<HashMap<String, AssetId>, CliError> {
    let total = client.datasets().get(dataset)?.statistic.asset_total;
    if total == 0 {
        return Ok(HashMap::new());
    }
    tracing::info!("listing the {total} assets of dataset {dataset} to see which names exist");
    list_names(client, dataset, |_| true)
}

/// Filename → asset id of the dataset's assets for which `keep` holds.
fn list_names(
    client: &Client,
    dataset: &DatasetId,
    keep: impl Fn(&str) -> bool,
) -> Result<HashMap<String, AssetId>, CliError> {
    let mut names = HashMap::new();
    let options = ListAssetsOptions::new().page_size(LISTING_PAGE);
    for asset in client.assets().list(dataset, options)? {
        let asset = asset?;
        if keep(&asset.filename) {
            if let Ok(id) = AssetId::new(asset.asset_id) {
                names.insert(asset.filename, id);
            }
        }
    }
    Ok(names)
}

/// The asset ids of the files that succeeded, from a listing after the upload.
fn new_asset_ids(
    client: &Client,
    dataset: &DatasetId,
    report: &UploadReport,
) -> Result<HashMap<String, AssetId>, CliError> {
    let wanted: std::collections::HashSet<&str> = report
        .succeeded
        .iter()
        .map(|f| f.filename.as_str())
        .collect();
    tracing::info!("listing dataset {dataset} for the asset ids of the uploaded files");
    list_names(client, dataset, |name| wanted.contains(name))
}

/// What the listings say about the report's files.
struct Files {
    /// Filename → the asset it replaced (or, in a dry run, would replace).
    replaced: HashMap<String, AssetId>,
    /// Filename → its asset now.
    asset_ids: HashMap<String, AssetId>,
}

impl Files {
    fn new(report: &UploadReport, before: Option<&HashMap<String, AssetId>>) -> Self {
        let mut replaced = HashMap::new();
        let names = report
            .succeeded
            .iter()
            .chain(&report.processing)
            .map(|f| (&f.filename, f.replaced.as_ref()))
            .chain(
                report
                    .planned
                    .iter()
                    .map(|p| (&p.filename, p.replaces.as_ref())),
            );
        for (name, known) in names {
            let old = match before {
                Some(before) => before.get(name),
                None => known,
            };
            if let Some(old) = old {
                replaced.insert(name.clone(), old.clone());
            }
        }
        Files {
            replaced,
            asset_ids: HashMap::new(),
        }
    }
}

/// Every problem on stderr, whatever happens to stdout: failed, skipped and unfinished
/// files, and replaced assets. Files the progress bars already printed one by one are only
/// counted.
fn report_problems(
    out: &Output,
    report: &UploadReport,
    files: &Files,
    printed_live: bool,
    overwrite: OverwriteModeArg,
) {
    let failed: Vec<_> = report
        .failed
        .iter()
        .filter(|f| f.reason != UploadFailure::Cancelled)
        .collect();
    let skipped: Vec<_> = report
        .skipped
        .iter()
        .filter(|s| !matches!(s.reason, SkipReason::AlreadyPresent { .. }))
        .collect();
    if !printed_live {
        for f in &failed {
            out.error_line(&format!(
                "failed: {} ({}): {}",
                f.filename, f.source, f.reason
            ));
        }
        for s in &skipped {
            let verb = if report.dry_run {
                "would skip"
            } else {
                "skipped"
            };
            out.error_line(&format!(
                "{verb}: {} ({}): {}",
                s.filename, s.source, s.reason
            ));
        }
    }
    let mut counts = Vec::new();
    if !failed.is_empty() {
        counts.push(format!("{} failed", failed.len()));
    }
    if !skipped.is_empty() {
        counts.push(format!("{} skipped", skipped.len()));
    }
    if !report.processing.is_empty() {
        counts.push(format!(
            "{} still processing (check them later with `dtvi assets list --dataset {}`)",
            report.processing.len(),
            report.dataset
        ));
    }
    if !counts.is_empty() {
        out.error_line(&format!(
            "warning: of {}, {}",
            count(report.total_files(), "file"),
            counts.join(", ")
        ));
    }
    if !files.replaced.is_empty() {
        let linked = match overwrite {
            OverwriteModeArg::RemoveLinked => "their annotations and metadata removed",
            OverwriteModeArg::KeepLinked => "their annotations and metadata kept",
        };
        let (verb, tense) = if report.dry_run {
            ("would replace", "would be")
        } else {
            ("replaced", "were")
        };
        out.error_line(&format!(
            "note: {} {verb} assets of the same name ({linked}, see --overwrite-mode); with \
             --skip-existing, identical files {tense} left alone",
            count(files.replaced.len(), "file")
        ));
    }
}

/// `1 file`, `2 files`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// One line per file of a dry run: what would be sent (and what it would replace), then
/// what is left out as already in the dataset (the other skips are problems: stderr).
fn dry_run_lines(report: &UploadReport, files: &Files) -> String {
    let mut text = String::new();
    for p in &report.planned {
        text.push_str(&format!(
            "send {} ({}, {} bytes)",
            p.filename, p.source, p.size
        ));
        if let Some(asset) = files.replaced.get(&p.filename) {
            text.push_str(&format!(", replacing asset {asset} of the same name"));
        }
        text.push('\n');
    }
    for s in report.already_present() {
        text.push_str(&format!(
            "skip {} ({}): {}\n",
            s.filename, s.source, s.reason
        ));
    }
    text
}

/// The numbers, then the files replaced, for people.
fn summary(report: &UploadReport, files: &Files) -> String {
    let present = report.already_present().count();
    let title = if report.dry_run {
        "Dry run, nothing sent"
    } else if report.cancelled {
        "Upload cancelled"
    } else if !report.is_complete() {
        "Upload sent, still processing"
    } else if report.is_success() {
        "Upload complete"
    } else {
        "Upload complete with problems"
    };
    let mut rows = vec![("Total files", report.total_files().to_string())];
    if report.dry_run {
        rows.push(("Would send", report.planned.len().to_string()));
        rows.push(("  replacing", files.replaced.len().to_string()));
        let bytes = report.planned.iter().map(|p| p.size).sum();
        rows.push(("Would upload", human_bytes(bytes)));
    } else {
        rows.push(("Succeeded", report.succeeded.len().to_string()));
        rows.push(("  replaced", files.replaced.len().to_string()));
        rows.push(("Failed", report.failed.len().to_string()));
    }
    rows.push(("Skipped", report.skipped.len().to_string()));
    if report.assets_listed.is_some() || present > 0 {
        rows.push(("  present", present.to_string()));
    }
    if !report.dry_run {
        rows.extend([
            ("Processing", report.processing.len().to_string()),
            ("Uploaded", human_bytes(report.bytes_uploaded)),
            ("Duration", format!("{:.1}s", report.duration.as_secs_f64())),
            ("Sessions", report.sessions.len().to_string()),
        ]);
    }
    let mut text = format!("{title} (dataset {})\n", report.dataset);
    for (label, value) in rows {
        text.push_str(&format!("  {label:<13} {value:>10}\n"));
    }
    if let Some(listed) = report.assets_listed {
        text.push_str(&format!(
            "Already in the dataset (compared with its {listed} assets), not sent again: \
             {present} files\n"
        ));
    }
    if report.ignored_in_folders > 0 {
        text.push_str(&format!(
            "Not image or video files, left alone in the folders: {}\n",
            report.ignored_in_folders
        ));
    }
    if !files.replaced.is_empty() && !report.dry_run {
        let mut names: Vec<_> = files.replaced.iter().collect();
        names.sort();
        text.push_str("Replaced assets of the same name:\n");
        for (name, asset) in names.iter().take(SHOWN) {
            text.push_str(&format!("  {name} (was asset {asset})\n"));
        }
        if names.len() > SHOWN {
            text.push_str(&format!(
                "  ... and {} more (all of them with --json)\n",
                names.len() - SHOWN
            ));
        }
    }
    text
}

/// A file that made it (or is still being processed), in `--json` output.
#[derive(Serialize)]
struct UploadedJson {
    filename: String,
    source: String,
    size: u64,
    session_id: String,
    /// Its asset, from the listing after the upload (null while still processing).
    asset_id: Option<String>,
    /// The asset of the same name it replaced, if any.
    replaced_asset_id: Option<String>,
}

/// A file a dry run would send, in `--json` output.
#[derive(Serialize)]
struct PlannedJson {
    filename: String,
    source: String,
    size: u64,
    /// The asset of the same name it would replace, if any.
    replaces_asset_id: Option<String>,
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
    dataset_id: String,
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
    /// Files that replaced (or in a dry run would replace) an asset of the same name.
    replaced: usize,
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

impl UploadJson {
    fn new(r: &UploadReport, files: &Files) -> Self {
        let id = |map: &HashMap<String, AssetId>, name: &str| map.get(name).map(AssetId::to_string);
        let uploaded = |list: &[vi_blocking::UploadedFile]| {
            list.iter()
                .map(|f| UploadedJson {
                    filename: f.filename.clone(),
                    source: f.source.to_string(),
                    size: f.size,
                    session_id: f.session.to_string(),
                    asset_id: id(&files.asset_ids, &f.filename),
                    replaced_asset_id: id(&files.replaced, &f.filename),
                })
                .collect()
        };
        UploadJson {
            dataset_id: r.dataset.to_string(),
            total_files: r.total_files(),
            succeeded: uploaded(&r.succeeded),
            failed: r
                .failed
                .iter()
                .map(|f| ProblemJson {
                    filename: f.filename.clone(),
                    source: f.source.to_string(),
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
                    source: s.source.to_string(),
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
            replaced: files.replaced.len(),
            already_present: r.already_present().count(),
            compared_by_size_only: r.compared_by_size_only(),
            assets_listed: r.assets_listed,
            dry_run: r.dry_run,
            planned: r
                .planned
                .iter()
                .map(|p| PlannedJson {
                    filename: p.filename.clone(),
                    source: p.source.to_string(),
                    size: p.size,
                    replaces_asset_id: id(&files.replaced, &p.filename),
                })
                .collect(),
        }
    }
}
