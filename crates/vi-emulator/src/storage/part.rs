//! Signed part uploads (S2) and the assembly of a completed multipart upload.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};

use super::receive::{receive_to_tmp, verify_received};
use super::{check_signature, content_length, reject};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::state::{MultipartState, Outcome, Part, SessionFile};

pub(super) async fn put_part(
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
            .multiparts()
            .get(mp_id)
            .map(|m| m.session.clone())
            .ok_or_else(|| ApiError::not_found(format!("no multipart upload {mp_id}")))?;
        let garbage = state.refresh_session(&sid, now, timeout, model);
        for blob in garbage {
            let _ = std::fs::remove_file(app.blob_path(&blob));
        }
        if let Some(s) = state.session_mut(&sid) {
            s.last_activity = now;
        }
        let mp = state
            .multiparts()
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
    // Chunked bodies are accepted here (docs/protocol.md §6.8 step 2, §15 #14).
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
    let (tmp, len, crc) = receive_to_tmp(app, body, "part").await?;
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
        let Some(mp) = state.multipart_mut(mp_id) else {
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
    let mut response = if app.config.part_response_body {
        part_reply(number, &etag).into_response()
    } else {
        StatusCode::OK.into_response()
    };
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

/// Body of a part reply when part URLs ask for it (`part_response_body`): a small
/// XML document naming the part, like the replies of S3-style stores.
fn part_reply(number: u32, etag: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
        etag.replace('"', "&quot;")
    )
}

/// What M3 must send back as `responseBody` for a part reply.
pub(crate) fn part_reply_base64(number: u32, etag: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(part_reply(number, etag))
}
