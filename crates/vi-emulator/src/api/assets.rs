//! Assets: list, count, get, delete and rename (A1–A6), read from the database.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{asset_missing, dataset, ok};
use crate::app::App;
use crate::body::{Obj, parse_object};
use crate::error::{ApiError, ApiResult};
use crate::filter::{Filter, MetadataQuery};
use crate::query::{Query, decode_key_token, encode_key_token, parse_query};
use crate::render;
use crate::store::Sort;

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
        // ruleQuery is accepted and ignored (its syntax is undocumented, docs/protocol.md §15 #4).
        Ok(Selection {
            filter,
            metadata,
            strict,
        })
    }

    /// Whether no filter was given (every asset is kept).
    fn is_everything(q: &Query) -> bool {
        q.get("filter").is_none_or(|f| f.trim().is_empty())
            && q.get("metadataQuery").is_none_or(|m| m.trim().is_empty())
    }

    fn keeps(&self, asset: &crate::state::Asset) -> bool {
        self.filter.matches(asset) && self.metadata.matches(&asset.custom_metadata, self.strict)
    }
}

/// A1: one page of a dataset's assets. Pages are keyset pages: the token carries the
/// sort key of the last asset of the previous page (signed, bound to the query), so
/// the cost of a page does not grow with its position.
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
    let sort_name = q.get("sortBy").unwrap_or("default");
    let sort = Sort::parse(sort_name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "query parameter \"sortBy\" must be one of {}, got \"{sort_name}\"",
            Sort::NAMES.join(", ")
        ))
    })?;
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
    let after = match q.get("p") {
        Some(p) => Some(decode_key_token(app, &fp, p)?),
        None => None,
    };
    // Spec §13.6: s=1000 returns everything left in one page (the Python SDK cannot
    // follow nextPage for assets).
    let limit = if app.config.single_page_at_max_size && size == 1000 {
        usize::MAX
    } else {
        size
    };
    let state = app.state();
    let ds = dataset(&state, app, dsc)?;
    let page = state
        .store()
        .asset_page(&ds.id, sort, descending, after.as_deref(), limit, &|a| {
            selection.keeps(a)
        })?
        .ok_or_else(|| ApiError::bad_request("query parameter \"p\" is not a valid page token"))?;
    let next = match (page.more, page.items.last()) {
        (true, Some(last)) => Some(encode_key_token(app, &fp, &sort.key(last))),
        _ => None,
    };
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|a| render::asset(app, &ds.id, a, contents))
        .collect();
    ok(&json!({"items": items, "nextPage": next}))
}

/// A2: how many assets match; without filters from the dataset's counter.
pub(super) fn count(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
    let q = parse_query(
        raw,
        &["filter", "metadataQuery", "ruleQuery", "strictQuery"],
    )?;
    let strict = q.yes_no("strictQuery")?;
    let selection = Selection::parse(&q, strict)?;
    let state = app.state();
    let ds = dataset(&state, app, dsc)?;
    let count = if Selection::is_everything(&q) {
        ds.asset_count
    } else {
        state
            .store()
            .count_assets(&ds.id, Some(&|a| selection.keeps(a)))?
    };
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

/// A5/A6: renames an asset named by id or by filename; filenames stay unique.
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
    let mut state = app.state();
    let ds_id = dataset(&state, app, dsc)?.id.clone();
    let store = state.store();
    let mut asset = match target {
        Target::Id(id) => store.asset(&ds_id, id)?.ok_or_else(|| asset_missing(id))?,
        Target::Filename(f) => store
            .asset_by_filename(&ds_id, f)?
            .ok_or_else(|| ApiError::not_found(format!("no asset named \"{f}\"")))?,
    };
    if let Some(other) = store.asset_by_filename(&ds_id, new_name)? {
        if other.id != asset.id {
            return Err(ApiError::conflict(format!(
                "another asset ({}) is already named \"{new_name}\"",
                other.id
            )));
        }
    }
    if asset.filename != new_name {
        asset.filename = new_name.to_owned();
        asset.updated = now;
        asset.generation += 1;
        state.update_asset(&ds_id, &asset)?;
    }
    ok(&render::asset(app, &ds_id, &asset, false))
}

/// A3: one asset, with a download URL when `contents=y`.
pub(super) fn get(app: &App, dsc: &str, asset: &str, raw: Option<&str>) -> ApiResult<Response> {
    let q = parse_query(raw, &["contents"])?;
    let contents = q.flag("contents")?;
    let state = app.state();
    let ds = dataset(&state, app, dsc)?;
    let a = state
        .store()
        .asset(&ds.id, asset)?
        .ok_or_else(|| asset_missing(asset))?;
    ok(&render::asset(app, &ds.id, &a, contents))
}

/// A4: deletes an asset; success has an empty body (docs/protocol.md §5.4).
pub(super) async fn delete(app: &App, dsc: &str, asset: &str) -> ApiResult<Response> {
    let now = app.now_ms();
    let blob = {
        let mut state = app.state();
        let ds_id = dataset(&state, app, dsc)?.id.clone();
        state
            .delete_asset(&ds_id, asset, now)?
            .ok_or_else(|| asset_missing(asset))?
    };
    app.delete_blobs(vec![blob]).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
