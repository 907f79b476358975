//! Credentials, authentication, and datasets (create, list, get, update, delete) over
//! real HTTP.

use crate::common;

use common::*;
use serde_json::{Value, json};
use vi_emulator::Emulator;

#[test]
fn credentials_are_generated_in_the_documented_shape() {
    let emu = Emulator::start().unwrap();
    assert_eq!(emu.secret_key().len(), 103);
    assert!(emu.secret_key().starts_with("dtvi_"));
    assert_eq!(emu.organization_id().len(), 36);
    assert!(emu.url().starts_with("http://127.0.0.1:"));
    assert!(!emu.url().ends_with('/'));
}

#[test]
fn authentication_is_enforced() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let url = c.url(&c.ws("/datasets"));
    let call = |headers: &[(&str, &str)]| c.get_plain(&url, headers);

    let r = call(&[]).expect(401);
    assert_eq!(r.json()["error"], "AuthenticationFailed");
    let bearer = format!("Bearer {}", c.key);
    call(&[("Authorization", &bearer)]).expect(401);
    call(&[("Organization-Id", &c.org)]).expect(401);
    call(&[
        ("Authorization", "Bearer dtvi_wrong"),
        ("Organization-Id", &c.org),
    ])
    .expect(401);
    call(&[("Authorization", &c.key), ("Organization-Id", &c.org)]).expect(401);
    call(&[
        ("Authorization", &bearer),
        ("Organization-Id", "someone-else"),
    ])
    .expect(401);
    call(&[("Authorization", &bearer), ("Organization-Id", &c.org)]).expect(200);

    // Valid credentials, but another organization in the path: 403 (§15 #21).
    let other = c.url("/workspaces/another-org/datasets");
    let r = c
        .get_plain(
            &other,
            &[("Authorization", &bearer), ("Organization-Id", &c.org)],
        )
        .expect(403);
    assert_eq!(r.json()["error"], "PermissionDenied");

    // Unknown routes are JSON 404s; wrong methods 405.
    let r = c.get("/nope").expect(404);
    assert_eq!(r.json()["error"], "ResourceNotFound");
    c.get(&c.ws("/datasets/x/unknown")).expect(404);
    c.delete(&c.ws("/datasets")).expect(405);
}

#[test]
fn dataset_crud_and_shape() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("Drone survey");
    assert_eq!(ds.len(), 10);
    assert!(
        ds.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
    );

    let d = c.get(&c.ds(&ds, "")).expect(200).json();
    assert_keys(
        &d,
        &[
            "datasetId",
            "name",
            "owner",
            "workspaceId",
            "type",
            "content",
            "createDate",
            "statistic",
            "users",
            "tags",
            "cohorts",
            "status",
            "lastAccessed",
            "isLocked",
            "access",
            "preference",
            "assetStatuses",
            "selfLink",
            "etag",
        ],
    );
    assert_eq!(d["kind"], "Dataset");
    assert_eq!(d["datasetId"], c.dsc(&ds));
    assert_eq!(d["workspaceId"], c.org.as_str());
    assert_eq!(d["type"], "phrase-grounding");
    assert_eq!(d["content"], "Image");
    assert_eq!(d["localization"], "Datature/Multi");
    assert_int(&d["createDate"]);
    assert_int(&d["lastAccessed"]);
    assert_int(&d["status"]);
    for k in ["assetTotal", "annotationTotal", "assetAnnotated"] {
        assert_int(&d["statistic"][k]);
    }
    assert!(d["statistic"]["tagsCount"].is_object());
    assert!(d["access"].get("isPublic").is_some() && d["access"].get("isReadOnly").is_some());
    assert_eq!(d["statistic"]["assetTotal"], 0);

    // List (D1), lightweight list (D7), update (D6).
    let list = c.get(&c.ws("/datasets?s=10")).expect(200).json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["nextPage"].is_null());
    let simple = c.get(&c.ws("/simpleDatasets?s=10")).expect(200).json();
    assert_eq!(simple["items"][0]["datasetId"], c.dsc(&ds));
    let patched = c
        .patch(
            &c.ds(&ds, ""),
            &json!({"name": "Renamed", "description": "d"}),
        )
        .expect(200)
        .json();
    assert_eq!(patched["name"], "Renamed");
    c.patch(&c.ds(&ds, ""), &json!({"nmae": "x"})).expect(400);

    // Unknown and malformed dataset ids.
    c.get(&c.ds("nosuchid00", "")).expect(404);
    c.get(&c.ws("/datasets/not-composite")).expect(404);
    c.get(&c.ds(&ds, "/deleteOperation")).expect(404);

    // Delete (D4) and its operation (D5).
    let del = c.delete(&c.ds(&ds, "")).expect(200).json();
    assert_keys(
        &del,
        &[
            "kind",
            "user",
            "workspaceId",
            "datasetId",
            "selfLink",
            "etag",
            "metadata",
            "status",
        ],
    );
    assert_eq!(del["kind"], "DatasetDeleteOperation");
    assert_eq!(del["datasetId"], c.dsc(&ds));
    let op = c.get(&c.ds(&ds, "/deleteOperation")).expect(200).json();
    let conditions = op["status"]["conditions"].as_array().unwrap();
    assert!(!conditions.is_empty());
    assert!(conditions.iter().all(|c| c["status"] == "Reached"));
    c.get(&c.ds(&ds, "")).expect(404);
    c.get(&c.ds(&ds, "/assets")).expect(404);
    c.delete(&c.ds(&ds, "")).expect(404);
}

#[test]
fn dataset_create_is_strict() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let path = c.ws("/datasets");
    let msg = |body: Value| {
        c.post(&path, &body).expect(400).json()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    assert!(msg(json!({"nmae": "x"})).contains("unknown field \"nmae\""));
    assert!(msg(json!({"description": "x"})).contains("missing field \"name\""));
    assert!(msg(json!({"name": ""})).contains("\"name\""));
    assert!(msg(json!({"name": 5})).contains("\"name\" must be a string"));
    assert!(msg(json!({"name": "x", "status": "0"})).contains("\"status\" must be an integer"));
    assert!(msg(json!({"name": "x", "type": "detection"})).contains("\"type\""));
    assert!(msg(json!({"name": "x", "content": "Video"})).contains("\"content\""));
    assert!(msg(json!({"name": "x", "localization": "Elsewhere"})).contains("\"localization\""));
    assert!(
        msg(json!({"name": "x", "tags": {"a": "b"}})).contains("\"tags.a\" must be an integer")
    );
    assert!(
        msg(json!({"name": "x", "metadata": {"attributes": {"k": 1}}}))
            .contains("metadata.attributes.k")
    );
    assert!(msg(json!(["x"])).contains("JSON object"));
    let r = c.post(
        &path,
        &json!({"name": "x", "metadata": {"attributes": {"k": "v"}}, "type": "vqa"}),
    );
    assert_eq!(r.expect(200).json()["type"], "vqa");
}
