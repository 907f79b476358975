//! Wire-model tests of datasets against JSON fixtures (docs/protocol.md §3.3, §4): decoding, round
//! trips, pages, unknown enum values, deletion progress and the create/update bodies.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vi_core::models::*;

use crate::models_support;

use models_support::{decode, fixture, round_trip};

const ORG: &str = "5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90";

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
