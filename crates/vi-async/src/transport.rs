//! The async [`Transport`] on reqwest.
//!
//! [`ReqwestTransport`] moves bytes and nothing else: it adds no retries, sleeps,
//! credentials or redirects (core decides all of that), and any HTTP status is `Ok`.
//!
//! * TLS is rustls with the *ring* provider, passed explicitly (no process-global default
//!   provider is needed or installed) and the platform certificate verifier, so the async
//!   and blocking facades trust the same roots with the same crypto.
//! * File bodies ([`Body::File`]) are reopened on every call, read in large buffers and
//!   always sent with an exact `Content-Length` (signed-URL stores reject chunked uploads).
//! * Error messages name the method, host and path, never the query string, which carries
//!   the signature of a signed URL.

use std::error::Error as StdError;
use std::future::Future;
use std::io::{self, Read};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use rustls_platform_verifier::BuilderVerifierExt;
use tokio::io::AsyncWriteExt;
use vi_core::fsguard::SliceReader;
use vi_core::redact;
use vi_core::transport::{
    Body, BodyReadFailure, DownloadHead, DownloadTarget, FileSlice, MAX_API_BODY_BYTES, Meter,
    Request, Response, Transport, TransportError, TransportErrorKind, effective_target, frame_body,
    open_partial,
};

/// How much of a non-2xx download body is kept as [`DownloadHead::error_body`].
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Connection settings, shared with the other facade's transport.
pub use vi_core::config::HttpOptions;

/// A [`Transport`] on a reqwest client (HTTP/1.1, rustls with ring, platform verifier).
///
/// Cloning is cheap and shares the connection pool.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    /// How long bytes may stop moving, in either direction, before an exchange fails.
    idle_timeout: std::time::Duration,
}

impl ReqwestTransport {
    /// Builds a transport with its own connection pool.
    ///
    /// # Errors
    /// [`vi_core::Error::Config`] when the TLS configuration (platform certificate
    /// verifier) or the HTTP client cannot be set up.
    pub fn new(options: &HttpOptions) -> Result<Self, vi_core::Error> {
        let tls = tls_config().map_err(|e| vi_core::Error::Config {
            message: format!("could not set up TLS with the platform certificate verifier: {e}"),
        })?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            // No reqwest read timeout: its timer is not reset while a request body is being
            // sent, so a large upload on a slow link would fail though bytes keep moving.
            // `Watch` measures idleness in both directions instead.
            .pool_max_idle_per_host(options.pool_max_idle_per_host)
            .user_agent(options.user_agent.as_str())
            .build()
            .map_err(|e| vi_core::Error::Config {
                message: format!(
                    "could not build the HTTP client: {}",
                    error_chain(&e.without_url())
                ),
            })?;
        Ok(ReqwestTransport {
            client,
            idle_timeout: options.read_timeout,
        })
    }

    /// Turns a core request into a reqwest request; file bodies are opened here.
    async fn build(
        &self,
        request: Request,
        failure: &BodyReadFailure,
        watch: &Watch,
    ) -> Result<reqwest::Request, TransportError> {
        let (mut parts, body) = request.into_parts();
        let url = reqwest::Url::parse(&parts.uri.to_string()).map_err(|e| {
            TransportError::new(
                TransportErrorKind::Other,
                format!(
                    "{}: invalid URL: {e}",
                    redact::request(&parts.method, &parts.uri)
                ),
            )
        })?;
        frame_body(&mut parts.headers, &parts.method, &body);
        let body = match body {
            Body::Empty => None,
            Body::Bytes(bytes) => Some(reqwest::Body::from(bytes)),
            Body::File(slice) => {
                let stream = FileStream::open(&slice, failure.clone(), watch.clone())
                    .await
                    .map_err(|e| {
                        let context = redact::request(&parts.method, &parts.uri);
                        TransportError::new(e.kind, format!("{context}: {}", e.message))
                    })?;
                Some(reqwest::Body::wrap_stream(stream))
            }
        };
        let mut out = reqwest::Request::new(parts.method, url);
        *out.headers_mut() = parts.headers;
        *out.version_mut() = parts.version;
        *out.body_mut() = body;
        Ok(out)
    }

    /// Sends `request`, returning the response head with its body still unread, and the
    /// watch that keeps timing the exchange while the body is read.
    async fn execute(
        &self,
        request: Request,
    ) -> Result<(reqwest::Response, Watch), TransportError> {
        let context = redact::request(request.method(), request.uri());
        let failure = BodyReadFailure::default();
        let watch = Watch::new(self.idle_timeout);
        let request = self.build(request, &failure, &watch).await?;
        match watch.guard(self.client.execute(request)).await {
            Some(result) => result
                .map(|response| (response, watch.clone()))
                .map_err(|e| map_error(e, &failure, &context)),
            None => Err(watch.stalled(&context)),
        }
    }
}

#[async_trait::async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let context = redact::request(request.method(), request.uri());
        let (response, watch) = self.execute(request).await?;
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let body = read_capped(response, &context, &watch).await?;
        let mut out = http::Response::new(body);
        *out.status_mut() = status;
        *out.version_mut() = version;
        *out.headers_mut() = headers;
        Ok(out)
    }

    async fn download(
        &self,
        request: Request,
        target: DownloadTarget,
    ) -> Result<DownloadHead, TransportError> {
        let context = redact::request(request.method(), request.uri());
        let (mut response, watch) = self.execute(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            let error_body = read_prefix(&mut response, ERROR_BODY_LIMIT, &watch).await;
            return Ok(DownloadHead {
                status,
                headers,
                written: 0,
                error_body,
            });
        }
        let target = effective_target(status, &headers, target)?;
        let written = write_body(&mut response, &target, &context, &watch).await?;
        Ok(DownloadHead {
            status,
            headers,
            written,
            error_body: Bytes::new(),
        })
    }
}

/// Times one exchange by progress, not in total: it fails only when no bytes have moved, in
/// either direction, for the idle timeout. The request body stream touches it as each chunk
/// goes out, and every response chunk read touches it too.
#[derive(Clone, Debug)]
struct Watch {
    started: std::time::Instant,
    /// Milliseconds from `started` to the last movement.
    last: Arc<std::sync::atomic::AtomicU64>,
    limit: std::time::Duration,
}

impl Watch {
    fn new(limit: std::time::Duration) -> Self {
        Watch {
            started: std::time::Instant::now(),
            last: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            limit,
        }
    }

    /// Bytes moved now.
    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
    }

    /// A bandwidth limit holds the bytes back for `wait`: not a stall.
    fn hold(&self, wait: std::time::Duration) {
        let until = (self.started.elapsed() + wait).as_millis() as u64;
        self.last
            .fetch_max(until, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long nothing has moved.
    fn idle(&self) -> std::time::Duration {
        let last =
            std::time::Duration::from_millis(self.last.load(std::sync::atomic::Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// Runs `future` (touching the watch when it finishes), or `None` once nothing has
    /// moved for the limit.
    async fn guard<T>(&self, future: impl std::future::Future<Output = T>) -> Option<T> {
        use futures_util::future::{Either, select};
        let mut future = std::pin::pin!(future);
        loop {
            let left = self.limit.saturating_sub(self.idle());
            if left.is_zero() {
                return None;
            }
            match select(future.as_mut(), std::pin::pin!(tokio::time::sleep(left))).await {
                Either::Left((value, _)) => {
                    self.touch();
                    return Some(value);
                }
                // Something may have moved meanwhile: look again.
                Either::Right(_) => {}
            }
        }
    }

    /// The error for an exchange on which nothing moved for the limit.
    fn stalled(&self, context: &str) -> TransportError {
        TransportError::new(
            TransportErrorKind::Timeout,
            format!("{context}: no bytes moved for {:?}", self.limit),
        )
    }
}

/// rustls with an explicit ring provider and the platform verifier, HTTP/1.1 only.
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    // The API and the storage uploads speak HTTP/1.1 (docs/protocol.md §1.5).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// An error and its sources, joined with `": "`, skipping repeats.
fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = err.source();
    }
    message
}

/// Classifies a reqwest error, without its URL.
fn map_error(error: reqwest::Error, failure: &BodyReadFailure, context: &str) -> TransportError {
    if let Some(message) = failure.take() {
        return TransportError::new(
            TransportErrorKind::BodyRead,
            format!("{context}: {message}"),
        );
    }
    let error = error.without_url();
    let kind = if error.is_connect() {
        TransportErrorKind::Connect
    } else if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_body() || error.is_decode() {
        TransportErrorKind::Interrupted
    } else {
        classify_source(&error)
    };
    let message = format!("{context}: {}", error_chain(&error));
    TransportError::new(kind, message).with_source(error)
}

/// Looks through the source chain for hyper and I/O errors that say what happened.
fn classify_source(error: &(dyn StdError + 'static)) -> TransportErrorKind {
    let mut source = error.source();
    while let Some(err) = source {
        if let Some(hyper_error) = err.downcast_ref::<hyper::Error>() {
            if hyper_error.is_parse() || hyper_error.is_parse_status() {
                return TransportErrorKind::Protocol;
            }
            if hyper_error.is_incomplete_message()
                || hyper_error.is_closed()
                || hyper_error.is_canceled()
                || hyper_error.is_body_write_aborted()
            {
                return TransportErrorKind::Interrupted;
            }
        }
        if let Some(io_error) = err.downcast_ref::<io::Error>() {
            match io_error.kind() {
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => return TransportErrorKind::Interrupted,
                io::ErrorKind::TimedOut => return TransportErrorKind::Timeout,
                _ => {}
            }
        }
        source = err.source();
    }
    TransportErrorKind::Other
}

/// A file slice as a stream of large chunks, read through core's checking
/// [`SliceReader`] on the blocking pool (as `tokio::fs` reads files); it fails (and
/// records why) when the file cannot be read, ends before `len` bytes or changed since it
/// was scanned, so such a file never goes out whole.
struct FileStream {
    state: ReadState,
    /// How many bytes one read asks for.
    chunk: usize,
    path: Arc<Path>,
    failure: BodyReadFailure,
    /// Told each time the HTTP library takes the next chunk: the previous one has gone out.
    watch: Watch,
    /// Counts the chunks handed to the HTTP library.
    meter: Option<Meter>,
    /// A bandwidth limit's pause, waited out before the next chunk is read.
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Where the reader is: waiting for the next poll, or reading a chunk on the blocking
/// pool.
enum ReadState {
    Idle(Box<SliceReader>),
    Reading(tokio::task::JoinHandle<(Box<SliceReader>, io::Result<Bytes>)>),
    Done,
}

impl FileStream {
    async fn open(
        slice: &FileSlice,
        failure: BodyReadFailure,
        watch: Watch,
    ) -> Result<Self, TransportError> {
        let owned = slice.clone();
        let reader = tokio::task::spawn_blocking(move || SliceReader::open(&owned))
            .await
            .map_err(|e| {
                TransportError::new(
                    TransportErrorKind::BodyRead,
                    format!("{}: opening it did not finish: {e}", slice.path.display()),
                )
            })??;
        Ok(FileStream {
            state: ReadState::Idle(Box::new(reader)),
            chunk: slice.buffer_size(),
            path: Arc::from(slice.path.as_path()),
            failure,
            watch,
            meter: slice.meter.clone(),
            pause: None,
        })
    }

    fn fail(&mut self, error: io::Error) -> Poll<Option<io::Result<Bytes>>> {
        self.state = ReadState::Done;
        self.failure
            .record(format!("{}: {error}", self.path.display()));
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for FileStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(pause) = self.pause.as_mut() {
            if std::future::Future::poll(pause.as_mut(), cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        loop {
            match std::mem::replace(&mut self.state, ReadState::Done) {
                ReadState::Done => return Poll::Ready(None),
                ReadState::Idle(mut reader) => {
                    let chunk = self.chunk;
                    self.state = ReadState::Reading(tokio::task::spawn_blocking(move || {
                        let mut buf = vec![0u8; chunk];
                        let read = reader.read(&mut buf).map(|n| {
                            buf.truncate(n);
                            Bytes::from(buf)
                        });
                        (reader, read)
                    }));
                }
                ReadState::Reading(mut task) => match Pin::new(&mut task).poll(cx) {
                    Poll::Pending => {
                        self.state = ReadState::Reading(task);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok((_, Ok(bytes)))) if bytes.is_empty() => {
                        return Poll::Ready(None);
                    }
                    Poll::Ready(Ok((reader, Ok(bytes)))) => {
                        self.state = ReadState::Idle(reader);
                        self.watch.touch();
                        if let Some(meter) = self.meter.clone() {
                            meter.add(bytes.len() as u64);
                            if meter.stopped() {
                                return self.fail(cancelled());
                            }
                            // A bandwidth limit's wait comes before the next read, so
                            // this chunk goes out now and the average stays at the rate.
                            let wait = meter.pace(bytes.len() as u64);
                            if !wait.is_zero() {
                                self.watch.hold(wait);
                                self.pause = Some(Box::pin(tokio::time::sleep(wait)));
                            }
                        }
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                    Poll::Ready(Ok((_, Err(error)))) => return self.fail(error),
                    Poll::Ready(Err(error)) => {
                        return self.fail(io::Error::other(format!(
                            "reading the file did not finish: {error}"
                        )));
                    }
                },
            }
        }
    }
}

/// Reads a whole API body, refusing one longer than [`MAX_API_BODY_BYTES`] (decoded).
async fn read_capped(
    mut response: reqwest::Response,
    context: &str,
    watch: &Watch,
) -> Result<Bytes, TransportError> {
    let mut body = Vec::new();
    loop {
        let Some(next) = watch.guard(response.chunk()).await else {
            return Err(watch.stalled(context));
        };
        match next {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > MAX_API_BODY_BYTES {
                    return Err(TransportError::new(
                        TransportErrorKind::BodyTooLong,
                        format!("{context}: the response body is over {MAX_API_BODY_BYTES} bytes"),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Bytes::from(body)),
            Err(error) => return Err(map_error(error, &BodyReadFailure::default(), context)),
        }
    }
}

/// Reads at most `limit` bytes of a body; best effort, since the status is what matters.
async fn read_prefix(response: &mut reqwest::Response, limit: usize, watch: &Watch) -> Bytes {
    let mut prefix = Vec::new();
    while prefix.len() < limit {
        let Some(next) = watch.guard(response.chunk()).await else {
            break;
        };
        match next {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(limit - prefix.len());
                prefix.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Bytes::from(prefix)
}

/// A [`TransportErrorKind::BodyWrite`] error naming the file.
fn write_error(path: &Path, error: &io::Error) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyWrite,
        format!("{}: {error}", path.display()),
    )
    .with_source(io::Error::new(error.kind(), error.to_string()))
}

/// Opens the download target through [`open_partial`], on the blocking pool (opening,
/// cutting and seeking a file are blocking calls).
async fn open_target(target: &DownloadTarget) -> Result<tokio::fs::File, TransportError> {
    let target = target.clone();
    let file = tokio::task::spawn_blocking(move || open_partial(&target))
        .await
        .map_err(|e| {
            TransportError::new(
                TransportErrorKind::Other,
                format!("opening the partial file did not finish: {e}"),
            )
        })??;
    Ok(tokio::fs::File::from_std(file))
}

/// Waits out a bandwidth limit's pause on the timer, in short steps so a cancelled call
/// stops within a tenth of a second.
async fn pause(meter: &Meter, wait: std::time::Duration, watch: &Watch) {
    if wait.is_zero() {
        return;
    }
    watch.hold(wait);
    let end = tokio::time::Instant::now() + wait;
    while !meter.stopped() {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(left.min(std::time::Duration::from_millis(100))).await;
    }
}

/// Streams a 2xx body into the target; returns the bytes written.
///
/// Each chunk is handed to the file as it arrives, with no buffer of our own between (the
/// file's one write in flight aside): a process killed in the middle loses only that,
/// never a buffer's worth of bytes it had received.
async fn write_body(
    response: &mut reqwest::Response,
    target: &DownloadTarget,
    context: &str,
    watch: &Watch,
) -> Result<u64, TransportError> {
    let path = target.path.as_path();
    let mut file = open_target(target).await?;
    let mut written = 0u64;
    let outcome = loop {
        let Some(next) = watch.guard(response.chunk()).await else {
            // Keep what arrived: core checks sizes and may resume from here.
            break Err(watch.stalled(context));
        };
        match next {
            Ok(Some(chunk)) => {
                let room = target.room(written);
                let take = room.map_or(chunk.len(), |room| chunk.len().min(room as usize));
                if let Err(e) = file.write_all(&chunk[..take]).await {
                    return Err(write_error(path, &e));
                }
                written += take as u64;
                if let Some(meter) = &target.meter {
                    meter.add(take as u64);
                    pause(meter, meter.pace(take as u64), watch).await;
                    if meter.stopped() {
                        // Keep what arrived: the next run continues from here.
                        break Err(write_error(path, &cancelled()));
                    }
                }
                if take < chunk.len() {
                    // Past the declared size: stop reading, keep what fits.
                    break Err(target.too_long());
                }
            }
            Ok(None) => break Ok(written),
            // Keep what arrived: core checks sizes and may resume from here.
            Err(error) => break Err(map_error(error, &BodyReadFailure::default(), context)),
        }
    };
    // The last write in flight finishes before this returns. Given to the OS, not forced
    // to disk: see `vi_core::transport::Transport::download` for why no fsync is needed.
    let flushed = file.flush().await;
    let written = outcome?;
    flushed.map_err(|e| write_error(path, &e))?;
    Ok(written)
}

/// The error a body stream ends with when its call was cancelled mid-transfer.
fn cancelled() -> io::Error {
    io::Error::other("the transfer was cancelled")
}
