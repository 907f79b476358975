//! The upload coordinator: a pure state machine ([`Flow`]) over every file of one upload
//! call. It decides which file to prepare (size, sniff, hash), when to open an ingestion
//! session and for which prepared files, which transfer to start, and when to look at a
//! session; and it files every completion. The engine ([`super`]) runs its commands
//! through the driver ([`crate::drive`]); nothing here performs I/O or reads a clock.
//!
//! Each file has one [`FileEntry`] (its name, its source until prepared, its spec, where
//! it stands, its batch and its second chances), so what is known of a file is in one
//! place. Preparation runs ahead of the transfers: a session is opened as soon as enough
//! prepared files wait for one, so the first bytes go out long before the last file of a
//! large folder is read.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use super::pace::{self, MAX_SECOND_CHANCES, Next, Pace};
use super::sessions::trimmed;
use crate::drive::{Completion, Flow};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{AssetId, IngestionSessionId};
use crate::models::{
    CreateIngestionSessionRequest, IngestionErrorCode, IngestionRequestSpec, IngestionSession,
    SignedUrl,
};
use crate::outcome::{FileOutcome, Outcomes};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::tuning::{Ticks, Tuner, earliest, is_throttling};
use crate::upload::existing::{Existing, Verdict};
use crate::upload::multipart::{PART_WORKERS, goes_multipart};
use crate::upload::report::{SkippedFile, SourceRef, UploadFailure};
use crate::upload::spec::{FileSpec, SkipReason, SpecSource};
use crate::upload::{OverwriteMode, UploadFailureMode};

/// Session creations that may fail in a row before the files they were for are reported
/// failed.
const MAX_CREATE_FAILURES: u32 = 5;

/// How often, under FailAfterOne, a session whose files are still being sent is looked at
/// for files the service failed or gave up on: a storage that answers every PUT 2xx
/// tells of a failure only in the session, and without looking the rest of the session
/// would be sent for nothing.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// Prepared bytes that justify a session before a whole batch of files is prepared:
/// large files are slow to hash, and their transfers should not wait for the last one.
const READY_BYTES: u64 = 256 << 20;

/// Where one file stands.
#[derive(Debug)]
pub(super) enum FileState {
    /// Not examined yet.
    Unprepared,
    /// Being sized, sniffed and hashed.
    Preparing,
    /// Prepared; waiting for the skip-existing listing, a session or its transfer.
    Pending,
    /// Its bytes reached the storage.
    Transferred,
    /// It failed, for this reason.
    Failed(UploadFailure),
    /// It was left out; its entry is in the skipped list.
    Skipped,
}

/// Everything known of one file.
#[derive(Debug)]
pub(super) struct FileEntry {
    /// The asset filename (unique within the upload) until the file is prepared; then
    /// empty, the spec carrying it ([`FileEntry::name`]), so it is not held twice.
    name: String,
    /// Where its bytes are, until it is prepared (then in `spec`).
    pub input: Option<SpecSource>,
    /// What it is, once prepared.
    pub spec: Option<FileSpec>,
    /// The asset of the same name and other content it replaces (skip-existing only).
    pub replaces: Option<AssetId>,
    pub state: FileState,
    /// Its current batch (`None` while it waits for a session).
    pub batch: Option<usize>,
    /// How many second chances it has had ([`MAX_SECOND_CHANCES`]).
    chances: u8,
}

impl FileEntry {
    /// A file to examine, from `input`, uploaded as `name`.
    pub(super) fn new(name: String, input: SpecSource) -> Self {
        FileEntry {
            name,
            input: Some(input),
            spec: None,
            replaces: None,
            state: FileState::Unprepared,
            batch: None,
            chances: 0,
        }
    }

    /// The asset filename (unique within the upload).
    pub(super) fn name(&self) -> &str {
        self.spec.as_ref().map_or(&self.name, |s| &s.filename)
    }

    /// The asset filename, taken out (the report keeps it; the entry is done).
    pub(super) fn take_name(&mut self) -> String {
        match &mut self.spec {
            Some(spec) => std::mem::take(&mut spec.filename),
            None => std::mem::take(&mut self.name),
        }
    }

    /// Where the file comes from, as the report names it.
    pub(super) fn source(&self) -> SourceRef {
        match (&self.spec, &self.input) {
            (Some(spec), _) => SourceRef::from(spec.source.clone()),
            (None, Some(input)) => SourceRef::from(input.clone()),
            (None, None) => SourceRef::Memory,
        }
    }

    fn size(&self) -> u64 {
        self.spec.as_ref().map_or(0, |s| s.size)
    }
}

/// One batch and its session. A file moved to a later session stays listed here; its
/// current batch is [`FileEntry::batch`].
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub files: Vec<usize>,
    pub session: Option<IngestionSession>,
    /// Files of this batch not yet finished (sent, failed or moved on).
    outstanding: usize,
    /// When its creation was asked for (URL deadlines count from here).
    requested: Option<Instant>,
    /// A transfer of its files ended since the session was last looked at: only then can
    /// a look find a new verdict.
    fresh: bool,
    /// One of its files was refused under FailAfterOne: its other files wait for the look
    /// that tells which of them the service gave up on, instead of being sent for nothing.
    held: bool,
}

/// A transfer: the file, its URL, and the local instant after which the URL is not used.
pub(super) type Transfer = (usize, SignedUrl, Option<Instant>);

/// Why a transfer did not succeed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The PUT failed: the coordinator decides between a fresh session, another try and
    /// a failure ([`pace::after_failure`]).
    Put(Error),
    /// The URL's deadline passed before the next attempt could start.
    Expired,
    /// Nothing more to try (multipart flows, which retry on their own, cancellation).
    Final(UploadFailure),
}

/// Who a command is about.
#[derive(Debug)]
pub(super) enum Subject {
    Existing,
    Prepare(usize),
    Create(usize),
    Send(Transfer),
    Look(usize),
}

/// What the driver runs.
pub(super) enum Command {
    /// List the dataset for the assets named like these files (skip-existing).
    Existing(HashSet<String>),
    /// Examine one file.
    Prepare { input: SpecSource, name: String },
    /// Open an ingestion session.
    Create(CreateIngestionSessionRequest),
    /// Send one file; `multipart` is the session's ingestion id when it goes in parts.
    Send {
        spec: FileSpec,
        url: SignedUrl,
        deadline: Option<Instant>,
        multipart: Option<String>,
    },
    /// Look at a session for the files it failed or gave up on.
    Look(IngestionSessionId),
}

/// What a command's task returns.
pub(super) enum Output {
    Existing(Result<Existing>),
    Prepared(Result<std::result::Result<FileSpec, SkipReason>>),
    Created(Result<Box<IngestionSession>>),
    Sent(std::result::Result<(), Failure>),
    Looked(Result<BTreeMap<String, IngestionErrorCode>>),
}

/// The options the coordinator decides by.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub failure_mode: UploadFailureMode,
    pub overwrite: OverwriteMode,
    pub batch_size: usize,
    pub max_sessions: usize,
    pub multipart_threshold: u64,
    pub skip_existing: bool,
    pub dry_run: bool,
    /// Files examined at once.
    pub prepare_workers: usize,
    pub progress: ProgressSink,
    pub outcomes: Outcomes,
}

/// The skip-existing listing.
#[derive(Debug)]
enum Listing {
    Off,
    Wanted,
    Asking,
    Known(Existing),
}

/// The state of one upload call.
pub(super) struct UploadFlow {
    pub files: Vec<FileEntry>,
    pub batches: Vec<Batch>,
    /// Inputs left out, each with its place in the input order (0 for those left out
    /// while gathering), so the report lists them in input order whatever order their
    /// preparations ended in.
    pub skipped: Vec<(usize, SkippedFile)>,
    /// Files skipped, and how many of them because the dataset holds them already.
    pub skipped_count: u64,
    pub present: u64,
    pub bytes_uploaded: u64,
    /// An error that ends the whole call before anything was sent (unknown dataset,
    /// credentials refused, the skip-existing listing failed).
    pub fatal: Option<Error>,
    /// How many assets the skip-existing listing read.
    pub assets_listed: Option<u64>,
    pub cancelled: bool,
    settings: Settings,
    listing: Listing,
    unprepared: VecDeque<usize>,
    preparing: usize,
    /// Prepared, waiting for the skip-existing listing.
    awaiting: Vec<usize>,
    /// Prepared, waiting for a session, in input order whatever order their preparations
    /// ended in (files moved out of a session come before later files).
    ready: BTreeSet<usize>,
    ready_bytes: u64,
    creating: bool,
    /// Sessions created or being created that still have files to send.
    open_sessions: usize,
    create_failures: u32,
    /// Transfers with a URL, waiting for a slot.
    pending: VecDeque<Transfer>,
    sending: usize,
    /// Transfer slots in use: a multipart file takes as many as its part workers.
    slots: usize,
    looking: Vec<usize>,
    look_due: HashMap<usize, Instant>,
    pace: Pace,
    tuner: Tuner,
    ticks: Ticks,
    stopping: bool,
    /// The files and bytes to send were announced ([`ProgressEvent::Planned`]).
    announced: bool,
}

/// The reason given for a file whose task the runtime dropped.
fn lost() -> UploadFailure {
    UploadFailure::Internal {
        message: "its task was dropped by the runtime before it reported (a panic, a thread \
                  that could not start, or a runtime shutting down); upload it again"
            .into(),
    }
}

impl UploadFlow {
    pub(super) fn new(
        files: Vec<FileEntry>,
        skipped: Vec<SkippedFile>,
        settings: Settings,
        tuner: Tuner,
    ) -> Self {
        let listing = if settings.skip_existing && !files.is_empty() {
            Listing::Wanted
        } else {
            Listing::Off
        };
        let mut flow = UploadFlow {
            unprepared: (0..files.len()).collect(),
            files,
            batches: Vec::new(),
            skipped: Vec::new(),
            skipped_count: 0,
            present: 0,
            bytes_uploaded: 0,
            fatal: None,
            assets_listed: None,
            cancelled: false,
            settings,
            listing,
            preparing: 0,
            awaiting: Vec::new(),
            ready: BTreeSet::new(),
            ready_bytes: 0,
            creating: false,
            open_sessions: 0,
            create_failures: 0,
            pending: VecDeque::new(),
            sending: 0,
            slots: 0,
            looking: Vec::new(),
            look_due: HashMap::new(),
            pace: Pace::default(),
            tuner,
            ticks: Ticks::default(),
            stopping: false,
            announced: false,
        };
        for file in skipped {
            flow.file_skipped(0, file);
        }
        flow
    }

    /// Counts a skipped input and records its outcome; with an outcome sink only the
    /// skips that are problems stay listed.
    fn file_skipped(&mut self, order: usize, file: SkippedFile) {
        self.skipped_count += 1;
        let present = matches!(file.reason, SkipReason::AlreadyPresent { .. });
        self.present += u64::from(present);
        self.settings
            .outcomes
            .record(FileOutcome::UploadSkipped(&file));
        if !(present && self.settings.outcomes.is_set()) {
            self.skipped.push((order, file));
        }
    }

    /// Announces what will be sent once every file is examined (transfers may have
    /// started long before).
    fn announce(&mut self) {
        if self.announced
            || !self.prepared_all()
            || matches!(self.listing, Listing::Wanted | Listing::Asking)
        {
            return;
        }
        self.announced = true;
        let (files, bytes) = self
            .files
            .iter()
            .filter(|f| !matches!(f.state, FileState::Skipped | FileState::Failed(_)))
            .fold((0u64, 0u64), |(n, b), f| (n + 1, b + f.size()));
        self.settings
            .progress
            .emit(ProgressEvent::Planned { files, bytes });
    }

    /// Commands out that have not come back.
    fn out(&self) -> usize {
        self.preparing
            + self.sending
            + self.looking.len()
            + usize::from(self.creating)
            + usize::from(matches!(self.listing, Listing::Asking))
    }

    /// Every file has been examined (or never will be).
    fn prepared_all(&self) -> bool {
        self.unprepared.is_empty() && self.preparing == 0 && self.awaiting.is_empty()
    }

    fn weight(&self, file: usize) -> usize {
        let multipart = self.files[file]
            .spec
            .as_ref()
            .is_some_and(|s| goes_multipart(s, self.settings.multipart_threshold));
        if multipart { PART_WORKERS } else { 1 }
    }

    pub(super) fn skip(&mut self, file: usize, reason: SkipReason) {
        let entry = &mut self.files[file];
        entry.state = FileState::Skipped;
        let text = reason.to_string();
        self.settings.progress.emit(ProgressEvent::FileSkipped {
            name: entry.name(),
            reason: &text,
        });
        let skipped = SkippedFile {
            source: entry.source(),
            filename: entry.name().to_owned(),
            reason,
        };
        self.file_skipped(file + 1, skipped);
    }

    fn fail(&mut self, file: usize, reason: UploadFailure) {
        let text = reason.to_string();
        self.settings.progress.emit(ProgressEvent::FileFailed {
            name: self.files[file].name(),
            reason: &text,
        });
        self.files[file].state = FileState::Failed(reason);
    }

    /// A prepared file is compared with the dataset (skip-existing) and queued.
    fn classify(&mut self, file: usize) {
        let verdict = match &self.listing {
            Listing::Known(existing) => self.files[file].spec.as_ref().map(|s| existing.compare(s)),
            _ => None,
        };
        match verdict {
            Some(Verdict::Present(reason)) => return self.skip(file, reason),
            Some(Verdict::Changed(asset)) => self.files[file].replaces = Some(asset),
            Some(Verdict::New) | None => {}
        }
        let entry = &mut self.files[file];
        if let Some(warning) = entry.spec.as_ref().and_then(FileSpec::size_warning) {
            tracing::warn!(file = %entry.name(), "{warning}");
        }
        entry.state = FileState::Pending;
        if !self.settings.dry_run {
            self.ready_bytes += entry.size();
            self.ready.insert(file);
        }
    }

    fn prepared(&mut self, file: usize, result: Completion<Output>) {
        self.preparing -= 1;
        match result {
            Completion::Done(Output::Prepared(Ok(Ok(spec)))) => {
                let entry = &mut self.files[file];
                entry.spec = Some(spec);
                entry.input = None;
                entry.name = String::new();
                entry.state = FileState::Pending;
                match self.listing {
                    Listing::Wanted | Listing::Asking => self.awaiting.push(file),
                    _ => self.classify(file),
                }
            }
            Completion::Done(Output::Prepared(Ok(Err(reason)))) => self.skip(file, reason),
            _ => self.fail(file, lost()),
        }
    }

    fn listed(&mut self, result: Completion<Output>) {
        match result {
            Completion::Done(Output::Existing(Ok(existing))) => {
                self.assets_listed = Some(existing.listed);
                self.listing = Listing::Known(existing);
                for file in std::mem::take(&mut self.awaiting) {
                    self.classify(file);
                }
            }
            Completion::Done(Output::Existing(Err(e))) => self.stop_with(e),
            _ => self.stop_with(Error::Internal {
                message: "the skip-existing listing's task was dropped by the runtime".into(),
            }),
        }
    }

    fn stop_with(&mut self, error: Error) {
        self.fatal.get_or_insert(error);
        self.stopping = true;
        self.listing = Listing::Off;
        for file in std::mem::take(&mut self.awaiting) {
            self.files[file].state = FileState::Pending;
        }
    }

    /// Forms the next batch from the head of the ready queue, sized by [`Pace`], and the
    /// session request for it.
    fn next_batch(&mut self, now: Instant) -> (usize, CreateIngestionSessionRequest) {
        let size = self
            .pace
            .batch_size(now, self.settings.batch_size, self.tuner.limit());
        let files: Vec<usize> = std::iter::from_fn(|| self.ready.pop_first())
            .take(size)
            .collect();
        let batch = self.batches.len();
        let mut assets = Vec::with_capacity(files.len());
        for &f in &files {
            let entry = &mut self.files[f];
            entry.batch = Some(batch);
            self.ready_bytes = self.ready_bytes.saturating_sub(entry.size());
            if let Some(spec) = &entry.spec {
                assets.push(spec.to_asset_spec());
            }
        }
        self.batches.push(Batch {
            files,
            requested: Some(now),
            ..Batch::default()
        });
        let body = CreateIngestionSessionRequest {
            spec: IngestionRequestSpec {
                kind: "Upload".to_owned(),
                failure_mode: self.settings.failure_mode.into(),
                on_asset_overwritten: self.settings.overwrite.into(),
                assets,
            },
        };
        (batch, body)
    }

    /// A session is asked for when none is being created, fewer than the most are open,
    /// the transfers already queued are about to run out, and a batch is ready: a full
    /// one, [`READY_BYTES`] of files, or the last files.
    fn session_due(&self) -> bool {
        let batch = self.settings.batch_size;
        !self.settings.dry_run
            && !self.creating
            && !self.ready.is_empty()
            && self.open_sessions < self.settings.max_sessions
            && self.pending.len() <= self.tuner.limit()
            && (self.ready.len() >= batch || self.ready_bytes >= READY_BYTES || self.prepared_all())
    }

    /// A session creation, when one is due.
    fn next_create(&mut self, now: Instant) -> Option<(Subject, Command)> {
        if !self.session_due() {
            return None;
        }
        let (batch, body) = self.next_batch(now);
        self.creating = true;
        self.open_sessions += 1;
        Some((Subject::Create(batch), Command::Create(body)))
    }

    /// A file of an open session is done with it (sent, failed, or moved on).
    fn release(&mut self, file: usize) {
        let Some(batch) = self.files[file].batch else {
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

    /// Gives a file whose transfer failed (or whose URL died unused) another chance: a
    /// fresh session ([`Next::Resign`]) or a later try on the same URL ([`Next::Resend`]),
    /// at most [`MAX_SECOND_CHANCES`] times; otherwise fails it with the error, if any.
    fn second_chance(&mut self, file: usize, next: Next, failed: Option<(Transfer, Error)>) {
        if next == Next::Fail || self.files[file].chances >= MAX_SECOND_CHANCES {
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
        self.files[file].chances += 1;
        match (next, failed) {
            (Next::Resend, Some((transfer, _))) => {
                tracing::debug!(file = %self.files[file].name(), "the transfer failed after its retries; sending it again later");
                self.pending.push_back(transfer);
            }
            _ => {
                tracing::debug!(file = %self.files[file].name(), "its upload URL is no longer usable; moving it to a fresh session");
                self.release(file);
                self.files[file].batch = None;
                self.ready_bytes += self.files[file].size();
                self.ready.insert(file);
            }
        }
    }

    /// A session could not be created. The whole upload stops when the dataset cannot be
    /// uploaded to at all and nothing was sent; a transient failure sends the batch's
    /// files back to the ready queue (up to [`MAX_CREATE_FAILURES`] in a row); any other
    /// failure fails them.
    fn session_not_created(&mut self, batch: usize, error: Error) {
        let nothing_sent =
            self.bytes_uploaded == 0 && self.batches.iter().all(|b| b.session.is_none());
        let hopeless = matches!(
            error.kind(),
            ErrorKind::Authentication | ErrorKind::PermissionDenied | ErrorKind::NotFound
        );
        let files = self.batches[batch].files.clone();
        if hopeless && nothing_sent {
            for &file in files.iter().rev() {
                self.files[file].batch = None;
            }
            self.stop_with(error);
            return;
        }
        let transient = error.last().is_retryable();
        self.create_failures += 1;
        let again = transient && self.create_failures < MAX_CREATE_FAILURES && !self.stopping;
        let message = error.to_string();
        for &file in files.iter().rev() {
            if again {
                self.files[file].batch = None;
                self.ready_bytes += self.files[file].size();
                self.ready.insert(file);
            } else {
                self.fail(
                    file,
                    UploadFailure::SessionNotCreated {
                        message: message.clone(),
                    },
                );
            }
        }
    }

    /// Matches the session's upload URLs to the batch's files by filename (unique within
    /// the upload) and queues their transfers.
    fn accept_session(&mut self, batch: usize, session: IngestionSession, now: Instant) {
        let requested = self.batches[batch].requested.unwrap_or(now);
        let files = self.batches[batch].files.clone();
        let mut unmatched: HashMap<&str, usize> =
            files.iter().map(|&i| (self.files[i].name(), i)).collect();
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
        self.settings.progress.emit(ProgressEvent::SessionCreated {
            session: &session.asset_ingestion_session_id,
            files: transfers.len() as u64,
        });
        let b = &mut self.batches[batch];
        b.outstanding = transfers.len();
        b.session = Some(trimmed(session));
        if b.outstanding == 0 {
            self.open_sessions -= 1;
        } else if self.settings.failure_mode == UploadFailureMode::FailAfterOne {
            self.look_due.insert(batch, now + LOOK_EVERY);
        }
        if self.stopping {
            // Cancelled while it was being created: nothing is sent; the engine cancels
            // the session.
            return;
        }
        self.pending.extend(transfers);
    }

    fn created(&mut self, batch: usize, result: Completion<Output>, now: Instant) {
        self.creating = false;
        match result {
            Completion::Done(Output::Created(Ok(session))) => {
                self.create_failures = 0;
                self.accept_session(batch, *session, now);
            }
            Completion::Done(Output::Created(Err(error))) => {
                self.open_sessions -= 1;
                self.session_not_created(batch, error);
            }
            _ => {
                self.open_sessions -= 1;
                self.session_not_created(
                    batch,
                    Error::Internal {
                        message:
                            "the task creating an ingestion session was dropped by the runtime"
                                .into(),
                    },
                );
            }
        }
    }

    fn sent(&mut self, transfer: Transfer, result: Completion<Output>, now: Instant) {
        let file = transfer.0;
        if let Some(b) = self.files[file].batch {
            self.batches[b].fresh = true;
        }
        self.sending -= 1;
        self.slots -= self.weight(file);
        let result = match result {
            Completion::Done(Output::Sent(result)) => result,
            _ => Err(Failure::Final(lost())),
        };
        match result {
            Ok(()) => {
                let size = self.files[file].size();
                self.bytes_uploaded += size;
                self.settings.progress.emit(ProgressEvent::FileFinished {
                    name: self.files[file].name(),
                    size,
                    path: None,
                });
                self.files[file].state = FileState::Transferred;
                self.pace.finish();
                self.tuner.finished(now, size);
                self.release(file);
            }
            // Stopped by the cancellation: whatever error the stop gave, it was cancelled.
            Err(_) if self.cancelled => {
                self.fail(file, UploadFailure::Cancelled);
                self.release(file);
            }
            Err(Failure::Final(reason)) => {
                self.fail(file, reason);
                self.release(file);
            }
            Err(Failure::Expired) => self.second_chance(file, Next::Resign, None),
            Err(Failure::Put(error)) => self.put_failed(transfer, error, now),
        }
    }

    fn put_failed(&mut self, transfer: Transfer, error: Error, now: Instant) {
        let file = transfer.0;
        if is_throttling(&error) {
            self.tuner.throttled(now);
        }
        let expired = transfer.2.is_some_and(|d| now >= d);
        let next = pace::after_failure(&error, expired);
        let verdict = next == Next::Fail && error.status() == Some(http::StatusCode::BAD_REQUEST);
        let batch = self.files[file].batch;
        self.second_chance(file, next, Some((transfer, error)));
        // FailAfterOne: the service gives up on the rest of the session after a file's
        // failure; look at once, so as not to send them.
        if let Some(b) = batch.filter(|b| verdict && self.look_due.contains_key(b)) {
            self.look_due.insert(b, now);
            self.batches[b].held = true;
        }
    }

    /// Leaves out the queued transfers of batch `b` that the session already reports
    /// failed (under FailAfterOne, every file after the first failure): each is reported
    /// with the service's reason instead of being sent for nothing.
    fn drop_given_up(&mut self, b: usize, errors: &BTreeMap<String, IngestionErrorCode>) {
        if errors.is_empty() {
            return;
        }
        let mut kept = VecDeque::with_capacity(self.pending.len());
        let mut dropped = 0usize;
        for transfer in std::mem::take(&mut self.pending) {
            let file = transfer.0;
            let code = (self.files[file].batch == Some(b))
                .then(|| errors.get(self.files[file].name()))
                .flatten();
            match code {
                Some(code) => {
                    self.fail(file, UploadFailure::Rejected { code: code.clone() });
                    self.release(file);
                    dropped += 1;
                }
                None => kept.push_back(transfer),
            }
        }
        self.pending = kept;
        if dropped > 0 {
            tracing::info!(
                batch = b,
                files = dropped,
                "the service gave up on these files after another failed (FailAfterOne); not sending them"
            );
        }
    }

    /// The next transfer to start, if a slot is free.
    fn next_send(&mut self, now: Instant) -> Option<(Subject, Command)> {
        while self.slots < self.tuner.limit() {
            let next = self.pending.iter().position(|(file, _, _)| {
                !self.files[*file]
                    .batch
                    .is_some_and(|b| self.batches[b].held)
            })?;
            let transfer = self.pending.remove(next)?;
            let file = transfer.0;
            let weight = self.weight(file);
            if weight == 1 && transfer.2.is_some_and(|d| now >= d) {
                // Never sent on a URL past its deadline: a fresh session instead.
                self.second_chance(file, Next::Resign, None);
                continue;
            }
            let spec = self.files[file].spec.clone()?;
            self.settings.progress.emit(ProgressEvent::FileStarted {
                name: &spec.filename,
                size: spec.size,
            });
            let multipart = (weight > 1)
                .then(|| self.files[file].batch)
                .flatten()
                .and_then(|b| self.batches[b].session.as_ref())
                .map(|s| s.ingestion_id.clone());
            self.pace.start(now);
            self.slots += weight;
            self.sending += 1;
            self.tuner.started(now, self.slots);
            let command = Command::Send {
                spec,
                url: transfer.1.clone(),
                deadline: transfer.2,
                multipart,
            };
            return Some((Subject::Send(transfer), command));
        }
        None
    }

    /// The id of batch `b`'s session, once it exists.
    pub(super) fn session_id(&self, b: usize) -> Option<IngestionSessionId> {
        self.batches[b].session.as_ref()?.id().ok()
    }

    /// The files whose current session is batch `b` (files moved on are not).
    pub(super) fn files_of(&self, b: usize) -> impl Iterator<Item = usize> + '_ {
        self.batches[b]
            .files
            .iter()
            .copied()
            .filter(move |&i| self.files[i].batch == Some(b))
    }

    /// True when batch `b` has files it has not sent (pending or failed).
    pub(super) fn has_unsent(&self, b: usize) -> bool {
        self.files_of(b)
            .any(|i| !matches!(self.files[i].state, FileState::Transferred))
    }

    /// True when batch `b` sent at least one file.
    pub(super) fn sent_any(&self, b: usize) -> bool {
        self.files_of(b)
            .any(|i| matches!(self.files[i].state, FileState::Transferred))
    }

    /// True when the service has settled every file of batch `b` that we sent: its
    /// succeeded count plus the sent files it reports failed cover them all.
    pub(super) fn accounted_for(&self, b: usize, session: &IngestionSession) -> bool {
        let errors = session.failed_files();
        let mut sent = 0u64;
        let mut rejected = 0u64;
        for i in self.files_of(b) {
            if matches!(self.files[i].state, FileState::Transferred) {
                sent += 1;
                rejected += u64::from(errors.contains_key(self.files[i].name()));
            }
        }
        sent > 0 && session.status.progress_count.succeeded + rejected >= sent
    }
}

impl Flow for UploadFlow {
    type Subject = Subject;
    type Command = Command;
    type Output = Output;

    fn advance(&mut self, now: Instant) {
        self.ticks.advance(&mut self.tuner, now, self.slots > 0);
        let batches = &self.batches;
        self.look_due.retain(|&b, _| batches[b].outstanding > 0);
        if !self.stopping {
            self.announce();
        }
    }

    fn next_command(&mut self, now: Instant) -> Option<(Subject, Command)> {
        if self.stopping {
            return None;
        }
        if matches!(self.listing, Listing::Wanted) {
            self.listing = Listing::Asking;
            let names = self.files.iter().map(|f| f.name().to_owned()).collect();
            return Some((Subject::Existing, Command::Existing(names)));
        }
        let due = self
            .look_due
            .iter()
            .find(|&(b, at)| now >= *at && self.batches[*b].fresh && !self.looking.contains(b))
            .map(|(&b, _)| b);
        if let Some(b) = due {
            self.look_due.insert(b, now + LOOK_EVERY);
            if let Some(id) = self.session_id(b) {
                self.batches[b].fresh = false;
                self.looking.push(b);
                return Some((Subject::Look(b), Command::Look(id)));
            }
        }
        if let Some(create) = self.next_create(now) {
            return Some(create);
        }
        if let Some(send) = self.next_send(now) {
            return Some(send);
        }
        // Looking for a transfer may have moved files whose URL died back to the ready
        // set (a session answered after its URLs' deadline, on a loaded machine): they
        // are due a fresh session now, or nothing would ever ask for one.
        if let Some(create) = self.next_create(now) {
            return Some(create);
        }
        if self.preparing < self.settings.prepare_workers {
            let file = self.unprepared.pop_front()?;
            let entry = &mut self.files[file];
            entry.state = FileState::Preparing;
            self.preparing += 1;
            let input = entry.input.clone()?;
            let name = entry.name.clone();
            return Some((Subject::Prepare(file), Command::Prepare { input, name }));
        }
        None
    }

    fn complete(&mut self, subject: Subject, result: Completion<Output>, now: Instant) {
        match subject {
            Subject::Existing => self.listed(result),
            Subject::Prepare(file) => self.prepared(file, result),
            Subject::Create(batch) => self.created(batch, result, now),
            Subject::Send(transfer) => self.sent(transfer, result, now),
            Subject::Look(batch) => {
                self.looking.retain(|&b| b != batch);
                self.batches[batch].held = false;
                match result {
                    Completion::Done(Output::Looked(Ok(failed))) => {
                        self.drop_given_up(batch, &failed)
                    }
                    Completion::Done(Output::Looked(Err(e))) => {
                        tracing::debug!(error = %e, "looking at a session failed")
                    }
                    _ => {}
                }
            }
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        let look = (!self.stopping)
            .then(|| {
                let fresh = self
                    .look_due
                    .iter()
                    .filter(|(b, _)| self.batches[**b].fresh);
                fresh.map(|(_, at)| *at).min()
            })
            .flatten();
        earliest(look, self.ticks.next())
    }

    fn cancel(&mut self, _now: Instant) {
        self.settings.progress.emit(ProgressEvent::Cancelling);
        self.cancelled = true;
        self.stopping = true;
        // What is queued is not sent: those files end cancelled with their session.
        self.pending.clear();
        self.ready.clear();
    }

    fn is_finished(&self) -> bool {
        self.out() == 0
            && (self.stopping
                || (self.prepared_all() && self.ready.is_empty() && self.pending.is_empty()))
    }

    fn stalled(&mut self) {
        tracing::error!("the upload stopped with work left that nothing was running for");
        self.stopping = true;
        for file in 0..self.files.len() {
            if matches!(
                self.files[file].state,
                FileState::Unprepared | FileState::Preparing | FileState::Pending
            ) && !matches!(self.files[file].batch, Some(b) if self.batches[b].session.is_some())
            {
                self.fail(file, lost());
            }
        }
        self.unprepared.clear();
        self.pending.clear();
        self.ready.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::{dice, simulate};
    use crate::models::AssetKind;
    use proptest::prelude::*;

    fn spec(name: &str, size: u64) -> FileSpec {
        FileSpec {
            filename: name.to_owned(),
            mime: "image/png",
            kind: AssetKind::Image,
            size,
            crc32c: Some(7),
            source: SpecSource::Bytes(bytes::Bytes::from_static(b"x")),
            stamp: None,
        }
    }

    /// The session the service would create for `body`: one URL per declared file,
    /// living an hour, or 60 ms when `short` (so that URLs die before their files are
    /// sent, as on a loaded machine).
    fn session_for(
        body: &CreateIngestionSessionRequest,
        n: usize,
        short: bool,
    ) -> IngestionSession {
        let expiry: i64 = if short { 1732867200060 } else { 1732870800000 };
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/session_created.json"))
                .unwrap();
        v["assetIngestionSessionId"] = format!("sess-{n}").into();
        v["status"]["assets"] = body
            .spec
            .assets
            .iter()
            .map(|a| {
                serde_json::json!({
                    "metadata": {"kind": "Image", "filename": a.filename, "mime": "image/png", "size": a.size},
                    "upload": {"url": format!("https://storage.example.com/u/{}?sig=x", a.filename), "expiry": expiry}
                })
            })
            .collect::<Vec<_>>()
            .into();
        serde_json::from_value(v).unwrap()
    }

    fn status(code: u16) -> Error {
        let status = http::StatusCode::from_u16(code).unwrap();
        Error::from(crate::error::ApiError {
            operation: "put".into(),
            status,
            code: crate::error::ApiErrorCode::from_status(status),
            message: "no".into(),
            request_id: None,
            retry_after: None,
        })
    }

    proptest! {
        /// Whatever the order of answers, their failures, lost tasks and a cancel at any
        /// point, every file ends in one final state: sent, failed with a reason, or
        /// skipped (and listed as skipped exactly once); only a cancelled or stopped
        /// upload leaves files unsent, which the engine then reports cancelled.
        #[test]
        fn every_file_ends_in_exactly_one_state(
            n in 0usize..40,
            batch in 1usize..12,
            sessions in 1usize..5,
            skip_existing in any::<bool>(),
            fail_after_one in any::<bool>(),
            short_urls in any::<bool>(),
            seed in any::<u64>(),
            cancel_at in proptest::option::of(0usize..120),
        ) {
            let mut rng = dice(seed);
            let files: Vec<FileEntry> = (0..n)
                .map(|i| FileEntry::new(format!("f{i:03}.png"), SpecSource::Bytes(bytes::Bytes::from_static(b"x"))))
                .collect();
            let settings = Settings {
                failure_mode: if fail_after_one { UploadFailureMode::FailAfterOne } else { UploadFailureMode::FailAfterAll },
                overwrite: OverwriteMode::default(),
                batch_size: batch,
                max_sessions: sessions,
                multipart_threshold: u64::MAX,
                skip_existing,
                dry_run: false,
                prepare_workers: 3,
                progress: ProgressSink::default(),
                outcomes: Outcomes::default(),
            };
            let mut flow = UploadFlow::new(files, Vec::new(), settings, Tuner::new(2, 8));
            let mut roll_of = dice(seed.rotate_left(29) ^ 0x9E37_79B9);
            let mut created = 0usize;
            let mut answer = |_: &Subject, command: Command| -> Completion<Output> {
                let roll = roll_of(100);
                if roll < 4 {
                    return Completion::Lost;
                }
                Completion::Done(match command {
                    Command::Existing(_) if roll < 8 => Output::Existing(Err(status(500))),
                    Command::Existing(_) => Output::Existing(Ok(Existing::default())),
                    Command::Prepare { name, .. } if roll < 12 => {
                        let _ = name;
                        Output::Prepared(Ok(Err(SkipReason::EmptyFile)))
                    }
                    Command::Prepare { name, .. } => Output::Prepared(Ok(Ok(spec(&name, 10)))),
                    Command::Create(_) if roll < 10 => Output::Created(Err(status(503))),
                    Command::Create(body) => {
                        created += 1;
                        Output::Created(Ok(Box::new(session_for(&body, created, short_urls))))
                    }
                    Command::Send { .. } if roll < 10 => Output::Sent(Err(Failure::Put(status(500)))),
                    Command::Send { .. } if roll < 14 => Output::Sent(Err(Failure::Put(status(403)))),
                    Command::Send { .. } if roll < 17 => Output::Sent(Err(Failure::Put(status(400)))),
                    Command::Send { .. } if roll < 19 => Output::Sent(Err(Failure::Expired)),
                    Command::Send { .. } => Output::Sent(Ok(())),
                    Command::Look(_) => Output::Looked(Ok(BTreeMap::new())),
                })
            };
            let clean = simulate(&mut flow, &mut rng, cancel_at, &mut answer);
            prop_assert!(clean, "the upload stalled");
            let stopped = flow.cancelled || flow.fatal.is_some();
            let mut skipped = 0;
            for f in &flow.files {
                match &f.state {
                    FileState::Preparing => prop_assert!(false, "{} was never prepared", f.name()),
                    FileState::Unprepared | FileState::Pending => {
                        prop_assert!(stopped, "{} was left {:?} by a finished upload", f.name(), f.state)
                    }
                    FileState::Transferred => prop_assert!(
                        f.batch.is_some_and(|b| flow.batches[b].session.is_some()),
                        "{} was sent without a session", f.name()
                    ),
                    FileState::Failed(_) => {}
                    FileState::Skipped => skipped += 1,
                }
            }
            prop_assert_eq!(skipped, flow.skipped.len());
            prop_assert_eq!(skipped as u64, flow.skipped_count);
        }
    }
}
