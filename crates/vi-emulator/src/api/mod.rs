//! The JSON API under `/workspaces/{org}/…`: request handling shared by every
//! resource (routing in [`routes`], credentials in [`auth`]) and the helpers the
//! per-resource handlers use.

mod annotations;
mod assets;
mod auth;
mod curation;
mod datasets;
mod exports;
mod multipart;
mod routes;
mod sessions;

use axum::body::Body;
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::App;
use crate::body::{Obj, shape};
use crate::error::{ApiError, ApiResult};
use crate::query::{encode_token, parse_query};
use crate::record::Record;
use crate::state::Dataset;
use routes::Route;

pub(crate) use routes::segments;

/// Largest JSON request body accepted (a 5000-file U1 is well below 2 MiB).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// An empty JSON object with `status` (`FaultKind::BareReply`).
pub(crate) fn bare_reply(status: StatusCode) -> Response {
    json_response(status, &serde_json::json!({}))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn ok(value: &Value) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, value))
}

/// Handles one API request.
pub(crate) async fn handle(app: &App, parts: &Parts, body: Body, rec: &mut Record) -> Response {
    match handle_inner(app, parts, body, rec).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn handle_inner(
    app: &App,
    parts: &Parts,
    body: Body,
    rec: &mut Record,
) -> ApiResult<Response> {
    let path = parts.uri.path();
    let (route, template, org) = routes::resolve(&parts.method, path)?;
    rec.route = template.to_owned();
    // Credentials first: a body is read (up to BODY_LIMIT) only for a caller who may send one.
    auth::authenticate(app, &parts.headers, &org)?;
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
    rec.body = if bytes.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice::<Value>(&bytes)
                .map(|v| shape(&v))
                .unwrap_or_else(|_| json!("invalid-json")),
        )
    };
    let raw_query = parts.uri.query();
    // Only listings and asset reads take a query string.
    if !matches!(
        route,
        Route::ListDatasets
            | Route::SimpleDatasets
            | Route::ListAssets(_)
            | Route::CountAssets(_)
            | Route::GetAsset(..)
            | Route::ListSessions(_)
            | Route::ListExports(_)
            | Route::ListImports(_)
            | Route::ListParts(..)
            | Route::WithObjects(_)
            | Route::WithObjectsOne(..)
            | Route::ListDeletions(_)
    ) {
        no_query(raw_query)?;
    }
    match route {
        Route::ListDatasets => datasets::list(app, raw_query, false),
        Route::SimpleDatasets => datasets::list(app, raw_query, true),
        Route::CreateDataset => datasets::create(app, &bytes),
        Route::GetDataset(dsc) => datasets::get(app, &dsc),
        Route::PatchDataset(dsc) => datasets::patch(app, &dsc, &bytes),
        Route::DeleteDataset(dsc) => datasets::delete(app, &dsc).await,
        Route::DeleteOperation(dsc) => datasets::delete_operation(app, &dsc),
        Route::ListAssets(dsc) => assets::list(app, &dsc, raw_query),
        Route::CountAssets(dsc) => assets::count(app, &dsc, raw_query),
        Route::GetAsset(dsc, asset) => assets::get(app, &dsc, &asset, raw_query),
        Route::DeleteAsset(dsc, asset) => assets::delete(app, &dsc, &asset).await,
        Route::RenameAsset(dsc, asset) => {
            assets::rename(app, &dsc, assets::Target::Id(&asset), &bytes)
        }
        Route::RenameAssetFile(dsc, filename) => {
            assets::rename(app, &dsc, assets::Target::Filename(&filename), &bytes)
        }
        Route::CreateSession(dsc) => sessions::create(app, &dsc, &bytes),
        Route::ListSessions(dsc) => sessions::list(app, &dsc, raw_query).await,
        Route::GetSession(dsc, sid) => sessions::get(app, &dsc, &sid).await,
        Route::CancelSession(dsc, sid) => sessions::cancel(app, &dsc, &sid, &bytes).await,
        Route::CreateMultipart(dsc) => multipart::create(app, &dsc, &bytes).await,
        Route::AbortMultipart(dsc, mp) => multipart::abort(app, &dsc, &mp).await,
        Route::PartUrl(dsc, mp, n) => multipart::part_url(app, &dsc, &mp, &n, &bytes),
        Route::PartCompletion(dsc, mp, n) => multipart::part_completion(app, &dsc, &mp, &n, &bytes),
        Route::CompleteMultipart(dsc, mp) => multipart::complete(app, &dsc, &mp, &bytes).await,
        Route::CreateImport(dsc) => annotations::create(app, &dsc, &bytes),
        Route::ListImports(dsc) => annotations::list(app, &dsc, raw_query),
        Route::GetImport(dsc, id) => annotations::get(app, &dsc, &id),
        Route::AddImportFiles(dsc, id) => annotations::add_files(app, &dsc, &id, &bytes),
        Route::SetImportStatus(dsc, id) => annotations::set_status(app, &dsc, &id, &bytes),
        Route::ListParts(dsc, a) => annotations::list_parts(app, &dsc, &a, raw_query),
        Route::GetPart(dsc, a, n) => annotations::get_part(app, &dsc, &a, &n),
        Route::DeletePart(dsc, a, n) => annotations::delete_part(app, &dsc, &a, &n),
        Route::ReplacePart(dsc, a, n) => annotations::write_part(app, &dsc, &a, &n, &bytes, true),
        Route::UpdatePart(dsc, a, n) => annotations::write_part(app, &dsc, &a, &n, &bytes, false),
        Route::WithObjects(dsc) => annotations::with_objects(app, &dsc, raw_query),
        Route::WithObjectsOne(dsc, a) => annotations::with_objects_one(app, &dsc, &a, raw_query),
        Route::CreateDeletion(dsc) => curation::create(app, &dsc, &bytes),
        Route::ListDeletions(dsc) => curation::list(app, &dsc, raw_query),
        Route::GetDeletion(dsc, id) => curation::get(app, &dsc, &id).await,
        Route::CreateExport(dsc) => exports::create(app, &dsc, &bytes),
        Route::ListExports(dsc) => exports::list(app, &dsc, raw_query),
        Route::GetExport(dsc, id) => exports::get(app, &dsc, &id),
    }
}

fn no_query(raw: Option<&str>) -> ApiResult<()> {
    parse_query(raw, &[]).map(|_| ())
}

fn dataset_missing(dsc: &str) -> ApiError {
    ApiError::not_found(format!("dataset {dsc} not found"))
}

fn asset_missing(asset: &str) -> ApiError {
    ApiError::not_found(format!("asset {asset} not found"))
}

/// The short dataset id of a composite `{org}_{ds}` segment.
fn short_id(app: &App, dsc: &str) -> ApiResult<String> {
    dsc.strip_prefix(&app.organization_id)
        .and_then(|rest| rest.strip_prefix('_'))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| dataset_missing(dsc))
}

fn dataset<'s>(state: &'s crate::state::State, app: &App, dsc: &str) -> ApiResult<&'s Dataset> {
    let id = short_id(app, dsc)?;
    state
        .datasets()
        .get(&id)
        .ok_or_else(|| dataset_missing(dsc))
}

fn dataset_mut<'s>(
    state: &'s mut crate::state::State,
    app: &App,
    dsc: &str,
) -> ApiResult<&'s mut Dataset> {
    let id = short_id(app, dsc)?;
    state.dataset_mut(&id).ok_or_else(|| dataset_missing(dsc))
}

/// Builds an envelope page of `items[offset..]`.
fn page(
    app: &App,
    items: Vec<Value>,
    offset: usize,
    size: usize,
    fingerprint: &str,
    prev: bool,
) -> Value {
    let total = items.len();
    let end = offset.saturating_add(size).min(total);
    let slice: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(end.saturating_sub(offset))
        .collect();
    let next = (end < total).then(|| encode_token(app, fingerprint, end));
    let mut v = json!({"items": slice, "nextPage": next});
    if let (true, Some(obj)) = (prev && offset > 0, v.as_object_mut()) {
        obj.insert(
            "prevPage".into(),
            json!(encode_token(app, fingerprint, offset.saturating_sub(size))),
        );
    }
    v
}

fn one_of<'a>(obj: &Obj<'_>, key: &str, value: &'a str, allowed: &[&str]) -> ApiResult<&'a str> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
        Err(ApiError::bad_request(format!(
            "\"{}\" must be one of {}, got \"{value}\"",
            obj.name(key),
            list.join(", ")
        )))
    }
}

fn timeout_ms(app: &App) -> i64 {
    i64::try_from(app.config.missing_file_timeout.as_millis()).unwrap_or(i64::MAX)
}
