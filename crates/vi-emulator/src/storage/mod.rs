//! The "cloud storage" side: signed single uploads (S1), part uploads (S2) and
//! downloads (S3), all under `/_storage/…` on the emulator's own origin.

mod annotation;
mod download;
mod export;
mod part;
mod receive;
mod upload;

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::record::Record;
use download::get_download;
use part::put_part;
use upload::put_upload;

pub(crate) use part::{assemble_parts, part_reply_base64};

/// Answers one `/_storage/…` request.
pub(crate) async fn handle(
    app: &App,
    parts: &Parts,
    body: Body,
    corrupt: bool,
    (truncate, slow, misplace): (Option<u64>, Option<(u64, std::time::Duration)>, bool),
    rec: &mut Record,
) -> Response {
    let segs = match crate::api::segments(parts.uri.path()) {
        Ok(s) => s,
        Err(e) => return reject::<Response>(body, e).await.into_response(),
    };
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = &parts.method;
    let result = match s.as_slice() {
        ["_storage", "upload", "annotations", import, name] => {
            rec.route = "/_storage/upload/annotations/{aisId}/{filename}".into();
            if m == Method::PUT {
                annotation::put_annotation_file(app, parts, body, import, name, corrupt).await
            } else {
                reject(body, method_not_allowed(m, "PUT")).await
            }
        }
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
        ["_storage", "download", dsc, "exports", file] => {
            rec.route = "/_storage/download/{dsc}/exports/{exportId}.zip".into();
            if m == Method::GET || m == Method::HEAD {
                export::get_export_archive(app, parts, dsc, file, (truncate, slow, misplace)).await
            } else {
                reject(body, method_not_allowed(m, "GET, HEAD")).await
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

pub(super) async fn reject<T>(body: Body, err: ApiError) -> ApiResult<T> {
    drain(body).await;
    Err(err)
}

/// Checks `expires` and `signature` of a signed URL against the logical resource.
pub(super) fn check_signature(app: &App, query: Option<&str>, resource: &[&str]) -> ApiResult<()> {
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
        app.counters.expired();
        // 403 like S3, or 400 like GCS (`expired_status`, docs/protocol.md §7 step 9).
        let status =
            StatusCode::from_u16(app.config.expired_status).unwrap_or(StatusCode::FORBIDDEN);
        return Err(
            ApiError::new(status, format!("the signed URL expired at {expires} (ms)"))
                .with("reason", "ExpiredToken"),
        );
    }
    Ok(())
}

pub(super) fn is_chunked(headers: &HeaderMap) -> bool {
    headers.get_all(header::TRANSFER_ENCODING).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.to_ascii_lowercase().contains("chunked"))
    })
}

pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}
