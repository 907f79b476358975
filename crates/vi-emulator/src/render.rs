//! Response JSON shapes (docs/protocol.md §4.4, §4.5, §5.6, §6.5, §6.8), with every required key.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::app::App;
use crate::state::{Asset, Dataset, DeleteOp, FileState, Multipart, MultipartState, Session};

/// Everything except RFC 3986 unreserved characters is percent-encoded, so a `/` in a
/// filename becomes `%2F` and stays inside one path segment.
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(crate) fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

pub(crate) const SOURCE: &str = "managed/datature/default";

pub(crate) fn composite(app: &App, short: &str) -> String {
    format!("{}_{}", app.organization_id, short)
}

pub(crate) fn dataset_link(app: &App, short: &str) -> String {
    format!(
        "/workspaces/{}/datasets/{}",
        app.organization_id,
        composite(app, short)
    )
}

pub(crate) fn resource_metadata(created: i64, updated: i64, generation: u64) -> Value {
    json!({
        "timeCreated": created,
        "lastUpdated": updated,
        "generation": generation,
        "attributes": {},
    })
}

pub(crate) fn dataset(app: &App, ds: &Dataset) -> Value {
    let dsc = composite(app, &ds.id);
    let mut users = serde_json::Map::new();
    users.insert(app.user.clone(), json!("Owner"));
    let mut v = json!({
        "kind": "Dataset",
        "datasetId": dsc,
        "name": ds.name,
        "owner": ds.owner,
        "workspaceId": app.organization_id,
        "type": ds.dataset_type,
        "content": ds.content,
        "createDate": ds.created,
        "statistic": {
            "assetTotal": ds.asset_count,
            "annotationTotal": 0,
            "tagsCount": {},
            "assetAnnotated": 0,
        },
        "users": users,
        "tags": ds.tags,
        "cohorts": [],
        "status": ds.status,
        "lastAccessed": ds.updated,
        "isLocked": false,
        "access": {"isPublic": false, "isReadOnly": false, "isHidden": false},
        "preference": ds.preference,
        "assetStatuses": {
            "none": {"description": "Not reviewed", "color": "#9e9e9e"},
        },
        "selfLink": dataset_link(app, &ds.id),
        "etag": ds.generation.to_string(),
        "description": ds.description,
        "tagDetails": {},
        "isDemoProject": false,
        "bypassQuota": false,
        "metadata": {"attributes": ds.attributes},
    });
    // Optional-but-not-nullable keys are omitted rather than null (docs/protocol.md §1.7).
    if let Some(obj) = v.as_object_mut() {
        if let Some(l) = &ds.localization {
            obj.insert("localization".into(), json!(l));
        }
        if let Some(l) = &ds.data_localization {
            obj.insert("dataLocalization".into(), json!(l));
        }
    }
    v
}

pub(crate) fn simple_dataset(app: &App, ds: &Dataset) -> Value {
    json!({
        "datasetId": composite(app, &ds.id),
        "name": ds.name,
        "type": ds.dataset_type,
        "content": ds.content,
        "createDate": ds.created,
    })
}

pub(crate) fn delete_op(app: &App, op: &DeleteOp) -> Value {
    json!({
        "kind": "DatasetDeleteOperation",
        "user": app.user,
        "workspaceId": app.organization_id,
        "datasetId": composite(app, &op.dataset),
        "selfLink": format!("{}/deleteOperation", dataset_link(app, &op.dataset)),
        "etag": "2",
        "metadata": resource_metadata(op.created, op.created, 2),
        "status": {"conditions": [
            {"condition": "Finished", "status": "Reached", "lastTransitionTime": op.created},
            {"condition": "Started", "status": "Reached", "lastTransitionTime": op.created},
        ]},
    })
}

/// The signed download URL of an asset (S3).
pub(crate) fn download_url(app: &App, dataset: &str, asset: &Asset, expires: i64) -> String {
    let dsc = composite(app, dataset);
    let signature = app.sign(
        &["GET", "download", &dsc, &asset.id, &asset.filename],
        expires,
    );
    format!(
        "{}/_storage/download/{}/{}/{}?expires={}&signature={}",
        app.origin,
        encode_segment(&dsc),
        encode_segment(&asset.id),
        encode_segment(&asset.filename),
        expires,
        signature
    )
}

pub(crate) fn asset(app: &App, dataset: &str, a: &Asset, contents: bool) -> Value {
    let generation = format!("g{}", a.generation);
    let mut v = json!({
        "assetId": a.id,
        "datasetId": composite(app, dataset),
        "workspaceId": app.organization_id,
        "filename": a.filename,
        "kind": "Asset",
        "owner": app.organization_id,
        "metadata": {
            "generations": {"asset": generation, "thumbnail": generation},
            "insertedBy": app.user,
            "annotations": {"withTag": {}, "total": 0},
            "frames": 1,
            "cohorts": [],
            "fileSize": a.size,
            "height": a.height,
            "width": a.width,
            "mimeType": a.mime,
            "source": SOURCE,
            "status": "none",
            "uploadStatus": "completed",
            "visibility": "visible",
            "userDefined": {},
            "customMetadata": a.custom_metadata,
            "dimensions": {"height": a.height, "width": a.width},
            "pixelRatio": {"height": 1, "width": 1},
            "comments": 0,
            "customMetadataCount": a.custom_metadata.len(),
            "hash": {"algorithm": "crc32c", "contents": format!("{:08x}", a.crc)},
            "contentsFrom": "upload",
            "framesChange": {},
            "timeCreated": a.created,
            "lastUpdated": a.updated,
            "contentsLastUpdated": a.contents_updated,
        },
        "selfLink": format!("{}/assets/{}", dataset_link(app, dataset), a.id),
        "etag": a.generation.to_string(),
    });
    if let (true, Some(obj)) = (contents, v.as_object_mut()) {
        let expiry = app.url_expiry();
        let url = download_url(app, dataset, a, expiry);
        // The thumbnail is the asset itself: the emulator renders no thumbnails.
        obj.insert(
            "contents".into(),
            json!({
                "asset": {"url": url, "expiry": expiry},
                "thumbnail": {"url": url, "expiry": expiry},
            }),
        );
    }
    v
}

fn session_link(app: &App, s: &Session) -> String {
    format!(
        "{}/assetSources/{SOURCE}/assetIngestionSessions/{}",
        dataset_link(app, &s.dataset),
        s.id
    )
}

fn keep_spelling(keep: bool) -> &'static str {
    if keep {
        "KeepLinkedResources"
    } else {
        "RemoveLinkedResource"
    }
}

/// The signed single-PUT upload URL (S1) of one declared file.
pub(crate) fn upload_url(app: &App, s: &Session, filename: &str) -> String {
    let signature = app.sign(
        &["PUT", "upload", &s.ingestion_id, filename],
        s.upload_expiry,
    );
    format!(
        "{}/_storage/upload/{}/{}?expires={}&signature={}",
        app.origin,
        encode_segment(&s.ingestion_id),
        encode_segment(filename),
        s.upload_expiry,
        signature
    )
}

pub(crate) fn session(app: &App, s: &Session, with_upload_urls: bool) -> Value {
    let declared: Vec<Value> = s
        .files
        .iter()
        .map(|f| {
            json!({
                "kind": f.kind,
                "filename": f.filename,
                "mime": f.mime,
                "size": f.size,
                "crc32c": f.crc32c,
                "customMetadata": f.custom_metadata,
            })
        })
        .collect();
    let mut conditions = Vec::new();
    match &s.finished {
        Some(finish) => {
            let mut c = json!({
                "condition": "Finished",
                "status": if finish.reached { "Reached" } else { "FailedReach" },
                "lastTransitionTime": finish.time,
            });
            if let Some(obj) = c.as_object_mut() {
                if let Some(r) = &finish.reason {
                    obj.insert("reason".into(), json!(r));
                }
                if let Some(m) = &finish.message {
                    obj.insert("message".into(), json!(m));
                }
            }
            conditions.push(c);
        }
        None => conditions.push(json!({
            "condition": "Finished",
            "status": "Waiting",
            "lastTransitionTime": s.created,
        })),
    }
    conditions.push(json!({
        "condition": "Started",
        "status": "Reached",
        "lastTransitionTime": s.created,
    }));
    let succeeded = s
        .files
        .iter()
        .filter(|f| matches!(f.state, FileState::Received { .. }))
        .count();
    let errored = s
        .files
        .iter()
        .filter(|f| matches!(f.state, FileState::Failed { .. }))
        .count();
    let mut events = Vec::new();
    if !s.files.is_empty() {
        events.push(json!({
            "kind": "Progress",
            "tasks": {"upload": {"received": succeeded, "failed": errored, "total": s.files.len()}},
        }));
    }
    for e in &s.errors {
        events.push(json!({
            "kind": "Error",
            "files": e.files,
            "corrections": {},
            "time": e.time,
        }));
    }
    let mut status = json!({
        "conditions": conditions,
        "events": events,
        "progressCount": {"total": s.files.len(), "succeeded": succeeded, "errored": errored},
    });
    if let (true, Some(obj)) = (with_upload_urls, status.as_object_mut()) {
        let assets: Vec<Value> = s
            .files
            .iter()
            .zip(&declared)
            .map(|(f, meta)| {
                json!({
                    "metadata": meta,
                    "upload": {
                        "url": upload_url(app, s, &f.filename),
                        "expiry": s.upload_expiry,
                        "method": "PUT",
                        "headers": {"Content-Type": f.mime},
                    },
                })
            })
            .collect();
        obj.insert("assets".into(), Value::Array(assets));
    }
    json!({
        "kind": "AssetIngestionSession",
        "workspaceId": app.organization_id,
        "datasetId": composite(app, &s.dataset),
        "assetSourceClass": "managed",
        "assetSourceProvider": "datature",
        "assetSourceId": "default",
        "assetIngestionSessionId": s.id,
        "ingestionId": s.ingestion_id,
        "selfLink": session_link(app, s),
        "etag": s.generation.to_string(),
        "metadata": resource_metadata(s.created, s.updated, s.generation),
        "spec": {
            "kind": s.spec_kind,
            "failureMode": s.failure_mode,
            "onAssetOverwritten": keep_spelling(s.keep_linked),
            "assets": declared,
        },
        "status": status,
    })
}

pub(crate) fn multipart(app: &App, m: &Multipart) -> Value {
    let conditions = match m.state {
        MultipartState::Open => json!([]),
        MultipartState::Completed => json!([
            {"condition": "Finished", "status": "Reached", "lastTransitionTime": m.updated},
        ]),
        MultipartState::Aborted => json!([
            {"condition": "Finished", "status": "FailedReach", "lastTransitionTime": m.updated, "reason": "Aborted"},
        ]),
    };
    let mut spec = json!({
        "ingestionId": m.ingestion_id,
        "filename": m.filename,
        "sizeBytes": m.size,
    });
    if let (Some(ct), Some(obj)) = (&m.content_type, spec.as_object_mut()) {
        obj.insert("contentType".into(), json!(ct));
    }
    json!({
        "kind": "MultipartUpload",
        "workspaceId": app.organization_id,
        "datasetId": composite(app, &m.dataset),
        "assetSourceClass": "managed",
        "assetSourceProvider": "datature",
        "assetSourceId": "default",
        "multipartUploadId": m.id,
        "selfLink": format!("{}/assetSources/{SOURCE}/multipartUploads/{}", dataset_link(app, &m.dataset), m.id),
        "etag": m.generation.to_string(),
        "metadata": resource_metadata(m.created, m.updated, m.generation),
        "spec": spec,
        "status": {"conditions": conditions, "partCount": m.part_count},
    })
}

/// The signed part-upload URL (S2).
pub(crate) fn part_url(app: &App, m: &Multipart, part: u32, expires: i64) -> String {
    let n = part.to_string();
    let signature = app.sign(&["PUT", "part", &m.id, &n], expires);
    format!(
        "{}/_storage/part/{}/{}?expires={}&signature={}",
        app.origin,
        encode_segment(&m.id),
        n,
        expires,
        signature
    )
}
