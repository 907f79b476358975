//! The download engine: sets the call up, runs the coordinator ([`super::coord`])
//! through the driver ([`crate::drive`]), and turns its tally into the report.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use tracing::Instrument;

use super::asset::{Outcome, PerAsset, download_one};
use super::coord::{Command, DownloadFlow, Output};
use super::file::tidy_partial_dir;
use super::folder::FolderClaim;
use super::report::{DownloadFailure, DownloadReport, DownloadedFile, FailedDownload};
use super::{DownloadOptions, DownloadSelection};
use crate::cancel::CancelToken;
use crate::drive::drive;
use crate::endpoints::{CountAssets, GetAsset, ListAssets, ListAssetsOptions};
use crate::engine::Core;
use crate::error::{Error, Result};
use crate::ids::{AssetId, DatasetId};
use crate::models::Asset;
use crate::paging::Pager;
use crate::pool::{Guarded, guarded};
use crate::runtime::{BoxFuture, run_blocking};
use crate::tuning::Tuner;

const OPERATION: &str = "download";

impl Core {
    /// Downloads assets of `dataset` into `<directory>/<dataset id>/`; see
    /// [`crate::download`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad options; an API error when the first page of the
    /// listing cannot be had (unknown dataset, wrong credentials); [`Error::Io`] when the
    /// directory cannot be created. Per-asset failures and cancellation are reported in the
    /// [`DownloadReport`].
    pub async fn download(
        &self,
        dataset: &DatasetId,
        directory: &Path,
        options: DownloadOptions,
    ) -> Result<DownloadReport> {
        let span = tracing::info_span!("vi.download", dataset = %dataset);
        self.download_all(dataset, directory, options)
            .instrument(span)
            .await
    }

    async fn download_all(
        &self,
        dataset: &DatasetId,
        directory: &Path,
        options: DownloadOptions,
    ) -> Result<DownloadReport> {
        if options.concurrency == 0 {
            return Err(Error::invalid("concurrency", "it must be at least 1"));
        }
        crate::endpoints::check_page_size(options.page_size)?;
        let runtime = self.runtime().clone();
        let started = runtime.now();
        let target_dir = directory.join(dataset.as_str());
        let dir = target_dir.clone();
        let shard = options.shard;
        let claim =
            run_blocking(runtime.as_ref(), move || FolderClaim::take(&dir, shard)).await??;

        let cancel = options.cancel.clone().unwrap_or_default();
        let tuner = Tuner::new(options.concurrency, options.max_concurrency);
        let exec = Exec {
            core: self.clone(),
            dataset: dataset.clone(),
            pager: Arc::new(Mutex::new(self.listing_pager(dataset, &options))),
            count: count_of(dataset, &options),
            per: PerAsset {
                overwrite: options.overwrite,
                progress: options.progress.clone(),
                meter: Some(tuner.meter().clone()),
                cancel: cancel.clone(),
                limit: options.bandwidth_limit.clone(),
            },
        };
        let chosen = match &options.selection {
            DownloadSelection::Assets(ids) => Some(ids.clone()),
            _ => None,
        };
        let mut flow = DownloadFlow::new(
            target_dir.clone(),
            options.progress.clone(),
            tuner,
            chosen,
            options.outcomes.clone(),
        )
        .with_selection(options.selection());
        drive(&mut flow, &runtime, &cancel, |command| exec.run(command)).await;
        flow.check_selection();
        if let Some(fatal) = flow.fatal.take() {
            return Err(fatal);
        }
        let tally = flow.tally;
        let done: HashSet<String> = (tally.downloaded.iter().map(|d| &d.asset))
            .chain(tally.skipped.iter().map(|s| &s.asset))
            .map(|id| id.as_str().to_owned())
            .collect();
        let _ = run_blocking(runtime.as_ref(), move || claim.release(&done)).await;
        Ok(DownloadReport {
            dataset: dataset.clone(),
            directory: target_dir,
            downloaded: tally.downloaded,
            skipped: tally.skipped,
            failed: tally.failed,
            bytes_downloaded: tally.bytes,
            duration: runtime.now().saturating_duration_since(started),
            cancelled: tally.cancelled,
            problems: tally.problems,
            counts: tally.counts,
        })
    }

    /// The pager of a download that lists its assets (with their download URLs).
    fn listing_pager(
        &self,
        dataset: &DatasetId,
        options: &DownloadOptions,
    ) -> Option<Box<Pager<Asset>>> {
        let listing = match &options.selection {
            DownloadSelection::All => ListAssetsOptions::new(),
            DownloadSelection::Listing(listing) => listing.clone(),
            DownloadSelection::Assets(_) => return None,
        };
        let endpoint = ListAssets {
            dataset: dataset.clone(),
            options: listing.page_size(options.page_size).with_contents(true),
            cursor: None,
        };
        Some(Box::new(Pager::new(self.clone(), endpoint)))
    }

    /// Downloads one asset to exactly `destination` (replacing what is there), through a
    /// partial file, verified, with fresh URLs on expiry.
    ///
    /// # Errors
    /// An API error of kind `NotFound` for an unknown asset; transfer, verification or
    /// I/O errors otherwise.
    pub async fn download_asset(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        destination: &Path,
    ) -> Result<DownloadedFile> {
        let found = self.execute(&GetAsset::new(dataset, asset, true)).await?;
        if let Some(parent) = destination.parent().map(Path::to_path_buf) {
            run_blocking(self.runtime().as_ref(), move || {
                std::fs::create_dir_all(&parent).map_err(|e| Error::io(parent, e))
            })
            .await??;
        }
        let per = PerAsset {
            overwrite: true,
            ..PerAsset::default()
        };
        let outcome = download_one(
            self.clone(),
            dataset.clone(),
            asset.clone(),
            found,
            destination.to_path_buf(),
            per,
        )
        .await;
        if let Some(folder) = destination.parent().map(Path::to_path_buf) {
            let done = match &outcome {
                Outcome::Downloaded(..) => HashSet::from([asset.as_str().to_owned()]),
                _ => HashSet::new(),
            };
            let _ = run_blocking(self.runtime().as_ref(), move || {
                tidy_partial_dir(&folder, &done)
            })
            .await;
        }
        match outcome {
            Outcome::Downloaded(file, _) => Ok(file),
            Outcome::Skipped(s) => Err(Error::Operation {
                operation: OPERATION.into(),
                message: format!("{} was skipped", s.path.display()),
            }),
            // The error itself, with its kind, status and retryability.
            Outcome::Failed(_, Some(error)) => Err(error),
            Outcome::Failed(f, None) => Err(Error::Operation {
                operation: format!("download of asset {asset}"),
                message: f.reason.to_string(),
            }),
        }
    }
}

/// The count a listed download asks for, for the progress total.
fn count_of(dataset: &DatasetId, options: &DownloadOptions) -> CountAssets {
    let options = match &options.selection {
        DownloadSelection::Listing(l) => l.into(),
        _ => Default::default(),
    };
    CountAssets {
        dataset: dataset.clone(),
        options,
    }
}

/// Runs the coordinator's commands: what each one does on the wire and on disk.
struct Exec {
    core: Core,
    dataset: DatasetId,
    /// The listing's pager, taken by the one page request out at a time and put back
    /// with its answer (`None` for chosen assets, or once a page task was lost).
    pager: Arc<Mutex<Option<Box<Pager<Asset>>>>>,
    count: CountAssets,
    per: PerAsset,
}

impl Exec {
    fn run(&self, command: Command) -> BoxFuture<'static, Output> {
        let core = self.core.clone();
        match command {
            Command::Count => {
                let count = self.count.clone();
                Box::pin(async move { Output::Count(core.execute(&count).await) })
            }
            Command::Page => {
                let pager = self.pager.clone();
                Box::pin(async move {
                    let taken = pager.lock().unwrap_or_else(|e| e.into_inner()).take();
                    let Some(mut taken) = taken else {
                        return Output::Page(Some(Err(Error::Internal {
                            message:
                                "the listing's pager is gone (an earlier page request was lost)"
                                    .into(),
                        })));
                    };
                    let answer = taken.next_page().await;
                    *pager.lock().unwrap_or_else(|e| e.into_inner()) = Some(taken);
                    Output::Page(answer)
                })
            }
            Command::Lookup(id) => {
                let dataset = self.dataset.clone();
                Box::pin(async move {
                    Output::Lookup(Box::new(
                        core.execute(&GetAsset::new(&dataset, &id, true)).await,
                    ))
                })
            }
            Command::Fetch { asset, id, path } => {
                let work = fetch_task(
                    core,
                    self.dataset.clone(),
                    id,
                    *asset,
                    path,
                    self.per.clone(),
                );
                Box::pin(work.map(Output::Fetch))
            }
        }
    }
}

/// One asset's transfer, stopped where it stands when the call is cancelled (the
/// partial file stays and resumes next time).
async fn fetch_task(
    core: Core,
    dataset: DatasetId,
    id: AssetId,
    asset: Asset,
    path: PathBuf,
    per: PerAsset,
) -> Outcome {
    let filename = asset.filename.clone();
    let cancel: CancelToken = per.cancel.clone();
    let work = download_one(core, dataset, id.clone(), asset, path, per);
    let reason = match guarded(work, Some(&cancel)).await {
        Guarded::Done(outcome) => return outcome,
        Guarded::Panicked => DownloadFailure::Internal {
            message: "a download worker panicked".into(),
        },
        Guarded::Cancelled => DownloadFailure::Cancelled,
    };
    Outcome::Failed(
        FailedDownload {
            asset: id,
            filename: Some(filename),
            reason,
        },
        None,
    )
}
