//! The upload engine (see the module docs of [`crate::upload`] for the flow).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use tracing::Instrument;

mod pace;
mod plan;
mod sessions;
mod tally;
mod tasks;

use pace::{MAX_SECOND_CHANCES, Next, Pace};
use sessions::trimmed;

use super::discover::{DiscoveredFile, dedupe_names, discover};
use super::existing::{Existing, Verdict};
use super::multipart::{MultipartTarget, goes_multipart, upload_multipart};
use super::report::{
    FailedFile, PlannedFile, SkippedFile, SourceRef, UploadFailure, UploadReport, UploadedFile,
};
use super::spec::{FileSpec, SkipReason, SpecSource, spec_for_bytes, spec_for_file};
use super::{
    MAX_BATCH_SIZE, MAX_SESSIONS_IN_FLIGHT, UploadFailureMode, UploadInput, UploadOptions,
    UploadSources,
};
use crate::cancel::CancelToken;
use crate::endpoints::{CancelIngestionSession, CreateIngestionSession, GetIngestionSession};
use crate::engine::{Attempt, Core};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{AssetId, DatasetId};
use crate::models::{
    CreateIngestionSessionRequest, IngestionErrorCode, IngestionRequestSpec, IngestionSession,
    SignedUrl,
};
use crate::pool::{Guarded, Pool, TaskSet, guarded};
use crate::progress::ProgressEvent;
use crate::retry::{Safety, Target};
use crate::runtime::run_blocking;
use crate::signed::{SignedKind, SignedRequest};
use crate::transport::{Body, FileSlice};
use crate::tuning::{Ticker, Tuner, is_throttling};

/// A file's spec, or why it is skipped.
type SpecOutcome = std::result::Result<FileSpec, SkipReason>;

/// A file that will be transferred.
struct Planned {
    /// Also where the file comes from (`spec.source`, a [`SourceRef`] in the report).
    spec: FileSpec,
    /// The asset of the same name and other content it replaces (skip-existing only).
    replaces: Option<AssetId>,
}

/// Where a planned file stands.
enum FileState {
    Pending,
    Transferred,
    Failed(UploadFailure),
}

/// One batch and its session. A file moved to a later session stays listed here; its
/// current batch is `Upload::file_batch`.
struct Batch {
    files: Vec<usize>,
    session: Option<IngestionSession>,
    /// Files of this batch not yet finished (sent, failed or moved on).
    outstanding: usize,
}

/// Session creations (U1, a POST the API retries only when nothing reached the
/// service) that may fail in a row before the files they were for are reported failed.
const MAX_CREATE_FAILURES: u32 = 5;

/// How often, under FailAfterOne, a session whose files are still being sent is looked at
/// for files the service failed or gave up on. A storage that answers every PUT 2xx and
/// leaves the verdict to the session (as GCS-backed uploads do) tells of a failure only
/// there; without looking, the rest of the session would be sent for nothing. One small
/// request per open session every two seconds, parsed lean.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// A transfer waiting for a worker: the file, its URL, and the local instant after
/// which the URL is not used.
type Transfer = (usize, SignedUrl, Option<Instant>);

/// What a finished task reports.
enum Done {
    Created {
        batch: usize,
        /// When the creation was asked for (URL deadlines count from here).
        requested: Instant,
        result: Result<Box<IngestionSession>>,
    },
    Sent {
        transfer: Transfer,
        result: std::result::Result<(), Failure>,
    },
    /// A look at a session while its files are being sent: the files it failed or gave
    /// up on.
    Looked {
        batch: usize,
        result: Result<BTreeMap<String, IngestionErrorCode>>,
    },
    /// The tuner's timer fired ([`Ticker`]).
    Tick,
}

/// Why a transfer task did not succeed.
enum Failure {
    /// The PUT failed: the engine decides between a fresh session, another try and a
    /// failure ([`pace::after_failure`]).
    Put(Error),
    /// The URL's deadline passed before the next attempt could start.
    Expired,
    /// Nothing more to try (multipart flows, which retry on their own, cancellation,
    /// panics).
    Final(UploadFailure),
}

impl Core {
    /// Uploads files, folders and in-memory bytes to `dataset`; see [`crate::upload`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before anything is sent (nothing to upload, a missing path,
    /// a bad option); an API error when the dataset cannot be uploaded to at all (unknown
    /// dataset, wrong credentials) before any file was sent. Everything else, including
    /// per-file failures and cancellation, is reported in the [`UploadReport`].
    pub async fn upload(
        &self,
        dataset: &DatasetId,
        sources: UploadSources,
        options: UploadOptions,
    ) -> Result<UploadReport> {
        let span = tracing::info_span!("vi.upload", dataset = %dataset);
        Upload::new(self.clone(), dataset.clone(), options)?
            .run(sources)
            .instrument(span)
            .await
    }
}

struct Upload {
    core: Core,
    dataset: DatasetId,
    options: UploadOptions,
    cancel: CancelToken,
    planned: Vec<Planned>,
    states: Vec<FileState>,
    skipped: Vec<SkippedFile>,
    batches: Vec<Batch>,
    /// Each planned file's current batch (`None` while it waits for a session).
    file_batch: Vec<Option<usize>>,
    /// Files waiting for a session, in order (files moved out of a session go first).
    queue: VecDeque<usize>,
    /// How many second chances each file has had ([`MAX_SECOND_CHANCES`]).
    chances: Vec<u8>,
    /// Sessions created or being created that still have files to send.
    open_sessions: usize,
    /// Session creations that failed in a row (reset by one that works).
    create_failures: u32,
    pace: Pace,
    /// Transfers allowed at once ([`crate::tuning`]).
    tuner: Tuner,
    /// Set once the run has cancelled or waited for its sessions; until then, dropping
    /// the upload (its future dropped, e.g. by a timeout) cancels the sessions that still
    /// had files to send.
    settled: bool,
    bytes_uploaded: u64,
    ignored_in_folders: u64,
    /// Files not even examined because the upload was cancelled first.
    cancelled_early: Vec<FailedFile>,
    /// How many assets the skip-existing listing read (`None` when it was off).
    assets_listed: Option<u64>,
}

impl Upload {
    fn new(core: Core, dataset: DatasetId, options: UploadOptions) -> Result<Self> {
        if options.concurrency == 0 {
            return Err(Error::invalid("concurrency", "it must be at least 1"));
        }
        if !(1..=MAX_BATCH_SIZE).contains(&options.batch_size) {
            return Err(Error::invalid(
                "batch size",
                format!(
                    "{} is outside 1..={MAX_BATCH_SIZE} files per ingestion session",
                    options.batch_size
                ),
            ));
        }
        if !(1..=MAX_SESSIONS_IN_FLIGHT).contains(&options.max_sessions_in_flight) {
            return Err(Error::invalid(
                "sessions in flight",
                format!(
                    "{} is outside 1..={MAX_SESSIONS_IN_FLIGHT} (the service allows {MAX_SESSIONS_IN_FLIGHT} sessions per 5 minutes)",
                    options.max_sessions_in_flight
                ),
            ));
        }
        let cancel = options.cancel.clone().unwrap_or_default();
        let tuner = Tuner::new(options.concurrency, options.max_concurrency);
        Ok(Upload {
            core,
            dataset,
            options,
            cancel,
            planned: Vec::new(),
            states: Vec::new(),
            skipped: Vec::new(),
            batches: Vec::new(),
            file_batch: Vec::new(),
            queue: VecDeque::new(),
            chances: Vec::new(),
            open_sessions: 0,
            create_failures: 0,
            pace: Pace::default(),
            tuner,
            settled: false,
            bytes_uploaded: 0,
            ignored_in_folders: 0,
            cancelled_early: Vec::new(),
            assets_listed: None,
        })
    }

    async fn run(mut self, sources: UploadSources) -> Result<UploadReport> {
        let started = self.core.runtime().now();
        self.plan(sources).await?;
        if self.options.dry_run {
            let cancelled = self.cancel.is_cancelled();
            let duration = self.core.runtime().now().saturating_duration_since(started);
            return Ok(self.report(cancelled, duration));
        }
        let fatal = self.transfer_all().await;
        if let Some(error) = fatal {
            self.cancel_open_sessions(true).await;
            self.settled = true;
            return Err(error);
        }
        let cancelled = self.cancel.is_cancelled();
        if cancelled {
            self.options.progress.emit(ProgressEvent::Cancelling);
            self.cancel_open_sessions(false).await;
        }
        // From here on every session has all the files it will get.
        self.settled = true;
        self.wait_for_sessions(cancelled).await;
        let duration = self.core.runtime().now().saturating_duration_since(started);
        Ok(self.report(cancelled, duration))
    }

    /// Steps 4–5: sessions and transfers under one concurrency limit. Returns an error
    /// only when the dataset cannot be uploaded to at all and nothing was sent.
    ///
    /// A session is opened only when the transfers already queued are about to run out
    /// (one creation at a time), so its URLs are used soon after they are issued; see
    /// [`pace`] for its size and for files whose URL died.
    async fn transfer_all(&mut self) -> Option<Error> {
        let runtime = self.core.runtime().clone();
        let mut set: TaskSet<Done> = TaskSet::new(runtime.clone());
        let mut pending: VecDeque<Transfer> = VecDeque::new();
        // The session being created: polled here, by the scheduler itself, not spawned. Its
        // request and answer (5000 files' declarations and URLs, about 13 MB while parsed)
        // then pass through one thread's allocator; spawned on whichever worker was free,
        // each of the blocking facade's worker threads kept such a peak in its glibc arena
        // (15 arenas × 13 MB at 100,000 files). In the blocking facade the scheduler is
        // busy during the call (transfers already running go on); the next session is
        // asked for while `limit` transfers are still queued, so there is work for them.
        let mut creation: Option<Pin<Box<dyn Future<Output = Done> + Send>>> = None;
        // Sessions being looked at, and when each open session is next due for a look
        // ([`LOOK_EVERY`] after the last, or at once after a file's 400 verdict): under
        // FailAfterOne the service gives up on a session's other files after one fails.
        let mut polling: Vec<usize> = Vec::new();
        let mut look_due: HashMap<usize, Instant> = HashMap::new();
        let mut fatal: Option<Error> = None;
        let mut ticker = Ticker::default();
        loop {
            let limit = self.tuner.limit();
            if !self.cancel.is_cancelled() && fatal.is_none() {
                // Only FailAfterOne sessions are ever due (see `Done::Created`).
                let now = runtime.now();
                look_due.retain(|&b, _| self.batches[b].outstanding > 0);
                for (&b, due) in look_due.iter_mut() {
                    if now >= *due && !polling.contains(&b) {
                        *due = now + LOOK_EVERY;
                        polling.push(b);
                        set.spawn(self.look_task(b));
                    }
                }
                if creation.is_none()
                    && !self.queue.is_empty()
                    && self.open_sessions < self.options.max_sessions_in_flight
                    && pending.len() <= limit
                {
                    let batch = self.next_batch(runtime.now());
                    creation = Some(Box::pin(self.create_task(batch, runtime.now())));
                    self.open_sessions += 1;
                }
                while ticker.transfers(set.len()) < limit {
                    let Some(transfer) = pending.pop_front() else {
                        break;
                    };
                    let now = runtime.now();
                    let multipart = goes_multipart(
                        &self.planned[transfer.0].spec,
                        self.options.multipart_threshold,
                    );
                    if !multipart && transfer.2.is_some_and(|d| now >= d) {
                        // Never sent on a URL past its deadline: a fresh session instead.
                        self.second_chance(transfer.0, Next::Resign, None, &mut pending);
                        continue;
                    }
                    let spec = &self.planned[transfer.0].spec;
                    self.options.progress.emit(ProgressEvent::FileStarted {
                        name: &spec.filename,
                        size: spec.size,
                    });
                    self.pace.start(now);
                    set.spawn(self.transfer_task(transfer));
                    let in_flight = ticker.transfers(set.len()) - polling.len();
                    self.tuner.started(now, in_flight);
                }
            }
            let transfers = ticker.transfers(set.len()) - polling.len();
            let stopping = self.cancel.is_cancelled() || fatal.is_some();
            if transfers == 0
                && polling.is_empty()
                && creation.is_none()
                && pending.is_empty()
                && (self.queue.is_empty() || stopping)
            {
                // Nothing runs and nothing more will: the timer alone is not waited for.
                break;
            }
            ticker.keep(&mut set, &self.tuner, transfers, || Done::Tick);
            let next = match creation.as_mut() {
                None => set.next().await,
                Some(created) if set.is_empty() => {
                    let done = created.await;
                    creation = None;
                    Some(Ok(done))
                }
                Some(created) => match select(Box::pin(set.next()), created).await {
                    Either::Left((next, _)) => next,
                    Either::Right((done, _)) => {
                        creation = None;
                        Some(Ok(done))
                    }
                },
            };
            let Some(done) = next else {
                if self.queue.is_empty() || self.cancel.is_cancelled() || fatal.is_some() {
                    break;
                }
                continue;
            };
            let Ok(done) = done else {
                // A task vanished (its runtime shut down); its file stays pending and is
                // reported as failed below.
                continue;
            };
            match done {
                Done::Created {
                    batch,
                    requested,
                    result,
                } => match result {
                    Ok(session) => {
                        self.create_failures = 0;
                        let urls = self.accept_session(batch, requested, *session);
                        if self.batches[batch].outstanding == 0 {
                            self.open_sessions -= 1;
                        } else if self.options.failure_mode == UploadFailureMode::FailAfterOne {
                            look_due.insert(batch, runtime.now() + LOOK_EVERY);
                        }
                        pending.extend(urls);
                    }
                    Err(error) => {
                        self.open_sessions -= 1;
                        fatal = self.session_not_created(batch, error);
                    }
                },
                Done::Tick => {
                    ticker.fired();
                    self.tuner.tick(runtime.now());
                }
                Done::Looked { batch, result } => {
                    polling.retain(|&b| b != batch);
                    match result {
                        Ok(failed) => self.drop_given_up(batch, &failed, &mut pending),
                        Err(e) => tracing::debug!(error = %e, "looking at a session failed"),
                    }
                }
                Done::Sent { transfer, result } => {
                    let file = transfer.0;
                    match result {
                        Ok(()) => {
                            let spec = &self.planned[file].spec;
                            self.bytes_uploaded += spec.size;
                            self.options.progress.emit(ProgressEvent::FileFinished {
                                name: &spec.filename,
                                size: spec.size,
                                path: None,
                            });
                            self.states[file] = FileState::Transferred;
                            self.pace.finish();
                            self.tuner.finished(runtime.now(), spec.size);
                            self.release(file);
                        }
                        Err(Failure::Final(reason)) => {
                            self.fail(file, reason);
                            self.release(file);
                        }
                        Err(Failure::Expired) => {
                            self.second_chance(file, Next::Resign, None, &mut pending);
                        }
                        Err(Failure::Put(error)) => {
                            if is_throttling(&error) {
                                self.tuner.throttled(runtime.now());
                            }
                            let expired = transfer.2.is_some_and(|d| runtime.now() >= d);
                            let next = pace::after_failure(&error, expired);
                            let verdict = next == Next::Fail
                                && error.status() == Some(http::StatusCode::BAD_REQUEST);
                            let batch = self.file_batch[file];
                            self.second_chance(file, next, Some((transfer, error)), &mut pending);
                            // FailAfterOne: the service gives up on the rest of the session
                            // after a file's failure; look at once, so as not to send them.
                            if let Some(due) =
                                batch.filter(|_| verdict).and_then(|b| look_due.get_mut(&b))
                            {
                                *due = runtime.now();
                            }
                        }
                    }
                }
            }
        }
        fatal
    }

    /// Forms the next batch from the head of the queue, sized by [`Pace`].
    fn next_batch(&mut self, now: Instant) -> usize {
        let size = self
            .pace
            .batch_size(now, self.options.batch_size, self.tuner.limit());
        let take = size.min(self.queue.len());
        let files: Vec<usize> = self.queue.drain(..take).collect();
        let batch = self.batches.len();
        for &f in &files {
            self.file_batch[f] = Some(batch);
        }
        self.batches.push(Batch {
            files,
            session: None,
            outstanding: 0,
        });
        batch
    }

    /// A file of an open session is done with it (sent, failed, or moved on).
    fn release(&mut self, file: usize) {
        let Some(batch) = self.file_batch[file] else {
            return;
        };
        let b = &mut self.batches[batch];
        if b.outstanding == 0 {
            return;
        }
        b.outstanding -= 1;
        if b.outstanding == 0 {
            self.open_sessions -= 1;
        }
    }

    /// Gives a file whose transfer failed (or whose URL died unused) another chance:
    /// a fresh session ([`Next::Resign`]) or a later try on the same URL
    /// ([`Next::Resend`]), at most [`MAX_SECOND_CHANCES`] times; otherwise fails it with
    /// the error, if any.
    fn second_chance(
        &mut self,
        file: usize,
        next: Next,
        failed: Option<(Transfer, Error)>,
        pending: &mut VecDeque<Transfer>,
    ) {
        if next == Next::Fail || self.chances[file] >= MAX_SECOND_CHANCES {
            let reason = match failed {
                Some((_, e)) => UploadFailure::Transfer {
                    status: e.status().map(|s| s.as_u16()),
                    message: e.to_string(),
                },
                None => UploadFailure::Transfer {
                    status: None,
                    message: format!(
                        "its upload URL expired {MAX_SECOND_CHANCES} times before it could be sent; upload it again"
                    ),
                },
            };
            self.fail(file, reason);
            self.release(file);
            return;
        }
        self.chances[file] += 1;
        let name = &self.planned[file].spec.filename;
        match (next, failed) {
            (Next::Resend, Some((transfer, _))) => {
                tracing::debug!(file = %name, "the transfer failed after its retries; sending it again later");
                pending.push_back(transfer);
            }
            _ => {
                tracing::debug!(file = %name, "its upload URL is no longer usable; moving it to a fresh session");
                self.release(file);
                self.file_batch[file] = None;
                self.queue.push_front(file);
            }
        }
    }

    /// A session could not be created. Returns the error that stops the whole upload when
    /// the dataset cannot be uploaded to at all and nothing was sent. Otherwise a
    /// transient failure sends the batch's files back to the queue (up to
    /// [`MAX_CREATE_FAILURES`] failed creations in a row; the files' own second chances
    /// are kept for their transfers), and any other failure fails them.
    fn session_not_created(&mut self, batch: usize, error: Error) -> Option<Error> {
        let nothing_sent =
            self.bytes_uploaded == 0 && self.batches.iter().all(|b| b.session.is_none());
        let hopeless = matches!(
            error.kind(),
            ErrorKind::Authentication | ErrorKind::PermissionDenied | ErrorKind::NotFound
        );
        if hopeless && nothing_sent {
            return Some(error);
        }
        let transient = error.last().is_retryable();
        self.create_failures += 1;
        let again = transient && self.create_failures < MAX_CREATE_FAILURES;
        let message = error.to_string();
        let files = self.batches[batch].files.clone();
        for &file in files.iter().rev() {
            if again {
                self.file_batch[file] = None;
                self.queue.push_front(file);
            } else {
                self.fail(
                    file,
                    UploadFailure::SessionNotCreated {
                        message: message.clone(),
                    },
                );
            }
        }
        None
    }

    fn fail(&mut self, file: usize, reason: UploadFailure) {
        let text = reason.to_string();
        self.options.progress.emit(ProgressEvent::FileFailed {
            name: &self.planned[file].spec.filename,
            reason: &text,
        });
        self.states[file] = FileState::Failed(reason);
    }

    /// Leaves out the queued transfers of batch `b` that the session already reports
    /// failed (under `FailAfterOne`, every file after the first failure): each is
    /// reported with the service's reason instead of being sent for nothing.
    fn drop_given_up(
        &mut self,
        b: usize,
        errors: &BTreeMap<String, IngestionErrorCode>,
        pending: &mut VecDeque<Transfer>,
    ) {
        if errors.is_empty() {
            return;
        }
        let mut kept = VecDeque::with_capacity(pending.len());
        let mut dropped = 0usize;
        for transfer in pending.drain(..) {
            let file = transfer.0;
            let code = (self.file_batch[file] == Some(b))
                .then(|| errors.get(&self.planned[file].spec.filename))
                .flatten();
            match code {
                Some(code) => {
                    let reason = UploadFailure::Rejected { code: code.clone() };
                    self.fail(file, reason);
                    self.release(file);
                    dropped += 1;
                }
                None => kept.push_back(transfer),
            }
        }
        *pending = kept;
        if dropped > 0 {
            tracing::info!(
                batch = b,
                files = dropped,
                "the service gave up on these files after another failed (FailAfterOne); not sending them"
            );
        }
    }

    /// Matches the session's upload URLs to the batch's files by filename (unique within
    /// the upload) and returns the transfers to run.
    fn accept_session(
        &mut self,
        batch: usize,
        requested: Instant,
        session: IngestionSession,
    ) -> Vec<Transfer> {
        let files = self.batches[batch].files.clone();
        let mut unmatched: HashMap<&str, usize> = files
            .iter()
            .map(|&i| (self.planned[i].spec.filename.as_str(), i))
            .collect();
        let mut transfers = Vec::new();
        for entry in session.status.assets.iter().flatten() {
            match unmatched.remove(entry.metadata.filename.as_str()) {
                Some(file) => {
                    let deadline = pace::deadline(requested, &session, &entry.upload);
                    self.pace.lifetime(requested, deadline);
                    transfers.push((file, entry.upload.clone(), deadline));
                }
                None => tracing::warn!(
                    file = %entry.metadata.filename,
                    "the session returned an upload URL for a file this batch did not declare; ignored"
                ),
            }
        }
        let mut unmatched: Vec<usize> = unmatched.into_values().collect();
        unmatched.sort_unstable();
        for file in unmatched {
            self.fail(file, UploadFailure::NoUploadUrl);
        }
        self.options.progress.emit(ProgressEvent::SessionCreated {
            session: &session.asset_ingestion_session_id,
            files: transfers.len() as u64,
        });
        let b = &mut self.batches[batch];
        b.outstanding = transfers.len();
        b.session = Some(trimmed(session));
        transfers
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
