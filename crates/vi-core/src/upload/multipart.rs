//! Multipart upload of one large file (docs/protocol.md §6.8).
//!
//! A file on disk of at least [`UploadOptions::multipart_threshold`] bytes (1 GiB by
//! default; in-memory bytes never) is not PUT to the upload URL its ingestion session
//! gave. Instead:
//!
//! 1. **M1** creates a multipart upload for the file, naming the session's `ingestionId`
//!    (not its session id); the server answers with the number of parts `N`.
//! 2. The file is split by the server's rule, which the client must reproduce exactly
//!    ([`PartPlan`]): `base = size / N`; part `n` covers `[(n−1)·base, n·base)`, the last
//!    part runs to the end of the file.
//! 3. Parts go [`PART_WORKERS`] at a time, each through the runtime (never by joining
//!    transport futures): **M2** signs a URL for the part, **S2** sends the part's bytes to
//!    it — streamed from disk with an exact `Content-Length`, the URL's headers verbatim, no
//!    API credentials, retried like any signed upload — and **M3** registers what the
//!    storage answered (the requested response headers, missing ones as `""`, and the
//!    base64 body when asked for). A URL is signed again before a send when it is about
//!    to expire ([`RESIGN_MARGIN`]) and after a 403.
//! 4. **M4** completes the upload (no body).
//!
//! A part that fails after its retries, or a cancellation, aborts the upload (**M5**, whose
//! own failure is ignored) and fails the file. An M1 or M4 failure that may pass (5xx,
//! 408, 429, a network failure) restarts the whole file from M1 — after an M5 when an
//! upload exists — at most [`MAX_RESTARTS`] times (docs/protocol.md §15 #29).
//!
//! [`UploadOptions::multipart_threshold`]: super::UploadOptions::multipart_threshold

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use futures_util::future::{Either, select};
use tracing::Instrument as _;

use super::report::UploadFailure;
use super::spec::{FileSpec, SpecSource};
use crate::cancel::CancelToken;
use crate::endpoints::{
    AbortMultipartUpload, CompleteMultipartUpload, CompletePart, CreateMultipartUpload,
    GetPartUploadUrl,
};
use crate::engine::{Attempt, Core};
use crate::error::Error;
use crate::ids::DatasetId;
use crate::models::{
    CompletePartRequest, CreateMultipartUploadRequest, MultipartUploadSpec, PartUploadUrl,
};
use crate::pool::TaskSet;
use crate::retry::{Safety, Target};
use crate::signed::{SignedKind, SignedRequest};
use crate::transport::{Body, FileSlice, Meter, Request, Response};

/// Parts of one file in flight at once (docs/protocol.md §12.1).
pub const PART_WORKERS: usize = 4;

/// How many times a file is restarted from M1 after a passing M1 or M4 failure.
pub const MAX_RESTARTS: u32 = 2;

/// A part URL is signed again before a send when it expires within this margin.
pub const RESIGN_MARGIN: Duration = Duration::from_secs(60);

pub use super::parts::{PartPlan, PartPlanError, PartRanges, part_ranges};

/// True when `spec` is uploaded in parts: a file on disk (never in-memory bytes) of at
/// least `threshold` bytes.
pub(crate) fn goes_multipart(spec: &FileSpec, threshold: u64) -> bool {
    matches!(spec.source, SpecSource::File(_)) && spec.size >= threshold
}

/// Where a multipart upload goes: the dataset and the ingestion session's `ingestionId`.
pub(crate) struct MultipartTarget {
    pub(crate) dataset: DatasetId,
    pub(crate) ingestion_id: String,
    /// The call's bandwidth limit, which the parts draw from.
    pub(crate) limit: Option<crate::bandwidth::BandwidthLimit>,
}

/// Uploads one file in parts, restarting it from M1 when M1 or M4 fails in a way that may
/// pass. Watches `cancel` itself (the caller must not drop it on cancellation): a
/// cancelled upload is aborted on the service before this returns.
pub(crate) async fn upload_multipart(
    core: Core,
    target: MultipartTarget,
    spec: FileSpec,
    cancel: CancelToken,
) -> Result<(), UploadFailure> {
    let SpecSource::File(path) = spec.source.clone() else {
        return Err(transfer(
            None,
            "only files on disk are uploaded in parts".into(),
        ));
    };
    if target.ingestion_id.is_empty() {
        return Err(transfer(
            None,
            "the ingestion session has no ingestionId, which a multipart upload needs".into(),
        ));
    }
    let span = tracing::debug_span!("vi.multipart", file = %spec.filename, size = spec.size);
    let file = FileUpload {
        core,
        dataset: target.dataset,
        ingestion_id: target.ingestion_id,
        spec,
        path,
        cancel,
        pacer: target.limit.map(|l| Meter::new().limited(Some(l))),
    };
    file.run().instrument(span).await
}

/// How one round (M1 … M4) ended, when not in success.
enum RoundError {
    /// M1 or M4 failed in a way that may pass: start again from M1.
    Restart(Error),
    /// The file failed (or was cancelled) for good.
    Fail(UploadFailure),
}

struct FileUpload {
    core: Core,
    dataset: DatasetId,
    ingestion_id: String,
    spec: FileSpec,
    path: PathBuf,
    cancel: CancelToken,
    /// Paces the parts' bytes by the bandwidth limit (counts nothing anyone reads).
    pacer: Option<Meter>,
}

impl FileUpload {
    async fn run(&self) -> Result<(), UploadFailure> {
        let mut restarts = 0;
        loop {
            match self.round().await {
                Ok(()) => return Ok(()),
                Err(RoundError::Fail(failure)) => return Err(failure),
                Err(RoundError::Restart(error)) if restarts >= MAX_RESTARTS => {
                    return Err(transfer(
                        None,
                        format!(
                            "multipart upload failed after {} attempts: {error}",
                            restarts + 1
                        ),
                    ));
                }
                Err(RoundError::Restart(error)) => {
                    restarts += 1;
                    let delay = self.core.config().retry.backoff(restarts, fastrand::f64());
                    tracing::warn!(error = %error, restart = restarts, ?delay, "restarting a multipart upload from the start");
                    let sleep = self.core.runtime().sleep(delay);
                    if self.until_cancelled(sleep).await.is_none() {
                        return Err(UploadFailure::Cancelled);
                    }
                }
            }
        }
    }

    /// M1, the parts, M4.
    async fn round(&self) -> Result<(), RoundError> {
        if self.cancel.is_cancelled() {
            return Err(RoundError::Fail(UploadFailure::Cancelled));
        }
        let create = CreateMultipartUpload {
            dataset: self.dataset.clone(),
            body: CreateMultipartUploadRequest {
                spec: MultipartUploadSpec {
                    ingestion_id: self.ingestion_id.clone(),
                    filename: self.spec.filename.clone(),
                    content_type: Some(self.spec.mime.to_owned()),
                    size_bytes: self.spec.size,
                },
            },
        };
        let upload = match self.until_cancelled(self.core.execute(&create)).await {
            None => return Err(RoundError::Fail(UploadFailure::Cancelled)),
            Some(Ok(upload)) => upload,
            Some(Err(e)) if restartable(&e) => return Err(RoundError::Restart(e)),
            Some(Err(e)) => {
                return Err(RoundError::Fail(transfer(
                    None,
                    format!("could not start the multipart upload: {e}"),
                )));
            }
        };
        let id = upload.multipart_upload_id.clone();
        let plan = match PartPlan::new(self.spec.size, upload.part_count()) {
            Ok(plan) => plan,
            Err(e) => {
                self.abort(&id).await;
                return Err(RoundError::Fail(transfer(
                    None,
                    format!("the multipart upload cannot be split: {e}"),
                )));
            }
        };
        tracing::debug!(upload = %id, parts = plan.count(), "multipart upload created");
        if let Err(failure) = self.send_parts(&id, plan).await {
            self.abort(&id).await;
            return Err(RoundError::Fail(failure));
        }
        let complete = CompleteMultipartUpload {
            dataset: self.dataset.clone(),
            upload: id.clone(),
        };
        match self.until_cancelled(self.core.execute(&complete)).await {
            Some(Ok(())) => Ok(()),
            None => {
                self.abort(&id).await;
                Err(RoundError::Fail(UploadFailure::Cancelled))
            }
            Some(Err(e)) => {
                self.abort(&id).await;
                if restartable(&e) {
                    Err(RoundError::Restart(e))
                } else {
                    Err(RoundError::Fail(transfer(
                        None,
                        format!("could not complete the multipart upload: {e}"),
                    )))
                }
            }
        }
    }

    /// Sends every part, [`PART_WORKERS`] at a time. Stops starting parts at the first
    /// failure or at cancellation, tells the running ones to stop, and waits for them.
    async fn send_parts(&self, upload: &str, plan: PartPlan) -> Result<(), UploadFailure> {
        let stop = CancelToken::new();
        let job = Arc::new(PartJob {
            core: self.core.clone(),
            dataset: self.dataset.clone(),
            upload: upload.to_owned(),
            path: self.path.clone(),
            stamp: self.spec.stamp,
            plan,
            stop: stop.clone(),
            pacer: self.pacer.clone(),
        });
        let mut set: TaskSet<(u64, PartOutcome)> = TaskSet::new(self.core.runtime().clone());
        let mut next = 1;
        let mut failure: Option<UploadFailure> = None;
        let mut cancelled = false;
        loop {
            while failure.is_none()
                && !cancelled
                && next <= plan.count()
                && set.len() < PART_WORKERS
            {
                set.spawn(send_part(job.clone(), next));
                next += 1;
            }
            let done = if cancelled || failure.is_some() {
                set.next().await
            } else {
                match select(pin!(set.next()), pin!(self.cancel.cancelled())).await {
                    Either::Left((done, _)) => done,
                    Either::Right(_) => {
                        cancelled = true;
                        stop.cancel();
                        continue;
                    }
                }
            };
            let Some(done) = done else { break };
            let (part, message, status) = match done {
                Ok((_, PartOutcome::Done | PartOutcome::Stopped)) => continue,
                Ok((part, PartOutcome::Failed { status, message })) => {
                    (Some(part), message, status)
                }
                Err(_) => (None, "a part worker stopped unexpectedly".to_owned(), None),
            };
            if failure.is_none() {
                let at =
                    part.map_or_else(String::new, |p| format!(" at part {p} of {}", plan.count()));
                failure = Some(transfer(
                    status,
                    format!("multipart upload failed{at}: {message}"),
                ));
                stop.cancel();
            }
        }
        if cancelled || self.cancel.is_cancelled() {
            return Err(UploadFailure::Cancelled);
        }
        failure.map_or(Ok(()), Err)
    }

    /// M5, best effort: the session cleans up abandoned uploads anyway.
    async fn abort(&self, upload: &str) {
        let abort = AbortMultipartUpload {
            dataset: self.dataset.clone(),
            upload: upload.to_owned(),
        };
        if let Err(e) = self.core.execute(&abort).await {
            tracing::debug!(error = %e, "aborting a multipart upload failed; ignored");
        }
    }

    /// Runs `future` unless the upload is cancelled first (`None`).
    async fn until_cancelled<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        match select(pin!(future), pin!(self.cancel.cancelled())).await {
            Either::Left((value, _)) => Some(value),
            Either::Right(_) => None,
        }
    }
}

/// True for an M1/M4 failure worth a restart from M1: a 5xx, 408 or 429 answer, or a
/// network failure (also after the request-level retries of a connection failure).
fn restartable(error: &Error) -> bool {
    match error {
        Error::RetriesExhausted { last, .. } => {
            matches!(**last, Error::Transport { .. }) && last.is_retryable()
        }
        other => other.is_retryable(),
    }
}

fn transfer(status: Option<u16>, message: String) -> UploadFailure {
    UploadFailure::Transfer { status, message }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What every part task of one round shares.
struct PartJob {
    core: Core,
    dataset: DatasetId,
    upload: String,
    path: PathBuf,
    /// What the file was when scanned: every part is read from that same, unchanged file.
    stamp: Option<crate::fsguard::FileStamp>,
    plan: PartPlan,
    /// Fired at the first failed part or at cancellation: running parts stop.
    stop: CancelToken,
    pacer: Option<Meter>,
}

/// How one part ended.
enum PartOutcome {
    Done,
    /// Told to stop before it finished.
    Stopped,
    Failed {
        /// The storage's status when the part PUT itself failed.
        status: Option<u16>,
        message: String,
    },
}

/// One part task: the part's work, dropped (aborted where the transport is async) when
/// the round stops.
async fn send_part(job: Arc<PartJob>, part: u64) -> (u64, PartOutcome) {
    let stop = job.stop.clone();
    let outcome = match select(pin!(part_work(&job, part)), pin!(stop.cancelled())).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(_) => PartOutcome::Stopped,
    };
    (part, outcome)
}

/// The signed URL of a part, shared by its attempts.
#[derive(Default)]
struct Signing {
    url: Option<PartUploadUrl>,
    /// The last send was refused with 403 or 400: sign again first.
    resign: bool,
}

/// M2 failed: the API's refusal to sign a part, told apart from the storage's answers.
struct SigningFailed(Error);

/// M2, S2 (retried, re-signed when needed), M3.
async fn part_work(job: &PartJob, part: u64) -> PartOutcome {
    const OPERATION: &str = "upload part";
    let Some(range) = job.plan.range(part) else {
        return PartOutcome::Failed {
            status: None,
            message: format!("there is no part {part}"),
        };
    };
    let (offset, len) = (range.start, range.end - range.start);
    let sign = GetPartUploadUrl {
        dataset: job.dataset.clone(),
        upload: job.upload.clone(),
        part,
    };
    let signing = Mutex::new(Signing::default());
    let sent = job
        .core
        .retrying(Safety::Idempotent, Target::SignedUpload, true, |_, _| {
            let (signing, sign) = (&signing, &sign);
            async move {
                if job.stop.is_cancelled() {
                    return Attempt::Done(Err(Error::Cancelled));
                }
                let refresh = {
                    let s = lock(signing);
                    s.resign || s.url.as_ref().is_none_or(expiring)
                };
                if refresh {
                    match job.core.execute(sign).await {
                        Ok(url) => {
                            let mut s = lock(signing);
                            s.url = Some(url);
                            s.resign = false;
                        }
                        // The API refused to sign: final for this part, and not the storage's
                        // answer, so it is kept apart from the storage's errors.
                        Err(e) => return Attempt::Done(Ok(Err(SigningFailed(e)))),
                    }
                }
                let Some(url) = lock(signing).url.clone() else {
                    return Attempt::Done(Err(Error::Cancelled));
                };
                let request = match part_request(
                    &url,
                    (&job.path, job.stamp),
                    offset,
                    len,
                    job.core.config(),
                    job.pacer.clone(),
                ) {
                    Ok(request) => request,
                    Err(e) => return Attempt::Done(Err(e)),
                };
                let result = job.core.transport().send(request).await;
                if result.as_ref().is_ok_and(|r| {
                    matches!(
                        r.status(),
                        http::StatusCode::FORBIDDEN | http::StatusCode::BAD_REQUEST
                    )
                }) {
                    // Most likely an expired or refused signature (S3-style stores answer
                    // 403, GCS-style 400): a fresh one may pass.
                    lock(signing).resign = true;
                }
                Attempt::from_exchange(OPERATION, result, |response| Ok(Ok((response, url))))
            }
        })
        .await;
    let (response, url) = match sent {
        Ok(Ok(sent)) => sent,
        Ok(Err(SigningFailed(e))) => {
            return PartOutcome::Failed {
                status: None,
                message: e.to_string(),
            };
        }
        Err(Error::Cancelled) => return PartOutcome::Stopped,
        Err(e) => {
            return PartOutcome::Failed {
                status: e.status().map(|s| s.as_u16()),
                message: e.to_string(),
            };
        }
    };
    if job.stop.is_cancelled() {
        return PartOutcome::Stopped;
    }
    let complete = CompletePart {
        dataset: job.dataset.clone(),
        upload: job.upload.clone(),
        part,
        body: completion(&url, &response),
    };
    match job.core.execute(&complete).await {
        Ok(()) => PartOutcome::Done,
        Err(e) => PartOutcome::Failed {
            status: None,
            message: e.to_string(),
        },
    }
}

/// True when `url` expires within [`RESIGN_MARGIN`] from now.
fn expiring(url: &PartUploadUrl) -> bool {
    SystemTime::now()
        .checked_add(RESIGN_MARGIN)
        .is_some_and(|soon| url.signed.is_expired_at(soon))
}

/// The S2 request: the URL's method and headers verbatim, an exact `Content-Length`, the
/// part streamed from disk, no API credentials.
fn part_request(
    url: &PartUploadUrl,
    (path, stamp): (&std::path::Path, Option<crate::fsguard::FileStamp>),
    offset: u64,
    len: u64,
    config: &crate::config::Config,
    pacer: Option<Meter>,
) -> Result<Request, Error> {
    let put = SignedRequest::new(SignedKind::Part, &url.signed, Some(len), config)?;
    // Parts are metered only for pacing (a bandwidth limit): a multipart upload counts for
    // the tuner when it finishes. A part's own CRC32C is not known (the declared one covers
    // the whole file), so a part is checked against the file's stamp only.
    let mut slice = FileSlice::new(path, offset, len);
    slice.stamp = stamp;
    slice.meter = pacer;
    Ok(put.request(Body::File(slice)))
}

/// The M3 body: each requested response header (case-insensitive; missing → `""`;
/// values raw), and the base64 body when requested and not empty.
fn completion(url: &PartUploadUrl, response: &Response) -> CompletePartRequest {
    let response_headers: BTreeMap<String, String> = url
        .response_headers
        .iter()
        .map(|name| {
            let value = http::HeaderName::from_bytes(name.as_bytes())
                .ok()
                .and_then(|h| response.headers().get(h))
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            (name.clone(), value)
        })
        .collect();
    let response_body = (url.response_body && !response.body().is_empty())
        .then(|| base64::engine::general_purpose::STANDARD.encode(response.body()));
    CompletePartRequest {
        response_headers,
        response_body,
    }
}

#[cfg(test)]
mod tests;
