//! The download engine (see the module docs of [`crate::download`] for the flow).

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{Either, join, select};

use tracing::Instrument;

use super::asset::{Outcome, PerAsset, download_one};
use super::file::tidy_partial_dir;
use super::folder::FolderClaim;
use super::names::{NameAllocator, name_from_url};
use super::report::{DownloadFailure, DownloadReport, DownloadedFile, FailedDownload};
use super::{DownloadOptions, DownloadSelection};
use crate::endpoints::{CountAssets, GetAsset, ListAssets, ListAssetsOptions};
use crate::engine::Core;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{AssetId, DatasetId};
use crate::models::{Asset, Page};
use crate::paging::Pager;
use crate::pool::{Guarded, Pool, TaskSet, guarded};
use crate::progress::ProgressEvent;
use crate::runtime::{Runtime, run_blocking};
use crate::tuning::{Ticker, Tuner};

const OPERATION: &str = "download";

/// How many more times a failed listing page is asked for (after the retries of the list
/// call itself) before the assets after it are given up and reported as a problem.
const LISTING_ROUNDS: u32 = 3;

/// A listing page being asked for: the pager travels with the request and comes back
/// with its answer.
type PageRequest = Pin<Box<dyn Future<Output = (Box<Pager<Asset>>, PageAnswer)> + Send>>;

/// What [`Pager::next_page`] answered.
type PageAnswer = Option<Result<Page<Asset>>>;

/// What the download's task set yields.
enum Event {
    /// An asset's transfer ended.
    Asset(Outcome),
    /// The tuner's timer fired ([`Ticker`]).
    Tick,
}

/// Where the assets still to be handed out come from.
enum Feed {
    /// A listing, between pages.
    Listing(Box<Pager<Asset>>),
    /// A listing whose next page is being asked for.
    Asking(PageRequest),
    /// Nothing more than the queue holds.
    Fixed,
}

impl Feed {
    /// Asks a listing between pages for its next page (after a pause growing with
    /// `failures`, the earlier failed attempts at that page); any other feed is
    /// returned as it is.
    fn ask(self, runtime: &Arc<dyn Runtime>, failures: u32) -> Feed {
        let Feed::Listing(mut pager) = self else {
            return self;
        };
        let pause = (failures > 0).then(|| runtime.sleep(Duration::from_secs(1 << failures)));
        Feed::Asking(Box::pin(async move {
            if let Some(pause) = pause {
                pause.await;
            }
            let answer = pager.next_page().await;
            (pager, answer)
        }))
    }
}

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
        let claim = run_blocking(runtime.as_ref(), move || FolderClaim::take(&dir)).await??;

        let cancel = options.cancel.clone().unwrap_or_default();
        let progress = options.progress.clone();
        let mut report = DownloadReport {
            dataset: dataset.clone(),
            directory: target_dir.clone(),
            downloaded: Vec::new(),
            skipped: Vec::new(),
            failed: Vec::new(),
            bytes_downloaded: 0,
            duration: Duration::ZERO,
            cancelled: false,
            problems: Vec::new(),
        };
        let mut queue: VecDeque<Asset> = VecDeque::new();
        let mut feed = match &options.selection {
            DownloadSelection::All => Feed::Listing(Box::new(self.asset_pager(
                dataset,
                ListAssetsOptions::new().page_size(options.page_size),
            ))),
            DownloadSelection::Listing(listing) => Feed::Listing(Box::new(
                self.asset_pager(dataset, listing.clone().page_size(options.page_size)),
            )),
            DownloadSelection::Assets(ids) => {
                let (found, missing) = self.fetch_chosen(dataset, ids, options.concurrency).await?;
                for (asset, reason) in missing {
                    report.failed.push(FailedDownload {
                        asset,
                        filename: None,
                        reason,
                    });
                }
                queue.extend(found);
                Feed::Fixed
            }
        };
        if let Feed::Listing(pager) = &mut feed {
            // The count (for the progress total) and the first page at once: one round
            // trip before the first transfer, not two.
            let count_options = match &options.selection {
                DownloadSelection::Listing(l) => l.into(),
                _ => Default::default(),
            };
            let count = CountAssets {
                dataset: dataset.clone(),
                options: count_options,
            };
            let (files, first) = join(self.execute(&count), pager.next_page()).await;
            if let Ok(files) = files {
                progress.emit(ProgressEvent::Planned { files, bytes: 0 });
            }
            match first {
                Some(Ok(page)) => queue.extend(page.items),
                // The first page decides whether there is anything to download at all.
                Some(Err(e)) => return Err(e),
                None => feed = Feed::Fixed,
            }
        } else {
            progress.emit(ProgressEvent::Planned {
                files: queue.len() as u64,
                bytes: queue.iter().map(|a| a.metadata.file_size).sum(),
            });
        }

        let mut names = NameAllocator::new();
        let mut set: TaskSet<Event> = TaskSet::new(runtime.clone());
        let mut page_failures = 0u32;
        let mut tuner = Tuner::new(options.concurrency, options.max_concurrency);
        let mut ticker = Ticker::default();
        let per = PerAsset {
            overwrite: options.overwrite,
            progress: progress.clone(),
            meter: Some(tuner.meter().clone()),
        };
        loop {
            while !cancel.is_cancelled() && ticker.transfers(set.len()) < tuner.limit() {
                let Some(asset) = queue.pop_front() else {
                    break;
                };
                let Ok(id) = asset.id() else {
                    report.problems.push(format!(
                        "the service listed {:?} with an invalid asset id {:?}; it was not downloaded",
                        asset.filename, asset.asset_id
                    ));
                    continue;
                };
                let filename = if asset.filename.is_empty() {
                    asset
                        .download_url()
                        .and_then(|u| name_from_url(&u.url))
                        .unwrap_or_default()
                } else {
                    asset.filename.clone()
                };
                let path = target_dir.join(names.allocate(&filename, id.as_str()));
                let task = self.asset_task(
                    dataset.clone(),
                    id,
                    asset,
                    path,
                    per.clone(),
                    cancel.clone(),
                );
                set.spawn(task.map(Event::Asset));
                tuner.started(runtime.now(), ticker.transfers(set.len()));
            }
            let transfers = ticker.transfers(set.len());
            if transfers == 0
                && (cancel.is_cancelled() || (queue.is_empty() && matches!(feed, Feed::Fixed)))
            {
                break;
            }
            ticker.keep(&mut set, &tuner, transfers, || Event::Tick);
            // The next page is asked for while the transfers of this one still run, as
            // soon as the queue holds less than two rounds of transfers, so the transfers
            // never wait for a listing round trip.
            if !cancel.is_cancelled() && queue.len() < 2 * tuner.limit() {
                feed = feed.ask(&runtime, page_failures);
            }
            let event = match &mut feed {
                Feed::Asking(page) if transfers == 0 => Either::Right(page.await),
                Feed::Asking(page) => match select(Box::pin(set.next()), page).await {
                    Either::Left((next, _)) => Either::Left(next),
                    Either::Right((answer, _)) => Either::Right(answer),
                },
                _ => Either::Left(set.next().await),
            };
            match event {
                Either::Right((pager, answer)) => match answer {
                    Some(Ok(page)) => {
                        page_failures = 0;
                        queue.extend(page.items);
                        feed = Feed::Listing(pager);
                    }
                    // A page that failed after the call's own retries is asked for again
                    // (the pager stays on it) a few times, with growing pauses, before
                    // the rest of the listing is given up.
                    Some(Err(e)) if page_failures < LISTING_ROUNDS => {
                        page_failures += 1;
                        tracing::warn!(error = %e, round = page_failures, "a listing page failed; asking again");
                        feed = Feed::Listing(pager);
                    }
                    Some(Err(e)) => {
                        // Keep what is done, say why the rest is missing.
                        tracing::warn!(error = %e, "listing stopped; the assets after this point were not downloaded");
                        report.problems.push(format!(
                            "listing the remaining assets failed, so they were not downloaded: {e}"
                        ));
                        feed = Feed::Fixed;
                    }
                    None => feed = Feed::Fixed,
                },
                Either::Left(Some(Ok(Event::Asset(outcome)))) => match outcome {
                    Outcome::Downloaded(file, bytes) => {
                        tuner.finished(runtime.now(), bytes);
                        report.bytes_downloaded += bytes;
                        report.downloaded.push(file);
                    }
                    Outcome::Skipped(s) => report.skipped.push(s),
                    Outcome::Failed(f) => report.failed.push(f),
                },
                Either::Left(Some(Ok(Event::Tick))) => {
                    ticker.fired();
                    tuner.tick(runtime.now());
                }
                // A task vanished (its runtime shut down), or nothing runs: look again.
                Either::Left(Some(Err(_)) | None) => {}
            }
        }
        if cancel.is_cancelled() {
            progress.emit(ProgressEvent::Cancelling);
            report.cancelled = true;
            for asset in queue {
                if let Ok(id) = asset.id() {
                    report.failed.push(FailedDownload {
                        asset: id,
                        filename: Some(asset.filename),
                        reason: DownloadFailure::Cancelled,
                    });
                }
            }
        }
        let done: HashSet<String> = (report.downloaded.iter().map(|d| &d.asset))
            .chain(report.skipped.iter().map(|s| &s.asset))
            .map(|id| id.as_str().to_owned())
            .collect();
        let _ = run_blocking(runtime.as_ref(), move || claim.release(&done)).await;
        report.duration = runtime.now().saturating_duration_since(started);
        Ok(report)
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
            Outcome::Failed(f) => Err(Error::Operation {
                operation: format!("download of asset {asset}"),
                message: f.reason.to_string(),
            }),
        }
    }

    /// A pager over the assets a download lists, with their download URLs.
    fn asset_pager(&self, dataset: &DatasetId, options: ListAssetsOptions) -> Pager<Asset> {
        let endpoint = ListAssets {
            dataset: dataset.clone(),
            options: options.with_contents(true),
            cursor: None,
        };
        Pager::new(self.clone(), endpoint)
    }

    /// Fetches the chosen assets (with URLs) in parallel; unknown ids come back as failures.
    async fn fetch_chosen(
        &self,
        dataset: &DatasetId,
        ids: &[AssetId],
        concurrency: usize,
    ) -> Result<(Vec<Asset>, Vec<(AssetId, DownloadFailure)>)> {
        let pool = Pool::new(self.runtime().clone(), concurrency);
        let mut results: Vec<Option<std::result::Result<Asset, (AssetId, Error)>>> =
            ids.iter().map(|_| None).collect();
        let jobs = ids.iter().cloned().enumerate().map(|(i, id)| {
            let core = self.clone();
            let dataset = dataset.clone();
            async move {
                let r = core.execute(&GetAsset::new(&dataset, &id, true)).await;
                (i, r.map_err(|e| (id, e)))
            }
        });
        let mut run = pool.run(jobs);
        while let Some(done) = run.next().await {
            let (i, r) = done?;
            results[i] = Some(r);
        }
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for r in results.into_iter().flatten() {
            match r {
                Ok(asset) => found.push(asset),
                Err((id, e)) if e.kind() == ErrorKind::NotFound => {
                    missing.push((id, DownloadFailure::NotFound))
                }
                Err((id, e)) => {
                    if matches!(
                        e.kind(),
                        ErrorKind::Authentication | ErrorKind::PermissionDenied
                    ) {
                        return Err(e);
                    }
                    missing.push((
                        id,
                        DownloadFailure::Transfer {
                            status: e.status().map(|s| s.as_u16()),
                            message: e.to_string(),
                        },
                    ))
                }
            }
        }
        Ok((found, missing))
    }

    #[allow(clippy::too_many_arguments)]
    fn asset_task(
        &self,
        dataset: DatasetId,
        id: AssetId,
        asset: Asset,
        path: PathBuf,
        per: PerAsset,
        cancel: crate::cancel::CancelToken,
    ) -> impl std::future::Future<Output = Outcome> + Send + 'static {
        let core = self.clone();
        async move {
            let filename = asset.filename.clone();
            let work = download_one(core, dataset, id.clone(), asset, path, per);
            // Dropping the transfer on cancellation aborts it where the transport is async;
            // the partial file stays and resumes next time.
            let reason = match guarded(work, Some(&cancel)).await {
                Guarded::Done(outcome) => return outcome,
                Guarded::Panicked => DownloadFailure::Internal {
                    message: "a download worker panicked".into(),
                },
                Guarded::Cancelled => DownloadFailure::Cancelled,
            };
            Outcome::Failed(FailedDownload {
                asset: id,
                filename: Some(filename),
                reason,
            })
        }
    }
}
