//! Wire-model tests against JSON fixtures (spec §3–§6, §9.1).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use vi_core::models::*;

const ORG: &str = "5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn decode<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every object key (recursively) of a JSON document.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// Serializes `value`, checks every key is lowerCamelCase, and decodes it again.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> Value {
    let json = serde_json::to_value(value).unwrap();
    let mut all = Vec::new();
    keys(&json, &mut all);
    for key in all {
        assert!(
            !key.contains('_') || key.contains('-') || key.contains('.') || key.starts_with("5c1d"),
            "snake_case key {key:?} in {json}"
        );
    }
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value);
    json
}

// ---------------------------------------------------------------- datasets

#[test]
fn dataset_decodes_every_key() {
    let ds: Dataset = decode("dataset.json");
    assert_eq!(ds.kind.as_deref(), Some("Dataset"));
    assert_eq!(ds.id().unwrap(), "q8w4e2r7t1");
    assert_eq!(ds.name, "Drone survey");
    assert_eq!(ds.workspace_id, ORG);
    assert_eq!(ds.dataset_type, DatasetType::PhraseGrounding);
    assert_eq!(ds.content, DatasetContent::Image);
    assert_eq!(ds.localization, Some(Localization::DatatureMulti));
    assert_eq!(ds.data_localization, Some(Localization::DatatureMulti));
    assert_eq!(ds.create_date.as_millis(), 1_732_780_800_000);
    assert_eq!(ds.statistic.asset_total, 150);
    assert_eq!(ds.statistic.tags_count["car"], 30);
    assert_eq!(ds.users["usr-18fa"], DatasetUser::Role("Owner".into()));
    match &ds.users["usr-2b7c"] {
        DatasetUser::Detailed {
            workspace_role,
            datasets,
        } => {
            assert_eq!(workspace_role, "Member");
            assert_eq!(datasets.values().next().unwrap(), "Labeler");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ds.access.is_public, Some(false));
    assert_eq!(ds.access.is_read_only, None);
    assert_eq!(ds.access.is_hidden, Some(false));
    assert_eq!(ds.preference["showThumbnails"], json!(true));
    assert_eq!(
        ds.asset_statuses["approved"]
            .create_date
            .unwrap()
            .as_millis(),
        1_732_780_900_000
    );
    assert_eq!(ds.asset_statuses["none"].create_date, None);
    let tags = ds.tag_details.as_ref().unwrap();
    assert_eq!(tags["car"].color.as_deref(), Some("#e53935"));
    assert_eq!(tags["person"].description, None);
    assert_eq!(ds.delete_op, None);
    assert_eq!(ds.etag, "7");
}

#[test]
fn dataset_round_trips_with_camel_case_keys() {
    let ds: Dataset = decode("dataset.json");
    let json = round_trip(&ds);
    for key in [
        "datasetId",
        "workspaceId",
        "type",
        "createDate",
        "lastAccessed",
        "isLocked",
        "assetStatuses",
        "selfLink",
        "dataLocalization",
        "tagDetails",
        "isDemoProject",
        "bypassQuota",
    ] {
        assert!(json.get(key).is_some(), "{key} missing in {json}");
    }
    assert_eq!(json["statistic"]["assetTotal"], 150);
    assert_eq!(json["users"]["usr-2b7c"]["workspaceRole"], "Member");
    // Required-but-nullable access keys stay present as null; the unknown key is dropped.
    assert_eq!(json["access"]["isReadOnly"], Value::Null);
    assert!(json.get("someFutureKey").is_none());
    assert!(json.get("deleteOp").is_none());
}

#[test]
fn minimal_dataset_needs_only_identity_keys() {
    let ds: Dataset = decode("dataset_minimal.json");
    assert_eq!(ds.name, "Bare");
    assert_eq!(ds.dataset_type, DatasetType::PhraseGrounding);
    assert_eq!(ds.statistic.asset_total, 0);
    assert!(ds.users.is_empty());
    // No workspaceId: the short id falls back to the text after the last underscore.
    assert_eq!(ds.id().unwrap(), "m3n5b7v9c1");
    round_trip(&ds);
}

#[test]
fn dataset_missing_identity_key_fails() {
    for missing in ["datasetId", "name"] {
        let mut doc: Value = serde_json::from_str(&fixture("dataset.json")).unwrap();
        doc.as_object_mut().unwrap().remove(missing);
        let err = serde_json::from_value::<Dataset>(doc).unwrap_err();
        assert!(err.to_string().contains(missing), "{err}");
    }
}

#[test]
fn dataset_page_decodes() {
    let page: PageEnvelope<Dataset> = decode("dataset_page.json");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].dataset_type, DatasetType::Vqa);
    assert_eq!(page.items[0].access.is_public, None);
    assert_eq!(page.next_token(), None);
    round_trip(&page);
}

#[test]
fn unknown_dataset_enums_survive() {
    let mut doc: Value = serde_json::from_str(&fixture("dataset.json")).unwrap();
    doc["type"] = json!("segmentation");
    doc["content"] = json!("Video");
    doc["localization"] = json!("Datature/EU");
    doc["users"]["usr-odd"] = json!(["not", "a", "role"]);
    let ds: Dataset = serde_json::from_value(doc).unwrap();
    assert_eq!(ds.dataset_type, DatasetType::Unknown("segmentation".into()));
    assert!(ds.dataset_type.is_unknown());
    assert_eq!(ds.content.as_str(), "Video");
    assert_eq!(
        ds.localization,
        Some(Localization::Unknown("Datature/EU".into()))
    );
    assert!(matches!(ds.users["usr-odd"], DatasetUser::Other(_)));
    let json = round_trip(&ds);
    assert_eq!(json["type"], "segmentation");
    assert_eq!(json["content"], "Video");
    assert_eq!(json["localization"], "Datature/EU");
    assert_eq!(json["users"]["usr-odd"], json!(["not", "a", "role"]));
}

#[test]
fn enum_wire_spellings() {
    for (value, wire) in [
        (DatasetType::PhraseGrounding, "phrase-grounding"),
        (DatasetType::Vqa, "vqa"),
        (DatasetType::Freeform, "freeform"),
    ] {
        assert_eq!(serde_json::to_value(&value).unwrap(), json!(wire));
        assert_eq!(value.to_string(), wire);
        assert_eq!(DatasetType::from(wire), value);
    }
    assert_eq!(
        serde_json::to_value(Localization::DatatureMulti).unwrap(),
        json!("Datature/Multi")
    );
    assert_eq!(DatasetType::default(), DatasetType::PhraseGrounding);
    assert_eq!(DatasetContent::default(), DatasetContent::Image);
    assert_eq!(Localization::default(), Localization::DatatureMulti);
    assert_eq!(FailureMode::default(), FailureMode::FailAfterOne);
    assert_eq!(
        OnAssetOverwritten::default(),
        OnAssetOverwritten::RemoveLinkedResource
    );
    // An Unknown that happens to hold a known spelling re-serializes to the same text.
    assert_eq!(
        serde_json::to_value(DatasetType::Unknown("vqa".into())).unwrap(),
        json!("vqa")
    );
}

#[test]
fn deleted_dataset_progress() {
    let op: DeletedDataset = decode("deleted_dataset.json");
    assert_eq!(op.kind, "DatasetDeleteOperation");
    assert_eq!(op.dataset().unwrap(), "q8w4e2r7t1");
    assert!(op.is_done());
    assert!(op.failure().is_none());
    assert_eq!(op.metadata.generation, 1);
    round_trip(&op);

    let mut waiting = op.clone();
    waiting.status.conditions.push(ResourceCondition {
        condition: "Finished".into(),
        status: ConditionStatus::Waiting,
        ..Default::default()
    });
    assert!(!waiting.is_done());

    let mut broken = op.clone();
    broken.status.conditions[0].status = ConditionStatus::FailedReach;
    assert!(!broken.is_done());
    assert_eq!(broken.failure().unwrap().condition, "Started");

    let empty = DeletedDataset::default();
    assert!(!empty.is_done(), "no conditions is not done");
}

#[test]
fn create_dataset_request_matches_the_official_body() {
    let mut req = CreateDatasetRequest::new("Drone survey", ORG);
    req.description = "Aerial frames, spring 2025".into();
    let expected: Value = serde_json::from_str(&fixture("create_dataset_request.json")).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), expected);
    round_trip(&req);

    req.metadata = Some(DatasetMetadataInput {
        attributes: BTreeMap::from([("team".into(), "aerial".into())]),
    });
    let json = serde_json::to_value(&req).unwrap();
    assert_eq!(json["metadata"], json!({"attributes": {"team": "aerial"}}));
}

#[test]
fn update_dataset_request_sends_only_what_is_set() {
    assert_eq!(
        serde_json::to_value(UpdateDatasetRequest::default()).unwrap(),
        json!({})
    );
    let req = UpdateDatasetRequest {
        name: Some("Renamed".into()),
        preference: Some(BTreeMap::from([("theme".into(), json!("light"))])),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"name": "Renamed", "preference": {"theme": "light"}})
    );
}

// ---------------------------------------------------------------- assets

#[test]
fn asset_decodes_every_key() {
    let asset: Asset = decode("asset.json");
    assert_eq!(asset.id().unwrap(), "as7f3k2m9x");
    assert_eq!(asset.dataset().unwrap(), "q8w4e2r7t1");
    assert_eq!(asset.filename, "sample_001.jpg");
    let m = &asset.metadata;
    assert_eq!(m.file_size, 45_678);
    assert_eq!(m.generations.asset, "g1");
    assert_eq!(m.annotations.with_tag["car"], 2);
    assert_eq!(m.annotations.total, 2);
    assert_eq!(m.cohorts, ["train"]);
    assert_eq!(
        m.dimensions,
        Dimensions {
            height: 600,
            width: 800,
            depth: None
        }
    );
    assert_eq!(m.pixel_ratio.height, 1);
    assert_eq!(m.hash.algorithm, "crc32c");
    assert_eq!(m.upload_status, "completed");
    assert_eq!(m.user_defined["camera"]["iso"], 200);
    assert_eq!(
        m.custom_metadata["quality"],
        CustomValue::String("high".into())
    );
    assert_eq!(m.custom_metadata["score"], CustomValue::Float(0.93));
    assert_eq!(m.custom_metadata["frameIndex"], CustomValue::Int(17));
    assert_eq!(m.custom_metadata["reviewed"], CustomValue::Bool(true));
    assert_eq!(m.contents_last_updated.as_millis(), 1_732_867_215_000);
    let url = asset.download_url().unwrap();
    assert_eq!(url.expiry.as_millis(), 1_732_871_400_000);
    assert!(asset.contents.as_ref().unwrap().thumbnail.is_some());

    let json = round_trip(&asset);
    assert_eq!(json["metadata"]["customMetadata"]["frameIndex"], 17);
    assert_eq!(json["metadata"]["customMetadata"]["score"], 0.93);
    assert_eq!(
        json["metadata"]["pixelRatio"],
        json!({"height": 1, "width": 1})
    );
    assert_eq!(json["metadata"]["mimeType"], "image/jpeg");
    assert!(json["contents"]["asset"].get("headers").is_none());
}

#[test]
fn asset_page_and_pagination_tokens() {
    let page: PageEnvelope<Asset> = decode("asset_page.json");
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next_token(), Some("eyJvIjoxMH0="));
    assert!(page.items[0].contents.as_ref().unwrap().thumbnail.is_none());
    assert!(page.items[1].contents.is_none());
    assert!(page.items[1].download_url().is_none());
    assert_eq!(page.items[1].metadata.dimensions.depth, Some(240));
    assert_eq!(page.items[1].metadata.file_size, 2_147_483_648);
    round_trip(&page);

    let last: PageEnvelope<Asset> = decode("asset_page_last.json");
    assert!(last.items.is_empty());
    assert_eq!(last.next_page.as_deref(), Some(""));
    assert_eq!(last.next_token(), None, "an empty token ends the listing");

    let bare: PageEnvelope<Asset> = serde_json::from_str("{}").unwrap();
    assert!(bare.items.is_empty() && bare.next_token().is_none());
    let null_items: PageEnvelope<Asset> = serde_json::from_str(r#"{"items": null}"#).unwrap();
    assert!(null_items.items.is_empty());
}

#[test]
fn asset_missing_identity_key_fails() {
    for missing in ["assetId", "filename", "datasetId"] {
        let mut doc: Value = serde_json::from_str(&fixture("asset.json")).unwrap();
        doc.as_object_mut().unwrap().remove(missing);
        assert!(serde_json::from_value::<Asset>(doc).is_err(), "{missing}");
    }
    let mut doc: Value = serde_json::from_str(&fixture("asset.json")).unwrap();
    doc["contents"]["asset"]
        .as_object_mut()
        .unwrap()
        .remove("expiry");
    assert!(
        serde_json::from_value::<Asset>(doc).is_err(),
        "url without expiry"
    );
    // A missing metadata block is tolerated.
    let asset: Asset = serde_json::from_value(json!({
        "assetId": "a1", "datasetId": "x_y", "filename": "f.jpg"
    }))
    .unwrap();
    assert_eq!(asset.metadata.file_size, 0);
}

#[test]
fn asset_count_accepts_both_forms() {
    let object: AssetCount = decode("count_object.json");
    let bare: AssetCount = decode("count_bare.json");
    assert_eq!(object.value(), 42);
    assert_eq!(bare.value(), 42);
    assert_eq!(serde_json::to_value(object).unwrap(), json!({"count": 42}));
    let text: AssetCount = serde_json::from_str(r#"{"count": "7"}"#).unwrap();
    assert_eq!(text.value(), 7);
    assert!(serde_json::from_str::<AssetCount>(r#"{"total": 3}"#).is_err());
    assert!(serde_json::from_str::<AssetCount>("-1").is_err());
}

#[test]
fn rename_asset_body_uses_filename() {
    let body = RenameAssetRequest {
        filename: "frame_001.jpg".into(),
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"filename": "frame_001.jpg"})
    );
}

// ---------------------------------------------------------------- signed URLs

#[test]
fn signed_url_debug_hides_the_signature() {
    let asset: Asset = decode("asset.json");
    let url = asset.download_url().unwrap();
    let debug = format!("{url:?}");
    assert!(!debug.contains("X-Goog-Signature"), "{debug}");
    assert!(!debug.contains("9f0e"), "{debug}");
    assert!(
        debug
            .contains("https://storage.example.com/vi-assets/q8w4e2r7t1/sample_001.jpg?<redacted>"),
        "{debug}"
    );
    assert_eq!(
        url.redacted_url(),
        "https://storage.example.com/vi-assets/q8w4e2r7t1/sample_001.jpg?<redacted>"
    );
    // The Debug of containing structs goes through the same redaction.
    let whole = format!("{asset:?}");
    assert!(
        !whole.contains("9f0e") && !whole.contains("77aa"),
        "{whole}"
    );

    let session: IngestionSession = decode("session_created.json");
    let debug = format!("{session:?}");
    for secret in ["c0ffee", "beef", "d00d", "X-Goog-Credential", "LSDKpw"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }

    let plain = SignedUrl {
        url: "http://127.0.0.1:8080/files/a.jpg".into(),
        expiry: Timestamp::from_millis(0),
        headers: None,
        method: None,
    };
    assert_eq!(plain.redacted_url(), "http://127.0.0.1:8080/files/a.jpg");
    let creds = SignedUrl {
        url: "https://user:pw@h.example/p?sig=1#frag".into(),
        ..plain.clone()
    };
    assert_eq!(creds.redacted_url(), "https://h.example/p?<redacted>");
    let relative = SignedUrl {
        url: "/not/absolute?sig=secret".into(),
        ..plain
    };
    assert_eq!(relative.redacted_url(), "/not/absolute?<redacted>");
}

#[test]
fn signed_url_expiry() {
    let url: SignedUrl = serde_json::from_value(json!({
        "url": "https://s.example/o?sig=1", "expiry": 1_732_871_400_000_i64
    }))
    .unwrap();
    let at = UNIX_EPOCH + Duration::from_millis(1_732_871_400_000);
    assert_eq!(url.expires_at(), at);
    assert!(!url.is_expired_at(at - Duration::from_secs(1)));
    assert!(url.is_expired_at(at));
    assert!(url.is_expired_at(at + Duration::from_secs(1)));
    assert_eq!(url.http_method(), "PUT");
    assert!(serde_json::from_value::<SignedUrl>(json!({"expiry": 1})).is_err());
    assert!(serde_json::from_value::<SignedUrl>(json!({"url": "https://x/"})).is_err());
}

#[test]
fn part_url_decodes_and_redacts() {
    let part: PartUploadUrl = decode("part_url.json");
    assert_eq!(part.signed.http_method(), "PUT");
    assert_eq!(part.response_headers, ["ETag"]);
    assert!(!part.response_body);
    assert_eq!(
        part.signed.headers.as_ref().unwrap()["Content-Type"],
        "video/mp4"
    );
    let debug = format!("{part:?}");
    assert!(
        !debug.contains("X-Amz-Signature") && !debug.contains("uploadId"),
        "{debug}"
    );
    assert_eq!(
        part.signed.redacted_url(),
        "https://storage.example.com/mpu/clip.mp4?<redacted>"
    );
    assert!(part.signed.is_expired_at(SystemTime::now()));
    let json = round_trip(&part);
    assert_eq!(json["responseHeaders"], json!(["ETag"]));
    assert_eq!(json["responseBody"], false);
}

// ---------------------------------------------------------------- ingestion

#[test]
fn created_session_carries_upload_urls() {
    let session: IngestionSession = decode("session_created.json");
    assert_eq!(session.id().unwrap(), "sess-4d2a91");
    assert_eq!(session.ingestion_id, "ingest-7b3e05");
    assert_eq!(session.dataset().unwrap(), "q8w4e2r7t1");
    assert_eq!(session.kind.as_deref(), Some("AssetIngestionSession"));
    assert!(!session.is_finished());
    assert!(session.failure().is_none());
    assert!(session.failed_files().is_empty());
    assert_eq!(
        session.spec.on_asset_overwritten,
        OnAssetOverwritten::KeepLinkedResources
    );
    let declared = session.spec.assets.as_ref().unwrap();
    assert_eq!(declared[1].crc32c, Some(-486_108_541));
    assert_eq!(
        declared[1].custom_metadata.as_ref().unwrap()["quality"],
        CustomValue::from("high")
    );
    assert_eq!(declared[2].crc32c, None);
    assert_eq!(declared[2].size, 2_147_483_648);

    let uploads = session.status.assets.as_ref().unwrap();
    assert_eq!(uploads.len(), 3);
    assert_eq!(uploads[0].metadata.filename, "sample_001.jpg");
    assert_eq!(uploads[0].upload.method.as_deref(), Some("PUT"));
    assert_eq!(
        uploads[0].upload.headers.as_ref().unwrap()["x-goog-hash"],
        "crc32c=LSDKpw=="
    );
    assert_eq!(uploads[1].upload.headers, None);
    assert_eq!(uploads[1].upload.http_method(), "PUT");
    assert_eq!(session.status.progress_count.total, 3);

    let json = round_trip(&session);
    assert_eq!(json["assetIngestionSessionId"], "sess-4d2a91");
    assert_eq!(json["status"]["progressCount"]["total"], 3);
    assert_eq!(json["spec"]["onAssetOverwritten"], "KeepLinkedResources");
    assert_eq!(
        json["status"]["assets"][1]["metadata"]["crc32c"],
        -486_108_541
    );
}

#[test]
fn finished_session_reports_failed_files() {
    let session: IngestionSession = decode("session_finished.json");
    assert!(session.is_finished());
    assert!(session.failure().is_none());
    assert!(session.status.assets.is_none());
    assert_eq!(session.spec.failure_mode, FailureMode::FailAfterAll);
    assert_eq!(session.status.progress_count.errored, 3);
    assert_eq!(session.status.events.len(), 3);
    assert_eq!(session.status.events[0].kind(), "Progress");
    match &session.status.events[0] {
        IngestionEvent::Progress { tasks } => assert_eq!(tasks["ingest"]["done"], 4),
        other => panic!("{other:?}"),
    }
    match &session.status.events[2] {
        IngestionEvent::Error {
            corrections, time, ..
        } => {
            assert_eq!(corrections["huge.tif"], "declared 10 bytes");
            assert_eq!(time.as_millis(), 1_732_867_240_000);
        }
        other => panic!("{other:?}"),
    }
    let failed = session.failed_files();
    assert_eq!(failed.len(), 3);
    // broken.png appears twice; the event with the later `time` wins.
    assert_eq!(failed["broken.png"], IngestionErrorCode::Ecorrupt);
    assert_eq!(failed["late.jpg"], IngestionErrorCode::Etimeout);
    assert_eq!(failed["huge.tif"], IngestionErrorCode::Ebadsize);
    assert_eq!(
        failed["late.jpg"].description(),
        "the file was not uploaded in time"
    );

    let json = round_trip(&session);
    assert_eq!(json["status"]["events"][1]["kind"], "Error");
    assert_eq!(
        json["status"]["events"][1]["files"]["broken.png"],
        "ECORRUPT"
    );
    assert_eq!(
        json["status"]["events"][0],
        json!({"kind": "Progress", "tasks": {"ingest": {"done": 4, "total": 6}}})
    );
}

#[test]
fn unknown_events_and_enum_values_survive() {
    let session: IngestionSession = decode("session_unknown_event.json");
    assert_eq!(
        session.spec.failure_mode,
        FailureMode::Unknown("FailAfterSome".into())
    );
    // The singular spelling the official client sends decodes to the plural variant.
    assert_eq!(
        session.spec.on_asset_overwritten,
        OnAssetOverwritten::KeepLinkedResources
    );
    assert_eq!(
        session.status.conditions[2].status,
        ConditionStatus::Unknown("Skipped".into())
    );
    let failure = session.failure().unwrap();
    assert_eq!(failure.reason.as_deref(), Some("Cancelled"));
    assert_eq!(failure.message.as_deref(), Some("cancelled by the client"));
    assert!(!session.is_finished());
    assert_eq!(session.status.events[0].kind(), "Audit");
    assert!(matches!(
        session.status.events[0],
        IngestionEvent::Unknown(_)
    ));
    assert_eq!(
        session.failed_files()["odd.jpg"],
        IngestionErrorCode::Unknown("EWEIRD".into())
    );
    assert_eq!(
        IngestionErrorCode::Unknown("EWEIRD".into()).description(),
        "an unknown error"
    );

    let json = serde_json::to_value(&session).unwrap();
    assert_eq!(json["spec"]["failureMode"], "FailAfterSome");
    assert_eq!(json["spec"]["onAssetOverwritten"], "KeepLinkedResources");
    assert_eq!(json["status"]["conditions"][2]["status"], "Skipped");
    assert_eq!(
        json["status"]["events"][0],
        json!({"kind": "Audit", "actor": "usr-18fa", "time": 1_732_867_250_000_i64})
    );
    assert_eq!(json["status"]["events"][1]["files"]["odd.jpg"], "EWEIRD");
    let back: IngestionSession = serde_json::from_value(json).unwrap();
    assert_eq!(back, session);
}

#[test]
fn session_identity_keys_are_required() {
    let doc: Value = serde_json::from_str(&fixture("session_finished.json")).unwrap();
    for missing in [
        "assetIngestionSessionId",
        "ingestionId",
        "datasetId",
        "status",
    ] {
        let mut doc = doc.clone();
        doc.as_object_mut().unwrap().remove(missing);
        assert!(
            serde_json::from_value::<IngestionSession>(doc).is_err(),
            "{missing}"
        );
    }
    let mut doc = doc.clone();
    doc["status"].as_object_mut().unwrap().remove("conditions");
    assert!(serde_json::from_value::<IngestionSession>(doc.clone()).is_err());
    // Everything else in `status` may be missing.
    doc["status"] = json!({"conditions": []});
    let session: IngestionSession = serde_json::from_value(doc).unwrap();
    assert!(session.status.events.is_empty());
    assert_eq!(session.status.progress_count, ProgressCount::default());
}

#[test]
fn keep_linked_resources_spelling_both_ways() {
    for wire in ["KeepLinkedResource", "KeepLinkedResources"] {
        let value: OnAssetOverwritten = serde_json::from_value(json!(wire)).unwrap();
        assert_eq!(value, OnAssetOverwritten::KeepLinkedResources);
        assert_eq!(
            serde_json::to_value(&value).unwrap(),
            json!("KeepLinkedResources")
        );
    }
    assert_eq!(
        OnAssetOverwritten::from("RemoveLinkedResource"),
        OnAssetOverwritten::RemoveLinkedResource
    );
    assert_eq!(
        serde_json::to_value(OnAssetOverwritten::RemoveLinkedResource).unwrap(),
        json!("RemoveLinkedResource")
    );
}

#[test]
fn create_session_request_matches_the_official_body() {
    let req = CreateIngestionSessionRequest::upload(
        vec![
            AssetSpec {
                filename: "sample_001.jpg".into(),
                mime: "image/jpeg".into(),
                size: 45_678,
                crc32c: Some(757_123_751),
                custom_metadata: None,
                kind: AssetKind::Image,
            },
            AssetSpec {
                filename: "clip.mp4".into(),
                mime: "video/mp4".into(),
                size: 2_147_483_648,
                crc32c: None,
                custom_metadata: None,
                kind: AssetKind::Video,
            },
        ],
        FailureMode::FailAfterOne,
        OnAssetOverwritten::RemoveLinkedResource,
    );
    let expected: Value = serde_json::from_str(&fixture("create_session_request.json")).unwrap();
    let json = serde_json::to_value(&req).unwrap();
    assert_eq!(json, expected);
    // Present-as-null, like the official client.
    let clip = json["spec"]["assets"][1].as_object().unwrap();
    assert_eq!(clip.get("crc32c"), Some(&Value::Null));
    assert_eq!(clip.get("customMetadata"), Some(&Value::Null));
    round_trip(&req);

    let decoded: CreateIngestionSessionRequest = serde_json::from_value(expected).unwrap();
    assert_eq!(decoded, req);
    let keep = CreateIngestionSessionRequest::upload(
        Vec::new(),
        FailureMode::FailAfterAll,
        OnAssetOverwritten::KeepLinkedResources,
    );
    assert_eq!(
        serde_json::to_value(&keep).unwrap(),
        json!({"spec": {"kind": "Upload", "failureMode": "FailAfterAll", "onAssetOverwritten": "KeepLinkedResources", "assets": []}})
    );
}

#[test]
fn crc32c_is_a_signed_32_bit_integer() {
    // CRC-32C("123456789") = 0xe3069283, sent as a signed integer (spec §6.3).
    let crc = 0xe306_9283_u32 as i32;
    assert_eq!(crc, -486_108_541);
    let spec = AssetSpec {
        filename: "digits.txt.png".into(),
        mime: "image/png".into(),
        size: 9,
        crc32c: Some(crc),
        custom_metadata: Some(BTreeMap::from([(
            "reviewed".into(),
            CustomValue::Bool(false),
        )])),
        kind: AssetKind::Image,
    };
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["crc32c"], -486_108_541);
    assert_eq!(json["customMetadata"], json!({"reviewed": false}));
    assert_eq!(json["kind"], "Image");
    // The unsigned reading of the same bits is accepted and normalized.
    let unsigned: UploadedAssetMetadata = serde_json::from_value(json!({
        "filename": "d.png", "crc32c": 3_808_858_755_u64
    }))
    .unwrap();
    assert_eq!(unsigned.crc32c, Some(-486_108_541));
    assert!(
        serde_json::from_value::<UploadedAssetMetadata>(json!({
            "filename": "d.png", "crc32c": 1_u64 << 33
        }))
        .is_err()
    );
    assert!(serde_json::from_value::<UploadedAssetMetadata>(json!({"crc32c": 0})).is_err());
}

#[test]
fn asset_kind_from_mime() {
    assert_eq!(AssetKind::from_mime("image/jpeg"), Some(AssetKind::Image));
    assert_eq!(AssetKind::from_mime("video/mp4"), Some(AssetKind::Video));
    assert_eq!(AssetKind::from_mime("audio/ogg"), None);
    assert_eq!(AssetKind::Video.as_str(), "Video");
    assert_eq!(
        serde_json::to_value(AssetKind::Video).unwrap(),
        json!("Video")
    );
}

#[test]
fn error_codes_round_trip() {
    let all = [
        "EALREADY", "EBADMIME", "EBADSIZE", "ECORRUPT", "ENOQUOTA", "EOLDMETA", "ETIMEOUT",
        "ERESNENT", "EPROJECT", "ENOASSET", "ESEQMETA", "EUNKNOWN",
    ];
    for wire in all {
        let code: IngestionErrorCode = serde_json::from_value(json!(wire)).unwrap();
        assert!(!code.is_unknown(), "{wire}");
        assert_eq!(code.as_str(), wire);
        assert!(!code.description().is_empty());
        assert_eq!(serde_json::to_value(&code).unwrap(), json!(wire));
    }
}

// ---------------------------------------------------------------- multipart

#[test]
fn multipart_upload_decodes() {
    let mpu: MultipartUpload = decode("multipart.json");
    assert_eq!(mpu.multipart_upload_id, "mpu-1c9f44");
    assert_eq!(mpu.part_count(), 32);
    assert_eq!(mpu.spec.ingestion_id, "ingest-7b3e05");
    assert_eq!(mpu.spec.size_bytes, 2_147_483_648);
    assert_eq!(mpu.spec.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(mpu.dataset().unwrap(), "q8w4e2r7t1");
    let json = round_trip(&mpu);
    assert_eq!(json["status"]["partCount"], 32);
    let mut doc: Value = serde_json::from_str(&fixture("multipart.json")).unwrap();
    doc.as_object_mut().unwrap().remove("multipartUploadId");
    assert!(serde_json::from_value::<MultipartUpload>(doc).is_err());
}

#[test]
fn multipart_request_bodies() {
    let create = CreateMultipartUploadRequest {
        spec: MultipartUploadSpec {
            ingestion_id: "ingest-7b3e05".into(),
            filename: "clip.mp4".into(),
            content_type: Some("video/mp4".into()),
            size_bytes: 2_147_483_648,
        },
    };
    let expected: Value = serde_json::from_str(&fixture("create_multipart_request.json")).unwrap();
    assert_eq!(serde_json::to_value(&create).unwrap(), expected);

    let complete = CompletePartRequest {
        response_headers: BTreeMap::from([(
            "ETag".into(),
            "\"9b2cf535f27731c974343645a3985328\"".into(),
        )]),
        response_body: Some("PD94bWwgdmVyc2lvbj0iMS4wIj8+".into()),
    };
    let expected: Value = serde_json::from_str(&fixture("complete_part_request.json")).unwrap();
    assert_eq!(serde_json::to_value(&complete).unwrap(), expected);
    let no_body = CompletePartRequest {
        response_body: None,
        ..complete
    };
    assert!(
        serde_json::to_value(&no_body)
            .unwrap()
            .get("responseBody")
            .is_none()
    );
}

// ---------------------------------------------------------------- common

#[test]
fn timestamps() {
    let ts = Timestamp::from_millis(1_732_867_260_000);
    assert_eq!(ts.as_millis(), 1_732_867_260_000);
    assert_eq!(ts.to_string(), "2024-11-29T08:01:00Z");
    assert_eq!(
        Timestamp::from_millis(1_732_867_260_123).to_string(),
        "2024-11-29T08:01:00.123Z"
    );
    assert_eq!(
        Timestamp::from_millis(0).to_string(),
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(
        Timestamp::from_millis(-1).to_string(),
        "1969-12-31T23:59:59.999Z"
    );
    assert_eq!(
        Timestamp::from_millis(951_782_400_000).to_string(),
        "2000-02-29T00:00:00Z"
    );
    assert_eq!(
        ts.to_system_time(),
        UNIX_EPOCH + Duration::from_millis(1_732_867_260_000)
    );
    assert_eq!(
        Timestamp::from_millis(-1_500).to_system_time(),
        UNIX_EPOCH - Duration::from_millis(1_500)
    );
    assert_eq!(Timestamp::from_system_time(ts.to_system_time()), ts);
    assert_eq!(
        serde_json::to_value(ts).unwrap(),
        json!(1_732_867_260_000_i64)
    );
    let back: Timestamp = serde_json::from_value(json!(1_732_867_260_000_i64)).unwrap();
    assert_eq!(back, ts);
    assert!(Timestamp::from_millis(1) < Timestamp::from_millis(2));
}

#[test]
fn condition_helpers() {
    let cond = |name: &str, status: &str| -> ResourceCondition {
        serde_json::from_value(json!({
            "condition": name, "status": status, "lastTransitionTime": 1
        }))
        .unwrap()
    };
    let started = cond("Started", "Reached");
    let finished = cond("Finished", "Reached");
    let waiting = cond("Finished", "Waiting");
    let failed_one = cond("Started", "FailedReach");

    assert!(is_finished_reached(&[started.clone(), finished.clone()]));
    assert!(is_finished_reached(&[finished.clone(), started.clone()]));
    assert!(!is_finished_reached(&[started.clone(), waiting.clone()]));
    assert!(!is_finished_reached(&[]));

    assert!(all_reached(&[started.clone(), finished.clone()]));
    assert!(!all_reached(&[started.clone(), waiting.clone()]));
    assert!(!all_reached(&[]));

    assert_eq!(
        failed(&[started.clone(), failed_one.clone()]),
        Some(&failed_one)
    );
    assert_eq!(failed(&[started, finished]), None);

    let json = serde_json::to_value(&waiting).unwrap();
    assert_eq!(
        json,
        json!({"condition": "Finished", "status": "Waiting", "lastTransitionTime": 1})
    );
    let defaulted: ResourceCondition = serde_json::from_value(json!({"condition": "X"})).unwrap();
    assert_eq!(defaulted.status, ConditionStatus::Waiting);

    let meta: ResourceMetadata = serde_json::from_value(json!({
        "timeCreated": 1, "lastUpdated": 2, "generation": 3, "attributes": {"a": "b"}
    }))
    .unwrap();
    assert_eq!(meta.attributes["a"], "b");
    round_trip(&meta);
}

// ---------------------------------------------------------------- errors

#[test]
fn error_messages() {
    assert_eq!(
        error_message(fixture("error_body.json").as_bytes(), 404),
        "Dataset q8w4e2r7t1 not found"
    );
    assert_eq!(
        error_message(br#"{"error": "ResourceConflict"}"#, 409),
        "ResourceConflict"
    );
    assert_eq!(
        error_message(br#"{"message": null, "error": "Fallback"}"#, 400),
        "Fallback"
    );
    assert_eq!(
        error_message(br#"{"statusCode": 500}"#, 500),
        "HTTP 500 error"
    );
    assert_eq!(error_message(b"{}", 503), "HTTP 503 error");
    assert_eq!(error_message(b"", 502), "HTTP 502 error");
    assert_eq!(error_message(b"  \n ", 502), "HTTP 502 error");
    assert_eq!(
        error_message(b"  upstream connect error  \n", 502),
        "upstream connect error"
    );
    assert_eq!(error_message(b"\"quoted\"", 400), "\"quoted\"");
    assert_eq!(
        error_message(br#"{"message": ["a", "b"]}"#, 400),
        r#"["a","b"]"#
    );

    let long = "é".repeat(400); // 800 bytes
    let msg = error_message(long.as_bytes(), 500);
    assert!(msg.ends_with('…'));
    let kept = msg.trim_end_matches('…');
    assert_eq!(kept.len(), 500);
    assert!(kept.chars().all(|c| c == 'é'));

    let body: ErrorBody = decode("error_body.json");
    assert_eq!(body.error.as_deref(), Some("ResourceNotFound"));
}
