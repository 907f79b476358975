//! Downloading a dataset with its labels: create (or reuse) an export, wait for it,
//! download its archive in checked ranges (resumable across runs), unpack it safely into
//! a staging folder renamed into place only when complete, and describe what landed
//! (`docs/exports.md`).
//!
//! Layout under the caller's folder `<dir>`:
//!
//! * `<dir>/<dataset id>/` — the dataset, once complete: split folders and
//!   `metadata.json` (written last, so a folder without it is incomplete);
//! * `<dir>/.<dataset id>.export/` — the archive and its state while downloading (kept
//!   after a failure, so the next call continues);
//! * `<dir>/.<dataset id>.partial-<random>/` — the staging folder while unpacking.

mod fetch;
pub mod formats;
pub mod reader;
mod unpack;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::endpoints::{CreateExport, ExportSettings, GetDataset, GetExport};
use crate::engine::Core;
use crate::error::{Error, Result};
use crate::ids::{DatasetId, ExportId};
use crate::models::{DatasetExport, ExportFormat};
use crate::runtime::run_blocking;

pub use fetch::{check_range, chunk_size, parallelism, ranges};
pub use reader::{BadRecord, ExportFolder, LabeledAsset, LabeledAssets, SplitFolder};
pub use unpack::UnpackLimits;

use fetch::{ArchiveSource, State, WorkDir};

/// The file written last into a downloaded dataset's folder.
pub const METADATA_FILE: &str = "metadata.json";

/// One step of a dataset download, for progress displays.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportEvent {
    /// The folder already held the complete dataset; nothing was asked of the service.
    AlreadyPresent {
        /// The folder.
        path: PathBuf,
    },
    /// An export is being used: a new one, or one reused.
    Export {
        /// Its id.
        export: String,
        /// True when it was created by this call.
        created: bool,
    },
    /// The export is still being built.
    Waiting {
        /// Its conditions that are `Reached`.
        reached: usize,
        /// All its conditions.
        conditions: usize,
    },
    /// Archive bytes so far.
    Downloading {
        /// Bytes in the archive file (kept from an earlier run included).
        received: u64,
        /// The archive's size.
        total: u64,
    },
    /// The archive is being unpacked.
    Unpacking {
        /// The archive's size.
        bytes: u64,
    },
}

/// A progress callback.
pub(crate) type ProgressFn = Arc<dyn Fn(&ExportEvent) + Send + Sync>;

/// How [`download_dataset`](crate::handles::Datasets::download_dataset) works. The
/// defaults: a new `ViFull` export (`ViJsonl` for annotations only), normalized, no
/// split, the format checked against the dataset type, no overall wait limit, polls from
/// 0.5 s growing to 10 s, the default [`UnpackLimits`].
#[derive(Clone)]
#[non_exhaustive]
pub struct DatasetDownloadOptions {
    /// The format; `None`: `ViFull`, or `ViJsonl` when `annotations_only`.
    pub format: Option<ExportFormat>,
    /// Coordinates as fractions of the image size (default) or pixels.
    pub normalized: bool,
    /// The training fraction of a training/validation split.
    pub split_ratio: Option<f64>,
    /// Only the annotations (a format other than `ViFull`).
    pub annotations_only: bool,
    /// Whether the format is checked against the dataset type before anything is
    /// created (the service may accept more).
    pub check_format: bool,
    /// An existing export to download instead of creating one (its own settings apply;
    /// nothing is checked against the options).
    pub export: Option<ExportId>,
    /// Reuse the newest finished export with the same settings, if the dataset has one.
    pub reuse_finished: bool,
    /// Replace a complete copy already in the folder (otherwise it is returned as is).
    pub overwrite: bool,
    /// The longest wait for the export to be built; `None`: no limit.
    pub wait_timeout: Option<Duration>,
    /// The longest pause between two polls of the export.
    pub max_poll_interval: Duration,
    /// Limits of the archive.
    pub limits: UnpackLimits,
    /// Ranged reads at once; `None`: by archive size (8 below 5 GiB).
    pub concurrency: Option<usize>,
    /// The size of a ranged read; `None`: by archive size (64 KiB below 10 MiB).
    pub chunk_size: Option<u64>,
    /// Stops the call when fired: it returns [`Error::Cancelled`], nothing is put in place
    /// and the ranges already written are kept for the next call.
    pub cancel: Option<CancelToken>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for DatasetDownloadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetDownloadOptions")
            .field("format", &self.format)
            .field("normalized", &self.normalized)
            .field("split_ratio", &self.split_ratio)
            .field("annotations_only", &self.annotations_only)
            .field("check_format", &self.check_format)
            .field("export", &self.export)
            .field("reuse_finished", &self.reuse_finished)
            .field("overwrite", &self.overwrite)
            .field("wait_timeout", &self.wait_timeout)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for DatasetDownloadOptions {
    fn default() -> Self {
        DatasetDownloadOptions {
            format: None,
            normalized: true,
            split_ratio: None,
            annotations_only: false,
            check_format: true,
            export: None,
            reuse_finished: false,
            overwrite: false,
            wait_timeout: None,
            max_poll_interval: Duration::from_secs(10),
            limits: UnpackLimits::default(),
            concurrency: None,
            chunk_size: None,
            cancel: None,
            progress: None,
        }
    }
}

impl DatasetDownloadOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the format.
    pub fn format(mut self, format: ExportFormat) -> Self {
        self.format = Some(format);
        self
    }
    /// Sets whether coordinates are normalized to 0–1.
    pub fn normalized(mut self, normalized: bool) -> Self {
        self.normalized = normalized;
        self
    }
    /// Splits the assets: `ratio` of them in `training/`, the rest in `validation/`.
    pub fn split_ratio(mut self, ratio: f64) -> Self {
        self.split_ratio = Some(ratio);
        self
    }
    /// Downloads only the annotations.
    pub fn annotations_only(mut self, on: bool) -> Self {
        self.annotations_only = on;
        self
    }
    /// Skips the check of the format against the dataset type.
    pub fn skip_format_check(mut self) -> Self {
        self.check_format = false;
        self
    }
    /// Downloads this export instead of creating one.
    pub fn export(mut self, export: ExportId) -> Self {
        self.export = Some(export);
        self
    }
    /// Reuses the newest finished export with the same settings, when there is one.
    pub fn reuse_finished(mut self, on: bool) -> Self {
        self.reuse_finished = on;
        self
    }
    /// Replaces a complete copy already in the folder.
    pub fn overwrite(mut self, on: bool) -> Self {
        self.overwrite = on;
        self
    }
    /// Gives up waiting for the export after `timeout` (it stays, and a later call with
    /// the same settings continues with it).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = Some(timeout);
        self
    }
    /// Sets the longest pause between polls.
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval = interval;
        self
    }
    /// Sets the archive limits.
    pub fn limits(mut self, limits: UnpackLimits) -> Self {
        self.limits = limits;
        self
    }
    /// Sets how many ranged reads run at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }
    /// Sets the size of a ranged read.
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = Some(bytes.max(1));
        self
    }
    /// Stops the call when `token` fires (see [`DatasetDownloadOptions::cancel`]).
    pub fn cancel(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }
    /// Calls `progress` at every step (from worker threads; keep it quick).
    pub fn progress(mut self, progress: impl Fn(&ExportEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// The export settings these options ask for.
    pub fn settings(&self) -> ExportSettings {
        let format = self.format.clone().unwrap_or(if self.annotations_only {
            ExportFormat::ViJsonl
        } else {
            ExportFormat::ViFull
        });
        let mut settings = ExportSettings::new()
            .format(format)
            .normalized(self.normalized);
        settings.split_ratio = self.split_ratio;
        settings
    }
}

/// One split of a downloaded dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitSummary {
    /// `training`, `validation` or `dump`.
    pub name: String,
    /// Its folder.
    pub path: PathBuf,
    /// Asset files (in `images/`, else `assets/`).
    pub assets: u64,
    /// Annotation files (`*.jsonl`, `*.json` in `annotations/`).
    pub annotation_files: u64,
    /// Annotation records (non-empty lines of those files).
    pub annotations: u64,
}

/// A downloaded dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadedDataset {
    /// The dataset.
    pub dataset: DatasetId,
    /// The export it came from (`None` when a complete copy was already there).
    pub export: Option<ExportId>,
    /// The folder, `<dir>/<dataset id>`.
    pub path: PathBuf,
    /// Its splits.
    pub splits: Vec<SplitSummary>,
    /// The archive's size (0 when nothing was downloaded).
    pub archive_bytes: u64,
    /// Archive bytes kept from an earlier, interrupted call.
    pub resumed_bytes: u64,
    /// True when the folder already held a complete copy and was returned as is.
    pub already_present: bool,
}

impl DownloadedDataset {
    /// Asset files over all splits.
    pub fn asset_count(&self) -> u64 {
        self.splits.iter().map(|s| s.assets).sum()
    }

    /// Annotation records over all splits.
    pub fn annotation_count(&self) -> u64 {
        self.splits.iter().map(|s| s.annotations).sum()
    }

    /// The unpacked export, to read its assets with their records.
    ///
    /// # Errors
    /// As [`ExportFolder::open`].
    pub fn folder(&self) -> Result<ExportFolder> {
        ExportFolder::open(&self.path)
    }
}

/// The settings an export was made with, as one comparable text.
fn settings_key(s: &ExportSettings) -> String {
    format!(
        "{}|{}|{}",
        s.format.as_str(),
        s.normalized,
        s.split_ratio.map_or_else(|| "-".into(), |r| r.to_string())
    )
}

fn export_key(e: &DatasetExport) -> String {
    let spec = &e.spec;
    settings_key(&ExportSettings {
        format: spec.format.clone(),
        normalized: spec.options.normalized,
        split_ratio: spec.options.split_ratio,
    })
}

fn summarize(dataset: &DatasetId, path: &Path) -> Result<Vec<SplitSummary>> {
    let folder = ExportFolder::open(path).or_else(|e| match e {
        // An export with no split folder at all (an empty dataset) has no splits.
        Error::InvalidInput { .. } => Ok(ExportFolder {
            root: path.to_path_buf(),
            splits: Vec::new(),
        }),
        e => Err(e),
    })?;
    let _ = dataset;
    folder
        .splits
        .iter()
        .map(|s| {
            Ok(SplitSummary {
                name: s.name.clone(),
                path: s.path.clone(),
                assets: s.asset_files.len() as u64,
                annotation_files: s.annotation_files.len() as u64,
                annotations: reader::count_lines(&s.annotation_files)?,
            })
        })
        .collect()
}

/// Removes staging folders of `dataset` left in `dir` by interrupted calls.
fn remove_stale_staging(dir: &Path, dataset: &DatasetId) {
    let prefix = format!(".{dataset}.partial-");
    let old = format!(".{dataset}.old-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && (name.starts_with(&prefix) || name.starts_with(&old)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh, empty folder `<dir>/.<dataset>.<kind>-<random>`.
fn fresh_dir(dir: &Path, dataset: &DatasetId, kind: &str) -> Result<PathBuf> {
    loop {
        let path = dir.join(format!(".{dataset}.{kind}-{:08x}", fastrand::u32(..)));
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
}

/// What the unpacking step needs.
struct Landing {
    dir: PathBuf,
    dataset: DatasetId,
    target: PathBuf,
    archive: PathBuf,
    metadata: serde_json::Value,
    limits: UnpackLimits,
    overwrite: bool,
}

/// Unpacks into a staging folder, writes `metadata.json` last and renames the folder
/// into place (moving an old copy aside first when replacing it).
fn land(l: Landing) -> Result<()> {
    let staging = fresh_dir(&l.dir, &l.dataset, "partial")?;
    let result = (|| {
        unpack::unpack(&l.archive, &staging, &l.limits)?;
        let meta = staging.join(METADATA_FILE);
        let _ = std::fs::remove_file(&meta);
        let text = serde_json::to_vec(&l.metadata).unwrap_or_default();
        std::fs::write(&meta, text).map_err(|e| Error::io(&meta, e))?;
        let old = match std::fs::symlink_metadata(&l.target) {
            Ok(_) if !l.overwrite => {
                return Err(Error::invalid(
                    "download folder",
                    format!(
                        "{} appeared while downloading; pass overwrite to replace it",
                        l.target.display()
                    ),
                ));
            }
            Ok(_) => {
                let aside = fresh_dir(&l.dir, &l.dataset, "old")?;
                std::fs::remove_dir(&aside).map_err(|e| Error::io(&aside, e))?;
                std::fs::rename(&l.target, &aside).map_err(|e| Error::io(&l.target, e))?;
                Some(aside)
            }
            Err(_) => None,
        };
        std::fs::rename(&staging, &l.target).map_err(|e| Error::io(&l.target, e))?;
        if let Some(old) = old {
            // A link among the old files is removed, never followed.
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Core {
    /// Waits until `export` is built (every condition `Reached` and a URL), polling
    /// with a growing pause.
    async fn wait_for_export(
        &self,
        dataset: &DatasetId,
        mut export: DatasetExport,
        options: &DatasetDownloadOptions,
        progress: &ProgressFn,
    ) -> Result<DatasetExport> {
        let runtime = self.runtime().clone();
        let started = runtime.now();
        let mut delay = Duration::from_millis(500);
        let id = export.id()?;
        loop {
            if let Some(failed) = export.failure() {
                return Err(Error::Operation {
                    operation: format!("export {id} of dataset {dataset}"),
                    message: format!(
                        "{}: {}",
                        failed.condition,
                        failed
                            .message
                            .as_deref()
                            .or(failed.reason.as_deref())
                            .unwrap_or("no reason given")
                    ),
                });
            }
            if export.is_done() {
                if export.download_url().is_none() {
                    return Err(Error::Operation {
                        operation: format!("export {id} of dataset {dataset}"),
                        message: "finished without a download URL".into(),
                    });
                }
                return Ok(export);
            }
            let conditions = &export.status.conditions;
            progress(&ExportEvent::Waiting {
                reached: conditions.iter().filter(|c| c.is_reached()).count(),
                conditions: conditions.len(),
            });
            let elapsed = runtime.now().saturating_duration_since(started);
            if let Some(limit) = options.wait_timeout {
                if elapsed + delay > limit {
                    return Err(Error::Operation {
                        operation: format!("export {id} of dataset {dataset}"),
                        message: format!(
                            "not built after {limit:?}; call again with the same settings to \
                             keep waiting for it"
                        ),
                    });
                }
            }
            runtime.sleep(delay).await;
            delay = (delay * 2).min(options.max_poll_interval.max(Duration::from_millis(1)));
            export = self
                .execute(&GetExport {
                    dataset: dataset.clone(),
                    export: id.clone(),
                })
                .await?;
        }
    }

    /// The export to download: the one named, the one an interrupted call was using
    /// (same settings), a finished one with the same settings when asked, or a new one.
    async fn choose_export(
        &self,
        dataset: &DatasetId,
        options: &DatasetDownloadOptions,
        work: &WorkDir,
        progress: &ProgressFn,
    ) -> Result<(DatasetExport, State)> {
        let get = |export: ExportId| GetExport {
            dataset: dataset.clone(),
            export,
        };
        if let Some(id) = &options.export {
            let export = self.execute(&get(id.clone())).await?;
            let key = export_key(&export);
            let state = work
                .load()
                .filter(|s| s.export == id.as_str())
                .unwrap_or_else(|| State {
                    export: id.to_string(),
                    settings: key,
                    ..State::default()
                });
            progress(&ExportEvent::Export {
                export: id.to_string(),
                created: false,
            });
            return Ok((export, state));
        }
        let settings = options.settings();
        let key = settings_key(&settings);
        if let Some(state) = work.load().filter(|s| s.settings == key) {
            if let Ok(id) = ExportId::new(state.export.as_str()) {
                match self.execute(&get(id.clone())).await {
                    Ok(export) if export.failure().is_none() => {
                        progress(&ExportEvent::Export {
                            export: id.to_string(),
                            created: false,
                        });
                        return Ok((export, state));
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == crate::error::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if options.reuse_finished {
            let mut listing = crate::paging::Pager::new(
                self.clone(),
                crate::endpoints::ListExports {
                    dataset: dataset.clone(),
                    page_size: None,
                    cursor: None,
                },
            )
            .into_items();
            let mut newest: Option<DatasetExport> = None;
            while let Some(export) = listing.next_item().await {
                let export = export?;
                let usable = export.is_done()
                    && export.download_url().is_some()
                    && export_key(&export) == key;
                let newer = newest
                    .as_ref()
                    .is_none_or(|n| export.metadata.time_created > n.metadata.time_created);
                if usable && newer {
                    newest = Some(export);
                }
            }
            if let Some(export) = newest {
                let id = export.id()?;
                progress(&ExportEvent::Export {
                    export: id.to_string(),
                    created: false,
                });
                let state = State {
                    export: id.to_string(),
                    settings: key,
                    ..State::default()
                };
                return Ok((export, state));
            }
        }
        let export = self
            .execute(&CreateExport {
                dataset: dataset.clone(),
                settings,
            })
            .await?;
        let id = export.id()?;
        progress(&ExportEvent::Export {
            export: id.to_string(),
            created: true,
        });
        Ok((
            export,
            State {
                export: id.to_string(),
                settings: key,
                ..State::default()
            },
        ))
    }

    /// Downloads `dataset` with its annotations into `<dir>/<dataset id>/`: see
    /// [`crate::handles::Datasets::download_dataset`].
    pub(crate) async fn download_dataset(
        &self,
        dataset: &DatasetId,
        dir: &Path,
        options: &DatasetDownloadOptions,
    ) -> Result<DownloadedDataset> {
        let work = self.download_dataset_now(dataset, dir, options);
        match crate::pool::guarded(work, options.cancel.as_ref()).await {
            crate::pool::Guarded::Done(result) => result,
            crate::pool::Guarded::Cancelled => Err(Error::Cancelled),
            crate::pool::Guarded::Panicked => Err(Error::Internal {
                message: format!("the download of dataset {dataset} panicked"),
            }),
        }
    }

    async fn download_dataset_now(
        &self,
        dataset: &DatasetId,
        dir: &Path,
        options: &DatasetDownloadOptions,
    ) -> Result<DownloadedDataset> {
        let runtime = self.runtime().clone();
        let progress: ProgressFn = options.progress.clone().unwrap_or_else(|| Arc::new(|_| {}));
        if options.export.is_none() {
            options.settings().check()?;
        }
        let dir = dir.to_path_buf();
        let target = dir.join(dataset.as_str());
        // The local folder first: a complete copy is returned without asking the service.
        let (d, t, ds) = (dir.clone(), target.clone(), dataset.clone());
        let present = run_blocking(runtime.as_ref(), move || -> Result<Option<bool>> {
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
            remove_stale_staging(&d, &ds);
            match std::fs::symlink_metadata(&t) {
                Ok(m) if m.is_dir() => Ok(Some(t.join(METADATA_FILE).is_file())),
                Ok(_) => Err(Error::io(
                    &t,
                    std::io::Error::other(
                        "is a file or a link where the dataset's folder belongs; remove it",
                    ),
                )),
                Err(_) => Ok(None),
            }
        })
        .await??;
        match present {
            Some(true) if !options.overwrite => {
                progress(&ExportEvent::AlreadyPresent {
                    path: target.clone(),
                });
                let (ds, t) = (dataset.clone(), target.clone());
                let splits = run_blocking(runtime.as_ref(), move || summarize(&ds, &t)).await??;
                return Ok(DownloadedDataset {
                    dataset: dataset.clone(),
                    export: None,
                    path: target,
                    splits,
                    archive_bytes: 0,
                    resumed_bytes: 0,
                    already_present: true,
                });
            }
            Some(false) if !options.overwrite => {
                return Err(Error::invalid(
                    "download folder",
                    format!(
                        "{} exists but holds no {METADATA_FILE}, so it is not a complete \
                         download; pass overwrite to replace it",
                        target.display()
                    ),
                ));
            }
            _ => {}
        }
        if options.export.is_none() && options.check_format {
            let info = self
                .execute(&GetDataset {
                    dataset: dataset.clone(),
                })
                .await?;
            let format = options.settings().format;
            formats::check_format(&info.dataset_type, &format, options.annotations_only)?;
        }
        let work = WorkDir {
            dir: dir.join(format!(".{dataset}.export")),
        };
        let (export, state) = self
            .choose_export(dataset, options, &work, &progress)
            .await?;
        {
            let (w, s) = (work.clone(), state.clone());
            run_blocking(runtime.as_ref(), move || w.save(&s)).await??;
        }
        let export = self
            .wait_for_export(dataset, export, options, &progress)
            .await?;
        let id = export.id()?;
        let url = export.download_url().cloned().unwrap_or_default();
        let source = ArchiveSource {
            core: self.clone(),
            dataset: dataset.clone(),
            export: id.clone(),
            url: Arc::new(Mutex::new(url)),
        };
        let fetched = fetch::fetch_archive(
            &source,
            &work,
            state,
            options.chunk_size,
            options.concurrency,
            &progress,
        )
        .await?;
        progress(&ExportEvent::Unpacking {
            bytes: fetched.size,
        });
        let absolute = std::path::absolute(&target).unwrap_or_else(|_| target.clone());
        let metadata = serde_json::json!({
            "name": dataset.as_str(),
            "organizationId": export.workspace_id,
            "exportDir": absolute.to_string_lossy(),
            "createdAt": now_secs(),
            "license": null,
            "datasetExportId": id.as_str(),
            "format": export.spec.format.as_str(),
        });
        let landing = Landing {
            dir: dir.clone(),
            dataset: dataset.clone(),
            target: target.clone(),
            archive: work.archive(),
            metadata,
            limits: options.limits,
            overwrite: options.overwrite,
        };
        let w = work.clone();
        let landed = run_blocking(runtime.as_ref(), move || {
            let result = land(landing);
            // The archive goes once it is in place, or when it is refused (fetching the
            // same bytes again would not help); a disk failure keeps it for a retry.
            if matches!(result, Ok(()) | Err(Error::Archive { .. })) {
                w.remove();
            }
            result
        })
        .await?;
        landed?;
        let (ds, t) = (dataset.clone(), target.clone());
        let splits = run_blocking(runtime.as_ref(), move || summarize(&ds, &t)).await??;
        Ok(DownloadedDataset {
            dataset: dataset.clone(),
            export: Some(id),
            path: target,
            splits,
            archive_bytes: fetched.size,
            resumed_bytes: fetched.resumed,
            already_present: false,
        })
    }
}
