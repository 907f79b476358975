//! Uploads: files, folders and in-memory bytes, through ingestion sessions.
//!
//! The flow (docs/protocol.md §6), written once for both facades:
//!
//! 1. **Discover** the inputs: files as given, folders recursively (listed extensions
//!    only, case-insensitive), sorted; a missing path is an error before anything is sent.
//! 2. **Name check**: the asset filename is the per-dataset key, so two different files
//!    with the same name (`a/img.jpg`, `b/img.jpg`) would overwrite each other. The first
//!    in sorted order is uploaded; later ones are *skipped* with
//!    [`SkipReason::DuplicateName`] naming the first. (The official client sends the first
//!    file's bytes under both names; we never do.)
//! 3. **Specs** (size, MIME from the extension, content sniffing, CRC32C) on blocking
//!    workers, in parallel, streaming each file once, while earlier files are already
//!    being sent: a session is opened as soon as a batch of prepared files is ready. Files that cannot be uploaded are
//!    skipped with their reason. With [`UploadOptions::skip_existing`], the dataset is
//!    listed once (alongside) and files it already holds (same name, size and CRC-32C) are
//!    skipped as [`SkipReason::AlreadyPresent`] (see [`existing`] for
//!    the comparison); with [`UploadOptions::dry_run`], the upload stops here and reports
//!    what it would send.
//! 4. **Sessions** of at most 5000 files, at most 5 open at once, one transfer-concurrency
//!    limit across all of them. A session is opened only when the transfers already
//!    queued are about to run out, and once the pace of the transfers and the lifetime of
//!    the upload URLs are known, it carries no more files than go through in half that
//!    lifetime: its URLs are used while they work, however slow the link or short the
//!    URLs.
//! 5. **Transfers**: each file is PUT to its own signed URL (matched by filename, which is
//!    unique after step 2), streamed from disk with an exact `Content-Length` and the
//!    headers the session gave, never with API credentials. Transient failures are
//!    retried with backoff, and a file whose retries ran out is tried again later; a URL
//!    past its expiry is never used, and a file whose URL expired or was refused (403, or
//!    GCS-style 400 after expiry) moves to a fresh session instead of trying the dead URL
//!    again (each file gets 3 such second chances). A failed file fails alone. Files on
//!    disk of 1 GiB and more ([`UploadOptions::multipart_threshold`]) go in parts instead
//!    (see [`multipart`]).
//! 6. **Waiting** (optional, with an optional timeout) polls each session with backoff
//!    until it finishes; per-file errors the service reports become failures.
//! 7. **Report**: every input file lands in exactly one of succeeded, failed, skipped or
//!    processing.
//!
//! Cancelling (a [`CancelToken`] in the options) stops new
//! transfers at once, aborts in-flight ones where the transport allows it (async), cancels
//! the sessions that still had files to send, and returns a report marked cancelled.

pub mod discover;
pub mod existing;
pub mod multipart;
mod parts;
pub mod report;
mod run;
pub mod spec;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::bandwidth::BandwidthLimit;
use crate::cancel::CancelToken;
use crate::models::{FailureMode, OnAssetOverwritten};
use crate::outcome::{OutcomeSink, Outcomes};
use crate::progress::{Progress, ProgressEvent, ProgressSink};
use crate::select::{Filter, Shard};
pub use crate::tuning::DEFAULT_MAX_CONCURRENCY;

pub use report::{
    FailedFile, PlannedFile, SkippedFile, SourceRef, UploadFailure, UploadReport, UploadedFile,
};
pub use spec::{ComparedBy, SkipReason};

/// How long an upload waits, by default, for the service to take the files in once they
/// are sent: 30 minutes, far longer than the service needs for a full session (minutes),
/// short enough that a stuck session does not hold a script forever. Files not finished by
/// then are reported as processing; they may still finish on the service.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The most files one ingestion session may declare (docs/protocol.md §6.4).
pub const MAX_BATCH_SIZE: usize = 5000;
/// The most sessions open at once (the service allows 5 per 5 minutes, docs/protocol.md §6.4).
pub const MAX_SESSIONS_IN_FLIGHT: usize = 5;

/// One thing to upload.
#[derive(Clone, Debug)]
pub enum UploadInput {
    /// A file (any extension) or a folder (scanned recursively for listed extensions).
    Path(PathBuf),
    /// Bytes held in memory, uploaded under `filename`.
    Bytes {
        /// The asset filename; its extension decides the MIME type when it is listed.
        filename: String,
        /// The content.
        data: Bytes,
    },
}

/// What to upload: any mix of files, folders and in-memory bytes.
///
/// `"photos/"`, `Path::new("a.jpg")`, a `Vec<PathBuf>` or a `Vec<(String, Vec<u8>)>` all
/// convert into it.
#[derive(Clone, Debug, Default)]
pub struct UploadSources {
    inputs: Vec<UploadInput>,
}

impl UploadSources {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file or folder.
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.inputs.push(UploadInput::Path(path.into()));
        self
    }

    /// Adds several files or folders.
    pub fn paths<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.inputs
            .extend(paths.into_iter().map(|p| UploadInput::Path(p.into())));
        self
    }

    /// Adds in-memory bytes under `filename`.
    pub fn bytes(mut self, filename: impl Into<String>, data: impl Into<Bytes>) -> Self {
        self.inputs.push(UploadInput::Bytes {
            filename: filename.into(),
            data: data.into(),
        });
        self
    }

    /// The inputs.
    pub fn inputs(&self) -> &[UploadInput] {
        &self.inputs
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

impl From<&str> for UploadSources {
    fn from(path: &str) -> Self {
        UploadSources::new().path(path)
    }
}

impl From<&Path> for UploadSources {
    fn from(path: &Path) -> Self {
        UploadSources::new().path(path)
    }
}

impl From<PathBuf> for UploadSources {
    fn from(path: PathBuf) -> Self {
        UploadSources::new().path(path)
    }
}

impl From<&PathBuf> for UploadSources {
    fn from(path: &PathBuf) -> Self {
        UploadSources::new().path(path.clone())
    }
}

impl From<Vec<PathBuf>> for UploadSources {
    fn from(paths: Vec<PathBuf>) -> Self {
        UploadSources::new().paths(paths)
    }
}

impl From<&[PathBuf]> for UploadSources {
    fn from(paths: &[PathBuf]) -> Self {
        UploadSources::new().paths(paths.iter().cloned())
    }
}

impl<N: Into<String>, B: Into<Bytes>> From<Vec<(N, B)>> for UploadSources {
    fn from(items: Vec<(N, B)>) -> Self {
        items
            .into_iter()
            .fold(UploadSources::new(), |s, (n, b)| s.bytes(n, b))
    }
}

/// What the service does when one file of a session fails.
///
/// The default is [`FailAfterOne`](Self::FailAfterOne), the service's own default and the
/// official Python client's, so that an upload moved from it behaves the same (docs/protocol.md §6.11).
/// Under it, once one file fails the service gives up on the files of that session it has
/// not taken in yet; the engine notices (it looks at the session after a refusal and every
/// two seconds while sending), stops sending them, and reports each as failed with the
/// service's reason, so nothing is sent for nothing and nothing goes unreported. Choose
/// [`FailAfterAll`](Self::FailAfterAll) when a folder may hold files the service refuses
/// and every good file should still go in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UploadFailureMode {
    /// Stop taking files in after the first failure (the service's default).
    #[default]
    FailAfterOne,
    /// Take every file in and report the failures at the end.
    FailAfterAll,
}

impl From<UploadFailureMode> for FailureMode {
    fn from(mode: UploadFailureMode) -> Self {
        match mode {
            UploadFailureMode::FailAfterOne => FailureMode::FailAfterOne,
            UploadFailureMode::FailAfterAll => FailureMode::FailAfterAll,
        }
    }
}

/// What happens to annotations and other resources linked to an asset that an upload
/// replaces (same filename).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OverwriteMode {
    /// Remove them (the service's default).
    #[default]
    RemoveLinkedResources,
    /// Keep them.
    KeepLinkedResources,
}

impl From<OverwriteMode> for OnAssetOverwritten {
    fn from(mode: OverwriteMode) -> Self {
        match mode {
            OverwriteMode::RemoveLinkedResources => OnAssetOverwritten::RemoveLinkedResource,
            // Sent plural, the spelling the service emits (docs/protocol.md §15 #1).
            OverwriteMode::KeepLinkedResources => OnAssetOverwritten::KeepLinkedResources,
        }
    }
}

/// The default number of concurrent transfers: `min(max(2 × cores, 8), 32)` (docs/protocol.md §6.4).
pub fn default_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (2 * cores).clamp(8, 32)
}

/// How to upload.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UploadOptions {
    /// What the service does when a file fails.
    pub failure_mode: UploadFailureMode,
    /// What happens to linked resources when a file replaces an asset.
    pub overwrite: OverwriteMode,
    /// Transfers at once, across all sessions, at the start (default
    /// [`default_concurrency`]).
    pub concurrency: usize,
    /// The most transfers at once: while more transfers move files faster (a link with
    /// high latency), the limit doubles from [`concurrency`](Self::concurrency) up to this
    /// (default [`DEFAULT_MAX_CONCURRENCY`]); see [`crate::tuning`]. Equal to
    /// `concurrency` for a fixed number, which [`UploadOptions::concurrency`] sets.
    pub max_concurrency: usize,
    /// Wait until the service has taken the files in (default true).
    pub wait: bool,
    /// Give up waiting after this long (default [`DEFAULT_WAIT_TIMEOUT`]; `None` waits as
    /// long as it takes); files not finished by then are reported as processing.
    pub wait_timeout: Option<Duration>,
    /// Files per ingestion session, 1–5000 (default 5000).
    pub batch_size: usize,
    /// Sessions open at once, 1–5 (default 5).
    pub max_sessions_in_flight: usize,
    /// The longest pause between two polls of a session while waiting (default 10 s).
    pub max_poll_interval: Duration,
    /// Receives progress events.
    pub progress: ProgressSink,
    /// Cancels the upload when fired.
    pub cancel: Option<CancelToken>,
    /// Receives every file's outcome as it becomes known; the report then keeps counts,
    /// failures and problems instead of a list of every file (see [`crate::outcome`]).
    pub outcomes: Outcomes,
    /// Files on disk of at least this many bytes are uploaded in parts (docs/protocol.md §6.8; default
    /// [`spec::MULTIPART_THRESHOLD`], 1 GiB). In-memory bytes never are, whatever their
    /// size. The CRC-32C cut-off stays at 1 GiB regardless.
    pub multipart_threshold: u64,
    /// List the dataset first and leave out the files it already holds: same asset
    /// filename, same size and same CRC-32C (by size alone when the service gives no
    /// CRC-32C; the report says so). Each is reported as [`SkipReason::AlreadyPresent`]
    /// with the asset's id. A file whose name is taken by other content is sent and
    /// replaces that asset ([`UploadOptions::overwrite`] decides what happens to its
    /// linked resources). Default false. This is how an interrupted upload is resumed:
    /// run it again with this on, and only what is missing is sent.
    pub skip_existing: bool,
    /// Plan the upload (discover, check, compare with the dataset when
    /// [`skip_existing`](Self::skip_existing) is on) and report what would be sent in
    /// [`UploadReport::planned`], without sending anything: no ingestion session is
    /// created. Default false.
    pub dry_run: bool,
    /// Only this shard's files, for one job split across machines (see
    /// [`crate::select`]); every worker runs the same upload with its own shard.
    pub shard: Option<Shard>,
    /// Only files the include and exclude patterns take, matched on the path relative to
    /// the folder given (see [`crate::select`]).
    pub filter: Filter,
    /// At most this many bytes per second, shared with every other transfer given the
    /// same limit.
    pub bandwidth_limit: Option<BandwidthLimit>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            failure_mode: UploadFailureMode::default(),
            overwrite: OverwriteMode::default(),
            concurrency: default_concurrency(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            wait: true,
            wait_timeout: Some(DEFAULT_WAIT_TIMEOUT),
            batch_size: MAX_BATCH_SIZE,
            max_sessions_in_flight: MAX_SESSIONS_IN_FLIGHT,
            max_poll_interval: Duration::from_secs(10),
            progress: ProgressSink::default(),
            cancel: None,
            outcomes: Outcomes::default(),
            multipart_threshold: spec::MULTIPART_THRESHOLD,
            skip_existing: false,
            dry_run: false,
            shard: None,
            filter: Filter::default(),
            bandwidth_limit: None,
        }
    }
}

impl UploadOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the failure mode.
    pub fn failure_mode(mut self, mode: UploadFailureMode) -> Self {
        self.failure_mode = mode;
        self
    }

    /// Sets what happens to linked resources of replaced assets.
    pub fn overwrite(mut self, mode: OverwriteMode) -> Self {
        self.overwrite = mode;
        self
    }

    /// Sets a fixed number of concurrent transfers (at least 1): the limit no longer
    /// adapts.
    pub fn concurrency(mut self, transfers: usize) -> Self {
        self.concurrency = transfers;
        self.max_concurrency = transfers;
        self
    }

    /// Lets the number of concurrent transfers grow up to `transfers` while that makes
    /// the upload faster (the start stays [`concurrency`](Self::concurrency)).
    pub fn max_concurrency(mut self, transfers: usize) -> Self {
        self.max_concurrency = transfers;
        self
    }

    /// Waits (or not) for the service to take the files in.
    pub fn wait(mut self, wait: bool) -> Self {
        self.wait = wait;
        self
    }

    /// Waits at most this long.
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = Some(timeout);
        self
    }

    /// Sets the files per session (1–5000).
    pub fn batch_size(mut self, files: usize) -> Self {
        self.batch_size = files;
        self
    }

    /// Sets the sessions open at once (1–5).
    pub fn max_sessions_in_flight(mut self, sessions: usize) -> Self {
        self.max_sessions_in_flight = sessions;
        self
    }

    /// Sends every progress event to the closure `progress`, possibly from several threads
    /// at once. A plain closure needs no type annotation:
    ///
    /// ```
    /// # use vi_core::upload::UploadOptions;
    /// let options = UploadOptions::new().progress(|e| eprintln!("{e:?}"));
    /// ```
    ///
    /// A type implementing [`Progress`] goes to
    /// [`progress_shared`](Self::progress_shared) instead.
    pub fn progress<F>(mut self, progress: F) -> Self
    where
        F: Fn(&ProgressEvent<'_>) + Send + Sync + 'static,
    {
        self.progress = ProgressSink::new(progress);
        self
    }

    /// Sends progress events to a shared receiver (a type implementing [`Progress`], such
    /// as a progress bar), which the caller may keep a handle to.
    pub fn progress_shared(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = ProgressSink::from(progress);
        self
    }

    /// Cancels the upload when `token` fires.
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Sends every file's outcome to `sink` as soon as it is known (any
    /// `Fn(&FileOutcome)`); the report then lists only the failures.
    pub fn outcomes(mut self, sink: impl OutcomeSink + 'static) -> Self {
        self.outcomes = Outcomes::new(sink);
        self
    }

    /// Uploads files on disk of at least `bytes` bytes in parts (default 1 GiB). In-memory
    /// bytes are always sent in one request.
    pub fn multipart_threshold(mut self, bytes: u64) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// Leaves out files the dataset already holds (same name, size and CRC-32C), so that
    /// running an interrupted upload again sends only what is missing; see
    /// [`UploadOptions::skip_existing`](Self#structfield.skip_existing).
    pub fn skip_existing(mut self, on: bool) -> Self {
        self.skip_existing = on;
        self
    }

    /// Reports what would be sent (and what skipped) without sending anything; see
    /// [`UploadOptions::dry_run`](Self#structfield.dry_run).
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Takes only the files of `shard` (see [`crate::select`]).
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Takes only the files `filter` takes (see [`crate::select`]).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }

    /// Moves at most `limit` bytes per second (shared by every transfer given a clone of
    /// it).
    pub fn bandwidth_limit(mut self, limit: BandwidthLimit) -> Self {
        self.bandwidth_limit = Some(limit);
        self
    }

    /// The shard and patterns, together.
    pub(crate) fn selection(&self) -> crate::select::Selection {
        crate::select::Selection {
            shard: self.shard,
            filter: self.filter.clone(),
        }
    }
}
