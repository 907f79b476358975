//! The large-job options of `assets upload` and `assets download` (`args::JobArgs`):
//! shards, file lists, patterns, the bandwidth limit, and the `--events` / `--report`
//! JSON Lines files.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};
use vi_blocking::{
    BandwidthLimit, FileOutcome, Filter, ListSeparator, Progress, ProgressEvent, Shard,
    UploadFailure, parse_file_list,
};

use crate::args::JobArgs;
use crate::exit::{CliError, Exit};
use crate::progress::TransferBars;

/// The large-job options, checked.
pub struct Job {
    pub shard: Option<Shard>,
    pub filter: Filter,
    /// The entries of `--files-from`.
    pub listed: Option<Vec<PathBuf>>,
    pub limit: Option<BandwidthLimit>,
    pub events: Option<Arc<LineFile>>,
    pub report: Option<Arc<LineFile>>,
}

impl Job {
    /// Checks the options; `--files-from` is read now (standard input for `-`).
    pub fn from_args(args: JobArgs) -> Result<Job, CliError> {
        let shard = match args.shard.as_deref() {
            None => None,
            Some("auto") => Some(Shard::from_env(
                |k| std::env::var(k).ok(),
                args.shard_count,
            )?),
            Some(text) => {
                if args.shard_count.is_some() {
                    return Err(usage(
                        "--shard-count goes with --shard auto; --shard K/N already gives the count",
                    ));
                }
                Some(text.parse::<Shard>()?)
            }
        };
        let mut filter = Filter::new();
        for glob in &args.include {
            filter = filter.include(glob)?;
        }
        for glob in &args.exclude {
            filter = filter.exclude(glob)?;
        }
        let listed = match &args.files_from {
            None => None,
            Some(path) => {
                let bytes = read_list(path)?;
                let separator = if args.null {
                    ListSeparator::Nul
                } else {
                    ListSeparator::Newline
                };
                let entries = parse_file_list(&bytes, separator)
                    .map_err(|e| usage(&format!("--files-from {}: {e}", path.display())))?;
                if entries.is_empty() {
                    return Err(usage(&format!(
                        "--files-from {} lists no paths; give one path per line (or NUL-separated with --null)",
                        path.display()
                    )));
                }
                Some(entries)
            }
        };
        let limit = args
            .bwlimit
            .as_deref()
            .map(str::parse::<BandwidthLimit>)
            .transpose()?;
        Ok(Job {
            shard,
            filter,
            listed,
            limit,
            events: args.events.as_deref().map(LineFile::create).transpose()?,
            report: args.report.as_deref().map(LineFile::create).transpose()?,
        })
    }

    /// Where progress goes: the bars, the events file, both or neither.
    pub fn progress(&self, bars: Option<&TransferBars>) -> Option<Tee> {
        if bars.is_none() && self.events.is_none() {
            return None;
        }
        Some(Tee {
            bars: bars.cloned(),
            events: self.events.clone(),
            started: Instant::now(),
        })
    }

    /// The `--report` sink, one line per file.
    pub fn outcomes(&self) -> Option<impl Fn(&FileOutcome<'_>) + Send + Sync + 'static> {
        let report = self.report.clone()?;
        Some(move |outcome: &FileOutcome<'_>| {
            if let Some(line) = outcome_line(outcome) {
                report.line(&line);
            }
        })
    }
}

/// Gives upload or download options (the same setter names) the job's patterns, shard,
/// limit, progress and report.
macro_rules! apply_job {
    ($options:expr, $job:expr, $filter:expr, $bars:expr) => {{
        let mut options = $options.filter($filter);
        if let Some(shard) = $job.shard {
            options = options.shard(shard);
        }
        if let Some(limit) = $job.limit.clone() {
            options = options.bandwidth_limit(limit);
        }
        if let Some(progress) = $job.progress($bars.as_ref()) {
            options = options.progress_shared(std::sync::Arc::new(progress));
        }
        if let Some(sink) = $job.outcomes() {
            options = options.outcomes(sink);
        }
        options
    }};
}
pub(crate) use apply_job;

fn usage(message: &str) -> CliError {
    CliError::new(Exit::Usage, message.to_owned())
}

fn read_list(path: &Path) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    read.map_err(|e| {
        usage(&format!(
            "--files-from {}: cannot read it ({e}); check the path",
            path.display()
        ))
    })?;
    Ok(bytes)
}

/// A JSON Lines file (or standard error) written one whole line per call, unbuffered, so
/// every line written is in the file even if the process is killed the next instant.
pub struct LineFile {
    out: Mutex<Box<dyn Write + Send>>,
}

impl LineFile {
    fn create(path: &Path) -> Result<Arc<LineFile>, CliError> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stderr())
        } else {
            Box::new(File::create(path).map_err(|e| {
                CliError::new(
                    Exit::Usage,
                    format!(
                        "cannot create {} ({e}); check that its folder exists and is writable",
                        path.display()
                    ),
                )
            })?)
        };
        Ok(Arc::new(LineFile {
            out: Mutex::new(out),
        }))
    }

    fn line(&self, value: &Value) {
        let mut text = value.to_string();
        text.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // One write per line; a full disk loses lines, it does not stop the transfer.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }
}

/// Progress to the bars and the events file.
pub struct Tee {
    bars: Option<TransferBars>,
    events: Option<Arc<LineFile>>,
    started: Instant,
}

impl Progress for Tee {
    fn on_event(&self, event: &ProgressEvent<'_>) {
        if let Some(bars) = &self.bars {
            bars.on_event(event);
        }
        if let Some(events) = &self.events {
            if let Some(mut line) = event_line(event) {
                line["t"] = json!(self.started.elapsed().as_secs_f64());
                events.line(&line);
            }
        }
    }
}

fn event_line(event: &ProgressEvent<'_>) -> Option<Value> {
    Some(match *event {
        ProgressEvent::Planned { files, bytes } => {
            json!({"event": "planned", "files": files, "bytes": bytes})
        }
        ProgressEvent::FileSkipped { name, reason } => {
            json!({"event": "skipped", "file": name, "reason": reason})
        }
        ProgressEvent::SessionCreated { session, files } => {
            json!({"event": "session_created", "session_id": session, "files": files})
        }
        ProgressEvent::FileStarted { name, size } => {
            json!({"event": "started", "file": name, "size": size})
        }
        ProgressEvent::FileProgress { name, bytes, size } => {
            json!({"event": "bytes", "file": name, "bytes": bytes, "size": size})
        }
        ProgressEvent::FileFinished { name, size, path } => json!({
            "event": "finished",
            "file": name,
            "size": size,
            "path": path.map(|p| p.display().to_string()),
        }),
        ProgressEvent::FileFailed { name, reason } => {
            json!({"event": "failed", "file": name, "reason": reason})
        }
        ProgressEvent::Waiting { sessions } => json!({"event": "waiting", "sessions": sessions}),
        ProgressEvent::Cancelling => json!({"event": "cancelling"}),
        _ => return None,
    })
}

fn outcome_line(outcome: &FileOutcome<'_>) -> Option<Value> {
    Some(match *outcome {
        FileOutcome::Uploaded(f) | FileOutcome::Processing(f) => json!({
            "outcome": if matches!(outcome, FileOutcome::Uploaded(_)) { "uploaded" } else { "processing" },
            "file": f.filename,
            "source": f.source.to_string(),
            "size": f.size,
            "session_id": f.session.to_string(),
            "replaced": f.replaced.as_ref().map(ToString::to_string),
        }),
        FileOutcome::UploadFailed(f) => json!({
            "outcome": "failed",
            "file": f.filename,
            "source": f.source.to_string(),
            "reason": f.reason.to_string(),
            "code": match &f.reason {
                UploadFailure::Rejected { code } => Some(code.as_str().to_owned()),
                _ => None,
            },
        }),
        FileOutcome::UploadSkipped(s) => json!({
            "outcome": "skipped",
            "file": s.filename,
            "source": s.source.to_string(),
            "reason": s.reason.to_string(),
            "code": s.reason.code(),
        }),
        FileOutcome::Downloaded(d) => json!({
            "outcome": "downloaded",
            "file": d.filename,
            "asset_id": d.asset.to_string(),
            "path": d.path.display().to_string(),
            "size": d.size,
            "resumed": d.resumed,
        }),
        FileOutcome::DownloadSkipped(s) => json!({
            "outcome": "skipped",
            "file": s.filename,
            "asset_id": s.asset.to_string(),
            "path": s.path.display().to_string(),
            "reason": "a complete copy is already there",
        }),
        FileOutcome::DownloadFailed(f) => json!({
            "outcome": "failed",
            "file": f.filename,
            "asset_id": f.asset.to_string(),
            "reason": f.reason.to_string(),
        }),
        _ => return None,
    })
}
