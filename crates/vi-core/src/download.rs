//! Fetching signed storage URLs to files.
//!
//! A body always streams to `<name>.part` next to the destination and is renamed into
//! place only once complete, so the final name never holds a partial file. Signed URLs are
//! credentials: no API headers are sent with them, and they never appear in errors or logs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::client::{Core, api_error, finish_error};
use crate::error::{Error, Result};
use crate::models::SignedUrl;
use crate::retry::{Decision, Outcome, RetryState, Target, retry_after_from_headers};
use crate::transport::{DownloadTarget, TransportError, TransportErrorKind, run_blocking};

/// The partial-file path for a destination: the same name with `.part` appended.
pub fn part_path(destination: &Path) -> PathBuf {
    let mut name: OsString = destination
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".part");
    destination.with_file_name(name)
}

impl Core {
    /// Downloads a signed URL to `destination` and returns the number of bytes written.
    ///
    /// The body goes to `destination.part` first and is renamed into place when its size
    /// matches the response's `Content-Length`. Transient failures are retried with
    /// backoff; a refused URL (403/400: tampered or expired) is not, since a fresh URL can
    /// only come from the asset.
    ///
    /// # Errors
    /// [`Error::Api`] for an error status (e.g. 403 for an expired URL),
    /// [`Error::Transport`] / [`Error::RetriesExhausted`] for network trouble,
    /// [`Error::Io`] when the file cannot be written.
    pub async fn fetch_signed_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64> {
        let operation = "download";
        let uri: http::Uri = url.url.parse().map_err(|_| {
            Error::invalid(
                "signed URL",
                format!("{} is not an absolute URL", url.redacted_url()),
            )
        })?;
        let destination = destination.to_path_buf();
        let part = part_path(&destination);
        if let Some(parent) = destination.parent().map(Path::to_path_buf) {
            run_blocking(self.runtime().as_ref(), move || {
                std::fs::create_dir_all(&parent).map_err(|e| Error::io(parent, e))
            })
            .await??;
        }
        let runtime = self.runtime().clone();
        let started = runtime.now();
        let mut state = RetryState::default();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let mut request = http::Request::new(crate::transport::Body::Empty);
            *request.uri_mut() = uri.clone();
            let target = DownloadTarget {
                path: part.clone(),
                offset: 0,
            };
            let result = self.transport().download(request, target).await;
            let result = match result {
                Ok(head) if head.status.is_success() => {
                    let expected = head
                        .headers
                        .get(http::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    match expected {
                        Some(len) if len != head.written => Err(TransportError::new(
                            TransportErrorKind::Interrupted,
                            format!("received {} of {len} bytes", head.written),
                        )),
                        _ => {
                            let (from, to) = (part.clone(), destination.clone());
                            run_blocking(runtime.as_ref(), move || {
                                std::fs::rename(&from, &to).map_err(|e| Error::io(to, e))
                            })
                            .await??;
                            return Ok(head.written);
                        }
                    }
                }
                other => other.map(|head| {
                    let mut response = http::Response::new(head.error_body);
                    *response.status_mut() = head.status;
                    *response.headers_mut() = head.headers;
                    response
                }),
            };
            let outcome = match &result {
                Ok(response) => Outcome::Status {
                    status: response.status(),
                    retry_after: retry_after_from_headers(
                        response.headers(),
                        std::time::SystemTime::now(),
                    ),
                },
                Err(e) => Outcome::Transport(e.kind),
            };
            let elapsed = runtime.now().saturating_duration_since(started);
            let decision = self.config().retry.decide(
                crate::retry::Safety::Safe,
                Target::SignedDownload,
                &outcome,
                &mut state,
                elapsed,
                fastrand::f64(),
            );
            match decision {
                Decision::Retry { after } => {
                    tracing::debug!(attempt = attempts, ?outcome, delay = ?after, "retrying download");
                    runtime.sleep(after).await;
                }
                // Without the asset we cannot ask for a fresh URL: a refused URL is final.
                Decision::Resign { .. } | Decision::Accept | Decision::Fail => {
                    let p = part.clone();
                    run_blocking(runtime.as_ref(), move || {
                        let _ = std::fs::remove_file(p);
                    })
                    .await?;
                    let error = match result {
                        Ok(response) => api_error(operation, &response),
                        Err(source) => Error::Transport {
                            operation: operation.to_owned(),
                            source,
                        },
                    };
                    return Err(finish_error(error, attempts, elapsed));
                }
            }
        }
    }
}
