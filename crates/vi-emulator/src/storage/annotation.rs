//! Signed uploads of annotation files (S4): the declared size and base64 CRC-32C are
//! checked, the bytes kept as a blob of the import session.

use axum::body::Body;
use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};

use super::receive::receive_to_tmp;
use super::{check_signature, content_length, reject};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::state::ImportPhase;

pub(super) async fn put_annotation_file(
    app: &App,
    parts: &Parts,
    body: Body,
    import: &str,
    name: &str,
    corrupt: bool,
) -> ApiResult<Response> {
    if let Err(e) = check_signature(
        app,
        parts.uri.query(),
        &["PUT", "annotations", import, name],
    ) {
        return reject(body, e).await;
    }
    let Some(length) = content_length(&parts.headers) else {
        return reject(
            body,
            ApiError::new(StatusCode::LENGTH_REQUIRED, "Content-Length is required"),
        )
        .await;
    };
    let target: ApiResult<(u64, String)> = {
        let state = app.state();
        let session = state.imports().get(import);
        let file = session.and_then(|s| s.files.iter().find(|f| f.name == name));
        match (session, file) {
            (Some(s), Some(f)) if s.phase == ImportPhase::Open => Ok((f.size, f.crc32c.clone())),
            (Some(_), Some(_)) => Err(ApiError::conflict(
                "the import session no longer takes files",
            )),
            _ => Err(ApiError::not_found(format!(
                "no upload target {import}/{name}"
            ))),
        }
    };
    let (size, crc) = match target {
        Ok(t) => t,
        Err(e) => return reject(body, e).await,
    };
    let (tmp, len, got) = receive_to_tmp(app, body, "upload").await?;
    use base64::Engine as _;
    let declared = base64::engine::general_purpose::STANDARD
        .decode(&crc)
        .ok()
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes);
    let mismatch = if len != length || len != size {
        Some(format!("received {len} bytes, {size} were declared"))
    } else if corrupt || declared != Some(got) {
        Some("the CRC-32C of the bytes is not the one declared".to_owned())
    } else {
        None
    };
    if let Some(message) = mismatch {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(ApiError::bad_request(message).with("reason", "BadDigest"));
    }
    let blob = format!("ais-{}", crate::ids::short_id());
    let dest = app.blob_path(&blob);
    if let Some(dir) = dest.parent() {
        let _ = tokio::fs::create_dir_all(dir).await;
    }
    tokio::fs::rename(&tmp, &dest)
        .await
        .map_err(|e| ApiError::internal(format!("cannot keep the file: {e}")))?;
    let old = {
        let mut state = app.state();
        let file = state
            .import_mut(import)
            .and_then(|s| s.files.iter_mut().find(|f| f.name == name));
        match file {
            Some(f) => f.blob.replace(blob),
            None => Some(blob),
        }
    };
    if let Some(old) = old {
        let _ = tokio::fs::remove_file(app.blob_path(&old)).await;
    }
    Ok(StatusCode::OK.into_response())
}
