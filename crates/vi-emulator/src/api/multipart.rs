//! Multipart uploads: create (M1), part URLs (M2), part completion (M3), completion
//! (M4) and abort (M5).

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::json;

use super::{dataset, ok, timeout_ms};
use crate::app::App;
use crate::body::{Obj, parse_object};
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::state::{FileState, Multipart, MultipartState, Outcome, part_count};
use crate::storage::part_reply_base64;

pub(super) async fn create(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
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
            .session_mut(&sid)
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
        // Python SDK restarts whole files from M1, docs/protocol.md §6.8 / §15 #29).
        let superseded = state.abort_multiparts(&sid, Some(filename), now);
        let mut id = format!("mpu-{}", crate::ids::short_id());
        while state.multiparts().contains_key(&id) {
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
        state.insert_multipart(mp);
        (value, garbage, superseded)
    };
    app.delete_blobs(garbage).await;
    for mp in superseded {
        let _ = tokio::fs::remove_dir_all(app.part_dir(&mp)).await;
    }
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
    let sid = match state.multiparts().get(mp_id) {
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
        .multipart_mut(mp_id)
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

pub(super) fn part_url(
    app: &App,
    dsc: &str,
    mp_id: &str,
    n: &str,
    bytes: &[u8],
) -> ApiResult<Response> {
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
            "responseBody": app.config.part_response_body,
        })
    };
    ok(&value)
}

pub(super) fn part_completion(
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
    let response_body = obj.opt_str_or_null("responseBody")?;
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
        // Spec §6.8 step 3: the client sends "" when the part reply had no ETag. Whether
        // the real service accepts that is not known; S3-style completions refuse a
        // part without its ETag, so `require_part_etag` rejects it. The default keeps
        // the lenient model (the Python SDK sends "" for a missing header).
        if etag.is_empty() && app.config.require_part_etag {
            return Err(ApiError::bad_request(format!(
                "part {number} is registered without its ETag (responseHeaders.ETag is missing or empty)"
            )));
        }
        // `responseBody: true` in M2: the body of the part reply must come back
        // base64-encoded (standard alphabet, padded), present since it is non-empty.
        if app.config.part_response_body {
            let want = part_reply_base64(number, &part.etag());
            match response_body {
                Some(got) if got == want => {}
                Some(_) => {
                    return Err(ApiError::bad_request(format!(
                        "\"responseBody\" of part {number} is not the base64 of the part reply body"
                    )));
                }
                None => {
                    return Err(ApiError::bad_request(format!(
                        "\"responseBody\" of part {number} is missing (the part URL asked for it)"
                    )));
                }
            }
        }
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
    ok(&value)
}

pub(super) async fn complete(
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
            .sessions()
            .get(&mp.session)
            .ok_or_else(|| ApiError::not_found("ingestion session not found"))?
            .finished
            .is_some();
        if finished {
            if let Some(m) = state.multipart_mut(mp_id) {
                m.state = MultipartState::Aborted;
            }
            return Err(ApiError::conflict(format!(
                "ingestion session {} is finished; no more uploads are accepted",
                mp.session
            )));
        }
        let file = state
            .sessions()
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
            if let Some(m) = app.state().multipart_mut(mp_id) {
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
            .sessions()
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
            .multipart_mut(mp_id)
            .ok_or_else(|| ApiError::not_found("multipart upload vanished"))?;
        m.updated = now;
        m.generation += 1;
        m.parts.clear();
        (render::multipart(app, m), garbage)
    };
    app.delete_blobs(garbage).await;
    // The completion itself succeeds; a size or CRC problem of the assembled file is
    // reported through the session (Error event), like the ingestion service would.
    ok(&value)
}

pub(super) async fn abort(app: &App, dsc: &str, mp_id: &str) -> ApiResult<Response> {
    let now = app.now_ms();
    let value = {
        let mut state = app.state();
        let ds_id = dataset(&state, app, dsc)?.id.clone();
        let mp = match state.multipart_mut(mp_id) {
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
    ok(&value)
}
