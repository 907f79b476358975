//! Signed single-request uploads (S1).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::receive::{file_error, receive_to_tmp, verify_received};
use super::{check_signature, content_length, drain, is_chunked, reject};
use crate::app::App;
use crate::config::Verdicts;
use crate::error::{ApiError, ApiResult};
use crate::state::{FileState, Finish, Outcome, SessionFile};

/// What an S1 PUT may do with its file.
enum Claim {
    /// The session is open: receive the bytes.
    Open(String, SessionFile),
    /// The file was already received (CRC given): a retried PUT is answered
    /// idempotently.
    Replay(SessionFile, u32),
    /// Deferred verdicts, the file already failed: take the bytes, answer 200.
    Swallow,
}

/// The URL is signed for the headers listed in `upload.headers` (docs/protocol.md §6.7).
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

pub(super) async fn put_upload(
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
    let deferred = app.config.verdicts == Verdicts::Deferred;
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
            .session_mut(&sid)
            .ok_or_else(|| ApiError::not_found(format!("no upload target {ingestion}")))?;
        if session.finished.as_ref().is_some_and(Finish::cancelled) {
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
            FileState::Failed { .. } if deferred => Ok(Claim::Swallow),
            FileState::Failed { code } => Err(file_error(
                code,
                format!("{filename} has already failed with {code}"),
            )),
            // Received means ingested (an asset exists): a retried PUT (its first
            // answer was lost) is answered like the first, whether or not the session
            // has finished, and ingests nothing again.
            FileState::Received { crc, .. } => Ok(Claim::Replay(file.clone(), *crc)),
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
        Claim::Swallow => return swallow(body).await,
    };
    if let Err(e) = check_content_type(parts, &file) {
        return reject(body, e).await;
    }
    if length != file.size {
        let answer = if deferred {
            swallow(body).await
        } else {
            drain(body).await;
            Err(file_error(
                "EBADSIZE",
                format!(
                    "Content-Length {length} differs from the declared size {} of {filename}",
                    file.size
                ),
            ))
        };
        let garbage =
            app.state()
                .record_outcome(&sid, filename, Outcome::Failed("EBADSIZE"), now, model);
        app.delete_blobs(garbage).await;
        return answer;
    }
    let (tmp, len, crc) = receive_to_tmp(app, body, "upload").await?;
    let (outcome, message) = verify_received(app, &tmp, &file, len, crc, corrupt).await?;
    let now = app.now_ms();
    let (garbage, result) = {
        let mut state = app.state();
        let open = state
            .sessions()
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
                // Deferred verdicts: the storage took the bytes; the failure only
                // shows in the session.
                Outcome::Failed(_) if deferred => Ok(crc),
                Outcome::Failed(code) => Err(file_error(code, message)),
            };
            (
                state.record_outcome(&sid, filename, outcome, now, model),
                result,
            )
        }
    };
    app.delete_blobs(garbage).await;
    Ok(stored(result?))
}

/// The 200 of a stored upload, with the ETag of the bytes.
fn stored(crc: u32) -> Response {
    let mut response = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{crc:08x}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// Deferred verdicts: takes the bytes like a storage service that checks nothing at
/// PUT time, and answers 200; the session has the file's verdict.
async fn swallow(body: Body) -> ApiResult<Response> {
    let mut stream = body.into_data_stream();
    let mut crc = 0u32;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(format!("the upload body could not be read: {e}"))
        })?;
        crc = crc32c::crc32c_append(crc, &chunk);
    }
    Ok(stored(crc))
}
