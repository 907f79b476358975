//! Fetching signed storage URLs to files.
//!
//! A body always streams to `<name>.part` next to the destination and is renamed into
//! place only once complete, so the final name never holds a partial file. Signed URLs are
//! credentials: no API headers are sent with them, and they never appear in errors or logs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::engine::{Attempt, Core};
use crate::error::{Error, Result};
use crate::models::SignedUrl;
use crate::retry::{Safety, Target};
use crate::runtime::run_blocking;
use crate::transport::{Body, DownloadTarget, TransportError, TransportErrorKind};

const OPERATION: &str = "download";

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
    /// backoff; a refused URL (403/400: tampered or expired) is final here, since a fresh
    /// URL can only come from the asset.
    ///
    /// # Errors
    /// [`Error::Api`] for an error status (e.g. 403 for an expired URL),
    /// [`Error::Transport`] / [`Error::RetriesExhausted`] for network trouble,
    /// [`Error::Io`] when the file cannot be written.
    pub async fn download_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64> {
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
        let result = self
            .retrying(Safety::Safe, Target::SignedDownload, false, |_, _| {
                let mut request = http::Request::new(Body::Empty);
                *request.uri_mut() = uri.clone();
                let target = DownloadTarget {
                    path: part.clone(),
                    offset: 0,
                };
                let transport = self.transport().clone();
                let runtime = runtime.clone();
                let (part, destination) = (part.clone(), destination.clone());
                async move {
                    match transport.download(request, target).await {
                        Ok(head) if head.status.is_success() => {
                            let expected = head
                                .headers
                                .get(http::header::CONTENT_LENGTH)
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.parse::<u64>().ok());
                            match expected {
                                Some(len) if len != head.written => Attempt::from_transport(
                                    OPERATION,
                                    TransportError::new(
                                        TransportErrorKind::Interrupted,
                                        format!("received {} of {len} bytes", head.written),
                                    ),
                                ),
                                _ => Attempt::Done(
                                    run_blocking(runtime.as_ref(), move || {
                                        std::fs::rename(&part, &destination)
                                            .map_err(|e| Error::io(destination, e))
                                    })
                                    .await
                                    .and_then(|r| r)
                                    .map(|()| head.written),
                                ),
                            }
                        }
                        Ok(head) => {
                            let mut response = http::Response::new(head.error_body);
                            *response.status_mut() = head.status;
                            *response.headers_mut() = head.headers;
                            Attempt::from_response(OPERATION, &response)
                        }
                        Err(e) => Attempt::from_transport(OPERATION, e),
                    }
                }
            })
            .await;
        if result.is_err() {
            run_blocking(runtime.as_ref(), move || {
                let _ = std::fs::remove_file(part);
            })
            .await?;
        }
        result
    }
}
