//! Datasets: list, create, get, patch, delete and the deletion operation (D1–D7).

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Map, Value};

use super::{dataset_missing, dataset_mut, ok, one_of, page, short_id};
use crate::app::App;
use crate::body::{Obj, parse_object};
use crate::error::{ApiError, ApiResult};
use crate::query::{decode_token, parse_query};
use crate::render;
use crate::state::{Dataset, DeleteOp};

pub(super) fn list(app: &App, raw: Option<&str>, simple: bool) -> ApiResult<Response> {
    let q = parse_query(raw, &["s", "p"])?;
    let size = q.page_size()?;
    let fp = q.fingerprint(if simple { "simpleDatasets" } else { "datasets" }, &[]);
    let offset = match q.get("p") {
        Some(p) => decode_token(app, &fp, p)?,
        None => 0,
    };
    let state = app.state();
    let mut datasets: Vec<&Dataset> = state.datasets().values().collect();
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

pub(super) fn create(app: &App, bytes: &[u8]) -> ApiResult<Response> {
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
                if state.datasets().contains_key(id) {
                    return Err(ApiError::conflict(format!("dataset {id} already exists")));
                }
                id.to_owned()
            }
            None => {
                let mut id = crate::ids::short_id();
                while state.datasets().contains_key(&id) || state.delete_ops().contains_key(&id) {
                    id = crate::ids::short_id();
                }
                id
            }
        };
        state.remove_delete_op(&id);
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
            asset_count: 0,
        };
        let value = render::dataset(app, &ds);
        state.insert_dataset(ds);
        value
    };
    ok(&value)
}

pub(super) fn patch(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
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
    ok(&value)
}

pub(super) async fn delete(app: &App, dsc: &str) -> ApiResult<Response> {
    let id = short_id(app, dsc)?;
    let now = app.now_ms();
    let (value, garbage, multiparts) = {
        let mut state = app.state();
        if !state.datasets().contains_key(&id) {
            return Err(dataset_missing(dsc));
        }
        let (garbage, multiparts) = state.remove_dataset(&id);
        let op = DeleteOp {
            dataset: id.clone(),
            created: now,
        };
        let value = render::delete_op(app, &op);
        state.insert_delete_op(&id, op);
        (value, garbage, multiparts)
    };
    app.delete_blobs(garbage).await;
    for mp in multiparts {
        let _ = tokio::fs::remove_dir_all(app.part_dir(&mp)).await;
    }
    ok(&value)
}

/// D2: one dataset.
pub(super) fn get(app: &App, dsc: &str) -> ApiResult<Response> {
    let state = app.state();
    let id = short_id(app, dsc)?;
    let ds = state
        .datasets()
        .get(&id)
        .ok_or_else(|| dataset_missing(dsc))?;
    ok(&render::dataset(app, ds))
}

/// D5: the deletion operation of a deleted dataset.
pub(super) fn delete_operation(app: &App, dsc: &str) -> ApiResult<Response> {
    let id = short_id(app, dsc)?;
    let state = app.state();
    match state.delete_ops().get(&id) {
        Some(op) => ok(&render::delete_op(app, op)),
        None if state.datasets().contains_key(&id) => Err(ApiError::not_found(format!(
            "dataset {dsc} has no deletion operation"
        ))),
        None => Err(dataset_missing(dsc)),
    }
}
