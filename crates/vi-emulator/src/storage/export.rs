//! Export archives (S5 `HEAD`, S6 ranged `GET`), behind signed URLs like every other
//! stored object.

use axum::http::request::Parts;
use axum::response::Response;

use super::check_signature;
use super::download::{Object, serve_object};
use crate::app::App;
use crate::error::{ApiError, ApiResult};

pub(super) async fn get_export_archive(
    app: &App,
    parts: &Parts,
    dsc: &str,
    file: &str,
    faults: (Option<u64>, Option<(u64, std::time::Duration)>, bool),
) -> ApiResult<Response> {
    let id = file.strip_suffix(".zip").unwrap_or(file);
    check_signature(app, parts.uri.query(), &["GET", "export", dsc, id])?;
    let object = {
        let state = app.state();
        let e = state
            .exports()
            .get(id)
            .filter(|e| crate::render::composite(app, &e.dataset) == dsc)
            .ok_or_else(|| ApiError::not_found("the object does not exist (export deleted?)"))?;
        Object {
            path: app.blob_path(&e.blob),
            size: e.size,
            mime: "application/zip".into(),
            etag: format!("\"{:08x}{:x}\"", e.crc, e.size),
            modified: e.created,
            crc32c: Some(e.crc),
        }
    };
    let (truncate, slow, misplace) = faults;
    serve_object(parts, &object, truncate, slow, misplace).await
}
