//! The upload engine (see the module docs of [`crate::upload`] for the flow).

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::{Either, select};
use tracing::Instrument;

mod plan;
mod sessions;
mod tally;

use super::discover::{DiscoveredFile, dedupe_names, discover};
use super::existing::{Existing, Verdict};
use super::multipart::{MultipartTarget, goes_multipart, upload_multipart};
use super::report::{
    FailedFile, PlannedFile, SkippedFile, SourceRef, UploadFailure, UploadReport, UploadedFile,
};
use super::spec::{FileSpec, SkipReason, SpecSource, spec_for_bytes, spec_for_file};
use super::{MAX_BATCH_SIZE, MAX_SESSIONS_IN_FLIGHT, UploadInput, UploadOptions, UploadSources};
use crate::cancel::CancelToken;
use crate::endpoints::{CancelIngestionSession, CreateIngestionSession, GetIngestionSession};
use crate::engine::{Attempt, Core};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{AssetId, DatasetId};
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
    /// The asset of the same name and other content it replaces (skip-existing only).
    replaces: Option<AssetId>,
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
    let put = SignedRequest::new(SignedKind::Upload, &url, Some(spec.size), core.config())
        .map_err(|e| UploadFailure::Transfer {
            status: None,
            message: e.to_string(),
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
