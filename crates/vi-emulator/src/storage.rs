//! The "cloud storage" side: signed single uploads (S1), part uploads (S2) and
//! downloads (S3), all under `/_storage/…` on the emulator's own origin.

use std::io::SeekFrom;
use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::record::Record;
use crate::state::{FileState, MultipartState, Outcome, Part, SessionFile};

/// Answers one `/_storage/…` request.
pub(crate) async fn handle(
    app: &App,
    parts: &Parts,
    body: Body,
    corrupt: bool,
    (truncate, slow): (Option<u64>, Option<(u64, std::time::Duration)>),
    rec: &mut Record,
) -> Response {
    let segs = match crate::api::segments(parts.uri.path()) {
        Ok(s) => s,
        Err(e) => return reject::<Response>(body, e).await.into_response(),
    };
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = &parts.method;
    let result = match s.as_slice() {
        ["_storage", "upload", ingestion, filename] => {
            rec.route = "/_storage/upload/{ingestionId}/{filename}".into();
            if m == Method::PUT {
                put_upload(app, parts, body, ingestion, filename, corrupt).await
            } else {
                reject(body, method_not_allowed(m, "PUT")).await
            }
        }
        ["_storage", "part", mp, n] => {
            rec.route = "/_storage/part/{multipartUploadId}/{partNumber}".into();
            if m == Method::PUT {
                put_part(app, parts, body, mp, n, corrupt).await
            } else {
                reject(body, method_not_allowed(m, "PUT")).await
            }
        }
        ["_storage", "download", dsc, asset, filename] => {
            rec.route = "/_storage/download/{dsc}/{assetId}/{filename}".into();
            if m == Method::GET || m == Method::HEAD {
                get_download(app, parts, dsc, asset, filename, truncate, slow).await
            } else {
                reject(body, method_not_allowed(m, "GET, HEAD")).await
            }
        }
        _ => {
            reject(
                body,
                ApiError::not_found(format!("no storage object at {}", parts.uri.path())),
            )
            .await
        }
    };
    match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn method_not_allowed(method: &Method, allow: &'static str) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on this signed URL"),
    );
    err.allow = Some(allow);
    err
}

/// Reads and discards a request body so the client sees a clean reply.
pub(crate) async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    while let Some(Ok(_)) = stream.next().await {}
}

async fn reject<T>(body: Body, err: ApiError) -> ApiResult<T> {
    drain(body).await;
    Err(err)
}

/// Checks `expires` and `signature` of a signed URL against the logical resource.
fn check_signature(app: &App, query: Option<&str>, resource: &[&str]) -> ApiResult<()> {
    let mut expires = None;
    let mut signature = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "expires" => expires = Some(v.into_owned()),
            "signature" => signature = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(expires), Some(signature)) = (expires, signature) else {
        return Err(ApiError::forbidden(
            "the URL is not signed (expires and signature are required)",
        )
        .with("reason", "MissingSignature"));
    };
    let expires: i64 = expires.parse().map_err(|_| {
        ApiError::forbidden("the signature does not match").with("reason", "SignatureDoesNotMatch")
    })?;
    if !app.verify(resource, expires, &signature) {
        return Err(ApiError::forbidden("the signature does not match the URL")
            .with("reason", "SignatureDoesNotMatch"));
    }
    if app.now_ms() > expires {
        return Err(
            ApiError::forbidden(format!("the signed URL expired at {expires} (ms)"))
                .with("reason", "ExpiredToken"),
        );
    }
    Ok(())
}

fn is_chunked(headers: &HeaderMap) -> bool {
    headers.get_all(header::TRANSFER_ENCODING).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.to_ascii_lowercase().contains("chunked"))
    })
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}

/// Streams a body to `dest` while computing its CRC32C; returns (length, crc).
async fn receive(body: Body, dest: &Path) -> std::io::Result<(u64, u32)> {
    if let Some(dir) = dest.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let file = tokio::fs::File::create(dest).await?;
    let mut out = BufWriter::with_capacity(1024 * 1024, file);
    let mut stream = body.into_data_stream();
    let mut crc = 0u32;
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(std::io::Error::other)?;
        crc = crc32c::crc32c_append(crc, &chunk);
        len += chunk.len() as u64;
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok((len, crc))
}

/// Width and height of an image file, `None` when its header is unreadable.
async fn image_dimensions(path: &Path) -> Option<(u64, u64)> {
    let path = path.to_owned();
    let size = tokio::task::spawn_blocking(move || imagesize::size(&path))
        .await
        .ok()?
        .ok()?;
    if size.width == 0 || size.height == 0 {
        return None;
    }
    Some((size.width as u64, size.height as u64))
}

/// Applies the ingestion checks to a received file: size, CRC32C (signed comparison,
/// spec §6.3), readable image header. On success the temp file becomes a blob.
/// Returns the outcome and, for failures, a message for the reply.
async fn verify_received(
    app: &App,
    tmp: &Path,
    file: &SessionFile,
    len: u64,
    crc: u32,
    corrupt: bool,
) -> std::io::Result<(Outcome, String)> {
    let name = &file.filename;
    let checked: Result<(u64, u64), (&'static str, String)> = if len != file.size {
        Err((
            "EBADSIZE",
            format!("received {len} bytes for {name}, declared {}", file.size),
        ))
    } else if corrupt || file.crc32c.is_some_and(|declared| declared != crc as i32) {
        Err((
            "ECORRUPT",
            format!(
                "the CRC32C of the bytes received for {name} ({}) does not match the declared crc32c",
                crc as i32
            ),
        ))
    } else if file.kind == "Image" {
        image_dimensions(tmp)
            .await
            .ok_or(("ECORRUPT", format!("{name} is not a readable image")))
    } else {
        // Videos: the emulator does not parse containers; dimensions are reported as 0.
        Ok((0, 0))
    };
    match checked {
        Ok((width, height)) => {
            let blob = crate::ids::token();
            tokio::fs::rename(tmp, app.blob_path(&blob)).await?;
            Ok((
                Outcome::Received {
                    blob,
                    width,
                    height,
                    crc,
                },
                String::new(),
            ))
        }
        Err((code, message)) => {
            let _ = tokio::fs::remove_file(tmp).await;
            Ok((Outcome::Failed(code), message))
        }
    }
}

/// What an S1 PUT may do with its file.
enum Claim {
    /// The session is open: receive the bytes.
    Open(String, SessionFile),
    /// The session already finished with this file received (CRC given): a retried
    /// PUT is answered idempotently.
    Replay(SessionFile, u32),
}

/// The URL is signed for the headers listed in `upload.headers` (spec §6.7).
fn check_content_type(parts: &Parts, file: &SessionFile) -> ApiResult<()> {
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type == file.mime {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "Content-Type must be \"{}\" as listed in upload.headers, got \"{content_type}\"",
            file.mime
        ))
        .with("reason", "SignatureDoesNotMatch"))
    }
}

/// A PUT repeated after its session finished with the file received (e.g. a retry
/// whose first reply was lost): 200 when the bytes are the ones already ingested,
/// 409 otherwise.
async fn replay(body: Body, file: &SessionFile, length: u64, crc: u32) -> ApiResult<Response> {
    let mut stream = body.into_data_stream();
    let mut got = 0u32;
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(format!("the upload body could not be read: {e}"))
        })?;
        got = crc32c::crc32c_append(got, &chunk);
        len += chunk.len() as u64;
    }
    if length == file.size && len == file.size && got == crc {
        let mut response = StatusCode::OK.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("\"{crc:08x}\"")) {
            response.headers_mut().insert(header::ETAG, v);
        }
        Ok(response)
    } else {
        Err(ApiError::conflict(format!(
            "{} was already ingested with different bytes; the session is finished",
            file.filename
        )))
    }
}

fn file_error(code: &str, message: String) -> ApiError {
    ApiError::bad_request(message).with("fileError", code)
}

async fn put_upload(
    app: &App,
    parts: &Parts,
    body: Body,
    ingestion: &str,
    filename: &str,
    corrupt: bool,
) -> ApiResult<Response> {
    if let Err(e) = check_signature(
        app,
        parts.uri.query(),
        &["PUT", "upload", ingestion, filename],
    ) {
        return reject(body, e).await;
    }
    if is_chunked(&parts.headers) {
        // §15 #14: only part uploads (S2) accept chunked bodies; a signed single PUT
        // needs its length up front.
        return reject(
            body,
            ApiError::new(
                StatusCode::LENGTH_REQUIRED,
                "a signed single-request upload needs Content-Length; chunked transfer encoding is not accepted here",
            ),
        )
        .await;
    }
    let Some(length) = content_length(&parts.headers) else {
        return reject(
            body,
            ApiError::new(StatusCode::LENGTH_REQUIRED, "Content-Length is required"),
        )
        .await;
    };
    let now = app.now_ms();
    let model = app.config.failure_model;
    let timeout = i64::try_from(app.config.missing_file_timeout.as_millis()).unwrap_or(i64::MAX);
    let claimed: ApiResult<Claim> = (|| {
        let mut state = app.state();
        let sid = state
            .session_by_ingestion(ingestion)
            .map(|s| s.id.clone())
            .ok_or_else(|| ApiError::not_found(format!("no upload target {ingestion}")))?;
        let garbage = state.refresh_session(&sid, now, timeout, model);
        for blob in garbage {
            let _ = std::fs::remove_file(app.blob_path(&blob));
        }
        let session = state
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| ApiError::not_found(format!("no upload target {ingestion}")))?;
        if session
            .finished
            .as_ref()
            .is_some_and(|f| f.reason.as_deref() == Some("Cancelled"))
        {
            return Err(ApiError::conflict(format!(
                "ingestion session {sid} was cancelled; no more uploads are accepted"
            )));
        }
        let file = session
            .files
            .iter()
            .find(|f| f.filename == filename)
            .cloned()
            .ok_or_else(|| {
                ApiError::not_found(format!("{filename} was not declared in this session"))
            })?;
        match &file.state {
            // A failed file stays failed: every later attempt gets the same answer, so
            // a client retrying the PUT sees a consistent per-file error.
            FileState::Failed { code } => Err(file_error(
                code,
                format!("{filename} has already failed with {code}"),
            )),
            FileState::Received { crc, .. } if session.finished.is_some() => {
                Ok(Claim::Replay(file.clone(), *crc))
            }
            _ if session.finished.is_some() => Err(ApiError::conflict(format!(
                "ingestion session {sid} is finished; no more uploads are accepted"
            ))),
            _ => {
                session.last_activity = now;
                Ok(Claim::Open(sid, file))
            }
        }
    })();
    let claim = match claimed {
        Ok(c) => c,
        Err(e) => return reject(body, e).await,
    };
    let (sid, file) = match claim {
        Claim::Open(sid, file) => (sid, file),
        Claim::Replay(file, crc) => {
            if let Err(e) = check_content_type(parts, &file) {
                return reject(body, e).await;
            }
            return replay(body, &file, length, crc).await;
        }
    };
    if let Err(e) = check_content_type(parts, &file) {
        return reject(body, e).await;
    }
    if length != file.size {
        drain(body).await;
        let garbage =
            app.state()
                .record_outcome(&sid, filename, Outcome::Failed("EBADSIZE"), now, model);
        app.delete_blobs(garbage).await;
        app.mark_dirty();
        return Err(file_error(
            "EBADSIZE",
            format!(
                "Content-Length {length} differs from the declared size {} of {filename}",
                file.size
            ),
        ));
    }
    let tmp = app.tmp_path();
    let (len, crc) = match receive(body, &tmp).await {
        Ok(r) => r,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(ApiError::bad_request(format!(
                "the upload body could not be read: {e}"
            )));
        }
    };
    let (outcome, message) = verify_received(app, &tmp, &file, len, crc, corrupt).await?;
    let now = app.now_ms();
    let (garbage, result) = {
        let mut state = app.state();
        let open = state
            .sessions
            .get(&sid)
            .is_some_and(|s| s.finished.is_none());
        if !open {
            let garbage = match outcome {
                Outcome::Received { blob, .. } => vec![blob],
                Outcome::Failed(_) => Vec::new(),
            };
            (
                garbage,
                Err(ApiError::conflict(format!(
                    "ingestion session {sid} finished while the upload was in progress"
                ))),
            )
        } else {
            let result = match &outcome {
                Outcome::Received { crc, .. } => Ok(*crc),
                Outcome::Failed(code) => Err(file_error(code, message)),
            };
            (
                state.record_outcome(&sid, filename, outcome, now, model),
                result,
            )
        }
    };
    app.delete_blobs(garbage).await;
    app.mark_dirty();
    let crc = result?;
    let mut response = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{crc:08x}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

async fn put_part(
    app: &App,
    parts: &Parts,
    body: Body,
    mp_id: &str,
    n: &str,
    corrupt: bool,
) -> ApiResult<Response> {
    if let Err(e) = check_signature(app, parts.uri.query(), &["PUT", "part", mp_id, n]) {
        return reject(body, e).await;
    }
    let now = app.now_ms();
    let model = app.config.failure_model;
    let timeout = i64::try_from(app.config.missing_file_timeout.as_millis()).unwrap_or(i64::MAX);
    let claimed: ApiResult<(u32, u64)> = (|| {
        let mut state = app.state();
        let sid = state
            .multiparts
            .get(mp_id)
            .map(|m| m.session.clone())
            .ok_or_else(|| ApiError::not_found(format!("no multipart upload {mp_id}")))?;
        let garbage = state.refresh_session(&sid, now, timeout, model);
        for blob in garbage {
            let _ = std::fs::remove_file(app.blob_path(&blob));
        }
        if let Some(s) = state.sessions.get_mut(&sid) {
            s.last_activity = now;
        }
        let mp = state
            .multiparts
            .get(mp_id)
            .ok_or_else(|| ApiError::not_found(format!("no multipart upload {mp_id}")))?;
        if mp.state != MultipartState::Open {
            return Err(ApiError::conflict(format!(
                "multipart upload {mp_id} is no longer open"
            )));
        }
        let number = match n.parse::<u32>() {
            Ok(p) if (1..=mp.part_count).contains(&p) => p,
            _ => return Err(ApiError::bad_request(format!("invalid part number {n}"))),
        };
        let (start, end) = mp.part_range(number);
        Ok((number, end - start))
    })();
    let (number, expected) = match claimed {
        Ok(c) => c,
        Err(e) => return reject(body, e).await,
    };
    // Chunked bodies are accepted here (spec §6.8 step 2, §15 #14).
    if let Some(length) = content_length(&parts.headers) {
        if length != expected {
            return reject(
                body,
                ApiError::bad_request(format!(
                    "part {number} must be {expected} bytes (floor/remainder split of the declared size), Content-Length is {length}"
                ))
                .with("fileError", "EBADSIZE"),
            )
            .await;
        }
    }
    let tmp = app.tmp_path();
    let (len, crc) = match receive(body, &tmp).await {
        Ok(r) => r,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(ApiError::bad_request(format!(
                "the part body could not be read: {e}"
            )));
        }
    };
    if len != expected {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(ApiError::bad_request(format!(
            "part {number} must be {expected} bytes (floor/remainder split of the declared size), received {len}"
        ))
        .with("fileError", "EBADSIZE"));
    }
    let dir = app.part_dir(mp_id);
    tokio::fs::create_dir_all(&dir).await?;
    tokio::fs::rename(&tmp, dir.join(number.to_string())).await?;
    let part = Part {
        size: len,
        crc,
        registered: false,
    };
    let etag = part.etag();
    {
        let mut state = app.state();
        let Some(mp) = state.multiparts.get_mut(mp_id) else {
            return Err(ApiError::not_found(format!("no multipart upload {mp_id}")));
        };
        if mp.state != MultipartState::Open {
            return Err(ApiError::conflict(format!(
                "multipart upload {mp_id} is no longer open"
            )));
        }
        mp.parts.insert(number, part);
        if corrupt {
            mp.force_corrupt = true;
        }
        mp.updated = app.now_ms();
        mp.generation += 1;
    }
    app.mark_dirty();
    let mut response = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

/// Concatenates the parts of a completed multipart upload in part-number order into a
/// new file and applies the same checks as a single upload.
pub(crate) async fn assemble_parts(
    app: &App,
    mp: &crate::state::Multipart,
    file: &SessionFile,
) -> ApiResult<Outcome> {
    let tmp = app.tmp_path();
    let result: std::io::Result<(u64, u32)> = async {
        let out = tokio::fs::File::create(&tmp).await?;
        let mut out = BufWriter::with_capacity(1024 * 1024, out);
        let mut buf = vec![0u8; 1024 * 1024];
        let mut crc = 0u32;
        let mut len = 0u64;
        for n in 1..=mp.part_count {
            let mut part = tokio::fs::File::open(app.part_dir(&mp.id).join(n.to_string())).await?;
            loop {
                let read = part.read(&mut buf).await?;
                if read == 0 {
                    break;
                }
                let chunk = &buf[..read];
                crc = crc32c::crc32c_append(crc, chunk);
                len += read as u64;
                out.write_all(chunk).await?;
            }
        }
        out.flush().await?;
        Ok((len, crc))
    }
    .await;
    let (len, crc) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(ApiError::internal(format!(
                "cannot assemble the parts: {e}"
            )));
        }
    };
    Ok(verify_received(app, &tmp, file, len, crc, mp.force_corrupt)
        .await?
        .0)
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

async fn get_download(
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
        let asset = dsc
            .strip_prefix(&app.organization_id)
            .and_then(|r| r.strip_prefix('_'))
            .and_then(|short| state.datasets.get(short))
            .and_then(|ds| ds.assets.get(asset_id))
            .ok_or_else(|| ApiError::not_found("the object does not exist (asset deleted?)"))?;
        (
            app.blob_path(&asset.blob),
            asset.size,
            asset.mime.clone(),
            format!("\"{:08x}{:x}\"", asset.crc, asset.size),
            asset.contents_updated,
        )
    };
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("the object does not exist"));
        }
        Err(e) => return Err(e.into()),
    };
    let (status, start, len, range_header) =
        match parse_range(parts.headers.get(header::RANGE), size) {
            RangeSpec::Full => (StatusCode::OK, 0, size, None),
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
                    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), chunk)
                        .then(move |item| async move {
                            tokio::time::sleep(pause).await;
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
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
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
