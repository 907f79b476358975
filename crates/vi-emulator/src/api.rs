//! The JSON API under `/workspaces/{org}/…`: routing, authentication and handlers.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::body::{Obj, parse_object, shape};
use crate::error::{ApiError, ApiResult};
use crate::query::{Filter, MetadataQuery, Query, decode_token, encode_token, parse_query};
use crate::record::Record;
use crate::render;
use crate::state::{
    Dataset, DeleteOp, FileState, Multipart, MultipartState, Outcome, Session, SessionFile,
    part_count,
};

/// Largest JSON request body accepted (a 5000-file U1 is well below 2 MiB).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
enum Route {
    ListDatasets,
    CreateDataset,
    SimpleDatasets,
    GetDataset(String),
    PatchDataset(String),
    DeleteDataset(String),
    DeleteOperation(String),
    ListAssets(String),
    CountAssets(String),
    GetAsset(String, String),
    DeleteAsset(String, String),
    RenameAsset(String, String),
    RenameAssetFile(String, String),
    CreateSession(String),
    ListSessions(String),
    GetSession(String, String),
    CancelSession(String, String),
    CreateMultipart(String),
    AbortMultipart(String, String),
    PartUrl(String, String, String),
    PartCompletion(String, String, String),
    CompleteMultipart(String, String),
}

/// Splits a raw path into percent-decoded segments (decoding happens per segment, so
/// `%2F` stays inside its segment).
pub(crate) fn segments(path: &str) -> ApiResult<Vec<String>> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    rest.split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| ApiError::bad_request("the request path is not valid UTF-8"))
        })
        .collect()
}

fn not_found_route(path: &str) -> ApiError {
    ApiError::not_found(format!("no route for {path}"))
}

fn pick(
    method: &Method,
    options: Vec<(Method, Route)>,
    template: &'static str,
    allow: &'static str,
) -> ApiResult<(Route, &'static str)> {
    for (m, route) in options {
        if m == method {
            return Ok((route, template));
        }
    }
    let mut err = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {template}"),
    );
    err.allow = Some(allow);
    Err(err)
}

const SESSIONS: &str = "assetIngestionSessions";

/// Maps a request to a route; returns the route, its template and the `{org}` segment.
fn resolve(method: &Method, path: &str) -> ApiResult<(Route, &'static str, String)> {
    let segs = segments(path)?;
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (org, rest) = match s.as_slice() {
        ["workspaces", org, rest @ ..] if !org.is_empty() => (org.to_string(), rest),
        _ => return Err(not_found_route(path)),
    };
    let o = |x: &str| x.to_owned();
    use Method as M;
    let (route, template) = match rest {
        ["datasets"] => pick(
            method,
            vec![
                (M::GET, Route::ListDatasets),
                (M::POST, Route::CreateDataset),
            ],
            "/workspaces/{org}/datasets",
            "GET, POST",
        )?,
        ["simpleDatasets"] => pick(
            method,
            vec![(M::GET, Route::SimpleDatasets)],
            "/workspaces/{org}/simpleDatasets",
            "GET",
        )?,
        ["datasets", d] => pick(
            method,
            vec![
                (M::GET, Route::GetDataset(o(d))),
                (M::PATCH, Route::PatchDataset(o(d))),
                (M::DELETE, Route::DeleteDataset(o(d))),
            ],
            "/workspaces/{org}/datasets/{dsc}",
            "GET, PATCH, DELETE",
        )?,
        ["datasets", d, "deleteOperation"] => pick(
            method,
            vec![(M::GET, Route::DeleteOperation(o(d)))],
            "/workspaces/{org}/datasets/{dsc}/deleteOperation",
            "GET",
        )?,
        ["datasets", d, "assets"] => pick(
            method,
            vec![(M::GET, Route::ListAssets(o(d)))],
            "/workspaces/{org}/datasets/{dsc}/assets",
            "GET",
        )?,
        ["datasets", d, "assets:count"] => pick(
            method,
            vec![(M::GET, Route::CountAssets(o(d)))],
            "/workspaces/{org}/datasets/{dsc}/assets:count",
            "GET",
        )?,
        ["datasets", d, "assets", a] if !a.is_empty() => pick(
            method,
            vec![
                (M::GET, Route::GetAsset(o(d), o(a))),
                (M::DELETE, Route::DeleteAsset(o(d), o(a))),
            ],
            "/workspaces/{org}/datasets/{dsc}/assets/{asset}",
            "GET, DELETE",
        )?,
        ["datasets", d, "assets", a, "name"] if !a.is_empty() => pick(
            method,
            vec![(M::POST, Route::RenameAsset(o(d), o(a)))],
            "/workspaces/{org}/datasets/{dsc}/assets/{asset}/name",
            "POST",
        )?,
        ["datasets", d, "assetFiles", f, "name"] if !f.is_empty() => pick(
            method,
            vec![(M::POST, Route::RenameAssetFile(o(d), o(f)))],
            "/workspaces/{org}/datasets/{dsc}/assetFiles/{filename}/name",
            "POST",
        )?,
        [
            "datasets",
            d,
            "assetSources",
            class,
            provider,
            id,
            tail @ ..,
        ] => {
            if (*class, *provider, *id) != ("managed", "datature", "default") {
                return Err(ApiError::not_found(format!(
                    "asset source {class}/{provider}/{id} not found (only managed/datature/default exists)"
                )));
            }
            match tail {
                [SESSIONS] => pick(
                    method,
                    vec![
                        (M::POST, Route::CreateSession(o(d))),
                        (M::GET, Route::ListSessions(o(d))),
                    ],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions",
                    "GET, POST",
                )?,
                [SESSIONS, sid] if !sid.is_empty() => match sid.strip_suffix(":cancel") {
                    Some(id) if !id.is_empty() => pick(
                        method,
                        vec![(M::POST, Route::CancelSession(o(d), o(id)))],
                        "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions/{sessionId}:cancel",
                        "POST",
                    )?,
                    Some(_) => return Err(not_found_route(path)),
                    None => pick(
                        method,
                        vec![(M::GET, Route::GetSession(o(d), o(sid)))],
                        "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions/{sessionId}",
                        "GET",
                    )?,
                },
                ["multipartUploads"] => pick(
                    method,
                    vec![(M::POST, Route::CreateMultipart(o(d)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads",
                    "POST",
                )?,
                ["multipartUploads", mp] if !mp.is_empty() => pick(
                    method,
                    vec![(M::DELETE, Route::AbortMultipart(o(d), o(mp)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads/{mpId}",
                    "DELETE",
                )?,
                ["multipartUploads", mp, "completion"] if !mp.is_empty() => pick(
                    method,
                    vec![(M::POST, Route::CompleteMultipart(o(d), o(mp)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads/{mpId}/completion",
                    "POST",
                )?,
                ["multipartUploads", mp, "parts", n] if !mp.is_empty() => pick(
                    method,
                    vec![(M::POST, Route::PartUrl(o(d), o(mp), o(n)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads/{mpId}/parts/{partNumber}",
                    "POST",
                )?,
                ["multipartUploads", mp, "parts", n, "completion"] if !mp.is_empty() => pick(
                    method,
                    vec![(M::POST, Route::PartCompletion(o(d), o(mp), o(n)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads/{mpId}/parts/{partNumber}/completion",
                    "POST",
                )?,
                _ => return Err(not_found_route(path)),
            }
        }
        _ => return Err(not_found_route(path)),
    };
    Ok((route, template, org))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Spec §1.3: `Authorization: Bearer <key>` and `Organization-Id`, both must match
/// (401 otherwise); a path `{org}` different from the header's is a 403 (§15 #21).
fn authenticate(app: &App, headers: &HeaderMap, path_org: &str) -> ApiResult<()> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) else {
        return Err(ApiError::unauthorized(
            "missing or malformed Authorization header (expected \"Bearer <secret key>\")",
        ));
    };
    if !constant_time_eq(token.trim().as_bytes(), app.secret_key.as_bytes()) {
        return Err(ApiError::unauthorized("invalid secret key"));
    }
    let org = headers
        .get("organization-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match org {
        None | Some("") => {
            return Err(ApiError::unauthorized("missing Organization-Id header"));
        }
        Some(org) if org != app.organization_id => {
            return Err(ApiError::unauthorized(
                "the Organization-Id header does not match the organization of the secret key",
            ));
        }
        Some(_) => {}
    }
    if path_org != app.organization_id {
        return Err(ApiError::forbidden(format!(
            "organization {path_org} in the path differs from the Organization-Id header"
        )));
    }
    Ok(())
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
    let (route, template, org) = resolve(&parts.method, path)?;
    rec.route = template.to_owned();
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
    authenticate(app, &parts.headers, &org)?;
    let raw_query = parts.uri.query();
    match route {
        Route::ListDatasets => list_datasets(app, raw_query, false),
        Route::SimpleDatasets => list_datasets(app, raw_query, true),
        Route::CreateDataset => {
            no_query(raw_query)?;
            create_dataset(app, &bytes)
        }
        Route::GetDataset(dsc) => {
            no_query(raw_query)?;
            let state = app.state();
            let id = short_id(app, &dsc)?;
            let ds = state
                .datasets
                .get(&id)
                .ok_or_else(|| dataset_missing(&dsc))?;
            ok(&render::dataset(app, ds))
        }
        Route::PatchDataset(dsc) => {
            no_query(raw_query)?;
            patch_dataset(app, &dsc, &bytes)
        }
        Route::DeleteDataset(dsc) => {
            no_query(raw_query)?;
            delete_dataset(app, &dsc).await
        }
        Route::DeleteOperation(dsc) => {
            no_query(raw_query)?;
            let id = short_id(app, &dsc)?;
            let state = app.state();
            match state.delete_ops.get(&id) {
                Some(op) => ok(&render::delete_op(app, op)),
                None if state.datasets.contains_key(&id) => Err(ApiError::not_found(format!(
                    "dataset {dsc} has no deletion operation"
                ))),
                None => Err(dataset_missing(&dsc)),
            }
        }
        Route::ListAssets(dsc) => list_assets(app, &dsc, raw_query),
        Route::CountAssets(dsc) => count_assets(app, &dsc, raw_query),
        Route::GetAsset(dsc, asset) => {
            let q = parse_query(raw_query, &["contents"])?;
            let contents = q.flag("contents")?;
            let state = app.state();
            let ds = dataset(&state, app, &dsc)?;
            let a = ds.assets.get(&asset).ok_or_else(|| asset_missing(&asset))?;
            ok(&render::asset(app, &ds.id, a, contents))
        }
        Route::DeleteAsset(dsc, asset) => {
            no_query(raw_query)?;
            let blob = {
                let mut state = app.state();
                let id = short_id(app, &dsc)?;
                let ds = state
                    .datasets
                    .get_mut(&id)
                    .ok_or_else(|| dataset_missing(&dsc))?;
                let removed = ds
                    .assets
                    .remove(&asset)
                    .ok_or_else(|| asset_missing(&asset))?;
                ds.updated = app.now_ms();
                removed.blob
            };
            app.delete_blobs(vec![blob]).await;
            app.mark_dirty();
            // Spec §5.4: success with an EMPTY body.
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Route::RenameAsset(dsc, asset) => {
            no_query(raw_query)?;
            rename_asset(app, &dsc, Target::Id(&asset), &bytes)
        }
        Route::RenameAssetFile(dsc, filename) => {
            no_query(raw_query)?;
            rename_asset(app, &dsc, Target::Filename(&filename), &bytes)
        }
        Route::CreateSession(dsc) => {
            no_query(raw_query)?;
            create_session(app, &dsc, &bytes)
        }
        Route::ListSessions(dsc) => list_sessions(app, &dsc, raw_query).await,
        Route::GetSession(dsc, sid) => {
            no_query(raw_query)?;
            let value = with_session(app, &dsc, &sid, |_, _| Ok(Vec::new())).await?;
            ok(&value)
        }
        Route::CancelSession(dsc, sid) => {
            no_query(raw_query)?;
            let body = parse_object(&bytes, true)?;
            Obj::new(&body, "").only(&[])?;
            let now = app.now_ms();
            let value = with_session(app, &dsc, &sid, |state, sid| {
                Ok(state.cancel_session(sid, now))
            })
            .await?;
            ok(&value)
        }
        Route::CreateMultipart(dsc) => {
            no_query(raw_query)?;
            create_multipart(app, &dsc, &bytes).await
        }
        Route::AbortMultipart(dsc, mp) => {
            no_query(raw_query)?;
            abort_multipart(app, &dsc, &mp).await
        }
        Route::PartUrl(dsc, mp, n) => {
            no_query(raw_query)?;
            part_url(app, &dsc, &mp, &n, &bytes)
        }
        Route::PartCompletion(dsc, mp, n) => {
            no_query(raw_query)?;
            part_completion(app, &dsc, &mp, &n, &bytes)
        }
        Route::CompleteMultipart(dsc, mp) => {
            no_query(raw_query)?;
            complete_multipart(app, &dsc, &mp, &bytes).await
        }
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
    state.datasets.get(&id).ok_or_else(|| dataset_missing(dsc))
}

fn dataset_mut<'s>(
    state: &'s mut crate::state::State,
    app: &App,
    dsc: &str,
) -> ApiResult<&'s mut Dataset> {
    let id = short_id(app, dsc)?;
    state
        .datasets
        .get_mut(&id)
        .ok_or_else(|| dataset_missing(dsc))
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

fn list_datasets(app: &App, raw: Option<&str>, simple: bool) -> ApiResult<Response> {
    let q = parse_query(raw, &["s", "p"])?;
    let size = q.page_size()?;
    let fp = q.fingerprint(if simple { "simpleDatasets" } else { "datasets" }, &[]);
    let offset = match q.get("p") {
        Some(p) => decode_token(app, &fp, p)?,
        None => 0,
    };
    let state = app.state();
    let mut datasets: Vec<&Dataset> = state.datasets.values().collect();
    datasets.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let items = datasets
        .into_iter()
        .map(|d| {
            if simple {
                render::simple_dataset(app, d)
            } else {
                render::dataset(app, d)
            }
        })
        .collect();
    ok(&page(app, items, offset, size, &fp, true))
}

const DATASET_TYPES: [&str; 3] = ["phrase-grounding", "vqa", "freeform"];

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

fn attributes(obj: &Obj<'_>) -> ApiResult<Option<BTreeMap<String, String>>> {
    match obj.opt_object("metadata")? {
        None => Ok(None),
        Some(meta) => {
            meta.only(&["attributes"])?;
            match meta.opt_object("attributes")? {
                Some(attrs) => Ok(Some(attrs.string_map()?)),
                None => Ok(Some(BTreeMap::new())),
            }
        }
    }
}

fn create_dataset(app: &App, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&[
        "name",
        "owner",
        "description",
        "type",
        "content",
        "localization",
        "dataLocalization",
        "status",
        "tags",
        "metadata",
        "datasetId",
    ])?;
    let name = obj.req_nonempty("name")?.to_owned();
    let owner = obj
        .opt_str("owner")?
        .map_or_else(|| app.organization_id.clone(), str::to_owned);
    let description = obj.opt_str_or_null("description")?.map(str::to_owned);
    let dataset_type = match obj.opt_str("type")? {
        Some(t) => one_of(&obj, "type", t, &DATASET_TYPES)?,
        None => "phrase-grounding",
    }
    .to_owned();
    let content = match obj.opt_str("content")? {
        Some(c) => one_of(&obj, "content", c, &["Image"])?,
        None => "Image",
    }
    .to_owned();
    let localization = |key: &str| -> ApiResult<String> {
        Ok(match obj.opt_str(key)? {
            Some(l) => one_of(&obj, key, l, &["Datature/Multi"])?,
            None => "Datature/Multi",
        }
        .to_owned())
    };
    let loc = localization("localization")?;
    let data_loc = localization("dataLocalization")?;
    let status = obj.opt_i64("status")?.unwrap_or(0);
    let tags = match obj.opt_object("tags")? {
        Some(t) => t.int_map()?,
        None => BTreeMap::new(),
    };
    let attrs = attributes(&obj)?.unwrap_or_default();
    let requested_id = obj.opt_str("datasetId")?;
    if let Some(id) = requested_id {
        let valid = !id.is_empty()
            && id.len() <= 255
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(ApiError::bad_request(
                "\"datasetId\" must be 1-255 characters of [a-zA-Z0-9-] (no underscore: it separates the organization in composite ids)",
            ));
        }
    }
    let now = app.now_ms();
    let value = {
        let mut state = app.state();
        let id = match requested_id {
            Some(id) => {
                if state.datasets.contains_key(id) {
                    return Err(ApiError::conflict(format!("dataset {id} already exists")));
                }
                id.to_owned()
            }
            None => {
                let mut id = crate::ids::short_id();
                while state.datasets.contains_key(&id) || state.delete_ops.contains_key(&id) {
                    id = crate::ids::short_id();
                }
                id
            }
        };
        state.delete_ops.remove(&id);
        let ds = Dataset {
            id: id.clone(),
            name,
            owner,
            description,
            dataset_type,
            content,
            localization: Some(loc),
            data_localization: Some(data_loc),
            status,
            tags,
            attributes: attrs,
            preference: Map::new(),
            created: now,
            updated: now,
            generation: 1,
            assets: BTreeMap::new(),
        };
        let value = render::dataset(app, &ds);
        state.datasets.insert(id, ds);
        value
    };
    app.mark_dirty();
    ok(&value)
}

fn patch_dataset(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&["name", "description", "preference", "metadata"])?;
    let name = match obj.get("name") {
        Some(_) => Some(obj.req_nonempty("name")?.to_owned()),
        None => None,
    };
    let description = match obj.get("description") {
        Some(_) => Some(obj.opt_str_or_null("description")?.map(str::to_owned)),
        None => None,
    };
    let preference = match obj.opt_object("preference")? {
        Some(p) => {
            for (k, v) in p.map {
                if !matches!(v, Value::Bool(_) | Value::String(_)) {
                    return Err(ApiError::bad_request(format!(
                        "\"preference.{k}\" must be a boolean or a string"
                    )));
                }
            }
            Some(p.map.clone())
        }
        None => None,
    };
    let attrs = attributes(&obj)?;
    let now = app.now_ms();
    let value = {
        let mut state = app.state();
        let ds = dataset_mut(&mut state, app, dsc)?;
        if let Some(n) = name {
            ds.name = n;
        }
        if let Some(d) = description {
            ds.description = d;
        }
        if let Some(p) = preference {
            ds.preference.extend(p);
        }
        if let Some(a) = attrs {
            ds.attributes = a;
        }
        ds.updated = now;
        ds.generation += 1;
        render::dataset(app, ds)
    };
    app.mark_dirty();
    ok(&value)
}

async fn delete_dataset(app: &App, dsc: &str) -> ApiResult<Response> {
    let id = short_id(app, dsc)?;
    let now = app.now_ms();
    let (value, garbage, multiparts) = {
        let mut state = app.state();
        if !state.datasets.contains_key(&id) {
            return Err(dataset_missing(dsc));
        }
        let (garbage, multiparts) = state.remove_dataset(&id);
        let op = DeleteOp {
            dataset: id.clone(),
            created: now,
        };
        let value = render::delete_op(app, &op);
        state.delete_ops.insert(id, op);
        (value, garbage, multiparts)
    };
    app.delete_blobs(garbage).await;
    for mp in multiparts {
        let _ = tokio::fs::remove_dir_all(app.part_dir(&mp)).await;
    }
    app.mark_dirty();
    ok(&value)
}

const SORT_KEYS: [&str; 5] = [
    "default",
    "assetId",
    "filename",
    "lastModified.contents",
    "metadata.fileSize",
];

/// Filters shared by list and count.
struct Selection {
    filter: Filter,
    metadata: MetadataQuery,
    strict: bool,
}

impl Selection {
    fn parse(q: &Query, strict: bool) -> ApiResult<Selection> {
        let filter = Filter::parse(q.get("filter").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("invalid \"filter\": {e}")))?;
        let metadata = MetadataQuery::parse(q.get("metadataQuery").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("invalid \"metadataQuery\": {e}")))?;
        // ruleQuery is accepted and ignored (its syntax is undocumented, spec §15 #4).
        Ok(Selection {
            filter,
            metadata,
            strict,
        })
    }

    fn keeps(&self, asset: &crate::state::Asset) -> bool {
        self.filter.matches(asset) && self.metadata.matches(&asset.custom_metadata, self.strict)
    }
}

fn list_assets(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
    let q = parse_query(
        raw,
        &[
            "p",
            "s",
            "sortBy",
            "o",
            "filter",
            "contents",
            "metadataQuery",
            "ruleQuery",
            "pageAfter",
            "strictQuery",
        ],
    )?;
    let size = q.page_size()?;
    let contents = q.flag("contents")?;
    let _page_after = q.flag("pageAfter")?; // accepted, no effect (meaning undocumented)
    let strict = q.flag("strictQuery")?;
    let sort = q.get("sortBy").unwrap_or("default");
    if !SORT_KEYS.contains(&sort) {
        return Err(ApiError::bad_request(format!(
            "query parameter \"sortBy\" must be one of {}, got \"{sort}\"",
            SORT_KEYS.join(", ")
        )));
    }
    let descending = match q.get("o") {
        None | Some("asc") | Some("a") => false,
        Some("desc") | Some("d") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query parameter \"o\" must be asc, desc, a or d, got \"{other}\""
            )));
        }
    };
    let selection = Selection::parse(&q, strict)?;
    let fp = q.fingerprint(
        &format!("assets/{dsc}"),
        &[
            "sortBy",
            "o",
            "filter",
            "metadataQuery",
            "ruleQuery",
            "strictQuery",
            "pageAfter",
        ],
    );
    let offset = match q.get("p") {
        Some(p) => decode_token(app, &fp, p)?,
        None => 0,
    };
    let state = app.state();
    let ds = dataset(&state, app, dsc)?;
    let mut assets: Vec<&crate::state::Asset> =
        ds.assets.values().filter(|a| selection.keeps(a)).collect();
    assets.sort_by(|a, b| {
        let primary = match sort {
            "assetId" => a.id.cmp(&b.id),
            "filename" => a.filename.cmp(&b.filename),
            "lastModified.contents" => a.contents_updated.cmp(&b.contents_updated),
            "metadata.fileSize" => a.size.cmp(&b.size),
            _ => (a.created, a.seq).cmp(&(b.created, b.seq)),
        };
        primary.then_with(|| a.id.cmp(&b.id))
    });
    if descending {
        assets.reverse();
    }
    let items: Vec<Value> = assets
        .into_iter()
        .skip(offset)
        .map(|a| render::asset(app, &ds.id, a, contents))
        .collect();
    // Spec §13.6: s=1000 returns everything left in one page (the Python SDK cannot
    // follow nextPage for assets).
    let size = if app.config.single_page_at_max_size && size == 1000 {
        usize::MAX
    } else {
        size
    };
    let total = items.len();
    let take = size.min(total);
    let slice: Vec<Value> = items.into_iter().take(take).collect();
    let next = (take < total).then(|| encode_token(app, &fp, offset.saturating_add(take)));
    ok(&json!({"items": slice, "nextPage": next}))
}

fn count_assets(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
    let q = parse_query(
        raw,
        &["filter", "metadataQuery", "ruleQuery", "strictQuery"],
    )?;
    let strict = q.yes_no("strictQuery")?;
    let selection = Selection::parse(&q, strict)?;
    let state = app.state();
    let ds = dataset(&state, app, dsc)?;
    let count = ds.assets.values().filter(|a| selection.keeps(a)).count();
    ok(&json!({"count": count}))
}

enum Target<'a> {
    Id(&'a str),
    Filename(&'a str),
}

fn validate_filename(obj: &Obj<'_>, key: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "\"{}\" must not be empty",
            obj.name(key)
        )));
    }
    // The filename is an opaque per-dataset key: like an object store, the emulator
    // accepts any text, `/` and `../` included, so clients must sanitise names before using
    // them as local paths (the SDK's download tests rely on this). Only NUL and the bare
    // names `.` and `..` are refused, as object stores do: URL parsers would read them as
    // dot-segments even when percent-encoded.
    if name.contains('\0') || name == "." || name == ".." {
        return Err(ApiError::bad_request(format!(
            "\"{}\" must not contain NUL or be \".\" or \"..\", got {name:?}",
            obj.name(key)
        )));
    }
    Ok(())
}

fn rename_asset(app: &App, dsc: &str, target: Target<'_>, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&["filename"])?;
    let new_name = obj.req_str("filename")?;
    validate_filename(&obj, "filename", new_name)?;
    let now = app.now_ms();
    let value = {
        let mut state = app.state();
        let ds = dataset_mut(&mut state, app, dsc)?;
        let id = match target {
            Target::Id(id) => {
                if !ds.assets.contains_key(id) {
                    return Err(asset_missing(id));
                }
                id.to_owned()
            }
            Target::Filename(f) => ds
                .asset_by_filename(f)
                .map(|a| a.id.clone())
                .ok_or_else(|| ApiError::not_found(format!("no asset named \"{f}\"")))?,
        };
        if let Some(other) = ds.asset_by_filename(new_name) {
            if other.id != id {
                return Err(ApiError::conflict(format!(
                    "another asset ({}) is already named \"{new_name}\"",
                    other.id
                )));
            }
        }
        let ds_id = ds.id.clone();
        let asset = ds.assets.get_mut(&id).ok_or_else(|| asset_missing(&id))?;
        if asset.filename != new_name {
            asset.filename = new_name.to_owned();
            asset.updated = now;
            asset.generation += 1;
        }
        render::asset(app, &ds_id, asset, false)
    };
    app.mark_dirty();
    ok(&value)
}

fn create_session(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let top = Obj::new(&map, "");
    top.only(&["spec"])?;
    let spec = top.req_object("spec")?;
    spec.only(&["kind", "failureMode", "onAssetOverwritten", "assets"])?;
    let kind = spec.req_str("kind")?;
    one_of(&spec, "kind", kind, &["Upload"])?;
    let failure_mode = match spec.opt_str("failureMode")? {
        Some(m) => one_of(&spec, "failureMode", m, &["FailAfterOne", "FailAfterAll"])?,
        None => "FailAfterOne",
    };
    // Spec §15 #1: accept both keep spellings, always emit KeepLinkedResources.
    let keep_linked = match spec.opt_str("onAssetOverwritten")? {
        Some(v) => {
            one_of(
                &spec,
                "onAssetOverwritten",
                v,
                &[
                    "RemoveLinkedResource",
                    "KeepLinkedResource",
                    "KeepLinkedResources",
                ],
            )? != "RemoveLinkedResource"
        }
        None => false,
    };
    let entries = spec.req_array("assets")?;
    let mut files = Vec::with_capacity(entries.len());
    let mut seen = std::collections::HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let prefix = format!("spec.assets[{i}]");
        let Value::Object(m) = entry else {
            return Err(ApiError::bad_request(format!(
                "\"{prefix}\" must be an object"
            )));
        };
        let a = Obj::new(m, prefix);
        a.only(&[
            "filename",
            "mime",
            "size",
            "crc32c",
            "customMetadata",
            "kind",
        ])?;
        let filename = a.req_str("filename")?;
        validate_filename(&a, "filename", filename)?;
        let mime = a.req_nonempty("mime")?;
        let size = a.req_u64("size")?;
        let crc32c =
            match a.get("crc32c") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(
                    || {
                        ApiError::bad_request(format!(
                            "\"{}\" must be a signed 32-bit integer or null",
                            a.name("crc32c")
                        ))
                    },
                )?),
            };
        let custom_metadata = match a.opt_object_or_null("customMetadata")? {
            Some(c) => Some(c.scalar_map()?),
            None => None,
        };
        let file_kind = a.req_str("kind")?;
        one_of(&a, "kind", file_kind, &["Image", "Video"])?;
        let top_level = mime.split('/').next().unwrap_or("");
        let expected = if file_kind == "Image" {
            "image"
        } else {
            "video"
        };
        if top_level != expected {
            return Err(ApiError::bad_request(format!(
                "\"{}\" is \"{mime}\" but \"{}\" is \"{file_kind}\"",
                a.name("mime"),
                a.name("kind")
            )));
        }
        // Modelling choice (spec §6.6, §15 #10): a filename declared twice in one
        // session is rejected; clients resolve duplicates before U1.
        if !seen.insert(filename.to_owned()) {
            return Err(ApiError::bad_request(format!(
                "duplicate filename \"{filename}\" in spec.assets (each file may be declared once per session)"
            )));
        }
        files.push(SessionFile {
            filename: filename.to_owned(),
            mime: mime.to_owned(),
            size,
            crc32c,
            custom_metadata,
            kind: file_kind.to_owned(),
            state: FileState::Pending,
        });
    }
    let now = app.now_ms();
    let value = {
        let mut state = app.state();
        let ds = dataset(&state, app, dsc)?;
        let dataset_id = ds.id.clone();
        let mut id = format!("sess-{}", crate::ids::short_id());
        while state.sessions.contains_key(&id) {
            id = format!("sess-{}", crate::ids::short_id());
        }
        let finished = files.is_empty().then_some(crate::state::Finish {
            reached: true,
            reason: None,
            message: None,
            time: now,
        });
        let session = Session {
            id: id.clone(),
            ingestion_id: format!("ingest-{}", crate::ids::short_id()),
            dataset: dataset_id,
            failure_mode: failure_mode.to_owned(),
            keep_linked,
            spec_kind: kind.to_owned(),
            files,
            created: now,
            updated: now,
            last_activity: now,
            generation: 1,
            upload_expiry: app.url_expiry(),
            finished,
            errors: Vec::new(),
        };
        let value = render::session(app, &session, true);
        state.sessions.insert(id, session);
        value
    };
    app.mark_dirty();
    ok(&value)
}

fn timeout_ms(app: &App) -> i64 {
    i64::try_from(app.config.missing_file_timeout.as_millis()).unwrap_or(i64::MAX)
}

/// Looks a session up (404 unless it belongs to the dataset), applies lazy timeouts,
/// runs `f` on it and renders it.
async fn with_session<F>(app: &App, dsc: &str, sid: &str, f: F) -> ApiResult<Value>
where
    F: FnOnce(&mut crate::state::State, &str) -> ApiResult<Vec<String>>,
{
    let now = app.now_ms();
    let (value, garbage) = {
        let mut state = app.state();
        let ds_id = dataset(&state, app, dsc)?.id.clone();
        match state.sessions.get(sid) {
            Some(s) if s.dataset == ds_id => {}
            _ => {
                return Err(ApiError::not_found(format!(
                    "ingestion session {sid} not found"
                )));
            }
        }
        let mut garbage =
            state.refresh_session(sid, now, timeout_ms(app), app.config.failure_model);
        garbage.extend(f(&mut state, sid)?);
        let session = state
            .sessions
            .get(sid)
            .ok_or_else(|| ApiError::not_found(format!("ingestion session {sid} not found")))?;
        (render::session(app, session, false), garbage)
    };
    app.delete_blobs(garbage).await;
    // Lazy timeouts or `f` may have changed the session.
    app.mark_dirty();
    Ok(value)
}

async fn list_sessions(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
    let q = parse_query(raw, &["s", "p"])?;
    let size = q.page_size()?;
    let fp = q.fingerprint(&format!("sessions/{dsc}"), &[]);
    let offset = match q.get("p") {
        Some(p) => decode_token(app, &fp, p)?,
        None => 0,
    };
    let now = app.now_ms();
    let (items, garbage) = {
        let mut state = app.state();
        let ds_id = dataset(&state, app, dsc)?.id.clone();
        let mut ids: Vec<(i64, String)> = state
            .sessions
            .values()
            .filter(|s| s.dataset == ds_id)
            .map(|s| (s.created, s.id.clone()))
            .collect();
        ids.sort();
        let mut garbage = Vec::new();
        for (_, id) in &ids {
            garbage.extend(state.refresh_session(
                id,
                now,
                timeout_ms(app),
                app.config.failure_model,
            ));
        }
        let items: Vec<Value> = ids
            .iter()
            .filter_map(|(_, id)| state.sessions.get(id))
            .map(|s| render::session(app, s, false))
            .collect();
        (items, garbage)
    };
    app.delete_blobs(garbage).await;
    app.mark_dirty();
    ok(&page(app, items, offset, size, &fp, true))
}

async fn create_multipart(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let top = Obj::new(&map, "");
    top.only(&["spec"])?;
    let spec = top.req_object("spec")?;
    spec.only(&["ingestionId", "filename", "contentType", "sizeBytes"])?;
    let ingestion_id = spec.req_nonempty("ingestionId")?;
    let filename = spec.req_nonempty("filename")?;
    let content_type = spec.opt_str_or_null("contentType")?.map(str::to_owned);
    let size = spec.req_u64("sizeBytes")?;
    let now = app.now_ms();
    let (value, garbage, superseded) = {
        let mut state = app.state();
        let ds_id = dataset(&state, app, dsc)?.id.clone();
        let sid = match state.session_by_ingestion(ingestion_id) {
            Some(s) if s.dataset == ds_id => s.id.clone(),
            _ => {
                return Err(ApiError::not_found(format!(
                    "no ingestion session with ingestionId {ingestion_id} in dataset {dsc}"
                )));
            }
        };
        let garbage = state.refresh_session(&sid, now, timeout_ms(app), app.config.failure_model);
        let session = state
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| ApiError::not_found("ingestion session vanished"))?;
        if session.finished.is_some() {
            return Err(ApiError::conflict(format!(
                "ingestion session {sid} is finished; no more uploads are accepted"
            )));
        }
        let file = session
            .files
            .iter()
            .find(|f| f.filename == filename)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "\"spec.filename\" {filename} was not declared in ingestion session {sid}"
                ))
            })?;
        if file.size != size {
            return Err(ApiError::bad_request(format!(
                "\"spec.sizeBytes\" is {size} but {filename} was declared with size {}",
                file.size
            )));
        }
        match &file.state {
            FileState::Pending => {}
            FileState::Received { .. } => {
                return Err(ApiError::conflict(format!(
                    "{filename} was already uploaded"
                )));
            }
            FileState::Failed { code } => {
                return Err(ApiError::conflict(format!(
                    "{filename} already failed with {code}"
                )));
            }
        }
        session.last_activity = now;
        // A fresh M1 for the same file supersedes an earlier, unfinished one (the
        // Python SDK restarts whole files from M1, spec §6.8 / §15 #29).
        let mut superseded = Vec::new();
        for mp in state.multiparts.values_mut() {
            if mp.session == sid && mp.filename == filename && mp.state == MultipartState::Open {
                mp.state = MultipartState::Aborted;
                mp.updated = now;
                superseded.push(mp.id.clone());
            }
        }
        let mut id = format!("mpu-{}", crate::ids::short_id());
        while state.multiparts.contains_key(&id) {
            id = format!("mpu-{}", crate::ids::short_id());
        }
        let mp = Multipart {
            id: id.clone(),
            session: sid,
            dataset: ds_id,
            ingestion_id: ingestion_id.to_owned(),
            filename: filename.to_owned(),
            content_type,
            size,
            part_count: part_count(size, app.config.multipart_part_size),
            parts: BTreeMap::new(),
            state: MultipartState::Open,
            created: now,
            updated: now,
            generation: 1,
            force_corrupt: false,
        };
        let value = render::multipart(app, &mp);
        state.multiparts.insert(id, mp);
        (value, garbage, superseded)
    };
    app.delete_blobs(garbage).await;
    for mp in superseded {
        let _ = tokio::fs::remove_dir_all(app.part_dir(&mp)).await;
    }
    app.mark_dirty();
    ok(&value)
}

/// Finds an open multipart upload of the dataset whose session is still open.
fn open_multipart<'s>(
    state: &'s mut crate::state::State,
    app: &App,
    dsc: &str,
    mp_id: &str,
) -> ApiResult<&'s mut Multipart> {
    let ds_id = dataset(state, app, dsc)?.id.clone();
    let now = app.now_ms();
    let sid = match state.multiparts.get(mp_id) {
        Some(m) if m.dataset == ds_id => m.session.clone(),
        _ => {
            return Err(ApiError::not_found(format!(
                "multipart upload {mp_id} not found"
            )));
        }
    };
    // Timeouts may finish the session; its garbage is collected by later calls.
    let garbage = state.refresh_session(&sid, now, timeout_ms(app), app.config.failure_model);
    for blob in garbage {
        let _ = std::fs::remove_file(app.blob_path(&blob));
    }
    let mp = state
        .multiparts
        .get_mut(mp_id)
        .ok_or_else(|| ApiError::not_found(format!("multipart upload {mp_id} not found")))?;
    match mp.state {
        MultipartState::Open => Ok(mp),
        MultipartState::Aborted => Err(ApiError::conflict(format!(
            "multipart upload {mp_id} was aborted"
        ))),
        MultipartState::Completed => Err(ApiError::conflict(format!(
            "multipart upload {mp_id} is already completed"
        ))),
    }
}

fn parse_part(n: &str, count: u32) -> ApiResult<u32> {
    match n.parse::<u32>() {
        Ok(p) if (1..=count).contains(&p) => Ok(p),
        _ => Err(ApiError::bad_request(format!(
            "part number must be an integer between 1 and {count}, got \"{n}\""
        ))),
    }
}

fn part_url(app: &App, dsc: &str, mp_id: &str, n: &str, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, true)?;
    Obj::new(&map, "").only(&[])?;
    let value = {
        let mut state = app.state();
        let mp = open_multipart(&mut state, app, dsc, mp_id)?;
        let part = parse_part(n, mp.part_count)?;
        let expiry = app.url_expiry();
        json!({
            "method": "PUT",
            "url": render::part_url(app, mp, part, expiry),
            "expiry": expiry,
            "responseHeaders": ["ETag"],
            "responseBody": false,
        })
    };
    app.mark_dirty();
    ok(&value)
}

fn part_completion(
    app: &App,
    dsc: &str,
    mp_id: &str,
    n: &str,
    bytes: &[u8],
) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&["responseHeaders", "responseBody"])?;
    let headers = obj.req_object("responseHeaders")?.string_map()?;
    obj.opt_str_or_null("responseBody")?;
    let now = app.now_ms();
    let value = {
        let mut state = app.state();
        let mp = open_multipart(&mut state, app, dsc, mp_id)?;
        let number = parse_part(n, mp.part_count)?;
        let part = mp
            .parts
            .get_mut(&number)
            .ok_or_else(|| ApiError::bad_request(format!("part {number} has not been uploaded")))?;
        let etag = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !etag.is_empty() && etag != part.etag() {
            return Err(ApiError::bad_request(format!(
                "ETag {etag} does not match the uploaded part {number} ({})",
                part.etag()
            )));
        }
        part.registered = true;
        mp.updated = now;
        mp.generation += 1;
        render::multipart(app, mp)
    };
    app.mark_dirty();
    ok(&value)
}

async fn complete_multipart(
    app: &App,
    dsc: &str,
    mp_id: &str,
    bytes: &[u8],
) -> ApiResult<Response> {
    let map = parse_object(bytes, true)?;
    Obj::new(&map, "").only(&[])?;
    // Validate and claim the upload under the lock, assemble outside it.
    let (mp, file) = {
        let mut state = app.state();
        let mp = open_multipart(&mut state, app, dsc, mp_id)?;
        for n in 1..=mp.part_count {
            match mp.parts.get(&n) {
                None => {
                    return Err(ApiError::bad_request(format!(
                        "part {n} of {} has not been uploaded",
                        mp.part_count
                    )));
                }
                Some(p) if !p.registered => {
                    return Err(ApiError::bad_request(format!(
                        "part {n} has not been registered (POST …/parts/{n}/completion)"
                    )));
                }
                Some(_) => {}
            }
        }
        mp.state = MultipartState::Completed;
        let mp = mp.clone();
        let finished = state
            .sessions
            .get(&mp.session)
            .ok_or_else(|| ApiError::not_found("ingestion session not found"))?
            .finished
            .is_some();
        if finished {
            if let Some(m) = state.multiparts.get_mut(mp_id) {
                m.state = MultipartState::Aborted;
            }
            return Err(ApiError::conflict(format!(
                "ingestion session {} is finished; no more uploads are accepted",
                mp.session
            )));
        }
        let file = state
            .sessions
            .get(&mp.session)
            .ok_or_else(|| ApiError::not_found("ingestion session not found"))?
            .files
            .iter()
            .find(|f| f.filename == mp.filename)
            .cloned()
            .ok_or_else(|| ApiError::bad_request("file no longer declared"))?;
        (mp, file)
    };
    let assembled = crate::storage::assemble_parts(app, &mp, &file).await;
    let outcome = match assembled {
        Ok(outcome) => outcome,
        Err(err) => {
            if let Some(m) = app.state().multiparts.get_mut(mp_id) {
                m.state = MultipartState::Open;
            }
            return Err(err);
        }
    };
    let _ = tokio::fs::remove_dir_all(app.part_dir(mp_id)).await;
    let now = app.now_ms();
    let (value, garbage) = {
        let mut state = app.state();
        let open = state
            .sessions
            .get(&mp.session)
            .is_some_and(|s| s.finished.is_none());
        let garbage = if open {
            state.record_outcome(
                &mp.session,
                &mp.filename,
                outcome,
                now,
                app.config.failure_model,
            )
        } else {
            match outcome {
                Outcome::Received { blob, .. } => vec![blob],
                Outcome::Failed(_) => Vec::new(),
            }
        };
        let m = state
            .multiparts
            .get_mut(mp_id)
            .ok_or_else(|| ApiError::not_found("multipart upload vanished"))?;
        m.updated = now;
        m.generation += 1;
        m.parts.clear();
        (render::multipart(app, m), garbage)
    };
    app.delete_blobs(garbage).await;
    app.mark_dirty();
    // The completion itself succeeds; a size or CRC problem of the assembled file is
    // reported through the session (Error event), like the ingestion service would.
    ok(&value)
}

async fn abort_multipart(app: &App, dsc: &str, mp_id: &str) -> ApiResult<Response> {
    let now = app.now_ms();
    let value = {
        let mut state = app.state();
        let ds_id = dataset(&state, app, dsc)?.id.clone();
        let mp = match state.multiparts.get_mut(mp_id) {
            Some(m) if m.dataset == ds_id => m,
            _ => {
                return Err(ApiError::not_found(format!(
                    "multipart upload {mp_id} not found"
                )));
            }
        };
        match mp.state {
            MultipartState::Completed => {
                return Err(ApiError::conflict(format!(
                    "multipart upload {mp_id} is already completed"
                )));
            }
            MultipartState::Aborted => {}
            MultipartState::Open => {
                mp.state = MultipartState::Aborted;
                mp.updated = now;
                mp.generation += 1;
                mp.parts.clear();
            }
        }
        render::multipart(app, mp)
    };
    let _ = tokio::fs::remove_dir_all(app.part_dir(mp_id)).await;
    app.mark_dirty();
    ok(&value)
}
