//! The upload engine (see the module docs of [`crate::upload`] for the flow).

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::{Either, select};
use tracing::Instrument;

use super::discover::{DiscoveredFile, dedupe_names, discover};
use super::multipart::{MultipartTarget, goes_multipart, upload_multipart};
use super::report::{
    FailedFile, SkippedFile, SourceRef, UploadFailure, UploadReport, UploadedFile,
};
use super::spec::{FileSpec, SkipReason, SpecSource, spec_for_bytes, spec_for_file};
use super::{MAX_BATCH_SIZE, MAX_SESSIONS_IN_FLIGHT, UploadInput, UploadOptions, UploadSources};
use crate::cancel::CancelToken;
use crate::endpoints::{CancelIngestionSession, CreateIngestionSession, GetIngestionSession};
use crate::engine::{Attempt, Core};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::DatasetId;
use crate::models::{
    CreateIngestionSessionRequest, IngestionRequestSpec, IngestionSession, SignedUrl,
};
use crate::pool::{Guarded, Pool, TaskSet, guarded};
use crate::progress::ProgressEvent;
use crate::retry::{Safety, Target};
use crate::runtime::run_blocking;
use crate::signed::{SignedKind, SignedRequest};
use crate::transport::{Body, FileSlice};

/// A source, its name, and its spec or why it is skipped.
type SpecOutcome = (SourceRef, String, std::result::Result<FileSpec, SkipReason>);

/// A file that will be transferred.
struct Planned {
    spec: FileSpec,
    source: SourceRef,
}

/// Where a planned file stands.
enum FileState {
    Pending,
    Transferred,
    Failed(UploadFailure),
}

/// One batch and its session.
struct Batch {
    files: Range<usize>,
    session: Option<IngestionSession>,
    outstanding: usize,
}

/// What a finished task reports.
enum Done {
    Created {
        batch: usize,
        result: Result<Box<IngestionSession>>,
    },
    Sent {
        file: usize,
        result: std::result::Result<(), UploadFailure>,
    },
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
    bytes_uploaded: u64,
    ignored_in_folders: u64,
    /// Files not even examined because the upload was cancelled first.
    cancelled_early: Vec<FailedFile>,
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
        Ok(Upload {
            core,
            dataset,
            options,
            cancel,
            planned: Vec::new(),
            states: Vec::new(),
            skipped: Vec::new(),
            batches: Vec::new(),
            bytes_uploaded: 0,
            ignored_in_folders: 0,
            cancelled_early: Vec::new(),
        })
    }

    async fn run(mut self, sources: UploadSources) -> Result<UploadReport> {
        let started = self.core.runtime().now();
        self.plan(sources).await?;
        let fatal = self.transfer_all().await;
        if let Some(error) = fatal {
            self.cancel_open_sessions(true).await;
            return Err(error);
        }
        let cancelled = self.cancel.is_cancelled();
        if cancelled {
            self.options.progress.emit(ProgressEvent::Cancelling);
            self.cancel_open_sessions(false).await;
        }
        self.wait_for_sessions(cancelled).await;
        let duration = self.core.runtime().now().saturating_duration_since(started);
        Ok(self.report(cancelled, duration))
    }

    /// Steps 1–3: discover, check names, build specs.
    async fn plan(&mut self, sources: UploadSources) -> Result<()> {
        if sources.is_empty() {
            return Err(Error::invalid(
                "upload sources",
                "nothing to upload; give at least one file, folder or in-memory item",
            ));
        }
        let mut paths = Vec::new();
        let mut memory = Vec::new();
        for input in sources.inputs() {
            match input {
                UploadInput::Path(p) => paths.push(p.clone()),
                UploadInput::Bytes { filename, data } => {
                    if filename.trim().is_empty() || filename.contains(['/', '\\', '\0']) {
                        return Err(Error::invalid(
                            "in-memory file name",
                            format!(
                                "{filename:?} must be a plain file name such as photo.jpg (not empty, no '/', '\\' or NUL)"
                            ),
                        ));
                    }
                    memory.push((filename.clone(), data.clone()));
                }
            }
        }
        let discovery = if paths.is_empty() {
            None
        } else {
            Some(run_blocking(self.core.runtime().as_ref(), move || discover(&paths)).await??)
        };
        let mut files: Vec<DiscoveredFile> = Vec::new();
        if let Some(d) = discovery {
            self.ignored_in_folders = d.ignored;
            for (path, reason) in d.skipped {
                self.skip(SourceRef::File(path.clone()), file_name(&path), reason);
            }
            let (kept, duplicates) = dedupe_names(d.files);
            for (path, reason) in duplicates {
                self.skip(SourceRef::File(path.clone()), file_name(&path), reason);
            }
            files = kept;
        }
        // In-memory names share the namespace with files (filename is the asset key).
        let mut taken: HashMap<String, PathBuf> = files
            .iter()
            .map(|f| (f.filename.clone(), f.path.clone()))
            .collect();
        let mut memory_kept = Vec::new();
        for (name, data) in memory {
            if let Some(first) = taken.get(&name) {
                let first = first.clone();
                self.skip(SourceRef::Memory, name, SkipReason::DuplicateName { first });
            } else {
                taken.insert(name.clone(), PathBuf::from(format!("<in memory: {name}>")));
                memory_kept.push((name, data));
            }
        }

        let file_count = files.len();
        // Who each candidate is, so that one not examined before a cancellation is still
        // reported.
        let candidates: Vec<(SourceRef, String)> = files
            .iter()
            .map(|f| (SourceRef::File(f.path.clone()), f.filename.clone()))
            .chain(
                memory_kept
                    .iter()
                    .map(|(name, _)| (SourceRef::Memory, name.clone())),
            )
            .collect();
        // Specs on blocking workers, in parallel; results kept in input order.
        let workers = std::thread::available_parallelism()
            .map_or(4, |n| n.get() * 2)
            .min(16);
        let pool = Pool::new(self.core.runtime().clone(), workers);
        let runtime = self.core.runtime().clone();
        let file_jobs = files.into_iter().enumerate().map(|(i, f)| {
            let runtime = runtime.clone();
            async move {
                let source = SourceRef::File(f.path.clone());
                let name = f.filename.clone();
                let spec =
                    run_blocking(runtime.as_ref(), move || spec_for_file(&f.path, f.filename))
                        .await;
                (i, source, name, spec)
            }
        });
        let offset = file_count;
        let memory_jobs = memory_kept
            .into_iter()
            .enumerate()
            .map(|(i, (name, data))| {
                let runtime = runtime.clone();
                let index = offset + i;
                async move {
                    let n = name.clone();
                    let spec =
                        run_blocking(runtime.as_ref(), move || spec_for_bytes(n, data)).await;
                    (index, SourceRef::Memory, name, spec)
                }
            });
        let mut results: Vec<Option<SpecOutcome>> = (0..taken.len()).map(|_| None).collect();
        let mut run = pool.run(
            file_jobs
                .map(futures_util::future::Either::Left)
                .chain(memory_jobs.map(futures_util::future::Either::Right)),
        );
        let mut stopped = false;
        loop {
            // Until cancelled, wait for the next check or the cancellation, whichever first.
            let step = if stopped {
                run.next().await.map(Some)
            } else {
                match select(Box::pin(run.next()), Box::pin(self.cancel.cancelled())).await {
                    Either::Left((next, _)) => next.map(Some),
                    Either::Right(_) => Some(None),
                }
            };
            let done = match step {
                None => break,
                Some(Some(done)) => done,
                Some(None) => {
                    // Cancelled: start no more checks, let the running ones finish.
                    run.stop();
                    stopped = true;
                    continue;
                }
            };
            let (i, source, name, spec) = done?;
            let spec = spec?;
            results[i] = Some((source, name, spec));
        }
        for (result, (source, name)) in results.into_iter().zip(candidates) {
            let Some((source, name, spec)) = result else {
                self.cancelled_early.push(FailedFile {
                    source,
                    filename: name,
                    reason: UploadFailure::Cancelled,
                });
                continue;
            };
            match spec {
                Ok(spec) => {
                    if let Some(warning) = spec.size_warning() {
                        tracing::warn!(file = %name, "{warning}");
                    }
                    self.planned.push(Planned { spec, source });
                }
                Err(reason) => self.skip(source, name, reason),
            }
        }
        self.states = self.planned.iter().map(|_| FileState::Pending).collect();
        let mut start = 0;
        while start < self.planned.len() {
            let end = (start + self.options.batch_size).min(self.planned.len());
            self.batches.push(Batch {
                files: start..end,
                session: None,
                outstanding: 0,
            });
            start = end;
        }
        self.options.progress.emit(ProgressEvent::Planned {
            files: self.planned.len() as u64,
            bytes: self.planned.iter().map(|p| p.spec.size).sum(),
        });
        Ok(())
    }

    fn skip(&mut self, source: SourceRef, filename: String, reason: SkipReason) {
        let text = reason.to_string();
        self.options.progress.emit(ProgressEvent::FileSkipped {
            name: &filename,
            reason: &text,
        });
        self.skipped.push(SkippedFile {
            source,
            filename,
            reason,
        });
    }

    /// Steps 4–5: sessions and transfers under one concurrency limit. Returns an error
    /// only when the dataset cannot be uploaded to at all and nothing was sent.
    async fn transfer_all(&mut self) -> Option<Error> {
        let limit = self.options.concurrency;
        let mut set: TaskSet<Done> = TaskSet::new(self.core.runtime().clone());
        let mut pending: VecDeque<(usize, SignedUrl)> = VecDeque::new();
        let mut next_batch = 0;
        let mut open = 0;
        let mut fatal: Option<Error> = None;
        loop {
            if !self.cancel.is_cancelled() && fatal.is_none() {
                while open < self.options.max_sessions_in_flight
                    && next_batch < self.batches.len()
                    && set.len() < limit
                {
                    set.spawn(self.create_task(next_batch));
                    next_batch += 1;
                    open += 1;
                }
                while set.len() < limit {
                    let Some((file, url)) = pending.pop_front() else {
                        break;
                    };
                    let spec = &self.planned[file].spec;
                    self.options.progress.emit(ProgressEvent::FileStarted {
                        name: &spec.filename,
                        size: spec.size,
                    });
                    set.spawn(self.transfer_task(file, url));
                }
            }
            let Some(done) = set.next().await else { break };
            let Ok(done) = done else {
                // A task vanished (its runtime shut down); its file stays pending and is
                // reported as failed below.
                continue;
            };
            match done {
                Done::Created { batch, result } => match result {
                    Ok(session) => {
                        let urls = self.accept_session(batch, *session);
                        if self.batches[batch].outstanding == 0 {
                            open -= 1;
                        }
                        pending.extend(urls);
                    }
                    Err(error) => {
                        open -= 1;
                        let nothing_sent = self.bytes_uploaded == 0
                            && self.batches.iter().all(|b| b.session.is_none());
                        let hopeless = matches!(
                            error.kind(),
                            ErrorKind::Authentication
                                | ErrorKind::PermissionDenied
                                | ErrorKind::NotFound
                        );
                        if hopeless && nothing_sent {
                            fatal = Some(error);
                            continue;
                        }
                        let message = error.to_string();
                        for file in self.batches[batch].files.clone() {
                            self.fail(
                                file,
                                UploadFailure::SessionNotCreated {
                                    message: message.clone(),
                                },
                            );
                        }
                    }
                },
                Done::Sent { file, result } => {
                    let batch = self.batch_of(file);
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
                        }
                        Err(reason) => self.fail(file, reason),
                    }
                    let b = &mut self.batches[batch];
                    b.outstanding -= 1;
                    if b.outstanding == 0 {
                        open -= 1;
                    }
                }
            }
        }
        fatal
    }

    fn batch_of(&self, file: usize) -> usize {
        self.batches.partition_point(|b| b.files.end <= file)
    }

    fn fail(&mut self, file: usize, reason: UploadFailure) {
        let text = reason.to_string();
        self.options.progress.emit(ProgressEvent::FileFailed {
            name: &self.planned[file].spec.filename,
            reason: &text,
        });
        self.states[file] = FileState::Failed(reason);
    }

    /// Matches the session's upload URLs to the batch's files by filename (unique within
    /// the upload) and returns the transfers to run.
    fn accept_session(
        &mut self,
        batch: usize,
        session: IngestionSession,
    ) -> Vec<(usize, SignedUrl)> {
        let range = self.batches[batch].files.clone();
        let by_name: HashMap<&str, usize> = range
            .clone()
            .map(|i| (self.planned[i].spec.filename.as_str(), i))
            .collect();
        let mut transfers = Vec::new();
        let mut matched = vec![false; range.len()];
        for entry in session.status.assets.iter().flatten() {
            match by_name.get(entry.metadata.filename.as_str()) {
                Some(&file) if !matched[file - range.start] => {
                    matched[file - range.start] = true;
                    transfers.push((file, entry.upload.clone()));
                }
                _ => tracing::warn!(
                    file = %entry.metadata.filename,
                    "the session returned an upload URL for a file this batch did not declare; ignored"
                ),
            }
        }
        for (offset, was_matched) in matched.iter().enumerate() {
            if !was_matched {
                self.fail(range.start + offset, UploadFailure::NoUploadUrl);
            }
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

    fn create_task(
        &self,
        batch: usize,
    ) -> impl std::future::Future<Output = Done> + Send + 'static {
        let core = self.core.clone();
        let assets = self.batches[batch]
            .files
            .clone()
            .map(|i| self.planned[i].spec.to_asset_spec())
            .collect();
        let endpoint = CreateIngestionSession {
            dataset: self.dataset.clone(),
            body: CreateIngestionSessionRequest {
                spec: IngestionRequestSpec {
                    kind: "Upload".to_owned(),
                    failure_mode: self.options.failure_mode.into(),
                    on_asset_overwritten: self.options.overwrite.into(),
                    assets,
                },
            },
        };
        async move {
            let result = match guarded(core.execute(&endpoint), None).await {
                Guarded::Done(result) => result.map(Box::new),
                _ => Err(Error::panicked("creating an ingestion session")),
            };
            Done::Created { batch, result }
        }
    }

    fn transfer_task(
        &self,
        file: usize,
        url: SignedUrl,
    ) -> impl std::future::Future<Output = Done> + Send + 'static {
        let core = self.core.clone();
        let spec = self.planned[file].spec.clone();
        let cancel = self.cancel.clone();
        let multipart =
            goes_multipart(&spec, self.options.multipart_threshold).then(|| MultipartTarget {
                dataset: self.dataset.clone(),
                ingestion_id: self.batches[self.batch_of(file)]
                    .session
                    .as_ref()
                    .map(|s| s.ingestion_id.clone())
                    .unwrap_or_default(),
            });
        async move {
            if let Some(target) = multipart {
                // Not raced against cancellation: the flow watches the token itself, as it
                // must abort the multipart upload on the service before it returns.
                let result = match guarded(upload_multipart(core, target, spec, cancel), None).await
                {
                    Guarded::Done(result) => result,
                    _ => Err(panicked()),
                };
                return Done::Sent { file, result };
            }
            // Racing the transfer against cancellation drops (aborts) it where the
            // transport is async; a blocking transfer finishes its current attempt.
            let result = match guarded(put_file(core, spec, url), Some(&cancel)).await {
                Guarded::Done(result) => result,
                Guarded::Panicked => Err(panicked()),
                Guarded::Cancelled => Err(UploadFailure::Cancelled),
            };
            Done::Sent { file, result }
        }
    }

    /// Sends U3 for every session that still had files to send (all of them when
    /// `all`), and marks their files cancelled: the service takes nothing in from a
    /// cancelled session.
    async fn cancel_open_sessions(&mut self, all: bool) {
        for b in 0..self.batches.len() {
            let range = self.batches[b].files.clone();
            let unfinished = range
                .clone()
                .any(|i| !matches!(self.states[i], FileState::Transferred));
            let Some(session) = &self.batches[b].session else {
                for i in range {
                    if matches!(self.states[i], FileState::Pending) {
                        self.states[i] = FileState::Failed(UploadFailure::Cancelled);
                    }
                }
                continue;
            };
            if !(all || unfinished) {
                continue;
            }
            if let Ok(id) = session.id() {
                let endpoint = CancelIngestionSession {
                    dataset: self.dataset.clone(),
                    session: id,
                };
                // Best effort: the session times out on the service anyway.
                if let Err(e) = self.core.execute(&endpoint).await {
                    tracing::warn!(error = %e, "could not cancel an ingestion session");
                }
            }
            for i in range {
                if !matches!(self.states[i], FileState::Failed(_)) {
                    self.states[i] = FileState::Failed(UploadFailure::Cancelled);
                }
            }
        }
    }

    /// Step 6: polls each session that received files until it finishes, fails, or the
    /// timeout passes. After a cancellation, looks once without waiting.
    async fn wait_for_sessions(&mut self, cancelled: bool) {
        // Every created session is looked at at least once, so that the service's verdict on
        // files whose transfer failed (e.g. ECORRUPT) reaches the report.
        let live: Vec<usize> = (0..self.batches.len())
            .filter(|&b| self.batches[b].session.is_some())
            .collect();
        if live.is_empty() {
            return;
        }
        self.options.progress.emit(ProgressEvent::Waiting {
            sessions: live.len(),
        });
        let runtime = self.core.runtime().clone();
        let started = runtime.now();
        let mut delay = Duration::from_millis(100);
        let mut remaining = live;
        loop {
            let mut still = Vec::new();
            for b in remaining {
                let Some(id) = self.batches[b].session.as_ref().and_then(|s| s.id().ok()) else {
                    continue;
                };
                let endpoint = GetIngestionSession {
                    dataset: self.dataset.clone(),
                    session: id,
                };
                match self.core.execute(&endpoint).await {
                    Ok(session) => {
                        let session = trimmed(session);
                        let done = !self.options.wait
                            || session.is_finished()
                            || session.failure().is_some()
                            || !self.sent_any(b)
                            || self.accounted_for(b, &session);
                        self.batches[b].session = Some(session);
                        if !done {
                            still.push(b);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "polling an ingestion session failed; will try again");
                        still.push(b);
                    }
                }
            }
            remaining = still;
            if remaining.is_empty() || cancelled || self.cancel.is_cancelled() {
                return;
            }
            let elapsed = runtime.now().saturating_duration_since(started);
            if let Some(timeout) = self.options.wait_timeout {
                if elapsed >= timeout {
                    return;
                }
                delay = delay.min(timeout - elapsed);
            }
            let sleep = runtime.sleep(delay);
            if let Either::Right(_) = select(sleep, Box::pin(self.cancel.cancelled())).await {
                return;
            }
            delay = (delay * 2).min(self.options.max_poll_interval);
        }
    }

    fn sent_any(&self, b: usize) -> bool {
        self.batches[b]
            .files
            .clone()
            .any(|i| matches!(self.states[i], FileState::Transferred))
    }

    /// True when the service has settled every file of batch `b` that we sent: its
    /// succeeded count plus the sent files it reports as failed cover them all. The
    /// session may still wait for files whose transfer failed (they time out on the
    /// service), but nothing we sent is pending any more, so waiting longer tells nothing.
    fn accounted_for(&self, b: usize, session: &IngestionSession) -> bool {
        let errors = session.failed_files();
        let sent: Vec<&str> = self.batches[b]
            .files
            .clone()
            .filter(|&i| matches!(self.states[i], FileState::Transferred))
            .map(|i| self.planned[i].spec.filename.as_str())
            .collect();
        let rejected = sent.iter().filter(|n| errors.contains_key(**n)).count() as u64;
        !sent.is_empty() && session.status.progress_count.succeeded + rejected >= sent.len() as u64
    }

    /// Step 7: every planned file into exactly one bucket.
    fn report(mut self, cancelled: bool, duration: Duration) -> UploadReport {
        let settled: Vec<bool> = (0..self.batches.len())
            .map(|b| {
                self.batches[b].session.as_ref().is_some_and(|s| {
                    s.failure().is_none() && (s.is_finished() || self.accounted_for(b, s))
                })
            })
            .collect();
        let batches = std::mem::take(&mut self.batches);
        let mut succeeded = Vec::new();
        let mut failed = std::mem::take(&mut self.cancelled_early);
        let mut processing = Vec::new();
        let mut sessions = Vec::new();
        let mut states = self.states.into_iter();
        let mut planned = self.planned.into_iter();
        for (batch, settled) in batches.into_iter().zip(settled) {
            let session = batch.session;
            let errors = session
                .as_ref()
                .map(|s| s.failed_files())
                .unwrap_or_default();
            let session_id = session.as_ref().and_then(|s| s.id().ok());
            let failure = session.as_ref().and_then(|s| s.failure()).map(|c| {
                format!(
                    "{}{}",
                    c.reason.as_deref().unwrap_or(&c.condition),
                    c.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            });
            for _ in batch.files {
                let (Some(p), Some(state)) = (planned.next(), states.next()) else {
                    break;
                };
                let filename = p.spec.filename.clone();
                let reason = match state {
                    // The service's verdict on a file it received says more than the
                    // transfer error that followed it (e.g. a retry refused after ECORRUPT).
                    FileState::Failed(UploadFailure::Transfer { .. })
                        if errors.contains_key(&filename) =>
                    {
                        errors
                            .get(&filename)
                            .map(|code| UploadFailure::Rejected { code: code.clone() })
                    }
                    FileState::Failed(reason) => Some(reason),
                    FileState::Pending => Some(UploadFailure::Transfer {
                        status: None,
                        message: "the transfer was interrupted before it finished".into(),
                    }),
                    FileState::Transferred => {
                        if let Some(code) = errors.get(&filename) {
                            Some(UploadFailure::Rejected { code: code.clone() })
                        } else if settled {
                            None
                        } else {
                            failure
                                .clone()
                                .map(|message| UploadFailure::SessionFailed { message })
                        }
                    }
                };
                match (reason, &session_id) {
                    (Some(reason), _) => failed.push(FailedFile {
                        source: p.source,
                        filename,
                        reason,
                    }),
                    (None, Some(id)) => {
                        let file = UploadedFile {
                            source: p.source,
                            filename,
                            size: p.spec.size,
                            session: id.clone(),
                        };
                        if settled {
                            succeeded.push(file);
                        } else {
                            processing.push(file);
                        }
                    }
                    (None, None) => failed.push(FailedFile {
                        source: p.source,
                        filename,
                        reason: UploadFailure::NoUploadUrl,
                    }),
                }
            }
            sessions.extend(session);
        }
        UploadReport {
            dataset: self.dataset,
            succeeded,
            failed,
            skipped: self.skipped,
            processing,
            sessions,
            bytes_uploaded: self.bytes_uploaded,
            duration,
            cancelled,
            ignored_in_folders: self.ignored_in_folders,
        }
    }
}

/// Drops the per-file lists a session carries (the upload URLs once they are handed out,
/// the echo of the declaration): the report keeps sessions for their ids, counters, events
/// and conditions, and per-file copies would make memory grow with the file count.
fn trimmed(mut session: IngestionSession) -> IngestionSession {
    session.status.assets = None;
    session.spec.assets = None;
    session
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A file whose upload worker panicked.
fn panicked() -> UploadFailure {
    UploadFailure::Internal {
        message: "an upload worker panicked".into(),
    }
}

/// PUTs one file to its signed URL: the headers the session gave, verbatim, an exact
/// `Content-Length`, the body streamed from disk (re-opened on every attempt) or from
/// memory, and no API credentials. Retries follow the policy for signed uploads.
async fn put_file(
    core: Core,
    spec: FileSpec,
    url: SignedUrl,
) -> std::result::Result<(), UploadFailure> {
    let put = SignedRequest::new(SignedKind::Upload, &url, Some(spec.size)).map_err(|e| {
        UploadFailure::Transfer {
            status: None,
            message: e.to_string(),
        }
    })?;
    let body = match &spec.source {
        SpecSource::File(path) => Body::File(FileSlice {
            path: path.clone(),
            offset: 0,
            len: spec.size,
        }),
        SpecSource::Bytes(bytes) => Body::Bytes(bytes.clone()),
    };
    let operation = "upload";
    let result = core
        .retrying(Safety::Idempotent, Target::SignedUpload, false, |_, _| {
            let request = put.request(body.clone());
            let transport = core.transport().clone();
            async move { Attempt::from_exchange(operation, transport.send(request).await, |_| Ok(())) }
        })
        .await;
    result.map_err(|e| UploadFailure::Transfer {
        status: e.status().map(|s| s.as_u16()),
        message: e.to_string(),
    })
}
