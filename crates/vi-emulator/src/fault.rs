//! Fault injection: make the next matching requests fail in a chosen way.

use std::time::Duration;

/// Which requests a [`Fault`] applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultTarget {
    /// Signed-URL uploads: single PUTs (S1) and part PUTs (S2).
    Upload,
    /// Signed-URL downloads (S3).
    Download,
    /// Every request to the API (`/workspaces/...` and unknown routes).
    Api,
    /// API requests narrowed by method and/or a substring of the request path.
    ApiMatching {
        /// HTTP method to match (case-insensitive); `None` matches any method.
        method: Option<String>,
        /// Substring the raw request path must contain, e.g. `assetIngestionSessions`;
        /// `None` matches any path.
        path_contains: Option<String>,
    },
}

/// What happens to a request hit by a [`Fault`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status and a JSON error body instead of handling the request
    /// (the request body is drained first). `retry_after` adds a `Retry-After` header
    /// in seconds.
    Status {
        /// HTTP status code to answer with.
        status: u16,
        /// Value of the `Retry-After` header, in seconds.
        retry_after: Option<u32>,
    },
    /// Handle the request normally, but announce the full `Content-Length` and close
    /// the connection after sending this many body bytes. Meant for downloads; it
    /// applies to API responses too and is a no-op for uploads.
    TruncateBody {
        /// Number of body bytes sent before the connection is dropped.
        after_bytes: u64,
    },
    /// Treat the next upload's CRC32C check as a mismatch (`ECORRUPT`), whatever the
    /// bytes. Applies to single uploads (S1) and to multipart completion (M4 via the
    /// part upload it hits); a no-op for other targets.
    CorruptUploadCheck,
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Send a download body slowly: `chunk` bytes, then a `pause`, and so on, so that a
    /// client can be interrupted (or killed) in the middle of a transfer. Downloads only.
    SlowBody {
        /// Bytes sent between pauses.
        chunk: u64,
        /// How long to wait after each chunk.
        pause: Duration,
    },
    /// Answer a ranged download with the bytes one further on than asked, and a
    /// `Content-Range` saying so (a storage that cannot be trusted with ranges).
    /// Downloads only.
    MisplacedRange,
    /// Answer the next annotation-file declaration (I4) with the last declared file's
    /// upload URL under a name that was not declared: one file gets no URL and the reply
    /// names a file the client does not have (the reply that makes the official client send
    /// files to the wrong URLs). API requests (I4) only.
    SwapUploadName,
    /// Handle the request normally, then answer its success with an empty JSON object
    /// instead of the resource (a service that confirms a change without echoing it).
    /// API requests only.
    BareReply,
}

/// A fault that fires for the next `times` requests matching `target`, before normal
/// handling. Faults are checked in the order they were injected; at most one fires
/// per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Requests the fault applies to.
    pub target: FaultTarget,
    /// What the fault does.
    pub kind: FaultKind,
    /// How many matching requests it affects.
    pub times: u32,
}

/// Coarse class of a request, used to match faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestClass {
    Upload,
    Download,
    Api,
}

impl FaultTarget {
    pub(crate) fn matches(&self, class: RequestClass, method: &str, path: &str) -> bool {
        match self {
            FaultTarget::Upload => class == RequestClass::Upload,
            FaultTarget::Download => class == RequestClass::Download,
            FaultTarget::Api => class == RequestClass::Api,
            FaultTarget::ApiMatching {
                method: want_method,
                path_contains,
            } => {
                class == RequestClass::Api
                    && want_method
                        .as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(method))
                    && path_contains.as_deref().is_none_or(|p| path.contains(p))
            }
        }
    }
}

/// Queue of pending faults.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: Vec<Fault>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.faults.push(fault);
        }
    }

    /// Consumes one use of the first fault matching this request.
    pub(crate) fn take(
        &mut self,
        class: RequestClass,
        method: &str,
        path: &str,
    ) -> Option<FaultKind> {
        let index = self
            .faults
            .iter()
            .position(|f| f.times > 0 && f.target.matches(class, method, path))?;
        let fault = &mut self.faults[index];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(kind)
    }
}
