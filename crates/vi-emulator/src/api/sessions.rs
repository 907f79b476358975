//! Ingestion sessions: create (U1), get (U2), cancel (U3) and list (U4).

use axum::response::Response;
use serde_json::Value;

use super::assets::validate_filename;
use super::{dataset, ok, one_of, page, timeout_ms};
use crate::app::App;
use crate::body::{Obj, parse_object};
use crate::error::{ApiError, ApiResult};
use crate::query::{decode_token, parse_query};
use crate::render;
use crate::state::{FileState, Session, SessionFile};

pub(super) fn create(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
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
        // Modelling choice (docs/protocol.md §6.6, §15 #10): a filename declared twice in one
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
        // Spec §10.5: the optional sessions-per-window limit answers 429 with the
        // seconds until a slot frees.
        if let Err(wait) = app.take_session_slot() {
            let mut err = ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too many ingestion sessions were created in the current window",
            );
            err.retry_after = Some(wait);
            return Err(err);
        }
        let dataset_id = ds.id.clone();
        let mut id = format!("sess-{}", crate::ids::short_id());
        while state.sessions().contains_key(&id) {
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
        state.insert_session(session);
        value
    };
    ok(&value)
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
        match state.sessions().get(sid) {
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
            .sessions()
            .get(sid)
            .ok_or_else(|| ApiError::not_found(format!("ingestion session {sid} not found")))?;
        (render::session(app, session, false), garbage)
    };
    app.delete_blobs(garbage).await;
    // Lazy timeouts or `f` may have changed the session.
    Ok(value)
}

pub(super) async fn list(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
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
            .sessions()
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
            .filter_map(|(_, id)| state.sessions().get(id))
            .map(|s| render::session(app, s, false))
            .collect();
        (items, garbage)
    };
    app.delete_blobs(garbage).await;
    ok(&page(app, items, offset, size, &fp, true))
}

/// U2: the session, after applying lazy timeouts.
pub(super) async fn get(app: &App, dsc: &str, sid: &str) -> ApiResult<Response> {
    let value = with_session(app, dsc, sid, |_, _| Ok(Vec::new())).await?;
    ok(&value)
}

/// U3: cancels an open session (docs/protocol.md §6.10); the body must be empty or `{}`.
pub(super) async fn cancel(app: &App, dsc: &str, sid: &str, bytes: &[u8]) -> ApiResult<Response> {
    let body = parse_object(bytes, true)?;
    Obj::new(&body, "").only(&[])?;
    let now = app.now_ms();
    let value = with_session(app, dsc, sid, |state, sid| {
        Ok(state.cancel_session(sid, now))
    })
    .await?;
    ok(&value)
}
