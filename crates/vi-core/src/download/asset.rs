//! One asset of a download: skip a complete copy, finish a partial file a killed run left
//! complete, else fetch it into place ([`super::file`]), and say what happened.

use std::path::{Path, PathBuf};

use super::file::{
    Expected, Source, asset_part_path, content_version, fetch_into_place, file_crc,
    is_complete_copy, length_of,
};
use super::report::{DownloadFailure, DownloadedFile, FailedDownload, SkippedDownload};
use crate::cancel::CancelToken;
use crate::endpoints::GetAsset;
use crate::engine::Core;
use crate::error::{Error, ErrorKind};
use crate::ids::{AssetId, DatasetId};
use crate::models::Asset;
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
    let PerAsset {
        overwrite,
        progress,
        meter,
        cancel,
    } = per;
    let runtime = core.runtime().clone();
    let size = asset.metadata.file_size;
    let crc = asset.metadata.hash.crc32c();
    // Moved, not copied: this runs on a worker thread, and the report keeps the name for
    // the whole download; 100,000 such copies made on workers scatter over every worker's
    // allocator arena (see `upload::run`'s session creation for the same effect).
    let filename = std::mem::take(&mut asset.filename);
    let fail_with = |reason: DownloadFailure, error: Option<Error>| {
        let text = reason.to_string();
        progress.emit(ProgressEvent::FileFailed {
            name: &filename,
            reason: &text,
        });
        Outcome::Failed(
            FailedDownload {
                asset: id.clone(),
                filename: Some(filename.clone()),
                reason,
            },
            error,
        )
    };
    let fail = |reason: DownloadFailure| fail_with(reason, None);
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
    // The partial file of this version of the content: one of another version (the asset
    // changed after an earlier run died) has another name, so it is never continued; it
    // is removed once this asset is in place (see `tidy_partial_dir`).
    let part = asset_part_path(
        path.parent().unwrap_or(Path::new("")),
        &id,
        content_version(&asset),
    );
    let (p, dest) = (part.clone(), path.clone());
    // One look at the partial file: if it already holds every byte (the earlier run died between
    // its last write and the rename) it only needs checking and renaming; otherwise its
    // length is where the transfer continues.
    let part_state = run_blocking(runtime.as_ref(), move || -> std::io::Result<Option<u64>> {
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
    let expected = Expected {
        size: Some(size),
        crc,
    };
    let mut url = url;
    let mut round = 0;
    let file_meter = Meter::for_file(meter, filename.as_str(), size, progress.clone(), cancel);
    let fetched = loop {
        let source = Source {
            url,
            asset: Some((dataset.clone(), id.clone())),
            meter: Some(file_meter.clone()),
        };
        match fetch_into_place(&core, source, &part, &path, expected).await {
            // Another round a while later may not meet the same trouble.
            Err(e) if round < SECOND_ROUNDS && e.last().is_retryable() => {
                // This round's retries ran out on network trouble: a while later, with a
                // fresh URL, the partial file is continued.
                round += 1;
                runtime.sleep(SECOND_ROUND_PAUSE).await;
                let fresh = core.execute(&GetAsset::new(&dataset, &id, true)).await;
                match fresh.ok().and_then(|a| a.download_url().cloned()) {
                    Some(fresh) => url = fresh,
                    None => break Err(e),
                }
            }
            other => break other,
        }
    };
    match fetched {
        Ok(fetched) => {
            progress.emit(ProgressEvent::FileFinished {
                name: &filename,
                size,
                path: Some(&path),
            });
            let resumed = fetched.resumed_from > 0 && resumed_from > 0;
            Outcome::Downloaded(
                DownloadedFile {
                    asset: id,
                    filename,
                    path,
                    size,
                    resumed,
                },
                size.saturating_sub(if fetched.resumed_from > 0 {
                    resumed_from
                } else {
                    0
                }),
            )
        }
        Err(e) => fail_with(failure_of(&e), Some(e)),
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
