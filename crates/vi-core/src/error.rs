//! The one error type shared by every facade.
//!
//! Messages say what failed and what to do about it. They never contain the secret key or a
//! signed URL's query string.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::transport::{TransportError, TransportErrorKind};

/// A result with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before anything was sent.
    #[error("invalid {what}: {message}")]
    InvalidInput {
        /// Which input (e.g. `dataset id`, `page size`).
        what: &'static str,
        /// What is wrong with it and how to fix it.
        message: String,
    },

    /// Credentials or the endpoint could not be resolved.
    #[error("configuration error: {message}")]
    Config {
        /// What is missing or malformed, which sources were tried, and how to fix it.
        message: String,
    },

    /// No complete response arrived.
    #[error("{operation}: {source}")]
    Transport {
        /// The operation that was attempted (never a full URL).
        operation: String,
        /// The transport's description.
        #[source]
        source: TransportError,
    },

    /// The service answered with an error status.
    #[error(transparent)]
    Api(#[from] Box<ApiError>),

    /// A 2xx response could not be decoded into the expected shape.
    #[error(
        "{operation}: unexpected response from the service ({message}); the API and this SDK may disagree on the response shape"
    )]
    Decode {
        /// The operation whose response was undecodable.
        operation: String,
        /// What did not fit.
        message: String,
    },

    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Every allowed attempt failed; `last` is the final failure.
    #[error("gave up after {attempts} attempts over {elapsed:.1?}: {last}")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// How long was spent in all.
        elapsed: Duration,
        /// The last failure.
        #[source]
        last: Box<Error>,
    },

    /// The service reported that a long-running operation (a dataset deletion, an
    /// ingestion session) failed.
    #[error("{operation} failed: {message}")]
    Operation {
        /// The operation.
        operation: String,
        /// The service's reason.
        message: String,
    },

    /// Downloaded bytes did not match what the service declared for them; the partial
    /// file was discarded.
    #[error("{path}: {mismatch}")]
    Verification {
        /// The file that was being written.
        path: PathBuf,
        /// What did not match.
        mismatch: Mismatch,
    },

    /// A bug in the SDK, such as a worker that panicked. The message says where; please
    /// report it.
    #[error("internal error: {message}")]
    Internal {
        /// Where it happened.
        message: String,
    },

    /// A listing handed back a page token it had already handed back.
    #[error("pagination stopped: {message}")]
    Pagination {
        /// What went wrong.
        message: String,
    },

    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,

    /// A downloaded archive could not be unpacked safely; nothing of it was put in place.
    #[error("{archive}: {}{reason}", member.as_deref().map(|m| format!("entry {m}: ")).unwrap_or_default())]
    Archive {
        /// The archive file.
        archive: PathBuf,
        /// The entry concerned (escaped for printing), when one is.
        member: Option<String>,
        /// What is wrong and, where it helps, what to do.
        reason: String,
    },
}

/// What broadly went wrong, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad argument; nothing was sent.
    InvalidInput,
    /// Missing or malformed configuration.
    Config,
    /// No response (network).
    Transport,
    /// 400 and other rejected requests.
    Validation,
    /// 401.
    Authentication,
    /// 403.
    PermissionDenied,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 429.
    RateLimited,
    /// 5xx, 408.
    Server,
    /// Undecodable response.
    Decode,
    /// Local file problem.
    Io,
    /// A long-running operation failed on the service.
    OperationFailed,
    /// Pagination loop.
    Pagination,
    /// Cancelled by the caller.
    Cancelled,
    /// Downloaded bytes did not match the declared size or checksum.
    Verification,
    /// A bug in the SDK (a worker panicked).
    Internal,
    /// A downloaded archive was unsafe or corrupt.
    Archive,
    /// Anything else.
    Other,
}

/// How downloaded bytes differed from what the service declared.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mismatch {
    /// The body ended early.
    Short {
        /// Bytes the file holds.
        received: u64,
        /// Bytes it should hold.
        expected: u64,
    },
    /// The body went on past the declared size.
    Long {
        /// Bytes the file holds.
        received: u64,
        /// Bytes it should hold.
        expected: u64,
    },
    /// The CRC32C of the bytes is not the asset's.
    Checksum {
        /// The CRC32C of what arrived.
        actual: u32,
        /// The asset's CRC32C.
        expected: u32,
    },
    /// The storage refused to continue the partial file (416), which was discarded.
    ResumeRefused,
    /// A ranged read was answered with other bytes than those asked for.
    Range {
        /// The range asked for, `bytes=FIRST-LAST`.
        asked: String,
        /// What came back (status, `Content-Range`, length).
        got: String,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Short { received, expected } => {
                write!(f, "received {received} of {expected} bytes")
            }
            Mismatch::Long { received, expected } => {
                write!(f, "received {received} bytes, expected {expected}")
            }
            Mismatch::Checksum { actual, expected } => write!(
                f,
                "CRC32C {actual:08x} does not match the asset's {expected:08x}"
            ),
            Mismatch::ResumeRefused => f.write_str("the partial file could not be continued"),
            Mismatch::Range { asked, got } => {
                write!(f, "asked for {asked}, the storage answered {got}")
            }
        }
    }
}

impl Error {
    /// A shorthand for [`Error::InvalidInput`].
    pub fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            what,
            message: message.into(),
        }
    }

    /// A shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The broad category of this error; for [`Error::RetriesExhausted`], that of the last
    /// failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Config { .. } => ErrorKind::Config,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::Api(api) => api.kind(),
            Error::Decode { .. } => ErrorKind::Decode,
            Error::Io { .. } => ErrorKind::Io,
            Error::RetriesExhausted { last, .. } => last.kind(),
            Error::Operation { .. } => ErrorKind::OperationFailed,
            Error::Pagination { .. } => ErrorKind::Pagination,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Archive { .. } => ErrorKind::Archive,
            Error::Verification { .. } => ErrorKind::Verification,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// The HTTP status, when the service answered (looking through
    /// [`Error::RetriesExhausted`]).
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The API error, when the service answered with one (looking through
    /// [`Error::RetriesExhausted`]).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::RetriesExhausted { last, .. } => last.api(),
            _ => None,
        }
    }

    /// True when trying the same call again later might succeed (network trouble, 408, 429,
    /// 5xx). False for [`Error::RetriesExhausted`]: the SDK already retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source, .. } => !matches!(
                source.kind,
                TransportErrorKind::BodyRead | TransportErrorKind::BodyWrite
            ),
            Error::Api(api) => api.is_retryable(),
            // The file is fetched again from the start.
            Error::Verification { .. } => true,
            _ => false,
        }
    }

    /// The failure itself: for [`Error::RetriesExhausted`], its last failure; otherwise
    /// this error.
    pub fn last(&self) -> &Error {
        match self {
            Error::RetriesExhausted { last, .. } => last.last(),
            other => other,
        }
    }

    /// An [`Error::Internal`] for a worker of `operation` that panicked.
    pub fn panicked(operation: &str) -> Self {
        Error::Internal {
            message: format!("a worker of {operation} panicked"),
        }
    }
}

impl From<ApiError> for Error {
    fn from(value: ApiError) -> Self {
        Error::Api(Box::new(value))
    }
}

/// The service's error code, from the HTTP status (docs/protocol.md §9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorCode {
    /// 400 and other 4xx.
    ValidationFailed,
    /// 401.
    AuthenticationFailed,
    /// 403.
    PermissionDenied,
    /// 404.
    ResourceNotFound,
    /// 408 and 504.
    TimeoutError,
    /// 409.
    ResourceConflict,
    /// 413.
    FileTooLarge,
    /// 429.
    RateLimitExceeded,
    /// 500 and other 5xx.
    ServerError,
    /// 502.
    NetworkError,
    /// 503.
    ServiceUnavailable,
    /// Any other non-2xx status.
    UnknownError,
}

impl ApiErrorCode {
    /// The code for an HTTP status.
    pub fn from_status(status: http::StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::AuthenticationFailed,
            403 => Self::PermissionDenied,
            404 => Self::ResourceNotFound,
            408 | 504 => Self::TimeoutError,
            409 => Self::ResourceConflict,
            413 => Self::FileTooLarge,
            429 => Self::RateLimitExceeded,
            502 => Self::NetworkError,
            503 => Self::ServiceUnavailable,
            500..=599 => Self::ServerError,
            400..=499 => Self::ValidationFailed,
            _ => Self::UnknownError,
        }
    }

    /// The code as the service spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "ValidationFailed",
            Self::AuthenticationFailed => "AuthenticationFailed",
            Self::PermissionDenied => "PermissionDenied",
            Self::ResourceNotFound => "ResourceNotFound",
            Self::TimeoutError => "TimeoutError",
            Self::ResourceConflict => "ResourceConflict",
            Self::FileTooLarge => "FileTooLarge",
            Self::RateLimitExceeded => "RateLimitExceeded",
            Self::ServerError => "ServerError",
            Self::NetworkError => "NetworkError",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::UnknownError => "UnknownError",
        }
    }
}

impl fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answer from the service or from a signed storage URL.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The operation that was attempted (e.g. `get dataset`), never a URL.
    pub operation: String,
    /// The HTTP status.
    pub status: http::StatusCode,
    /// The code derived from the status.
    pub code: ApiErrorCode,
    /// The service's message (`message`, else `error`, else the raw body, cut short).
    pub message: String,
    /// The request id, from `x-cloud-trace-context` (text before the first `/`) or
    /// `x-request-id`.
    pub request_id: Option<String>,
    /// The `Retry-After` delay the service asked for.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// The broad category.
    pub fn kind(&self) -> ErrorKind {
        match self.status.as_u16() {
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            408 | 500..=599 => ErrorKind::Server,
            400..=499 => ErrorKind::Validation,
            _ => ErrorKind::Other,
        }
    }

    /// True for 408, 429 and 5xx but 501 and 505 (which say the server cannot do the
    /// request at all).
    pub fn is_retryable(&self) -> bool {
        matches!(self.status.as_u16(), 408 | 429 | 500 | 502..=504 | 506..=599)
    }

    /// True when the body was a web page (a proxy's, or a site's that is not the API).
    pub fn is_html(&self) -> bool {
        let start = self.message.trim_start();
        let lower = start.get(..15).unwrap_or(start).to_ascii_lowercase();
        lower.starts_with("<!doctype") || lower.starts_with("<html") || lower.starts_with("<?xml")
    }

    fn hint(&self) -> &'static str {
        match self.status.as_u16() {
            401 => {
                " (check the secret key and organization id: DATATURE_VI_SECRET_KEY / DATATURE_VI_ORGANIZATION_ID)"
            }
            403 => " (the key lacks permission for this resource, or a signed URL expired)",
            404 => " (check the id; list the resources to see which exist)",
            429 => " (rate limited; try again later)",
            _ => "",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_html() {
            // A web page is no Vi API answer: its text says nothing useful, the endpoint is
            // most likely wrong.
            return write!(
                f,
                "{}: HTTP {}: the answer is an HTML page, not a Vi API response; check that \
                 the endpoint is a Vi API (https://api.vi.datature.com/ by default)",
                self.operation,
                self.status.as_u16()
            );
        }
        write!(
            f,
            "{}: HTTP {} {}: {}{}",
            self.operation,
            self.status.as_u16(),
            self.code,
            self.message,
            self.hint()
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
