//! The I/O seam of how bytes move: [`Transport`] (async) and [`BlockingTransport`] (sync).
//! How work runs beside other work is the other seam, [`crate::runtime`].
//!
//! `vi-core` decides *what* to send and *when*; a facade only supplies these mechanisms.
//! The contract every transport keeps:
//!
//! * Any HTTP status is `Ok`. A [`TransportError`] means no complete response arrived.
//! * The transport adds no retries, sleeps, redirects on uploads, or credentials: core adds
//!   API credentials to API requests only, never to signed storage URLs.
//! * Request bodies are [`Body::Empty`], [`Body::Bytes`] or a [`Body::File`] slice that is
//!   opened again on every attempt, so every retry can replay it and nothing is buffered.
//!   File bodies are always sent with an exact `Content-Length`, never chunked.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

/// A running count of body bytes moved, shared between a transfer engine and the
/// transport: the transport adds what it has sent from a [`FileSlice`] or written into a
/// [`DownloadTarget`] as it goes, so the engine sees the rate of transfers that have not
/// finished yet (large files finish rarely; see [`crate::tuning`]).
///
/// A meter made for one file ([`Meter::for_file`]) also reports that file's bytes as
/// [`ProgressEvent::FileProgress`](crate::progress::ProgressEvent::FileProgress) and tells
/// the transport to stop ([`Meter::stopped`]) once the call is cancelled, so a transfer in
/// the middle of a large body ends within one buffer in both facades.
#[derive(Clone, Debug, Default)]
pub struct Meter(Arc<MeterInner>);

#[derive(Debug, Default)]
struct MeterInner {
    total: AtomicU64,
    /// The call's meter, which this file's bytes also count on.
    parent: Option<Meter>,
    file: Option<FileWatch>,
    /// The bandwidth limit the transport paces this meter's bytes by.
    limit: std::sync::OnceLock<crate::bandwidth::BandwidthLimit>,
}

/// What a file's own meter reports to, and when.
#[derive(Debug)]
struct FileWatch {
    name: Arc<str>,
    size: u64,
    progress: crate::progress::ProgressSink,
    cancel: crate::cancel::CancelToken,
    /// The bytes and instant of the last progress event.
    last: std::sync::Mutex<(u64, std::time::Instant)>,
}

/// A file's progress is reported at least every this many bytes...
const PROGRESS_BYTES: u64 = 1 << 20;
/// ...or this often, whichever comes first.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl Meter {
    /// A meter at zero.
    pub fn new() -> Self {
        Meter::default()
    }

    /// A meter for one file of `size` bytes named `name`: bytes counted on it also count
    /// on `parent` (the call's meter, when the tuner reads one), are reported to
    /// `progress`, and [`stopped`](Self::stopped) turns true once `cancel` fires.
    pub fn for_file(
        parent: Option<Meter>,
        name: impl Into<Arc<str>>,
        size: u64,
        progress: crate::progress::ProgressSink,
        cancel: crate::cancel::CancelToken,
    ) -> Self {
        Meter(Arc::new(MeterInner {
            total: AtomicU64::new(0),
            parent,
            file: Some(FileWatch {
                name: name.into(),
                size,
                progress,
                cancel,
                last: std::sync::Mutex::new((0, std::time::Instant::now())),
            }),
            limit: std::sync::OnceLock::new(),
        }))
    }

    /// This meter, pacing its bytes by `limit` (see [`pace`](Self::pace)); `None` leaves
    /// it as it is. A meter takes one limit: a second one is ignored.
    pub fn limited(self, limit: Option<crate::bandwidth::BandwidthLimit>) -> Self {
        if let Some(limit) = limit {
            let _ = self.0.limit.set(limit);
        }
        self
    }

    /// How long the transport waits after moving `bytes` (counted with
    /// [`add`](Self::add)) before it moves more: zero without a bandwidth limit. An async
    /// transport waits on its timer, a blocking one sleeps in short steps, watching
    /// [`stopped`](Self::stopped).
    pub fn pace(&self, bytes: u64) -> std::time::Duration {
        self.0
            .limit
            .get()
            .map_or(std::time::Duration::ZERO, |l| l.take(bytes))
    }

    /// Counts `bytes` more (a transport calls this as body bytes go out or land).
    pub fn add(&self, bytes: u64) {
        let total = self.0.total.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(parent) = &self.0.parent {
            parent.add(bytes);
        }
        if let Some(file) = &self.0.file {
            file.moved(total);
        }
    }

    /// Every byte counted so far.
    pub fn total(&self) -> u64 {
        self.0.total.load(Ordering::Relaxed)
    }

    /// True once the call this meter belongs to was cancelled: the transport stops
    /// moving the body and fails the exchange (as a local read or write failure, which is
    /// never retried).
    pub fn stopped(&self) -> bool {
        self.0
            .file
            .as_ref()
            .is_some_and(|f| f.cancel.is_cancelled())
    }
}

impl FileWatch {
    fn moved(&self, total: u64) {
        let now = std::time::Instant::now();
        let done = total.min(self.size);
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let due = done.saturating_sub(last.0) >= PROGRESS_BYTES
                || (done > last.0 && now.duration_since(last.1) >= PROGRESS_EVERY)
                || (done == self.size && last.0 < self.size);
            if !due {
                return;
            }
            *last = (done, now);
        }
        self.progress
            .emit(crate::progress::ProgressEvent::FileProgress {
                name: &self.name,
                bytes: done,
                size: self.size,
            });
    }
}

/// Two meters are equal when they are the same counter.
impl PartialEq for Meter {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Meter {}

/// A byte range of a file on disk, sent as a request body.
///
/// The transport opens the file again on every attempt and reads exactly `len` bytes from
/// `offset`, in large buffers, through a [`SliceReader`](crate::fsguard::SliceReader),
/// which also checks the file against `stamp` and the bytes against `crc32c`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileSlice {
    /// The file to read.
    pub path: PathBuf,
    /// Where the slice starts, in bytes from the start of the file.
    pub offset: u64,
    /// How many bytes to send; this is also the `Content-Length`.
    pub len: u64,
    /// Where the transport counts the bytes it has read from the file and sent, if
    /// anywhere.
    pub meter: Option<Meter>,
    /// What the file was when it was scanned, if it was: a file replaced or changed since
    /// fails instead of being sent.
    pub stamp: Option<crate::fsguard::FileStamp>,
    /// The CRC32C the slice's bytes must have (declared for the whole file), if known:
    /// bytes that differ fail the read before the body is complete.
    pub crc32c: Option<u32>,
}

impl FileSlice {
    /// `len` bytes of `path` from `offset`, unmetered, with nothing to check them against.
    pub fn new(path: impl Into<PathBuf>, offset: u64, len: u64) -> Self {
        FileSlice {
            path: path.into(),
            offset,
            len,
            meter: None,
            stamp: None,
            crc32c: None,
        }
    }

    /// The read buffer to stream this slice with ([`buffer_for`]).
    pub fn buffer_size(&self) -> usize {
        buffer_for(Some(self.len))
    }
}

/// The largest buffer a transport reads a file body or writes a download through: large
/// reads and writes keep big transfers fast (4 KiB reads run about twenty times slower),
/// and with up to 128 transfers at once (see [`crate::tuning`]) 256 KiB each keeps the
/// buffers of a call within 32 MiB.
pub const LARGE_BUFFER: usize = 256 * 1024;

/// The smallest such buffer.
const SMALL_BUFFER: usize = 8 * 1024;

/// The buffer for a body of `len` bytes (`None`: unknown): its own size when small,
/// between 8 KiB and [`LARGE_BUFFER`]. A 2 KiB file does not get a 512 KiB buffer: with
/// 100,000 small files those buffers, taken and freed by many worker threads, were most
/// of an upload's peak memory (glibc keeps freed memory in per-thread arenas).
pub fn buffer_for(len: Option<u64>) -> usize {
    match len {
        Some(len) => {
            usize::try_from(len).map_or(LARGE_BUFFER, |l| l.clamp(SMALL_BUFFER, LARGE_BUFFER))
        }
        None => LARGE_BUFFER,
    }
}

/// A request body.
#[derive(Clone, Debug, Default)]
pub enum Body {
    /// No body at all.
    #[default]
    Empty,
    /// Bytes held in memory (JSON documents, in-memory uploads).
    Bytes(Bytes),
    /// A slice of a file, streamed from disk.
    File(FileSlice),
}

impl Body {
    /// The exact number of bytes this body carries.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File(f) => f.len,
        }
    }

    /// True when the body carries no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A request handed to a transport.
pub type Request = http::Request<Body>;

/// Sets the length headers every transport must send for `body`: a file body always carries
/// its exact `Content-Length` (signed-URL stores reject chunked uploads, and without the
/// header both HTTP libraries would stream a reader chunked); a body-less `POST`, `PUT` or
/// `PATCH` announces `Content-Length: 0`, as the official client's HTTP library does; `GET`
/// and `DELETE` without a body carry neither. In-memory bodies are sized by the library.
pub fn frame_body(headers: &mut http::HeaderMap, method: &http::Method, body: &Body) {
    use http::header::{CONTENT_LENGTH, HeaderValue};
    match body {
        Body::File(slice) => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(slice.len));
        }
        Body::Empty => {
            let announces = matches!(
                *method,
                http::Method::POST | http::Method::PUT | http::Method::PATCH
            );
            if announces && !headers.contains_key(CONTENT_LENGTH) {
                headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            }
        }
        Body::Bytes(_) => {}
    }
}

/// A complete response: status, headers and the whole body (API responses are small).
pub type Response = http::Response<Bytes>;

/// The most bytes an API response body may hold (decoded): API answers are small, and a
/// server sending more is refused instead of filling memory.
pub const MAX_API_BODY_BYTES: u64 = 64 << 20;

/// Where a streamed download writes its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadTarget {
    /// The file to write (created if missing).
    pub path: PathBuf,
    /// Where a `206 Partial Content` body goes: the partial file is cut to this length and
    /// the body appended. Any other 2xx body is the whole resource and rewrites the file
    /// from the start (see [`effective_target`]).
    pub offset: u64,
    /// The most bytes the file may hold when done (the asset's declared size), counting
    /// decoded bytes (gzip included). A body that would go past it is cut there and the
    /// transfer fails with [`TransportErrorKind::BodyTooLong`]. `None`: no limit.
    pub max_len: Option<u64>,
    /// Where the transport counts the body bytes it has written, if anywhere.
    pub meter: Option<Meter>,
}

impl DownloadTarget {
    /// The write buffer for this download ([`buffer_for`] the room left).
    pub fn buffer_size(&self) -> usize {
        buffer_for(self.room(0))
    }

    /// How many more bytes may be written after `written` body bytes (`None`: any).
    pub fn room(&self, written: u64) -> Option<u64> {
        self.max_len
            .map(|max| max.saturating_sub(self.offset).saturating_sub(written))
    }

    /// The error for a body that went past [`max_len`](Self::max_len).
    pub fn too_long(&self) -> TransportError {
        TransportError::new(
            TransportErrorKind::BodyTooLong,
            format!(
                "{}: the server sent more than the {} bytes declared; the rest was not read",
                self.path.display(),
                self.max_len.unwrap_or_default()
            ),
        )
    }
}

/// The target a transport actually writes for a response: the requested offset for a
/// `206 Partial Content` whose `Content-Range` starts there, offset 0 (truncate) for any
/// other success, so a server that ignores a `Range` header can never leave a file with
/// the body appended at the wrong place. A `206` that starts at byte 0 rewrites the file
/// too.
///
/// # Errors
/// [`TransportErrorKind::Protocol`] for a `206` whose `Content-Range` is missing, is not a
/// byte range, or starts elsewhere than asked: its bytes have no safe place in the file.
pub fn effective_target(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    target: DownloadTarget,
) -> Result<DownloadTarget, TransportError> {
    if status != http::StatusCode::PARTIAL_CONTENT {
        return Ok(DownloadTarget {
            offset: 0,
            ..target
        });
    }
    let range = headers
        .get(http::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok());
    match range.and_then(content_range_start) {
        Some(start) if start == target.offset => Ok(target),
        Some(0) => Ok(DownloadTarget {
            offset: 0,
            ..target
        }),
        found => Err(TransportError::new(
            TransportErrorKind::Protocol,
            match found {
                Some(start) => format!(
                    "the storage answered a range request from byte {} with bytes from {start}",
                    target.offset
                ),
                None => format!(
                    "the storage answered 206 Partial Content without a usable Content-Range ({})",
                    range.map_or_else(|| "none".into(), |r| crate::redact::printable(r, false))
                ),
            },
        )),
    }
}

/// The first byte position of a `Content-Range` value of the form `bytes FIRST-LAST/SIZE`
/// (RFC 9110 §14.4; `SIZE` may be `*`), when it is a well-formed satisfied byte range
/// (`FIRST ≤ LAST`, `LAST < SIZE`). `None` for anything else, `bytes */SIZE` included.
pub fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes")?;
    let rest = rest.strip_prefix(' ')?.trim_start();
    let (span, size) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let digits = |t: &str| {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u64>().ok())
            .flatten()
    };
    let (first, last) = (digits(first)?, digits(last)?);
    if first > last {
        return None;
    }
    match size {
        "*" => Some(first),
        size => (last < digits(size)?).then_some(first),
    }
}

/// A slot where a transport's file-body reader records why reading the local file failed.
/// HTTP libraries report such a failure only as "the body failed"; with the slot, the
/// transport can report it as [`TransportErrorKind::BodyRead`] with the real reason.
#[derive(Clone, Debug, Default)]
pub struct BodyReadFailure(Arc<std::sync::Mutex<Option<String>>>);

impl BodyReadFailure {
    /// Records the first failure.
    pub fn record(&self, message: String) {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(message);
    }

    /// Takes the recorded failure, if any.
    pub fn take(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Opens the partial file a download writes, the same way in both transports (see
/// [`crate::fsguard`]): never through a symbolic link, without blocking on a FIFO or
/// device, and only when it is a regular file with no other hard link, so a download can
/// neither hang on, nor write, nor truncate a file outside its folder. It is created for
/// `offset` 0, else cut to `offset` and positioned there (the file must already hold
/// `offset` bytes); nothing is cut before those checks.
///
/// # Errors
/// [`TransportErrorKind::BodyWrite`] naming the path: a link, a FIFO, a device, a file with
/// other links, a file shorter than `offset`, or any I/O failure.
pub fn open_partial(target: &DownloadTarget) -> Result<std::fs::File, TransportError> {
    use std::io::{Seek, SeekFrom};
    let path = target.path.as_path();
    let failed = |error: std::io::Error| {
        let message = if is_link_refusal(&error) || is_link(path) {
            format!(
                "{} is a symbolic link; refusing to write a download through it (remove it \
                 and run again)",
                path.display()
            )
        } else if crate::fsguard::is_refusal(&error) {
            format!(
                "{}: {error}; refusing to write a download into it (remove it and run again)",
                path.display()
            )
        } else {
            format!("{}: {error}", path.display())
        };
        TransportError::new(TransportErrorKind::BodyWrite, message)
    };
    let mut file = crate::fsguard::open_own(path, target.offset == 0, false).map_err(failed)?;
    // Cut only once opened and checked: this never cuts another file.
    let len = file.metadata().map_err(failed)?.len();
    if len < target.offset {
        return Err(TransportError::new(
            TransportErrorKind::BodyWrite,
            format!(
                "{}: the partial file holds {len} bytes, fewer than the resume offset {}",
                path.display(),
                target.offset
            ),
        ));
    }
    if len > target.offset {
        file.set_len(target.offset).map_err(failed)?;
    }
    file.seek(SeekFrom::Start(target.offset)).map_err(failed)?;
    Ok(file)
}

/// True when `open` failed because the final component is a link (`ELOOP` with
/// `O_NOFOLLOW`).
fn is_link_refusal(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        error.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

pub(crate) fn is_link(path: &std::path::Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// What a streamed download got back.
#[derive(Clone, Debug)]
pub struct DownloadHead {
    /// The HTTP status.
    pub status: http::StatusCode,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// Bytes written to the target (only for a 2xx status; otherwise zero).
    pub written: u64,
    /// For a non-2xx status, the start of the body (at most 64 KiB), which is not written to
    /// the target.
    pub error_body: Bytes,
}

/// Why a transport could not produce a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established (DNS, refused, TLS handshake, connect
    /// timeout). Nothing reached the server, so any request may be retried.
    Connect,
    /// The exchange took too long after the connection was made.
    Timeout,
    /// The connection broke in the middle of the exchange (reset, closed early, truncated
    /// body).
    Interrupted,
    /// A local request body could not be read (the file vanished or shrank).
    BodyRead,
    /// A local file could not be written (downloads).
    BodyWrite,
    /// The peer broke the HTTP protocol.
    Protocol,
    /// The response body was longer than allowed (an API body over
    /// [`MAX_API_BODY_BYTES`], or a download past its declared size); it was not read to
    /// the end.
    BodyTooLong,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// True when the request certainly never reached the server, so even an unsafe request
    /// can be sent again.
    pub fn nothing_sent(self) -> bool {
        matches!(self, TransportErrorKind::Connect)
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connection failed",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Interrupted => "connection interrupted",
            TransportErrorKind::BodyRead => "could not read the request body",
            TransportErrorKind::BodyWrite => "could not write the response body",
            TransportErrorKind::Protocol => "HTTP protocol error",
            TransportErrorKind::BodyTooLong => "response body too long",
            TransportErrorKind::Other => "transport error",
        })
    }
}

/// No (complete) response arrived. The message never contains a URL's query string.
///
/// [`source`](std::error::Error::source) gives the underlying error when there is one (the
/// `reqwest::Error` without its URL, or the `std::io::Error`), for callers that look into
/// the cause.
#[derive(Clone, Debug)]
pub struct TransportError {
    /// What went wrong.
    pub kind: TransportErrorKind,
    /// A human-readable description, free of secrets and signed query strings.
    pub message: String,
    /// The error behind it; shared so the error stays `Clone`.
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TransportError {
    /// A new transport error.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, caused by `source` (which must not print a signed URL).
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Moves bytes asynchronously. Implemented by `vi-async` on reqwest.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends a request and reads the whole response body.
    ///
    /// # Errors
    /// A [`TransportError`] when no complete response arrived; any HTTP status is `Ok`.
    async fn send(&self, request: Request) -> Result<Response, TransportError>;

    /// Sends a request and streams a 2xx response body into `target`, flushed to the
    /// operating system when this returns.
    ///
    /// The file is not forced to disk (no `fsync`): a killed process loses nothing the OS
    /// has, and after a power loss a file that did reach its final name with bytes missing
    /// is caught by the next run, which checks every existing file's size and CRC32C
    /// before skipping it. Forcing each file to disk cost more than the transfer itself
    /// for small files (measured: 300 `fdatasync` calls, 0.15–0.55 s, for a 0.5 s download).
    ///
    /// # Errors
    /// A [`TransportError`] when no complete response arrived or the file could not be
    /// written; any HTTP status is `Ok`.
    async fn download(
        &self,
        request: Request,
        target: DownloadTarget,
    ) -> Result<DownloadHead, TransportError>;
}

/// Moves bytes synchronously. Implemented by `vi-blocking` on ureq; same contract as
/// [`Transport`].
pub trait BlockingTransport: Send + Sync + 'static {
    /// Sends a request and reads the whole response body.
    ///
    /// # Errors
    /// As [`Transport::send`].
    fn send(&self, request: Request) -> Result<Response, TransportError>;

    /// Sends a request and streams a 2xx response body into `target`.
    ///
    /// # Errors
    /// As [`Transport::download`].
    fn download(
        &self,
        request: Request,
        target: DownloadTarget,
    ) -> Result<DownloadHead, TransportError>;
}

/// Makes a [`BlockingTransport`] usable where core expects a [`Transport`]: each future
/// does its blocking work on its first poll and is then ready.
///
/// This is only correct on a [`Runtime`](crate::runtime::Runtime) whose tasks own their OS thread (the
/// `vi-blocking` thread runtime); core gets its parallelism from the runtime, not from
/// polling several transport futures at once.
#[derive(Clone, Debug)]
pub struct Blocking<T>(pub T);

#[async_trait::async_trait]
impl<T: BlockingTransport> Transport for Blocking<T> {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        self.0.send(request)
    }

    async fn download(
        &self,
        request: Request,
        target: DownloadTarget,
    ) -> Result<DownloadHead, TransportError> {
        self.0.download(request, target)
    }
}
