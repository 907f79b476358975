//! Wire-model tests of ingestion sessions and multipart uploads against JSON fixtures
//! (docs/protocol.md §6): sessions, events and error codes, request bodies, CRC32C encoding.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vi_core::models::*;

use crate::models_support;

use models_support::{decode, fixture, round_trip};

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
    // CRC-32C("123456789") = 0xe3069283, sent as a signed integer (docs/protocol.md §6.3).
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
