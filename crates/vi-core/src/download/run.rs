//! The download engine (see the module docs of [`crate::download`] for the flow).

use std::collections::VecDeque;
use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{Either, select};
use tracing::Instrument;

use super::names::{NameAllocator, name_from_url};
use super::report::{
    DownloadFailure, DownloadReport, DownloadedFile, FailedDownload, SkippedDownload,
};
use super::{DownloadOptions, DownloadSelection, part_path};
use crate::endpoints::{CountAssets, GetAsset, ListAssets, ListAssetsOptions};
use crate::engine::{Attempt, Core};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{AssetId, DatasetId};
use crate::models::{Asset, SignedUrl};
use crate::paging::Pager;
use crate::pool::{Pool, TaskSet};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::retry::{Safety, Target};
use crate::runtime::run_blocking;
use crate::transport::{Body, DownloadTarget, TransportError, TransportErrorKind};

const OPERATION: &str = "download";

/// What happened to one asset.
enum Outcome {
    Downloaded(DownloadedFile, u64),
    Skipped(SkippedDownload),
    Failed(FailedDownload),
}

/// The assets still to be handed out.
enum Feed {
    Listing(Box<Pager<Asset>>),
    Fixed,
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
        run_blocking(runtime.as_ref(), move || {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir, e))
        })
        .await??;

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
        if let Feed::Listing(_) = feed {
            let count_options = match &options.selection {
                DownloadSelection::Listing(l) => l.into(),
                _ => Default::default(),
            };
            let count = CountAssets {
                dataset: dataset.clone(),
                options: count_options,
            };
            if let Ok(files) = self.execute(&count).await {
                progress.emit(ProgressEvent::Planned { files, bytes: 0 });
            }
        } else {
            progress.emit(ProgressEvent::Planned {
                files: queue.len() as u64,
                bytes: queue.iter().map(|a| a.metadata.file_size).sum(),
            });
        }

        let mut names = NameAllocator::new();
        let mut set: TaskSet<Outcome> = TaskSet::new(runtime.clone());
        let mut first_page = true;
        loop {
            while !cancel.is_cancelled() && set.len() < options.concurrency {
                if let Some(asset) = queue.pop_front() {
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
                    set.spawn(self.asset_task(
                        dataset.clone(),
                        id,
                        asset,
                        path,
                        options.overwrite,
                        cancel.clone(),
                        progress.clone(),
                    ));
                    continue;
                }
                let Feed::Listing(pager) = &mut feed else {
                    break;
                };
                match pager.next_page().await {
                    Some(Ok(page)) => {
                        first_page = false;
                        queue.extend(page.items);
                    }
                    Some(Err(e)) if first_page => return Err(e),
                    Some(Err(e)) => {
                        // Later pages: keep what is done, say why the rest is missing.
                        tracing::warn!(error = %e, "listing stopped; the assets after this point were not downloaded");
                        report.problems.push(format!(
                            "listing the remaining assets failed, so they were not downloaded: {e}"
                        ));
                        feed = Feed::Fixed;
                    }
                    None => feed = Feed::Fixed,
                }
            }
            match set.next().await {
                Some(Ok(Outcome::Downloaded(file, bytes))) => {
                    report.bytes_downloaded += bytes;
                    report.downloaded.push(file);
                }
                Some(Ok(Outcome::Skipped(s))) => report.skipped.push(s),
                Some(Ok(Outcome::Failed(f))) => report.failed.push(f),
                Some(Err(_)) => {}
                None => {
                    if cancel.is_cancelled() || (queue.is_empty() && matches!(feed, Feed::Fixed)) {
                        break;
                    }
                }
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
        report.duration = runtime.now().saturating_duration_since(started);
        Ok(report)
    }

    /// Downloads one asset to exactly `destination` (replacing what is there), through a
    /// `.part` file, verified, with fresh URLs on expiry.
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
        let outcome = download_one(
            self.clone(),
            dataset.clone(),
            asset.clone(),
            found,
            destination.to_path_buf(),
            true,
            ProgressSink::default(),
        )
        .await;
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
        overwrite: bool,
        cancel: crate::cancel::CancelToken,
        progress: ProgressSink,
    ) -> impl std::future::Future<Output = Outcome> + Send + 'static {
        let core = self.clone();
        async move {
            let filename = asset.filename.clone();
            let work = AssertUnwindSafe(download_one(
                core,
                dataset,
                id.clone(),
                asset,
                path,
                overwrite,
                progress,
            ))
            .catch_unwind();
            // Dropping the transfer on cancellation aborts it where the transport is async;
            // the `.part` file stays and resumes next time.
            match select(Box::pin(work), Box::pin(cancel.cancelled())).await {
                Either::Left((Ok(outcome), _)) => outcome,
                Either::Left((Err(_), _)) => Outcome::Failed(FailedDownload {
                    asset: id,
                    filename: Some(filename),
                    reason: DownloadFailure::Io {
                        message: "internal error (a worker panicked)".into(),
                    },
                }),
                Either::Right(_) => Outcome::Failed(FailedDownload {
                    asset: id,
                    filename: Some(filename),
                    reason: DownloadFailure::Cancelled,
                }),
            }
        }
    }
}

/// The expected CRC32C of an asset, when its metadata gives one (hex, or base64 of the
/// four big-endian bytes).
fn expected_crc(asset: &Asset) -> Option<u32> {
    let hash = &asset.metadata.hash;
    if !hash.algorithm.eq_ignore_ascii_case("crc32c") {
        return None;
    }
    let text = hash.contents.trim();
    if text.len() == 8 {
        if let Ok(v) = u32::from_str_radix(text, 16) {
            return Some(v);
        }
    }
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// CRC32C of a file, streamed.
fn file_crc(path: &Path) -> std::io::Result<u32> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut crc = 0u32;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(crc);
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
    }
}

/// Whether the file at `path` is a complete copy: same size, and same checksum if known.
fn is_complete_copy(path: &Path, size: u64, crc: Option<u32>) -> std::io::Result<Option<bool>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.is_file() || meta.len() != size {
        return Ok(Some(false));
    }
    match crc {
        Some(expected) => Ok(Some(file_crc(path)? == expected)),
        None => Ok(Some(true)),
    }
}

fn length_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Downloads one asset to `path` (see the module docs for the rules).
async fn download_one(
    core: Core,
    dataset: DatasetId,
    id: AssetId,
    asset: Asset,
    path: PathBuf,
    overwrite: bool,
    progress: ProgressSink,
) -> Outcome {
    let runtime = core.runtime().clone();
    let size = asset.metadata.file_size;
    let crc = expected_crc(&asset);
    let filename = asset.filename.clone();
    let fail = |reason: DownloadFailure| {
        let text = reason.to_string();
        progress.emit(ProgressEvent::FileFailed {
            name: &filename,
            reason: &text,
        });
        Outcome::Failed(FailedDownload {
            asset: id.clone(),
            filename: Some(filename.clone()),
            reason,
        })
    };
    let p = path.clone();
    let existing = run_blocking(runtime.as_ref(), move || is_complete_copy(&p, size, crc)).await;
    match existing {
        Ok(Ok(Some(true))) if !overwrite => {
            progress.emit(ProgressEvent::FileSkipped {
                name: &filename,
                reason: "already downloaded",
            });
            return Outcome::Skipped(SkippedDownload {
                asset: id,
                filename,
                path,
            });
        }
        Ok(Ok(Some(false))) if !overwrite => {
            return fail(DownloadFailure::DifferentFileExists { path });
        }
        Ok(Err(e)) => {
            return fail(DownloadFailure::Io {
                message: format!("{}: {e}", path.display()),
            });
        }
        Err(e) => {
            return fail(DownloadFailure::Io {
                message: e.to_string(),
            });
        }
        _ => {}
    }
    let Some(url) = asset.download_url().cloned() else {
        return fail(DownloadFailure::NoDownloadUrl);
    };
    let part = part_path(&path);
    let (p, dest) = (part.clone(), path.clone());
    // One look at the `.part`: if it already holds every byte (the earlier run died between
    // its last write and the rename) it only needs checking and renaming; otherwise its
    // length is where the transfer continues.
    let part_state = run_blocking(runtime.as_ref(), move || -> std::io::Result<Option<u64>> {
        let len = length_of(&p);
        if len != size || size == 0 {
            return Ok(Some(len));
        }
        if crc.is_some_and(|expected| file_crc(&p).ok() != Some(expected)) {
            std::fs::remove_file(&p)?;
            return Ok(Some(0));
        }
        std::fs::rename(&p, &dest)?;
        Ok(None)
    })
    .await;
    let resumed_from = match part_state {
        Ok(Ok(Some(len))) => len,
        Ok(Ok(None)) => {
            progress.emit(ProgressEvent::FileFinished {
                name: &filename,
                size,
                path: Some(&path),
            });
            return Outcome::Downloaded(
                DownloadedFile {
                    asset: id,
                    filename: filename.clone(),
                    path,
                    size,
                    resumed: true,
                },
                0,
            );
        }
        // Unreadable or not renamable: the transfer below reports the real problem.
        _ => 0,
    };
    progress.emit(ProgressEvent::FileStarted {
        name: &filename,
        size,
    });
    // Shared with each attempt: the URL in use (replaced when signed again) and the last
    // verification problem, which names the failure better than the transport error.
    let url = std::sync::Mutex::new(url);
    let verification_problem = std::sync::Mutex::new(None::<String>);
    let result = core
        .retrying(Safety::Safe, Target::SignedDownload, true, |_, resign| {
            let core = core.clone();
            let runtime = runtime.clone();
            let (dataset, id) = (dataset.clone(), id.clone());
            let (part, path) = (part.clone(), path.clone());
            let current = url.lock().map(|u| u.clone()).ok();
            let problem = &verification_problem;
            let url_slot = &url;
            async move {
                let Some(current) = current else {
                    return Attempt::Done(Err(Error::Cancelled));
                };
                let signed = if resign {
                    // The URL expired or was refused: ask the service for a fresh one.
                    match core
                        .execute(&GetAsset {
                            dataset,
                            asset: id,
                            contents: true,
                        })
                        .await
                    {
                        Ok(fresh) => match fresh.download_url() {
                            Some(u) => u.clone(),
                            None => {
                                return Attempt::Done(Err(Error::Operation {
                                    operation: OPERATION.into(),
                                    message: "the service gave no download URL".into(),
                                }));
                            }
                        },
                        Err(e) => return Attempt::Done(Err(e)),
                    }
                } else {
                    current
                };
                if let Ok(mut slot) = url_slot.lock() {
                    *slot = signed.clone();
                }
                attempt(&core, &runtime, &signed, &part, &path, size, crc, problem).await
            }
        })
        .await;
    match result {
        Ok(resumed) => {
            progress.emit(ProgressEvent::FileFinished {
                name: &filename,
                size,
                path: Some(&path),
            });
            Outcome::Downloaded(
                DownloadedFile {
                    asset: id,
                    filename: filename.clone(),
                    path,
                    size,
                    resumed: resumed && resumed_from > 0,
                },
                size.saturating_sub(if resumed { resumed_from } else { 0 }),
            )
        }
        Err(e) => {
            let problem = verification_problem.into_inner().ok().flatten();
            let reason = match (&e, problem) {
                (Error::Io { .. }, _) => DownloadFailure::Io {
                    message: e.to_string(),
                },
                (_, Some(message)) if e.status().is_none() => {
                    DownloadFailure::Verification { message }
                }
                _ if e.kind() == ErrorKind::NotFound => DownloadFailure::NotFound,
                _ => DownloadFailure::Transfer {
                    status: e.status().map(|s| s.as_u16()),
                    message: e.to_string(),
                },
            };
            fail(reason)
        }
    }
}

/// One GET of the signed URL into the `.part` file, continuing it when it already holds
/// bytes; then verification and the rename. Returns whether the transfer continued a
/// partial file.
#[allow(clippy::too_many_arguments)]
async fn attempt(
    core: &Core,
    runtime: &std::sync::Arc<dyn crate::runtime::Runtime>,
    url: &SignedUrl,
    part: &Path,
    path: &Path,
    size: u64,
    crc: Option<u32>,
    problem: &std::sync::Mutex<Option<String>>,
) -> Attempt<bool> {
    let uri: http::Uri = match url.url.parse() {
        Ok(u) => u,
        Err(_) => {
            return Attempt::Done(Err(Error::invalid(
                "signed URL",
                format!("{} is not an absolute URL", url.redacted_url()),
            )));
        }
    };
    let p = part.to_path_buf();
    let have = run_blocking(runtime.as_ref(), move || {
        let len = length_of(&p);
        // A part as long as the file or longer cannot be continued: start again.
        if len >= size && len > 0 {
            let _ = std::fs::remove_file(&p);
            0
        } else {
            len
        }
    })
    .await
    .unwrap_or(0);
    let mut request = http::Request::new(Body::Empty);
    *request.uri_mut() = uri;
    if have > 0 {
        if let Ok(v) = http::HeaderValue::try_from(format!("bytes={have}-")) {
            request.headers_mut().insert(http::header::RANGE, v);
        }
    }
    let target = DownloadTarget {
        path: part.to_path_buf(),
        offset: have,
    };
    let head = match core.transport().download(request, target).await {
        Ok(head) => head,
        Err(e) => return Attempt::from_transport(OPERATION, e),
    };
    if head.status == http::StatusCode::RANGE_NOT_SATISFIABLE {
        let p = part.to_path_buf();
        let _ = run_blocking(runtime.as_ref(), move || std::fs::remove_file(p)).await;
        return retry_fresh("the partial file could not be continued", problem);
    }
    if !head.status.is_success() {
        let mut response = http::Response::new(head.error_body);
        *response.status_mut() = head.status;
        *response.headers_mut() = head.headers;
        return Attempt::from_response(OPERATION, &response);
    }
    let resumed = head.status == http::StatusCode::PARTIAL_CONTENT;
    let total = if resumed {
        have + head.written
    } else {
        head.written
    };
    if total < size {
        // Truncated: keep the bytes, the next attempt continues them.
        set_problem(problem, format!("received {total} of {size} bytes"));
        return Attempt::from_transport(
            OPERATION,
            TransportError::new(
                TransportErrorKind::Interrupted,
                format!("received {total} of {size} bytes"),
            ),
        );
    }
    let (p, dest) = (part.to_path_buf(), path.to_path_buf());
    let checked = run_blocking(
        runtime.as_ref(),
        move || -> std::io::Result<Option<String>> {
            if total > size {
                std::fs::remove_file(&p)?;
                return Ok(Some(format!("received {total} bytes, expected {size}")));
            }
            if let Some(expected) = crc {
                let actual = file_crc(&p)?;
                if actual != expected {
                    std::fs::remove_file(&p)?;
                    return Ok(Some(format!(
                        "CRC32C {actual:08x} does not match the asset's {expected:08x}"
                    )));
                }
            }
            std::fs::rename(&p, &dest)?;
            Ok(None)
        },
    )
    .await;
    match checked {
        Ok(Ok(None)) => Attempt::Done(Ok(resumed)),
        Ok(Ok(Some(message))) => retry_fresh(&message, problem),
        Ok(Err(e)) => Attempt::Done(Err(Error::io(path.to_path_buf(), e))),
        Err(e) => Attempt::Done(Err(e)),
    }
}

/// A verification failure: the partial file was removed and the next attempt starts over.
fn retry_fresh(message: &str, problem: &std::sync::Mutex<Option<String>>) -> Attempt<bool> {
    set_problem(problem, message.to_owned());
    Attempt::from_transport(
        OPERATION,
        TransportError::new(TransportErrorKind::Interrupted, message.to_owned()),
    )
}

fn set_problem(slot: &std::sync::Mutex<Option<String>>, message: String) {
    if let Ok(mut p) = slot.lock() {
        *p = Some(message);
    }
}
