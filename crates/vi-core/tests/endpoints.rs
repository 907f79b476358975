//! Every endpoint: the request it builds (method, path, query, body) and how it parses
//! JSON fixtures. No I/O.

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use vi_core::endpoints::{
    CancelIngestionSession, CountAssets, CreateDataset, CreateIngestionSession, DeleteAsset,
    DeleteDataset, Endpoint, GetAsset, GetDataset, GetDatasetDeletion, GetIngestionSession,
    ListAssets, ListDatasets, RenameAsset, Safety,
};
use vi_core::models::{
    AssetKind, AssetSpec, CreateIngestionSessionRequest, DatasetType, FailureMode,
    IngestionRequestSpec, OnAssetOverwritten,
};
use vi_core::{
    AssetId, CountAssetsOptions, Cursor, DatasetId, IngestionSessionId, ListAssetsOptions,
    NewDataset, OrganizationId, RenameTarget,
};

fn org() -> OrganizationId {
    OrganizationId::new("5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90").unwrap()
}

fn ds() -> DatasetId {
    DatasetId::new("q8w4e2r7t1").unwrap()
}

const DS_PATH: &str = "/workspaces/5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90/datasets/5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90_q8w4e2r7t1";

fn fixture(name: &str) -> Bytes {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn response(body: Bytes) -> http::Response<Bytes> {
    http::Response::new(body)
}

fn body_json<E: Endpoint>(e: &E) -> Value {
    let req = e.request(&org()).unwrap();
    serde_json::from_slice(req.body.as_ref().expect("a body")).unwrap()
}

#[test]
fn list_datasets() {
    let e = ListDatasets {
        page_size: 10,
        cursor: None,
    };
    let req = e.request(&org()).unwrap();
    assert_eq!(req.method, Method::GET);
    assert_eq!(
        req.path_and_query(),
        "/workspaces/5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90/datasets?s=10"
    );
    assert!(req.body.is_none());
    assert_eq!(e.safety(), Safety::Safe);
    let page = e.parse(&response(fixture("dataset_page.json"))).unwrap();
    assert!(!page.items.is_empty());
    let with_cursor = ListDatasets {
        page_size: 2,
        cursor: Some(Cursor::new("abc=")),
    };
    assert!(
        with_cursor
            .request(&org())
            .unwrap()
            .path_and_query()
            .ends_with("datasets?p=abc%3D&s=2")
    );
    let bad = ListDatasets {
        page_size: 0,
        cursor: None,
    };
    assert!(bad.request(&org()).is_err());
}

#[test]
fn get_dataset() {
    let e = GetDataset { dataset: ds() };
    let req = e.request(&org()).unwrap();
    assert_eq!(
        (req.method.clone(), req.path_and_query()),
        (Method::GET, DS_PATH.to_owned())
    );
    let d = e.parse(&response(fixture("dataset.json"))).unwrap();
    assert_eq!(d.id().unwrap(), ds());
    let minimal = e.parse(&response(fixture("dataset_minimal.json"))).unwrap();
    assert!(!minimal.name.is_empty());
    let err = e
        .parse(&response(Bytes::from_static(b"{\"name\": 3}")))
        .unwrap_err();
    assert!(err.to_string().contains("get dataset"), "{err}");
}

#[test]
fn create_dataset_sends_every_key_of_the_official_client() {
    let e = CreateDataset {
        dataset: NewDataset::new("Drone survey")
            .description("Aerial frames")
            .dataset_type(DatasetType::Vqa),
    };
    let req = e.request(&org()).unwrap();
    assert_eq!(req.method, Method::POST);
    assert_eq!(
        req.path_and_query(),
        "/workspaces/5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90/datasets"
    );
    assert_eq!(e.safety(), Safety::Unsafe);
    assert_eq!(
        body_json(&e),
        json!({
            "name": "Drone survey",
            "owner": "5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90",
            "description": "Aerial frames",
            "type": "vqa",
            "content": "Image",
            "localization": "Datature/Multi",
            "dataLocalization": "Datature/Multi",
            "status": 0,
            "tags": {}
        })
    );
    let with_meta = CreateDataset {
        dataset: NewDataset::new("x").attribute("team", "vision"),
    };
    assert_eq!(
        body_json(&with_meta)["metadata"],
        json!({"attributes": {"team": "vision"}})
    );
    let d = e.parse(&response(fixture("dataset.json"))).unwrap();
    assert_eq!(d.kind.as_deref(), Some("Dataset"));
    let empty = CreateDataset {
        dataset: NewDataset::new(" "),
    };
    assert!(empty.request(&org()).is_err());
}

#[test]
fn delete_dataset_and_its_operation() {
    let e = DeleteDataset { dataset: ds() };
    let req = e.request(&org()).unwrap();
    assert_eq!(
        (req.method.clone(), req.path_and_query()),
        (Method::DELETE, DS_PATH.to_owned())
    );
    assert_eq!(e.safety(), Safety::Idempotent);
    let op = e.parse(&response(fixture("deleted_dataset.json"))).unwrap();
    assert!(op.dataset_id.ends_with("_q8w4e2r7t1"));

    let g = GetDatasetDeletion { dataset: ds() };
    let req = g.request(&org()).unwrap();
    assert_eq!(req.path_and_query(), format!("{DS_PATH}/deleteOperation"));
    g.parse(&response(fixture("deleted_dataset.json"))).unwrap();
}

#[test]
fn list_assets() {
    let e = ListAssets {
        dataset: ds(),
        options: ListAssetsOptions::new().page_size(1000).with_contents(true),
        cursor: None,
    };
    let req = e.request(&org()).unwrap();
    assert_eq!(
        req.path_and_query(),
        format!("{DS_PATH}/assets?s=1000&contents=y")
    );
    let page = e.parse(&response(fixture("asset_page.json"))).unwrap();
    assert!(page.next_token().is_some());
    let last = e.parse(&response(fixture("asset_page_last.json"))).unwrap();
    assert!(last.next_token().is_none());
}

#[test]
fn count_assets_accepts_both_answer_shapes() {
    let e = CountAssets {
        dataset: ds(),
        options: CountAssetsOptions::new()
            .metadata_query("quality == \"high\"")
            .strict_query(false),
    };
    let req = e.request(&org()).unwrap();
    assert_eq!(
        req.path_and_query(),
        format!("{DS_PATH}/assets:count?metadataQuery=quality+%3D%3D+%22high%22&strictQuery=n")
    );
    let object = e.parse(&response(fixture("count_object.json"))).unwrap();
    let bare = e.parse(&response(fixture("count_bare.json"))).unwrap();
    assert!(object > 0 && bare > 0);
    let plain = CountAssets {
        dataset: ds(),
        options: CountAssetsOptions::new(),
    };
    assert_eq!(
        plain.request(&org()).unwrap().path_and_query(),
        format!("{DS_PATH}/assets:count")
    );
}

#[test]
fn get_asset_with_and_without_contents() {
    let asset = AssetId::new("as7f3k2m9x").unwrap();
    let e = GetAsset {
        dataset: ds(),
        asset: asset.clone(),
        contents: true,
    };
    assert_eq!(
        e.request(&org()).unwrap().path_and_query(),
        format!("{DS_PATH}/assets/as7f3k2m9x?contents=y")
    );
    let plain = GetAsset {
        contents: false,
        ..e.clone()
    };
    // Never `contents=n`.
    assert_eq!(
        plain.request(&org()).unwrap().path_and_query(),
        format!("{DS_PATH}/assets/as7f3k2m9x")
    );
    let a = e.parse(&response(fixture("asset.json"))).unwrap();
    let url = a.contents.as_ref().unwrap().asset.as_ref().unwrap();
    assert!(url.expires_at() > std::time::UNIX_EPOCH);
}

#[test]
fn delete_asset_accepts_an_empty_or_json_body() {
    let e = DeleteAsset {
        dataset: ds(),
        asset: AssetId::new("a1").unwrap(),
    };
    let req = e.request(&org()).unwrap();
    assert_eq!(req.method, Method::DELETE);
    assert_eq!(req.path_and_query(), format!("{DS_PATH}/assets/a1"));
    e.parse(&response(Bytes::new())).unwrap();
    e.parse(&response(Bytes::from_static(b"{}"))).unwrap();
    assert!(e.success_on_repeat(http::StatusCode::NOT_FOUND));
}

#[test]
fn rename_by_id_and_by_filename() {
    let by_id = RenameAsset {
        dataset: ds(),
        target: RenameTarget::Id(AssetId::new("a1").unwrap()),
        new_filename: "frame_001.jpg".into(),
    };
    let req = by_id.request(&org()).unwrap();
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path_and_query(), format!("{DS_PATH}/assets/a1/name"));
    assert_eq!(body_json(&by_id), json!({"filename": "frame_001.jpg"}));

    let by_name = RenameAsset {
        dataset: ds(),
        target: RenameTarget::Filename("a dir/b?#.jpg".into()),
        new_filename: "c.jpg".into(),
    };
    assert_eq!(
        by_name.request(&org()).unwrap().path_and_query(),
        format!("{DS_PATH}/assetFiles/a%20dir%2Fb%3F%23.jpg/name")
    );
    by_id.parse(&response(fixture("asset.json"))).unwrap();
    let empty = RenameAsset {
        new_filename: "".into(),
        ..by_id
    };
    assert!(empty.request(&org()).is_err());
}

#[test]
fn ingestion_sessions() {
    let body = CreateIngestionSessionRequest {
        spec: IngestionRequestSpec {
            kind: "Upload".into(),
            failure_mode: FailureMode::FailAfterOne,
            on_asset_overwritten: OnAssetOverwritten::KeepLinkedResources,
            assets: vec![AssetSpec {
                filename: "a.jpg".into(),
                mime: "image/jpeg".into(),
                size: 10,
                crc32c: Some(-486108541),
                custom_metadata: None,
                kind: AssetKind::Image,
            }],
        },
    };
    let create = CreateIngestionSession {
        dataset: ds(),
        body,
    };
    let req = create.request(&org()).unwrap();
    assert_eq!(req.method, Method::POST);
    assert_eq!(
        req.path,
        format!("{DS_PATH}/assetSources/managed/datature/default/assetIngestionSessions")
    );
    assert_eq!(
        body_json(&create),
        json!({"spec": {
            "kind": "Upload", "failureMode": "FailAfterOne", "onAssetOverwritten": "KeepLinkedResources",
            "assets": [{"filename": "a.jpg", "mime": "image/jpeg", "size": 10, "crc32c": -486108541, "customMetadata": null, "kind": "Image"}]
        }})
    );
    let s = create
        .parse(&response(fixture("session_created.json")))
        .unwrap();
    assert!(!s.status.assets.unwrap_or_default().is_empty());

    let session = IngestionSessionId::new("sess-4d2a91").unwrap();
    let get = GetIngestionSession {
        dataset: ds(),
        session: session.clone(),
    };
    assert_eq!(
        get.request(&org()).unwrap().path,
        format!(
            "{DS_PATH}/assetSources/managed/datature/default/assetIngestionSessions/sess-4d2a91"
        )
    );
    let finished = get
        .parse(&response(fixture("session_finished.json")))
        .unwrap();
    assert!(finished.is_finished());

    let cancel = CancelIngestionSession {
        dataset: ds(),
        session,
    };
    let req = cancel.request(&org()).unwrap();
    assert_eq!(req.method, Method::POST);
    assert!(
        req.path
            .ends_with("/assetIngestionSessions/sess-4d2a91:cancel")
    );
    assert!(req.body.is_none());
    cancel
        .parse(&response(Bytes::from_static(b"anything")))
        .unwrap();
}
