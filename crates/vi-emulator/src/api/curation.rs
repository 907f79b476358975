//! Bulk asset deletion (B1–B3). The criteria are evaluated when the session is created;
//! the matched assets are deleted on the first look at the session after that (so a
//! client sees it running once), and the session then reports `Started` and `Finished`
//! reached. A spec with no criterion at all is refused with 400: what the service does
//! with one is not documented, and deleting everything on an omission is not a model.

use axum::response::Response;
use serde_json::{Value, json};

use super::{dataset, ok, page};
use crate::app::App;
use crate::body::{Obj, parse_object};
use crate::error::{ApiError, ApiResult};
use crate::render::{self, dataset_link};
use crate::state::{Deletion, State};

fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("bulk deletion session {id} not found"))
}

fn render_deletion(app: &App, d: &Deletion) -> Value {
    let started =
        json!({"condition": "Started", "status": "Reached", "lastTransitionTime": d.created});
    let finished = match d.finished {
        Some(at) => json!({"condition": "Finished", "status": "Reached", "lastTransitionTime": at}),
        None => {
            json!({"condition": "Finished", "status": "Waiting", "lastTransitionTime": d.created})
        }
    };
    let updated = d.finished.unwrap_or(d.created);
    json!({
        "kind": "DeleteManyAssetsSession",
        "workspaceId": app.organization_id,
        "datasetId": render::composite(app, &d.dataset),
        "deleteManyAssetsSessionId": d.id,
        "selfLink": format!("{}/deleteManyAssetsSessions/{}", dataset_link(app, &d.dataset), d.id),
        "etag": if d.finished.is_some() { "2" } else { "1" },
        "metadata": {"timeCreated": d.created, "lastUpdated": updated, "generation": if d.finished.is_some() { 2 } else { 1 }, "attributes": {}},
        "spec": d.spec,
        "status": {"conditions": [finished, started]},
    })
}

/// B1.
pub(super) fn create(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&["spec"])?;
    let spec = obj.req_object("spec")?;
    spec.only(&["filter", "metadataQuery", "ruleQuery", "strictQuery"])?;
    let filter_text = match spec.get("filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"spec.filter\" must be a string, an object or null",
            ));
        }
    };
    let metadata_text = spec.opt_str_or_null("metadataQuery")?.map(str::to_owned);
    let rule = spec.opt_str_or_null("ruleQuery")?.map(str::to_owned);
    let strict = match spec.get("strictQuery") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"spec.strictQuery\" must be a boolean or null",
            ));
        }
    };
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    if blank(&filter_text) && blank(&metadata_text) && blank(&rule) {
        return Err(ApiError::bad_request(
            "at least one criterion is required (filter, metadataQuery or ruleQuery)",
        ));
    }
    let selection = super::annotations::Selection::parse(
        filter_text.as_deref().unwrap_or(""),
        metadata_text.as_deref().unwrap_or(""),
        strict,
        "spec.",
    )?;
    let now = app.now_ms();
    let mut state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    let targets: Vec<String> = selection
        .assets(&state, &ds)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let echoed = json!({
        "filter": spec.get("filter").cloned().unwrap_or(Value::Null),
        "metadataQuery": metadata_text,
        "ruleQuery": rule,
        "strictQuery": spec.get("strictQuery").cloned().unwrap_or(Value::Null),
    });
    let d = Deletion {
        id: format!("dms-{}", crate::ids::short_id()),
        dataset: ds,
        spec: echoed,
        targets,
        created: now,
        finished: None,
    };
    let value = render_deletion(app, &d);
    state.insert_deletion(d);
    ok(&value)
}

/// Deletes what a session matched, once; returns the blobs to remove.
fn run(state: &mut State, id: &str, now: i64) -> Vec<String> {
    let Some(d) = state
        .deletions()
        .get(id)
        .filter(|d| d.finished.is_none())
        .cloned()
    else {
        return Vec::new();
    };
    let mut garbage = Vec::new();
    for asset in &d.targets {
        if let Ok(Some(blob)) = state.delete_asset(&d.dataset, asset, now) {
            garbage.push(blob);
        }
    }
    if let Some(d) = state.deletion_mut(id) {
        d.finished = Some(now);
    }
    garbage
}

/// B2: the first look after creation does the deletion.
pub(super) async fn get(app: &App, dsc: &str, id: &str) -> ApiResult<Response> {
    let now = app.now_ms();
    let (value, garbage) = {
        let mut state = app.state();
        let ds = dataset(&state, app, dsc)?.id.clone();
        if state.deletions().get(id).is_none_or(|d| d.dataset != ds) {
            return Err(missing(id));
        }
        let garbage = run(&mut state, id, now);
        let d = state.deletions().get(id).ok_or_else(|| missing(id))?;
        (render_deletion(app, d), garbage)
    };
    app.delete_blobs(garbage).await;
    ok(&value)
}

/// B3.
pub(super) fn list(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
    let (size, fp, offset) =
        super::annotations::offset_page(app, raw, &format!("deleteManyAssetsSessions/{dsc}"))?;
    let state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    let mut sessions: Vec<&Deletion> = state
        .deletions()
        .values()
        .filter(|d| d.dataset == ds)
        .collect();
    sessions.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let items = sessions
        .into_iter()
        .map(|d| render_deletion(app, d))
        .collect();
    ok(&page(app, items, offset, size, &fp, false))
}
