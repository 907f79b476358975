//! Dataset exports: create, get and list (E1–E3). The archive is built at creation
//! from the dataset's assets and annotations; the first poll finds the export finished,
//! with a signed URL that answers `HEAD` and ranges (`storage::export`).

use axum::response::Response;
use serde_json::{Value, json};

use super::{dataset, ok, one_of, page, short_id};
use crate::app::App;
use crate::archive::{FORMATS, Item, build};
use crate::body::{Obj, parse_object};
use crate::error::{ApiError, ApiResult};
use crate::query::{decode_token, parse_query};
use crate::render::{composite, dataset_link, encode_segment, resource_metadata};
use crate::state::Export;
use crate::store::Sort;

fn export_missing(id: &str) -> ApiError {
    ApiError::not_found(format!("dataset export {id} not found"))
}

/// The signed URL of an export's archive.
pub(crate) fn archive_url(app: &App, e: &Export, expires: i64) -> String {
    let dsc = composite(app, &e.dataset);
    let signature = app.sign(&["GET", "export", &dsc, &e.id], expires);
    format!(
        "{}/_storage/download/{}/exports/{}.zip?expires={expires}&signature={signature}",
        app.origin,
        encode_segment(&dsc),
        encode_segment(&e.id),
    )
}

fn render(app: &App, e: &Export) -> Value {
    let finished = e.finished;
    let (conditions, url) = match (&e.failure, finished) {
        (Some((reason, message)), Some(t)) => (
            json!([
                {"condition": "Finished", "status": "FailedReach", "lastTransitionTime": t,
                 "reason": reason, "message": message},
                {"condition": "Started", "status": "Reached", "lastTransitionTime": e.created},
            ]),
            Value::Null,
        ),
        (None, Some(t)) => (
            json!([
                {"condition": "Finished", "status": "Reached", "lastTransitionTime": t},
                {"condition": "Started", "status": "Reached", "lastTransitionTime": e.created},
            ]),
            {
                let expires = app.url_expiry();
                json!({"url": archive_url(app, e, expires), "expiresAt": expires})
            },
        ),
        (_, None) => (
            json!([
                {"condition": "Finished", "status": "Waiting", "lastTransitionTime": e.created},
                {"condition": "Started", "status": "Reached", "lastTransitionTime": e.created},
            ]),
            Value::Null,
        ),
    };
    let generation = if finished.is_some() { 3 } else { 1 };
    let mut status = json!({"conditions": conditions});
    if !url.is_null() {
        status["downloadUrl"] = url;
    }
    json!({
        "kind": "DatasetExport",
        "workspaceId": app.organization_id,
        "datasetId": composite(app, &e.dataset),
        "datasetExportId": e.id,
        "spec": {"format": e.format, "options": {"normalized": e.normalized, "splitRatio": e.split_ratio}},
        "status": status,
        "metadata": resource_metadata(e.created, finished.unwrap_or(e.created), generation),
        "selfLink": format!("{}/datasetExports/{}", dataset_link(app, &e.dataset), e.id),
        "etag": generation.to_string(),
    })
}

/// The assets of a dataset with their records, in upload order.
fn items(app: &App, short: &str) -> ApiResult<Vec<Item>> {
    let state = app.state();
    let page = state
        .store()
        .asset_page(short, Sort::Upload, false, None, usize::MAX, &|_| true)?
        .map(|p| p.items)
        .unwrap_or_default();
    Ok(page
        .into_iter()
        .map(|a| Item {
            records: state.vi_jsonl_records(short, &a.id),
            blob: app.blob_path(&a.blob),
            filename: a.filename,
            width: a.width,
            height: a.height,
        })
        .collect())
}

pub(super) fn create(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
    let short = short_id(app, dsc)?;
    dataset(&app.state(), app, dsc)?;
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&["spec"])?;
    let spec = obj.req_object("spec")?;
    spec.only(&["format", "options"])?;
    let format = one_of(&spec, "format", spec.req_str("format")?, &FORMATS)?.to_owned();
    // Unknown option keys are accepted, as the official client may send its own.
    let (normalized, split_ratio) = match spec.opt_object("options")? {
        None => (true, None),
        Some(options) => {
            let normalized = match options.get("normalized") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(ApiError::bad_request(format!(
                        "\"{}\" must be a boolean",
                        options.name("normalized")
                    )));
                }
            };
            let ratio = match options.get("splitRatio") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_f64() {
                    Some(r) if (0.0..=1.0).contains(&r) => Some(r),
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "\"{}\" must be a number from 0 to 1 or null",
                            options.name("splitRatio")
                        )));
                    }
                },
            };
            (normalized, ratio)
        }
    };
    let items = items(app, &short)?;
    let bytes = build(&items, &format, normalized, split_ratio)?;
    let blob = crate::ids::token();
    std::fs::write(app.blob_path(&blob), &bytes)?;
    let export = Export {
        id: format!("exp-{}", crate::ids::short_id()),
        dataset: short,
        format,
        normalized,
        split_ratio,
        created: app.now_ms(),
        finished: None,
        failure: None,
        blob,
        size: bytes.len() as u64,
        crc: crc32c::crc32c(&bytes),
    };
    let body = render(app, &export);
    app.state().insert_export(export);
    ok(&body)
}

pub(super) fn get(app: &App, dsc: &str, id: &str) -> ApiResult<Response> {
    let short = short_id(app, dsc)?;
    let now = app.now_ms();
    let mut state = app.state();
    dataset(&state, app, dsc)?;
    match state.exports().get(id) {
        Some(e) if e.dataset == short => {}
        _ => return Err(export_missing(id)),
    }
    let export = state.export_mut(id).ok_or_else(|| export_missing(id))?;
    export.finished.get_or_insert(now);
    let export = export.clone();
    drop(state);
    ok(&render(app, &export))
}

pub(super) fn list(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
    let short = short_id(app, dsc)?;
    let q = parse_query(raw, &["s", "p"])?;
    let size = q.page_size()?;
    let fp = q.fingerprint(&format!("exports:{short}"), &[]);
    let offset = match q.get("p") {
        Some(p) => decode_token(app, &fp, p)?,
        None => 0,
    };
    let state = app.state();
    dataset(&state, app, dsc)?;
    let mut exports: Vec<&Export> = state
        .exports()
        .values()
        .filter(|e| e.dataset == short)
        .collect();
    exports.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let items = exports.into_iter().map(|e| render(app, e)).collect();
    ok(&page(app, items, offset, size, &fp, false))
}
