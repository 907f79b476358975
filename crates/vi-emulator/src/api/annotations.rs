//! Annotation import sessions (I1–I7), per-asset annotation parts (N1–N5) and assets with
//! their parts (W1, W2). The store they work on is described in `state/annotations.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{asset_missing, dataset, ok, one_of, page};
use crate::app::App;
use crate::body::{Obj, parse_object};
use crate::error::{ApiError, ApiResult};
use crate::query::{decode_token, parse_query};
use crate::render::{self, dataset_link, encode_segment, resource_metadata};
use crate::state::{Import, ImportFile, ImportPhase, State, StoredRecord};

const POLICIES: [&str; 3] = ["Warn", "RejectFile", "RejectSession"];

fn import_missing(id: &str) -> ApiError {
    ApiError::not_found(format!("annotation import session {id} not found"))
}

/// The session as the service shows it (every required key of the official client).
fn render_import(app: &App, i: &Import) -> Value {
    let mut conditions: Vec<Value> = i.client_conditions.clone();
    match &i.phase {
        ImportPhase::Open => {}
        ImportPhase::Inserted { at } => conditions
            .push(json!({"condition": "Complete", "status": "Waiting", "lastTransitionTime": at})),
        ImportPhase::Done { at } => conditions
            .push(json!({"condition": "Complete", "status": "Reached", "lastTransitionTime": at})),
        ImportPhase::Failed { at, reason: None } if i.client_conditions.is_empty() => {
            // The upload window passed without the client's report.
            conditions.push(json!({"condition": "FilesInserted", "status": "FailedReach", "lastTransitionTime": at}));
        }
        ImportPhase::Failed { .. } => {}
    }
    let mut files_by_status: BTreeMap<String, u64> = BTreeMap::new();
    for f in &i.files {
        let status = f.status.clone().unwrap_or_else(|| {
            if f.blob.is_some() {
                "Uploaded"
            } else {
                "Declared"
            }
            .to_owned()
        });
        *files_by_status.entry(status).or_default() += 1;
    }
    let total: u64 = i
        .files
        .iter()
        .filter(|f| f.blob.is_some())
        .map(|f| f.size)
        .sum();
    json!({
        "kind": "AnnotationImportSession",
        "user": app.user,
        "workspaceId": app.organization_id,
        "datasetId": render::composite(app, &i.dataset),
        "annotationImportSessionId": i.id,
        "selfLink": format!("{}/annotationImportSessions/{}", dataset_link(app, &i.dataset), i.id),
        "etag": i.generation.to_string(),
        "metadata": {
            "timeCreated": i.created,
            "lastUpdated": i.updated,
            "generation": i.generation,
            "attributes": i.attributes,
        },
        "spec": {
            "uploadBefore": i.upload_before,
            "failurePolicies": {
                "onBadAnnotation": i.policies[0],
                "onBadFile": i.policies[1],
                "onOverwritten": i.policies[2],
            },
            "source": "UploadedIndividualFiles",
        },
        "status": {
            "conditions": conditions,
            "files": {
                "pageCount": i.files.len(),
                "totalSizeBytes": total,
                "statusCount": files_by_status,
            },
            "annotations": {"statusCount": i.annotations},
            "reason": i.reason,
        },
    })
}

/// I1: opens a session.
pub(super) fn create(app: &App, dsc: &str, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&["spec", "metadata"])?;
    let spec = obj.req_object("spec")?;
    spec.only(&["uploadBefore", "failurePolicies", "source"])?;
    let upload_before = spec
        .opt_i64("uploadBefore")?
        .unwrap_or_else(|| app.now_ms() + 3_300_000);
    let mut policies = [
        "RejectSession".to_owned(),
        "RejectSession".to_owned(),
        "RejectSession".to_owned(),
    ];
    if let Some(p) = spec.opt_object("failurePolicies")? {
        p.only(&["onBadAnnotation", "onBadFile", "onOverwritten"])?;
        for (slot, key) in ["onBadAnnotation", "onBadFile", "onOverwritten"]
            .iter()
            .enumerate()
        {
            if let Some(v) = p.opt_str(key)? {
                policies[slot] = one_of(&p, key, v, &POLICIES)?.to_owned();
            }
        }
    }
    if let Some(source) = spec.opt_str("source")? {
        one_of(&spec, "source", source, &["UploadedIndividualFiles"])?;
    }
    let attributes = match obj.opt_object("metadata")? {
        Some(meta) => {
            meta.only(&["attributes"])?;
            match meta.opt_object("attributes")? {
                Some(a) => a.string_map()?,
                None => BTreeMap::new(),
            }
        }
        None => BTreeMap::new(),
    };
    let now = app.now_ms();
    let mut state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    let import = Import {
        id: format!("ais-{}", crate::ids::short_id()),
        dataset: ds,
        upload_before,
        policies,
        attributes,
        files: Vec::new(),
        phase: ImportPhase::Open,
        client_conditions: Vec::new(),
        annotations: BTreeMap::new(),
        reason: None,
        created: now,
        updated: now,
        generation: 1,
    };
    let value = render_import(app, &import);
    state.insert_import(import);
    ok(&value)
}

/// The session of `dsc` named `id`, after applying what time has done to it: the upload
/// window passing, or processing the files a `FilesInserted` report handed over.
fn look(state: &mut State, app: &App, dsc: &str, id: &str) -> ApiResult<Value> {
    let ds = dataset(state, app, dsc)?.id.clone();
    let now = app.now_ms();
    let import = state
        .imports()
        .get(id)
        .filter(|i| i.dataset == ds)
        .cloned()
        .ok_or_else(|| import_missing(id))?;
    match import.phase {
        ImportPhase::Open if now > import.upload_before => {
            if let Some(i) = state.import_mut(id) {
                i.phase = ImportPhase::Failed {
                    at: now,
                    reason: None,
                };
                i.reason = Some("the files were not reported uploaded before uploadBefore".into());
                i.updated = now;
                i.generation += 1;
            }
        }
        ImportPhase::Inserted { .. } => process(state, app, id, now),
        _ => {}
    }
    let import = state.imports().get(id).ok_or_else(|| import_missing(id))?;
    Ok(render_import(app, import))
}

/// The session, when it still takes files and the client's report.
fn open_import<'s>(
    state: &'s mut State,
    app: &App,
    dsc: &str,
    id: &str,
) -> ApiResult<&'s mut Import> {
    look(state, app, dsc, id)?;
    let import = state.import_mut(id).ok_or_else(|| import_missing(id))?;
    if import.phase != ImportPhase::Open {
        let what = match import.phase {
            ImportPhase::Failed { .. } => "failed",
            _ => "past its upload step",
        };
        return Err(ApiError::conflict(format!(
            "annotation import session {id} is {what}; it takes no more files or reports"
        )));
    }
    Ok(import)
}

/// The page size, query fingerprint and offset of a listing paged by offset tokens.
pub(super) fn offset_page(
    app: &App,
    raw: Option<&str>,
    scope: &str,
) -> ApiResult<(usize, String, usize)> {
    let q = parse_query(raw, &["s", "p"])?;
    let size = q.page_size()?;
    let fp = q.fingerprint(scope, &[]);
    let offset = match q.get("p") {
        Some(p) => decode_token(app, &fp, p)?,
        None => 0,
    };
    Ok((size, fp, offset))
}

/// I2.
pub(super) fn get(app: &App, dsc: &str, id: &str) -> ApiResult<Response> {
    let mut state = app.state();
    let value = look(&mut state, app, dsc, id)?;
    ok(&value)
}

/// I3.
pub(super) fn list(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
    let (size, fp, offset) = offset_page(app, raw, &format!("annotationImportSessions/{dsc}"))?;
    let mut state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    let mut ids: Vec<(i64, String)> = state
        .imports()
        .values()
        .filter(|i| i.dataset == ds)
        .map(|i| (i.created, i.id.clone()))
        .collect();
    ids.sort();
    let mut items = Vec::with_capacity(ids.len());
    for (_, id) in ids {
        items.push(look(&mut state, app, dsc, &id)?);
    }
    ok(&page(app, items, offset, size, &fp, false))
}

/// The signed upload URL of one declared file.
fn file_url(app: &App, import: &str, name: &str, expires: i64) -> String {
    let signature = app.sign(&["PUT", "annotations", import, name], expires);
    format!(
        "{}/_storage/upload/annotations/{}/{}?expires={}&signature={}",
        app.origin,
        encode_segment(import),
        encode_segment(name),
        expires,
        signature
    )
}

/// I4: declares files; the reply names exactly the declared files.
pub(super) fn add_files(app: &App, dsc: &str, id: &str, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&["files"])?;
    let files = obj.req_object("files")?;
    if files.map.is_empty() {
        return Err(ApiError::bad_request(
            "\"files\" must declare at least one file",
        ));
    }
    let mut declared = Vec::new();
    for (name, _) in files.map {
        if name.is_empty() || name.contains('/') {
            return Err(ApiError::bad_request(format!(
                "\"files\" key {name:?} must be a non-empty file name without '/'"
            )));
        }
        let f = files.req_object(name)?;
        f.only(&["sizeBytes", "crc32c", "kind"])?;
        let size = f.req_u64("sizeBytes")?;
        let crc = f.req_str("crc32c")?;
        use base64::Engine as _;
        let valid = base64::engine::general_purpose::STANDARD
            .decode(crc)
            .is_ok_and(|b| b.len() == 4);
        if !valid {
            return Err(ApiError::bad_request(format!(
                "\"files.{name}.crc32c\" must be the base64 of 4 bytes (the big-endian CRC-32C)"
            )));
        }
        if let Some(kind) = f.opt_str("kind")? {
            one_of(&f, "kind", kind, &["Unknown"])?;
        }
        declared.push(ImportFile {
            name: name.clone(),
            size,
            crc32c: crc.to_owned(),
            blob: None,
            status: None,
        });
    }
    let now = app.now_ms();
    let mut state = app.state();
    let import = open_import(&mut state, app, dsc, id)?;
    let expires = import.upload_before;
    let mut reply = Map::new();
    for f in declared {
        reply.insert(
            f.name.clone(),
            json!({"method": "PUT", "url": file_url(app, id, &f.name, expires), "headers": {}}),
        );
        match import.files.iter_mut().find(|g| g.name == f.name) {
            Some(existing) => *existing = f,
            None => import.files.push(f),
        }
    }
    import.updated = now;
    import.generation += 1;
    let swap = app
        .swapped_names
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if let (true, Some(last)) = (swap, reply.keys().next_back().cloned()) {
        if let Some(url) = reply.remove(&last) {
            reply.insert(format!("undeclared-{last}"), url);
        }
    }
    ok(&json!({"files": reply}))
}

/// I5: the client's `FilesInserted` report.
pub(super) fn set_status(app: &App, dsc: &str, id: &str, bytes: &[u8]) -> ApiResult<Response> {
    let map = parse_object(bytes, false)?;
    let obj = Obj::new(&map, "");
    obj.only(&["status"])?;
    let status = obj.req_object("status")?;
    status.only(&["conditions"])?;
    let conditions = status.req_array("conditions")?;
    let [condition] = conditions.as_slice() else {
        return Err(ApiError::bad_request(
            "\"status.conditions\" must hold exactly one condition",
        ));
    };
    let c = condition
        .as_object()
        .ok_or_else(|| ApiError::bad_request("\"status.conditions[0]\" must be an object"))?;
    let c = Obj::new(c, "status.conditions[0]");
    c.only(&[
        "condition",
        "status",
        "lastTransitionTime",
        "reason",
        "message",
    ])?;
    one_of(&c, "condition", c.req_str("condition")?, &["FilesInserted"])?;
    let reached = one_of(
        &c,
        "status",
        c.req_str("status")?,
        &["Reached", "FailedReach"],
    )? == "Reached";
    let reason = match c.opt_str("reason")? {
        Some(r) => {
            Some(one_of(&c, "reason", r, &["CancelledByUser", "UserUploadErrored"])?.to_owned())
        }
        None => None,
    };
    let now = app.now_ms();
    let mut state = app.state();
    let import = open_import(&mut state, app, dsc, id)?;
    if reached {
        if let Some(missing) = import.files.iter().find(|f| f.blob.is_none()) {
            return Err(ApiError::conflict(format!(
                "{} was declared but not uploaded",
                missing.name
            )));
        }
        if import.files.is_empty() {
            return Err(ApiError::conflict("no file was declared"));
        }
    }
    let mut stored = condition.clone();
    if let Some(o) = stored.as_object_mut() {
        o.insert("lastTransitionTime".into(), json!(now));
    }
    import.client_conditions = vec![stored];
    import.phase = if reached {
        ImportPhase::Inserted { at: now }
    } else {
        ImportPhase::Failed { at: now, reason }
    };
    import.updated = now;
    import.generation += 1;
    let value = render_import(app, import);
    ok(&value)
}

/// An error in one record, or one file.
enum Bad {
    Annotation(String),
    File(String),
}

/// Checks one Vi JSONL record against the dataset type; returns (asset filename, record).
fn parse_record(
    line: &Value,
    dataset_type: &str,
    now: i64,
) -> Result<(String, StoredRecord), String> {
    let o = line.as_object().ok_or("a record must be a JSON object")?;
    let id = match o.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return Err("\"id\" must be a non-empty string or an integer".into()),
    };
    let asset = o
        .get("asset")
        .and_then(Value::as_object)
        .ok_or("\"asset\" must be an object")?;
    if let Some(t) = asset.get("type") {
        if t != "Image" {
            return Err("\"asset.type\" must be \"Image\"".into());
        }
    }
    let filename = asset
        .get("filename")
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty())
        .ok_or("\"asset.filename\" must be a non-empty string")?
        .to_owned();
    let contents = o
        .get("contents")
        .and_then(Value::as_object)
        .ok_or("\"contents\" must be an object")?;
    let kind = contents.get("type").and_then(Value::as_str).unwrap_or("");
    let expected = match dataset_type {
        "vqa" => "Vqa",
        _ => "PhraseGrounding",
    };
    if kind != expected {
        return Err(format!(
            "\"contents.type\" must be \"{expected}\" in a {dataset_type} dataset, got {kind:?}"
        ));
    }
    let ints = |v: Option<&Value>| v.is_some_and(|v| v.is_i64() || v.is_u64());
    if kind == "PhraseGrounding" {
        if !contents.get("caption").is_some_and(Value::is_string) {
            return Err("\"contents.caption\" must be a string".into());
        }
        let phrases = contents
            .get("groundedPhrases")
            .and_then(Value::as_array)
            .ok_or("\"contents.groundedPhrases\" must be an array")?;
        for p in phrases {
            let ok = p.get("phrase").is_some_and(Value::is_string)
                && ints(p.get("startTokenIndex"))
                && ints(p.get("endTokenIndex"))
                && p.get("bounds").and_then(Value::as_array).is_some_and(|b| {
                    b.iter().all(|bx| {
                        bx.as_array()
                            .is_some_and(|n| n.len() == 4 && n.iter().all(Value::is_number))
                    })
                });
            if !ok {
                return Err("a grounded phrase needs phrase, startTokenIndex, endTokenIndex and bounds of [xmin, ymin, xmax, ymax] boxes".into());
            }
        }
    } else {
        let interactions = contents
            .get("interactions")
            .and_then(Value::as_array)
            .ok_or("\"contents.interactions\" must be an array")?;
        for i in interactions {
            if !(ints(i.get("order"))
                && i.get("question").is_some_and(Value::is_string)
                && i.get("answer").is_some_and(Value::is_string))
            {
                return Err("an interaction needs order, question and answer".into());
            }
        }
    }
    let category = o.get("category").and_then(Value::as_str).map(str::to_owned);
    Ok((
        filename,
        StoredRecord {
            id,
            contents: Value::Object(contents.clone()),
            category,
            created: now,
            updated: now,
            generation: 1,
        },
    ))
}

/// The records of one received file: JSON lines, or one JSON array of records.
fn file_records(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_owned())?;
    if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) {
        return Ok(items);
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str::<Value>(l).map_err(|e| {
                format!(
                    "line {}: not JSON ({e}); only Vi JSONL is imported here",
                    n + 1
                )
            })
        })
        .collect()
}

/// Applies the files of an import handed over by `FilesInserted`, under its policies.
fn process(state: &mut State, app: &App, id: &str, now: i64) {
    let Some(import) = state.imports().get(id).cloned() else {
        return;
    };
    let Some(ds) = state.datasets().get(&import.dataset).cloned() else {
        return;
    };
    let [on_bad_annotation, on_bad_file, on_overwritten] = import.policies.clone();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut file_status: Vec<String> = Vec::new();
    let mut staged: Vec<(String, StoredRecord)> = Vec::new();
    let mut rejected: Option<String> = None;
    let mut notes: Vec<String> = Vec::new();
    for f in &import.files {
        let bytes = f
            .blob
            .as_ref()
            .and_then(|b| std::fs::read(app.blob_path(b)).ok())
            .unwrap_or_default();
        let mut accepted = Vec::new();
        let mut problem: Option<Bad> = None;
        match file_records(&bytes) {
            Err(e) => problem = Some(Bad::File(format!("{}: {e}", f.name))),
            Ok(lines) => {
                for line in &lines {
                    let checked =
                        parse_record(line, &ds.dataset_type, now).and_then(|(filename, rec)| {
                            match state.store().asset_by_filename(&ds.id, &filename) {
                                Ok(Some(asset)) => Ok((asset.id, rec)),
                                _ => Err(format!("no asset named {filename:?} in the dataset")),
                            }
                        });
                    match checked {
                        Ok((asset, rec)) => {
                            let exists = state
                                .records(&ds.id, &asset)
                                .iter()
                                .any(|r| r.id == rec.id)
                                || staged.iter().chain(&accepted).any(
                                    |(a, r): &(String, StoredRecord)| *a == asset && r.id == rec.id,
                                );
                            if exists && on_overwritten != "Warn" {
                                let msg = format!(
                                    "{}: annotation {} would overwrite an existing one",
                                    f.name, rec.id
                                );
                                if on_overwritten == "RejectSession" {
                                    rejected.get_or_insert(msg);
                                } else {
                                    problem = Some(Bad::File(msg));
                                }
                                *counts.entry("Rejected".into()).or_default() += 1;
                                continue;
                            }
                            accepted.push((asset, rec));
                        }
                        Err(e) => {
                            *counts.entry("Rejected".into()).or_default() += 1;
                            let msg = format!("{}: {e}", f.name);
                            match on_bad_annotation.as_str() {
                                "Warn" => {}
                                "RejectFile" => problem = Some(Bad::Annotation(msg)),
                                _ => {
                                    rejected.get_or_insert(msg);
                                }
                            }
                        }
                    }
                }
            }
        }
        match problem {
            Some(Bad::File(msg)) if on_bad_file == "RejectSession" => {
                rejected.get_or_insert(msg);
                file_status.push("Failed".into());
            }
            Some(Bad::File(msg)) | Some(Bad::Annotation(msg)) => {
                notes.push(msg);
                *counts.entry("Rejected".into()).or_default() += accepted.len() as u64;
                file_status.push("Failed".into());
            }
            None => {
                file_status.push("Processed".into());
                staged.extend(accepted);
            }
        }
    }
    if rejected.is_none() {
        for (asset, rec) in &staged {
            let records = state.records_mut(&ds.id, asset);
            match records.iter_mut().find(|r| r.id == rec.id) {
                Some(old) => {
                    let generation = old.generation + 1;
                    *old = StoredRecord {
                        generation,
                        created: old.created,
                        ..rec.clone()
                    };
                }
                None => records.push(rec.clone()),
            }
        }
        *counts.entry("Created".into()).or_default() += staged.len() as u64;
    } else {
        *counts.entry("Rejected".into()).or_default() += staged.len() as u64;
    }
    if let Some(i) = state.import_mut(id) {
        for (f, status) in i.files.iter_mut().zip(file_status) {
            f.status = Some(status);
        }
        counts.retain(|_, n| *n > 0);
        i.annotations = counts;
        i.updated = now;
        i.generation += 1;
        match rejected {
            Some(msg) => {
                i.phase = ImportPhase::Failed {
                    at: now,
                    reason: None,
                };
                i.client_conditions.push(json!({"condition": "Complete", "status": "FailedReach", "lastTransitionTime": now}));
                i.reason = Some(msg);
            }
            None => {
                i.phase = ImportPhase::Done { at: now };
                i.reason =
                    (!notes.is_empty()).then(|| format!("files rejected: {}", notes.join("; ")));
            }
        }
    }
}

/// The parts of one record, in order: (part id, role, bound type, contents).
fn parts_of(rec: &StoredRecord) -> Vec<(String, &'static str, &'static str, Value)> {
    let c = &rec.contents;
    match c.get("type").and_then(Value::as_str) {
        Some("PhraseGrounding") => {
            let mut parts = vec![(
                format!("{}-caption", rec.id),
                "Caption",
                "caption",
                json!({"kind": "Caption", "contents": c.get("caption").cloned().unwrap_or(json!(""))}),
            )];
            let phrases = c
                .get("groundedPhrases")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (p, phrase) in phrases.iter().enumerate() {
                let bounds = phrase
                    .get("bounds")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (b, bx) in bounds.iter().enumerate() {
                    let n: Vec<f64> = bx
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_f64).collect())
                        .unwrap_or_default();
                    let [x0, y0, x1, y1] = n[..] else { continue };
                    parts.push((
                        format!("{}-p{p}b{b}", rec.id),
                        "PhraseGroundingBoundingBox",
                        "box",
                        json!({
                            "kind": "PhraseGroundingBoundingBox",
                            "bound": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                            "target": [phrase.get("startTokenIndex").cloned().unwrap_or(json!(0)), phrase.get("endTokenIndex").cloned().unwrap_or(json!(0))],
                        }),
                    ));
                }
            }
            parts
        }
        _ => vec![(
            format!("{}-vqa", rec.id),
            "Vqa",
            "none",
            json!({"kind": "Vqa", "interactions": c.get("interactions").cloned().unwrap_or(json!([]))}),
        )],
    }
}

fn render_part(
    app: &App,
    dataset: &str,
    asset: &str,
    tags: &BTreeMap<String, i64>,
    rec: &StoredRecord,
    part: &(String, &str, &str, Value),
) -> Value {
    let tag = rec
        .category
        .as_ref()
        .and_then(|c| tags.get(c))
        .copied()
        .unwrap_or(0);
    json!({
        "kind": "Annotation",
        "annotationId": part.0,
        "assetId": asset,
        "workspaceId": app.organization_id,
        "datasetId": render::composite(app, dataset),
        "spec": {
            "boundType": part.2,
            "tag": tag,
            "aggregation": {"whole": {"id": rec.id}, "thisPart": {"role": part.1}},
            "contents": part.3,
        },
        "metadata": resource_metadata(rec.created, rec.updated, rec.generation),
        "selfLink": format!("{}/assets/{}/annotations/{}", dataset_link(app, dataset), encode_segment(asset), encode_segment(&part.0)),
        "etag": rec.generation.to_string(),
    })
}

/// Every part of an asset.
fn all_parts(state: &State, app: &App, dataset: &str, asset: &str) -> Vec<Value> {
    let tags = state
        .datasets()
        .get(dataset)
        .map(|d| d.tags.clone())
        .unwrap_or_default();
    state
        .records(dataset, asset)
        .iter()
        .flat_map(|rec| {
            parts_of(rec)
                .iter()
                .map(|p| render_part(app, dataset, asset, &tags, rec, p))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn asset_exists(state: &State, dataset: &str, asset: &str) -> ApiResult<()> {
    match state.store().asset(dataset, asset)? {
        Some(_) => Ok(()),
        None => Err(asset_missing(asset)),
    }
}

/// N1.
pub(super) fn list_parts(
    app: &App,
    dsc: &str,
    asset: &str,
    raw: Option<&str>,
) -> ApiResult<Response> {
    let (size, fp, offset) = offset_page(app, raw, &format!("annotations/{dsc}/{asset}"))?;
    let state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    asset_exists(&state, &ds, asset)?;
    let items = all_parts(&state, app, &ds, asset);
    ok(&page(app, items, offset, size, &fp, false))
}

fn part_missing(id: &str) -> ApiError {
    ApiError::not_found(format!("annotation {id} not found"))
}

/// N2.
pub(super) fn get_part(app: &App, dsc: &str, asset: &str, id: &str) -> ApiResult<Response> {
    let state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    asset_exists(&state, &ds, asset)?;
    all_parts(&state, app, &ds, asset)
        .into_iter()
        .find(|p| p["annotationId"] == id)
        .map_or_else(|| Err(part_missing(id)), |p| ok(&p))
}

/// Which record and which part of it an id names: (record index, phrase, box) — `None`
/// for the caption or VQA part.
fn locate(records: &[StoredRecord], id: &str) -> Option<(usize, Option<(usize, usize)>)> {
    for (i, rec) in records.iter().enumerate() {
        for (part_id, ..) in parts_of(rec) {
            if part_id == id {
                let rest = &id[rec.id.len() + 1..];
                let pb = rest.strip_prefix('p').and_then(|r| {
                    let (p, b) = r.split_once('b')?;
                    Some((p.parse().ok()?, b.parse().ok()?))
                });
                return Some((i, pb));
            }
        }
    }
    None
}

/// N3: a caption or VQA part takes its whole annotation with it; a box goes alone.
pub(super) fn delete_part(app: &App, dsc: &str, asset: &str, id: &str) -> ApiResult<Response> {
    let mut state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    asset_exists(&state, &ds, asset)?;
    let (i, pb) = locate(state.records(&ds, asset), id).ok_or_else(|| part_missing(id))?;
    let records = state.records_mut(&ds, asset);
    match pb {
        None => {
            records.remove(i);
        }
        Some((p, b)) => {
            if let Some(bounds) = records[i].contents["groundedPhrases"][p]["bounds"].as_array_mut()
            {
                if b < bounds.len() {
                    bounds.remove(b);
                }
            }
            records[i].generation += 1;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Merges `patch` into `base`, objects key by key.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// N4 (`replace`) and N5: the part's new shape is written back into its record.
pub(super) fn write_part(
    app: &App,
    dsc: &str,
    asset: &str,
    id: &str,
    bytes: &[u8],
    replace: bool,
) -> ApiResult<Response> {
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    if !body.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    let now = app.now_ms();
    let mut state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    asset_exists(&state, &ds, asset)?;
    let current = all_parts(&state, app, &ds, asset)
        .into_iter()
        .find(|p| p["annotationId"] == id)
        .ok_or_else(|| part_missing(id))?;
    let (i, pb) = locate(state.records(&ds, asset), id).ok_or_else(|| part_missing(id))?;
    let mut next = current.clone();
    if replace {
        let spec = body.get("spec").filter(|s| s.is_object()).ok_or_else(|| {
            ApiError::bad_request("\"spec\" must be an object holding the part's contents")
        })?;
        next["spec"] = spec.clone();
    } else {
        merge(&mut next, &body);
    }
    let contents = &next["spec"]["contents"];
    let tags = state
        .datasets()
        .get(&ds)
        .map(|d| d.tags.clone())
        .unwrap_or_default();
    let records = state.records_mut(&ds, asset);
    let rec = &mut records[i];
    match (pb, contents.get("kind").and_then(Value::as_str)) {
        (None, Some("Caption")) => {
            let text = contents
                .get("contents")
                .and_then(Value::as_str)
                .unwrap_or("");
            rec.contents["caption"] = json!(text);
        }
        (None, Some("Vqa")) => {
            rec.contents["interactions"] =
                contents.get("interactions").cloned().unwrap_or(json!([]));
        }
        (Some((p, b)), Some("PhraseGroundingBoundingBox")) => {
            let corners: Vec<(f64, f64)> = contents["bound"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| Some((c.get(0)?.as_f64()?, c.get(1)?.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default();
            let target = contents["target"]
                .as_array()
                .filter(|t| t.len() == 2 && t.iter().all(|n| n.is_i64()));
            let (Some(target), false) = (target, corners.is_empty()) else {
                return Err(ApiError::bad_request(
                    "a box part needs \"bound\" ([x, y] corners) and \"target\" (two integers)",
                ));
            };
            let xs = corners.iter().map(|c| c.0);
            let ys = corners.iter().map(|c| c.1);
            let bx = json!([
                xs.clone().fold(f64::INFINITY, f64::min),
                ys.clone().fold(f64::INFINITY, f64::min),
                xs.fold(f64::NEG_INFINITY, f64::max),
                ys.fold(f64::NEG_INFINITY, f64::max),
            ]);
            let phrase = &mut rec.contents["groundedPhrases"][p];
            phrase["bounds"][b] = bx;
            phrase["startTokenIndex"] = target[0].clone();
            phrase["endTokenIndex"] = target[1].clone();
        }
        (_, kind) => {
            return Err(ApiError::bad_request(format!(
                "\"spec.contents.kind\" {kind:?} does not fit this part (its kind is {})",
                current["spec"]["contents"]["kind"]
            )));
        }
    }
    if let Some(tag) = next["spec"]["tag"].as_i64() {
        rec.category = tags
            .iter()
            .find(|(_, v)| **v == tag)
            .map(|(k, _)| k.clone())
            .or(rec.category.take());
    }
    rec.updated = now;
    rec.generation += 1;
    let value = all_parts(&state, app, &ds, asset)
        .into_iter()
        .find(|p| p["annotationId"] == id)
        .ok_or_else(|| part_missing(id))?;
    ok(&value)
}

/// An asset filter and a custom-metadata query (W1, B1): the assets they keep.
pub(super) struct Selection {
    filter: crate::filter::Filter,
    metadata: crate::filter::MetadataQuery,
    strict: bool,
}

impl Selection {
    /// Parses both; `prefix` is where the keys sit in the request (`spec.` in a body).
    pub(super) fn parse(
        filter: &str,
        metadata: &str,
        strict: bool,
        prefix: &str,
    ) -> ApiResult<Self> {
        let filter = crate::filter::Filter::parse(filter)
            .map_err(|e| ApiError::bad_request(format!("invalid \"{prefix}filter\": {e}")))?;
        let metadata = crate::filter::MetadataQuery::parse(metadata).map_err(|e| {
            ApiError::bad_request(format!("invalid \"{prefix}metadataQuery\": {e}"))
        })?;
        Ok(Selection {
            filter,
            metadata,
            strict,
        })
    }

    /// The dataset's assets it keeps, in upload order.
    pub(super) fn assets(
        &self,
        state: &State,
        dataset: &str,
    ) -> ApiResult<Vec<crate::state::Asset>> {
        let keep = |a: &crate::state::Asset| {
            self.filter.matches(a) && self.metadata.matches(&a.custom_metadata, self.strict)
        };
        Ok(state
            .store()
            .asset_page(
                dataset,
                crate::store::Sort::Upload,
                false,
                None,
                usize::MAX,
                &keep,
            )?
            .map(|p| p.items)
            .unwrap_or_default())
    }
}

/// W1: `{asset, objects}` per asset; filters as A1 (`annotationFilter` and `view` are
/// accepted and not applied).
pub(super) fn with_objects(app: &App, dsc: &str, raw: Option<&str>) -> ApiResult<Response> {
    let q = parse_query(
        raw,
        &[
            "filter",
            "contents",
            "metadataQuery",
            "ruleQuery",
            "strictQuery",
            "annotationFilter",
            "view",
            "s",
            "p",
        ],
    )?;
    let contents = q.yes_no("contents")?;
    let strict = q.yes_no("strictQuery")?;
    if let Some(view) = q.get("view") {
        if !matches!(view, "default" | "recent") {
            return Err(ApiError::bad_request(format!(
                "query parameter \"view\" must be default or recent, got \"{view}\""
            )));
        }
    }
    let selection = Selection::parse(
        q.get("filter").unwrap_or(""),
        q.get("metadataQuery").unwrap_or(""),
        strict,
        "",
    )?;
    let size = q.page_size()?;
    let fp = q.fingerprint(
        &format!("assetsWithObjects/{dsc}"),
        &[
            "filter",
            "contents",
            "metadataQuery",
            "ruleQuery",
            "strictQuery",
            "annotationFilter",
            "view",
        ],
    );
    let offset = match q.get("p") {
        Some(p) => decode_token(app, &fp, p)?,
        None => 0,
    };
    let state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    let assets = selection.assets(&state, &ds)?;
    let items: Vec<Value> = assets
        .iter()
        .skip(offset)
        .take(size.saturating_add(1))
        .map(|a| json!({"asset": render::asset(app, &ds, a, contents), "objects": all_parts(&state, app, &ds, &a.id)}))
        .collect();
    let total = offset + items.len();
    let mut items = items;
    items.truncate(size);
    let next = (total > offset + size).then(|| crate::query::encode_token(app, &fp, offset + size));
    ok(&json!({"items": items, "nextPage": next}))
}

/// W2.
pub(super) fn with_objects_one(
    app: &App,
    dsc: &str,
    asset: &str,
    raw: Option<&str>,
) -> ApiResult<Response> {
    let q = parse_query(raw, &["contents"])?;
    let contents = q.yes_no("contents")?;
    let state = app.state();
    let ds = dataset(&state, app, dsc)?.id.clone();
    let a = state
        .store()
        .asset(&ds, asset)?
        .ok_or_else(|| asset_missing(asset))?;
    ok(
        &json!({"asset": render::asset(app, &ds, &a, contents), "objects": all_parts(&state, app, &ds, asset)}),
    )
}
