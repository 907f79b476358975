//! Signed downloads (S3), with single byte ranges.

use std::io::SeekFrom;

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::check_signature;
use crate::app::App;
use crate::error::{ApiError, ApiResult};

/// The `Range` header, unless an `If-Range` names another version of the object
/// (RFC 9110 §13.1.5): then the whole current object is sent with 200. `If-Range`
/// holds a strong ETag (compared exactly; weak ones never match) or an HTTP date
/// (matches the `Last-Modified` second exactly).
fn range_if_current<'h>(
    headers: &'h axum::http::HeaderMap,
    etag: &str,
    modified_ms: i64,
) -> Option<&'h HeaderValue> {
    let range = headers.get(header::RANGE)?;
    let Some(condition) = headers.get(header::IF_RANGE) else {
        return Some(range);
    };
    let condition = condition.to_str().ok()?.trim();
    let current = if condition.starts_with('"') {
        condition == etag
    } else if condition.starts_with("W/") {
        false
    } else {
        httpdate::parse_http_date(condition).is_ok_and(|date| {
            date.duration_since(std::time::UNIX_EPOCH).is_ok_and(|d| {
                i64::try_from(d.as_secs()).ok() == Some(modified_ms.div_euclid(1000))
            })
        })
    };
    current.then_some(range)
}

enum RangeSpec {
    Full,
    Partial(u64, u64),
    Unsatisfiable,
}

/// Parses a single `Range: bytes=…` header; anything unsupported is ignored (full body).
fn parse_range(value: Option<&HeaderValue>, size: u64) -> RangeSpec {
    let Some(spec) = value
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().strip_prefix("bytes="))
    else {
        return RangeSpec::Full;
    };
    if spec.contains(',') {
        return RangeSpec::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeSpec::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let Ok(suffix) = b.parse::<u64>() else {
            return RangeSpec::Full;
        };
        if suffix == 0 || size == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Partial(size - suffix.min(size), size - 1);
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeSpec::Full;
    };
    let end = if b.is_empty() {
        None
    } else {
        match b.parse::<u64>() {
            Ok(e) => Some(e),
            Err(_) => return RangeSpec::Full,
        }
    };
    if end.is_some_and(|e| e < start) {
        return RangeSpec::Full;
    }
    if start >= size {
        return RangeSpec::Unsatisfiable;
    }
    let last = end.map_or(size - 1, |e| e.min(size - 1));
    RangeSpec::Partial(start, last)
}

pub(super) async fn get_download(
    app: &App,
    parts: &Parts,
    dsc: &str,
    asset_id: &str,
    filename: &str,
    truncate: Option<u64>,
    slow: Option<(u64, std::time::Duration)>,
) -> ApiResult<Response> {
    check_signature(
        app,
        parts.uri.query(),
        &["GET", "download", dsc, asset_id, filename],
    )?;
    let (path, size, mime, etag, modified) = {
        let state = app.state();
        let short = dsc
            .strip_prefix(&app.organization_id)
            .and_then(|r| r.strip_prefix('_'))
            .filter(|short| state.datasets().contains_key(*short));
        let asset = match short {
            Some(short) => state.store().asset(short, asset_id)?,
            None => None,
        }
        .ok_or_else(|| ApiError::not_found("the object does not exist (asset deleted?)"))?;
        (
            app.blob_path(&asset.blob),
            asset.size,
            asset.mime.clone(),
            format!("\"{:08x}{:x}\"", asset.crc, asset.size),
            asset.contents_updated,
        )
    };
    let object = Object {
        path,
        size,
        mime,
        etag,
        modified,
        crc32c: None,
    };
    serve_object(parts, &object, truncate, slow, false).await
}

/// A stored object as storage serves it.
pub(super) struct Object {
    pub(super) path: std::path::PathBuf,
    pub(super) size: u64,
    pub(super) mime: String,
    pub(super) etag: String,
    pub(super) modified: i64,
    /// Sent as `x-goog-hash: crc32c=<base64>` when set.
    pub(super) crc32c: Option<u32>,
}

/// Serves `object` to a `GET` or `HEAD`, with single byte ranges; `misplace` answers a
/// range with the bytes one further on (a fault for clients that must check ranges).
pub(super) async fn serve_object(
    parts: &Parts,
    object: &Object,
    truncate: Option<u64>,
    slow: Option<(u64, std::time::Duration)>,
    misplace: bool,
) -> ApiResult<Response> {
    let (path, size, mime, etag, modified) = (
        &object.path,
        object.size,
        &object.mime,
        &object.etag,
        object.modified,
    );
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("the object does not exist"));
        }
        Err(e) => return Err(e.into()),
    };
    let (status, start, len, range_header) =
        match parse_range(range_if_current(&parts.headers, etag, modified), size) {
            RangeSpec::Full => (StatusCode::OK, 0, size, None),
            RangeSpec::Partial(s, e) if misplace && e + 1 < size => (
                StatusCode::PARTIAL_CONTENT,
                s + 1,
                e - s + 1,
                Some(format!("bytes {}-{}/{size}", s + 1, e + 1)),
            ),
            RangeSpec::Partial(s, e) => (
                StatusCode::PARTIAL_CONTENT,
                s,
                e - s + 1,
                Some(format!("bytes {s}-{e}/{size}")),
            ),
            RangeSpec::Unsatisfiable => {
                let mut response = ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    format!("the range is not satisfiable for an object of {size} bytes"),
                )
                .into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(response);
            }
        };
    let body = if parts.method == Method::HEAD {
        Body::empty()
    } else {
        file.seek(SeekFrom::Start(start)).await?;
        match truncate {
            Some(cut) if cut < len => {
                let stream =
                    tokio_util::io::ReaderStream::with_capacity(file.take(cut), 256 * 1024).chain(
                        futures_util::stream::once(async {
                            // Let the bytes sent so far reach the client first.
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            Err(std::io::Error::other("injected fault: body truncated"))
                        }),
                    );
                Body::from_stream(stream)
            }
            _ => match slow {
                Some((chunk, pause)) => {
                    let chunk = usize::try_from(chunk).unwrap_or(usize::MAX);
                    // A chunk, then a pause before the next: the first bytes go out at
                    // once, so a client holds exactly `chunk` bytes during the first pause.
                    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), chunk)
                        .enumerate()
                        .then(move |(i, item)| async move {
                            if i > 0 {
                                tokio::time::sleep(pause).await;
                            }
                            item
                        });
                    Body::from_stream(stream)
                }
                None => Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                    file.take(len),
                    256 * 1024,
                )),
            },
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(crc) = object.crc32c {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes());
        if let Ok(v) = HeaderValue::from_str(&format!("crc32c={b64}")) {
            h.insert("x-goog-hash", v);
        }
    }
    let modified = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(modified).unwrap_or(0));
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(modified)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    if let Some(range) = range_header {
        if let Ok(v) = HeaderValue::from_str(&range) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str, size: u64) -> Option<(u64, u64)> {
        match parse_range(Some(&HeaderValue::from_str(s).unwrap()), size) {
            RangeSpec::Partial(a, b) => Some((a, b)),
            RangeSpec::Full => None,
            RangeSpec::Unsatisfiable => Some((u64::MAX, u64::MAX)),
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(range("bytes=2-4", 10), Some((2, 4)));
        assert_eq!(range("bytes=2-100", 10), Some((2, 9)));
        assert_eq!(range("bytes=-3", 10), Some((7, 9)));
        assert_eq!(range("bytes=10-", 10), Some((u64::MAX, u64::MAX)));
        assert_eq!(range("bytes=5-2", 10), None);
        assert_eq!(range("items=1-2", 10), None);
        assert_eq!(range("bytes=0-1,3-4", 10), None);
    }
}
