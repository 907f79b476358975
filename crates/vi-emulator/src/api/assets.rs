//! Assets: list, count, get, delete and rename (A1–A6).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{asset_missing, dataset, dataset_missing, dataset_mut, ok, short_id};
use crate::app::App;
use crate::body::{Obj, parse_object};
use crate::error::{ApiError, ApiResult};
use crate::query::{Filter, MetadataQuery, Query, decode_token, encode_token, parse_query};
use crate::render;

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

pub(super) fn list(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
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

pub(super) fn count(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
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

/// Which asset a rename names.
pub(super) enum Target<'a> {
    Id(&'a str),
    Filename(&'a str),
}

pub(super) fn validate_filename(obj: &Obj<'_>, key: &str, name: &str) -> ApiResult<()> {
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

pub(super) fn rename(
    app: &App,
    dsc: &str,
    target: Target<'_>,
    bytes: &[u8],
) -> ApiResult<Response> {
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

/// A3: one asset, with a download URL when `contents=y`.
pub(super) fn get(app: &App, dsc: &str, asset: &str, raw: Option<&str>) -> ApiResult<Response> {
    let q = parse_query(raw, &["contents"])?;
    let contents = q.flag("contents")?;
    let state = app.state();
    let ds = dataset(&state, app, dsc)?;
    let a = ds.assets.get(asset).ok_or_else(|| asset_missing(asset))?;
    ok(&render::asset(app, &ds.id, a, contents))
}

/// A4: deletes an asset; success has an empty body (spec §5.4).
pub(super) async fn delete(app: &App, dsc: &str, asset: &str) -> ApiResult<Response> {
    let blob = {
        let mut state = app.state();
        let id = short_id(app, dsc)?;
        let ds = state
            .datasets
            .get_mut(&id)
            .ok_or_else(|| dataset_missing(dsc))?;
        let removed = ds
            .assets
            .remove(asset)
            .ok_or_else(|| asset_missing(asset))?;
        ds.updated = app.now_ms();
        removed.blob
    };
    app.delete_blobs(vec![blob]).await;
    app.mark_dirty();
    Ok(StatusCode::NO_CONTENT.into_response())
}
