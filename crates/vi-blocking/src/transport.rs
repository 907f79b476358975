//! The blocking [`BlockingTransport`] on ureq.
//!
//! [`UreqTransport`] moves bytes and nothing else: it adds no retries, sleeps,
//! credentials or redirects (core decides all of that), and any HTTP status is `Ok`
//! (ureq's `http_status_as_error` is off, so API error bodies are kept).
//!
//! * TLS is rustls with the *ring* provider and the platform certificate verifier, the same
//!   crypto and trust store as the async facade. No tokio, hyper or reqwest is involved.
//! * All of ureq's timeouts are off by default; connect and per-read/per-write timeouts are
//!   set from [`HttpOptions`].
//! * File bodies ([`Body::File`]) are reopened on every call, read in large buffers and
//!   always sent with an exact `Content-Length` (signed-URL stores reject chunked uploads).
//! * Error messages name the method, host and path, never the query string, which carries
//!   the signature of a signed URL.

use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use bytes::Bytes;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
use vi_core::fsguard::SliceReader;
use vi_core::redact;
use vi_core::transport::{
    BlockingTransport, Body, BodyReadFailure, DownloadHead, DownloadTarget, FileSlice,
    MAX_API_BODY_BYTES, Meter, Request, Response, TransportError, TransportErrorKind,
    effective_target, frame_body, open_partial,
};

/// The most bytes of a file body handed to ureq per read (see `FileReader::read`).
const WRITE_STEP: usize = 64 * 1024;

/// How much is read from the socket per step of a download.
const DOWNLOAD_READ_CHUNK: usize = 64 * 1024;

/// How much of a non-2xx download body is kept as [`DownloadHead::error_body`].
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// Each connection's input buffer, which also bounds a response head (ureq's default for
/// both is 128 KiB and 64 KiB).
const INPUT_BUFFER: usize = 64 * 1024;

/// Each connection's output buffer: a request head and body chunks (ureq's default is
/// 128 KiB).
const OUTPUT_BUFFER: usize = 32 * 1024;

/// Connection settings, shared with the other facade's transport.
pub use vi_core::config::HttpOptions;

/// A [`BlockingTransport`] on a ureq agent (HTTP/1.1, rustls with ring, platform verifier).
///
/// Cloning is cheap and shares the connection pool.
#[derive(Clone, Debug)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// Builds a transport with its own connection pool.
    ///
    /// # Errors
    /// None today: ureq validates its TLS setup on the first connection, whose failure is
    /// reported as a [`TransportErrorKind::Connect`] error. The `Result` keeps the signature
    /// identical to the async facade's constructor.
    pub fn new(options: &HttpOptions) -> Result<Self, vi_core::Error> {
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::PlatformVerifier)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(options.user_agent.as_str())
            .tls_config(tls)
            // No resolve timeout: with one, ureq starts a thread for every host lookup
            // (measured: one per downloaded file). The system resolver's own timeouts
            // bound a lookup, and the connect timeout bounds the connection.
            .timeout_connect(Some(options.connect_timeout))
            .timeout_per_read(Some(options.read_timeout))
            .timeout_per_write(Some(options.read_timeout))
            // ureq allocates, and zero-fills, both buffers for every connection: 256 KiB
            // each at its defaults, 32 MiB at 128 transfers at once. A response head must
            // fit in the input buffer (64 KiB, ureq's own limit for heads); bodies stream
            // through in chunks of the buffers' size, which 64 and 32 KiB keep large.
            .input_buffer_size(INPUT_BUFFER)
            .max_response_header_size(INPUT_BUFFER)
            .output_buffer_size(OUTPUT_BUFFER)
            // Across all hosts: the per-host number for the API's host and the storage's.
            .max_idle_connections(2 * options.pool_max_idle_per_host)
            .max_idle_connections_per_host(options.pool_max_idle_per_host)
            .build();
        Ok(UreqTransport {
            agent: config.new_agent(),
        })
    }

    /// Sends `request`, returning the response with its body still unread.
    fn run(
        &self,
        request: Request,
        context: &str,
    ) -> Result<http::Response<ureq::Body>, TransportError> {
        let (mut parts, body) = request.into_parts();
        frame_body(&mut parts.headers, &parts.method, &body);
        let result = match body {
            Body::Empty => self.agent.run(http::Request::from_parts(parts, ())),
            Body::Bytes(bytes) => self.agent.run(http::Request::from_parts(parts, &bytes[..])),
            Body::File(slice) => {
                let reader = FileReader::open(&slice).map_err(|e| {
                    TransportError::new(e.kind, format!("{context}: {}", e.message))
                })?;
                let failure = reader.failure.clone();
                let body = ureq::SendBody::from_owned_reader(reader);
                let result = self.agent.run(http::Request::from_parts(parts, body));
                if let Some(message) = failure.take() {
                    return Err(TransportError::new(
                        TransportErrorKind::BodyRead,
                        format!("{context}: {message}"),
                    ));
                }
                result
            }
        };
        result.map_err(|e| map_error(&e, context))
    }
}

impl BlockingTransport for UreqTransport {
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        let context = redact::request(request.method(), request.uri());
        let response = self.run(request, &context)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(MAX_API_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => TransportError::new(
                    TransportErrorKind::BodyTooLong,
                    format!("{context}: the response body is over {MAX_API_BODY_BYTES} bytes"),
                ),
                other => map_error(&other, &context),
            })?;
        Ok(fresh_response(&parts, Bytes::from(bytes)))
    }

    fn download(
        &self,
        request: Request,
        target: DownloadTarget,
    ) -> Result<DownloadHead, TransportError> {
        let context = redact::request(request.method(), request.uri());
        let response = self.run(request, &context)?;
        let (parts, body) = response.into_parts();
        let head = fresh_response(&parts, ());
        let status = head.status();
        let headers = head.headers().clone();
        if !status.is_success() {
            // Best effort: the status is what matters, the body only explains it.
            let mut prefix = Vec::new();
            let _ = body
                .into_reader()
                .take(ERROR_BODY_LIMIT)
                .read_to_end(&mut prefix);
            return Ok(DownloadHead {
                status,
                headers,
                written: 0,
                error_body: Bytes::from(prefix),
            });
        }
        let target = effective_target(status, &headers, target)?;
        let written = write_body(body, &target, &context)?;
        Ok(DownloadHead {
            status,
            headers,
            written,
            error_body: Bytes::new(),
        })
    }
}

/// A response with only status, version and headers copied: ureq's extensions (which hold
/// the full request URI) are left behind.
fn fresh_response<B>(parts: &http::response::Parts, body: B) -> http::Response<B> {
    let mut out = http::Response::new(body);
    *out.status_mut() = parts.status;
    *out.version_mut() = parts.version;
    *out.headers_mut() = parts.headers.clone();
    out
}

/// Classifies a ureq error. Variants whose text could hold a URL get a fixed message.
fn map_error(error: &ureq::Error, context: &str) -> TransportError {
    use TransportErrorKind as K;
    let (kind, message) = match error {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            (K::Connect, error.to_string())
        }
        ureq::Error::Timeout(_) => (K::Timeout, error.to_string()),
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::ConnectProxyFailed(_)
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_)
        | ureq::Error::TlsRequired => (K::Connect, error.to_string()),
        ureq::Error::Io(io_error) => match tls_kind(io_error) {
            Some(kind) => (
                kind,
                format!("TLS: {}", error.to_string().trim_start_matches("io: ")),
            ),
            None => (io_kind(io_error), error.to_string()),
        },
        ureq::Error::Decompress(_, io_error) => match io_kind(io_error) {
            K::Other => (K::Protocol, error.to_string()),
            kind => (kind, error.to_string()),
        },
        ureq::Error::Protocol(_)
        | ureq::Error::LargeResponseHeader(..)
        | ureq::Error::BodyExceedsLimit(_) => (K::Protocol, error.to_string()),
        ureq::Error::BadUri(_) => (K::Other, "invalid URL".to_owned()),
        ureq::Error::RequireHttpsOnly(_) => (K::Other, "HTTPS is required".to_owned()),
        _ => (K::Other, error.to_string()),
    };
    let mapped = TransportError::new(kind, format!("{context}: {message}"));
    // Only the I/O error goes along as the cause: some of ureq's own errors print the URL.
    match error {
        ureq::Error::Io(io_error) => mapped.with_source(copy_io(io_error)),
        _ => mapped,
    }
}

/// An `io::Error` of the same kind and text (`io::Error` is not `Clone`).
fn copy_io(error: &io::Error) -> io::Error {
    io::Error::new(error.kind(), error.to_string())
}

/// Classifies a rustls error carried inside an I/O error.
///
/// ureq completes the TLS handshake while connecting, and the handshake is where rustls
/// errors arise in practice (untrusted certificate, a plain-HTTP port, an incompatible
/// peer), so those are [`TransportErrorKind::Connect`], as reqwest reports them. Errors
/// that can only follow the handshake (decryption, record-layer misbehaviour) are
/// [`TransportErrorKind::Protocol`], never `Connect`: the request may have been sent.
fn tls_kind(error: &io::Error) -> Option<TransportErrorKind> {
    let tls_error = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(match tls_error {
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InvalidCertificate(_)
        | rustls::Error::InvalidCertRevocationList(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType
        | rustls::Error::PeerIncompatible(_)
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::InvalidEncryptedClientHello(_)
        | rustls::Error::NoApplicationProtocol
        | rustls::Error::AlertReceived(_)
        | rustls::Error::General(_) => TransportErrorKind::Connect,
        _ => TransportErrorKind::Protocol,
    })
}

/// Classifies a socket-level I/O error.
fn io_kind(error: &io::Error) -> TransportErrorKind {
    match error.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkDown => TransportErrorKind::Connect,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportErrorKind::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => TransportErrorKind::Interrupted,
        _ => TransportErrorKind::Other,
    }
}

/// Classifies an error from reading a response body: ureq hands its own errors through
/// `io::Error`.
fn map_read_error(error: &io::Error, context: &str) -> TransportError {
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<ureq::Error>())
    {
        Some(inner) => map_error(inner, context),
        None => {
            let kind = tls_kind(error).unwrap_or_else(|| io_kind(error));
            TransportError::new(kind, format!("{context}: {error}")).with_source(copy_io(error))
        }
    }
}

/// A file slice as a reader with a large buffer, through core's checking
/// [`SliceReader`]: it fails (and records why) when the file cannot be read, ends before
/// `len` bytes or changed since it was scanned, so such a file never goes out whole.
struct FileReader {
    inner: BufReader<SliceReader>,
    /// Counts the bytes handed to ureq.
    meter: Option<Meter>,
    failure: BodyReadFailure,
}

impl FileReader {
    fn open(slice: &FileSlice) -> Result<Self, TransportError> {
        Ok(FileReader {
            inner: BufReader::with_capacity(slice.buffer_size(), SliceReader::open(slice)?),
            meter: slice.meter.clone(),
            failure: BodyReadFailure::default(),
        })
    }

    fn fail(&self, error: io::Error) -> io::Error {
        self.failure.record(format!(
            "{}: {error}",
            self.inner.get_ref().path().display()
        ));
        error
    }
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // At most one step at a time: ureq writes what one read returns, and its write
        // timeout applies to each write, so small steps make it an idle timeout (bytes
        // stopped moving) rather than a limit on how long a large buffer takes to drain
        // through a slow uplink.
        let step = buf.len().min(WRITE_STEP);
        match self.inner.read(&mut buf[..step]) {
            Ok(n) => {
                if let Some(meter) = &self.meter {
                    meter.add(n as u64);
                    pause(meter, meter.pace(n as u64));
                    if meter.stopped() {
                        return Err(self.fail(cancelled()));
                    }
                }
                Ok(n)
            }
            Err(error) => Err(self.fail(error)),
        }
    }
}

/// Waits out a bandwidth limit's pause on this thread, in short steps so a cancelled
/// call stops within a tenth of a second.
fn pause(meter: &Meter, wait: std::time::Duration) {
    let end = std::time::Instant::now() + wait;
    while !meter.stopped() {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(PAUSE_STEP));
    }
}

/// The longest sleep between two looks at cancellation during a paced wait.
const PAUSE_STEP: std::time::Duration = std::time::Duration::from_millis(100);

/// A [`TransportErrorKind::BodyWrite`] error naming the file.
fn write_error(path: &Path, error: &io::Error) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyWrite,
        format!("{}: {error}", path.display()),
    )
    .with_source(copy_io(error))
}

/// Streams a 2xx body into the target; returns the bytes written.
///
/// A hand-written copy loop rather than `io::copy`, so a failed socket read (a transport
/// error) is told apart from a failed file write. Each read from the socket is written to
/// the file at once, with no buffer between: a process killed in the middle loses only
/// the bytes of the read in hand, never a buffer's worth of bytes it had received.
fn write_body(
    body: ureq::Body,
    target: &DownloadTarget,
    context: &str,
) -> Result<u64, TransportError> {
    let path = target.path.as_path();
    let mut file = open_partial(target)?;
    let mut reader = body.into_reader();
    let mut buffer = vec![0u8; DOWNLOAD_READ_CHUNK.min(target.buffer_size())];
    let mut written = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            // What arrived is in the file: core checks sizes and may resume from here.
            Err(error) => return Err(map_read_error(&error, context)),
        };
        let take = target.room(written).map_or(n, |room| n.min(room as usize));
        file.write_all(&buffer[..take])
            .map_err(|e| write_error(path, &e))?;
        written += take as u64;
        if let Some(meter) = &target.meter {
            meter.add(take as u64);
            pause(meter, meter.pace(take as u64));
            if meter.stopped() {
                // What arrived is in the file: the next run continues from here.
                return Err(write_error(path, &cancelled()));
            }
        }
        if take < n {
            // Past the declared size: stop reading, keep what fits.
            return Err(target.too_long());
        }
    }
    // Given to the OS, not forced to disk: see `vi_core::transport::Transport::download`
    // for why no fsync is needed.
    Ok(written)
}

/// The error a body stream ends with when its call was cancelled mid-transfer.
fn cancelled() -> io::Error {
    io::Error::other("the transfer was cancelled")
}
