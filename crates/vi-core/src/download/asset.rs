//! One asset of a download: skip a complete copy, finish a partial file a killed run left
//! complete, else fetch it into place ([`super::file`]), and say what happened.

use std::path::{Path, PathBuf};

use super::file::{
    Expected, Fetched, Source, asset_part_path, content_version, fetch_into_place, file_crc,
    is_complete_copy, length_of,
};
use super::report::{DownloadFailure, DownloadedFile, FailedDownload, SkippedDownload};
use crate::cancel::CancelToken;
use crate::endpoints::GetAsset;
use crate::engine::Core;
use crate::error::{Error, ErrorKind};
use crate::ids::{AssetId, DatasetId};
use crate::models::{Asset, SignedUrl};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::runtime::run_blocking;
use crate::transport::Meter;

/// What happened to one asset.
pub(super) enum Outcome {
    /// Put in place; the second value is the bytes transferred for it.
    Downloaded(DownloadedFile, u64),
    Skipped(SkippedDownload),
    /// Failed, with the error behind it when there was one (for callers that return it).
    Failed(FailedDownload, Option<Error>),
}

/// How many more rounds an asset gets, within one download, after the retries of a round
/// ran out on network trouble (5xx, 408, 429, a broken or stalled connection).
const SECOND_ROUNDS: u32 = 2;

/// The pause before such a round.
const SECOND_ROUND_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// What every asset of one download call shares.
#[derive(Clone, Default)]
pub(super) struct PerAsset {
    /// Replace a local file that differs instead of failing the asset.
    pub overwrite: bool,
    /// Where progress goes.
    pub progress: ProgressSink,
    /// Where the transport counts the bytes it writes (the call's tuner reads it).
    pub meter: Option<Meter>,
    /// The call's cancellation: a transfer under way stops within one buffer.
    pub cancel: CancelToken,
    /// The call's bandwidth limit.
    pub limit: Option<crate::bandwidth::BandwidthLimit>,
}

/// Downloads one asset to `path` (see the module docs for the rules).
pub(super) async fn download_one(
    core: Core,
    dataset: DatasetId,
    id: AssetId,
    mut asset: Asset,
    path: PathBuf,
    per: PerAsset,
) -> Outcome {
    // Moved, not copied: this runs on a worker thread, and the report keeps the name for
    // the whole download; 100,000 such copies made on workers scatter over every worker's
    // allocator arena.
    let filename = std::mem::take(&mut asset.filename);
    let one = One {
        size: asset.metadata.file_size,
        crc: asset.metadata.hash.crc32c(),
        core,
        dataset,
        id,
        filename,
        path,
        progress: per.progress.clone(),
    };
    if let Some(outcome) = one.existing_copy(per.overwrite).await {
        return outcome;
    }
    let Some(url) = asset.download_url().cloned() else {
        return one.fail(DownloadFailure::NoDownloadUrl, None);
    };
    // The partial file of this version of the content: one of another version (the asset
    // changed after an earlier run died) has another name, so it is never continued; it
    // is removed once this asset is in place (see `tidy_partial_dir`).
    let part = asset_part_path(
        one.path.parent().unwrap_or(Path::new("")),
        &one.id,
        content_version(&asset),
    );
    let resumed_from = match one.complete_partial(&part).await {
        Ok(len) => len,
        Err(done) => return done,
    };
    one.progress.emit(ProgressEvent::FileStarted {
        name: &one.filename,
        size: one.size,
    });
    let meter = Meter::for_file(
        per.meter,
        one.filename.as_str(),
        one.size,
        per.progress,
        per.cancel,
    )
    .limited(per.limit);
    match one.fetch(url, &part, meter).await {
        Ok(fetched) => {
            let resumed = fetched.resumed_from > 0 && resumed_from > 0;
            let kept = if fetched.resumed_from > 0 {
                resumed_from
            } else {
                0
            };
            let bytes = one.size.saturating_sub(kept);
            one.downloaded(resumed, bytes)
        }
        Err(e) => one.fail(failure_of(&e), Some(e)),
    }
}

/// One asset being downloaded: who it is and where it goes.
#[derive(Clone)]
struct One {
    core: Core,
    dataset: DatasetId,
    id: AssetId,
    filename: String,
    path: PathBuf,
    size: u64,
    crc: Option<u32>,
    progress: ProgressSink,
}

impl One {
    fn fail(self, reason: DownloadFailure, error: Option<Error>) -> Outcome {
        let text = reason.to_string();
        self.progress.emit(ProgressEvent::FileFailed {
            name: &self.filename,
            reason: &text,
        });
        Outcome::Failed(
            FailedDownload {
                asset: self.id,
                filename: Some(self.filename),
                reason,
            },
            error,
        )
    }

    /// The asset in place; `bytes` of it moved in this run.
    fn downloaded(self, resumed: bool, bytes: u64) -> Outcome {
        self.progress.emit(ProgressEvent::FileFinished {
            name: &self.filename,
            size: self.size,
            path: Some(&self.path),
        });
        Outcome::Downloaded(
            DownloadedFile {
                asset: self.id,
                filename: self.filename,
                path: self.path,
                size: self.size,
                resumed,
            },
            bytes,
        )
    }

    /// What a file already at the destination decides: a complete copy is skipped, a
    /// different file fails the asset (unless `overwrite`), none lets the download go on.
    async fn existing_copy(&self, overwrite: bool) -> Option<Outcome> {
        let (p, size, crc) = (self.path.clone(), self.size, self.crc);
        let runtime = self.core.runtime().clone();
        let existing =
            run_blocking(runtime.as_ref(), move || is_complete_copy(&p, size, crc)).await;
        let reason = match existing {
            Ok(Ok(Some(true))) if !overwrite => {
                self.progress.emit(ProgressEvent::FileSkipped {
                    name: &self.filename,
                    reason: "already downloaded",
                });
                return Some(Outcome::Skipped(SkippedDownload {
                    asset: self.id.clone(),
                    filename: self.filename.clone(),
                    path: self.path.clone(),
                }));
            }
            Ok(Ok(Some(false))) if !overwrite => DownloadFailure::DifferentFileExists {
                path: self.path.clone(),
            },
            Ok(Err(e)) => DownloadFailure::Io {
                message: format!("{}: {e}", self.path.display()),
            },
            Err(e) => DownloadFailure::Io {
                message: e.to_string(),
            },
            _ => return None,
        };
        Some(self.clone().fail(reason, None))
    }

    /// One look at the partial file: if it already holds every byte (an earlier run died
    /// between its last write and the rename) it only needs checking and renaming, and
    /// the asset is done (`Err` with the outcome); otherwise its length is where the
    /// transfer continues.
    async fn complete_partial(&self, part: &Path) -> Result<u64, Outcome> {
        let (p, dest, size, crc) = (part.to_path_buf(), self.path.clone(), self.size, self.crc);
        let runtime = self.core.runtime().clone();
        let state = run_blocking(runtime.as_ref(), move || -> std::io::Result<Option<u64>> {
            let len = length_of(&p);
            if len == 0 {
                return Ok(Some(0));
            }
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
        match state {
            Ok(Ok(Some(len))) => Ok(len),
            Ok(Ok(None)) => Err(self.clone().downloaded(true, 0)),
            // Unreadable or not renamable: the transfer reports the real problem.
            _ => Ok(0),
        }
    }

    /// Fetches the asset into place, with more rounds (each with a fresh URL, after a
    /// pause) when a round's retries ran out on network trouble.
    async fn fetch(&self, mut url: SignedUrl, part: &Path, meter: Meter) -> crate::Result<Fetched> {
        let expected = Expected {
            size: Some(self.size),
            crc: self.crc,
        };
        let mut round = 0;
        loop {
            let source = Source {
                url,
                asset: Some((self.dataset.clone(), self.id.clone())),
                meter: Some(meter.clone()),
            };
            match fetch_into_place(&self.core, source, part, &self.path, expected).await {
                Err(e) if round < SECOND_ROUNDS && e.last().is_retryable() => {
                    round += 1;
                    self.core.runtime().sleep(SECOND_ROUND_PAUSE).await;
                    let fresh = self
                        .core
                        .execute(&GetAsset::new(&self.dataset, &self.id, true))
                        .await;
                    match fresh.ok().and_then(|a| a.download_url().cloned()) {
                        Some(fresh) => url = fresh,
                        None => return Err(e),
                    }
                }
                other => return other,
            }
        }
    }
}

/// The report's reason for a download that failed for good.
fn failure_of(error: &Error) -> DownloadFailure {
    match error.last() {
        Error::Io { .. } => DownloadFailure::Io {
            message: error.to_string(),
        },
        Error::Verification { mismatch, .. } => DownloadFailure::Verification {
            message: mismatch.to_string(),
        },
        _ if error.kind() == ErrorKind::NotFound => DownloadFailure::NotFound,
        _ => DownloadFailure::Transfer {
            status: error.status().map(|s| s.as_u16()),
            message: error.to_string(),
        },
    }
}
