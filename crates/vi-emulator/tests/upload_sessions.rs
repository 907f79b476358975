//! Ingestion sessions: the assets they create (with real image metadata), what a
//! declaration must hold, files that never arrive, and cancelling.

use crate::common;

use std::time::Duration;

use common::session::{errors_of, progress, session_id};
use common::*;
use serde_json::{Value, json};
use vi_emulator::{Emulator, EmulatorConfig};

#[test]
fn ingestion_creates_assets_with_real_image_metadata() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("upload");
    let cat = png(33, 17, 3);
    let dog = jpeg(640, 480, 200);
    let session = c.create_session(&ds, &[("cat.png", &cat), ("dog.jpg", &dog)], "FailAfterOne");

    // U1 response shape (§6.5).
    assert_eq!(session["kind"], "AssetIngestionSession");
    assert_keys(
        &session,
        &[
            "workspaceId",
            "datasetId",
            "assetSourceClass",
            "assetSourceProvider",
            "assetSourceId",
            "assetIngestionSessionId",
            "ingestionId",
            "selfLink",
            "etag",
            "metadata",
            "spec",
            "status",
        ],
    );
    assert_ne!(session["ingestionId"], session["assetIngestionSessionId"]);
    assert_eq!(
        session["spec"]["onAssetOverwritten"],
        "RemoveLinkedResource"
    );
    assert_eq!(finished_status(&session).as_deref(), Some("Waiting"));
    assert_eq!(progress(&session), (2, 0, 0));
    let first = &session["status"]["conditions"][0];
    assert_eq!(first["condition"], "Finished");
    for entry in session["status"]["assets"].as_array().unwrap() {
        let upload = &entry["upload"];
        let url = upload["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/_storage/upload/", emu.url())),
            "{url}"
        );
        let query = url.split_once('?').unwrap().1;
        assert!(!query.contains('/'));
        assert_eq!(upload["method"], "PUT");
        assert_int(&upload["expiry"]);
        assert_eq!(upload["headers"]["Content-Type"], entry["metadata"]["mime"]);
    }

    c.put_file(&session, "cat.png", &cat).expect(200);
    let mid = c.session(&ds, &session_id(&session));
    assert_eq!(finished_status(&mid).as_deref(), Some("Waiting"));
    assert_eq!(progress(&mid), (2, 1, 0));
    // What the counter calls succeeded is an asset already, while the session waits.
    let listed: Vec<Value> = c
        .assets(&ds)
        .iter()
        .map(|a| a["filename"].clone())
        .collect();
    assert_eq!(listed, vec![json!("cat.png")]);
    c.put_file(&session, "dog.jpg", &dog).expect(200);
    let done = c.session(&ds, &session_id(&session));
    assert_eq!(finished_status(&done).as_deref(), Some("Reached"));
    assert_eq!(progress(&done), (2, 2, 0));
    assert!(errors_of(&done).is_empty());
    assert!(done["status"].get("assets").is_none());
    // Newest condition first.
    assert_eq!(done["status"]["conditions"][1]["condition"], "Started");

    let assets = c.assets(&ds);
    assert_eq!(assets.len(), 2);
    for (name, bytes, w, h, mime) in [
        ("cat.png", &cat, 33, 17, "image/png"),
        ("dog.jpg", &dog, 640, 480, "image/jpeg"),
    ] {
        let a = assets.iter().find(|a| a["filename"] == name).unwrap();
        assert_keys(a, ASSET_KEYS);
        assert_keys(&a["metadata"], ASSET_METADATA_KEYS);
        let m = &a["metadata"];
        assert_eq!(a["kind"], "Asset");
        assert_eq!(a["datasetId"], c.dsc(&ds));
        assert_eq!(m["width"], w);
        assert_eq!(m["height"], h);
        assert_eq!(m["dimensions"], json!({"height": h, "width": w}));
        assert_eq!(m["pixelRatio"], json!({"height": 1, "width": 1}));
        assert_eq!(m["fileSize"], bytes.len());
        assert_eq!(m["mimeType"], mime);
        assert_eq!(m["frames"], 1);
        assert_eq!(m["uploadStatus"], "completed");
        assert_eq!(m["source"], "managed/datature/default");
        assert_eq!(
            m["hash"],
            json!({"algorithm": "crc32c", "contents": format!("{:08x}", crc32c::crc32c(bytes))})
        );
        for k in [
            "timeCreated",
            "lastUpdated",
            "contentsLastUpdated",
            "comments",
            "customMetadataCount",
        ] {
            assert_int(&m[k]);
        }
        let id = a["assetId"].as_str().unwrap();
        assert!(!id.contains('_'));
        assert_eq!(
            c.get(&c.ds(&ds, &format!("/assets/{id}")))
                .expect(200)
                .json(),
            *a
        );
    }
    let d = c.get(&c.ds(&ds, "")).expect(200).json();
    assert_eq!(d["statistic"]["assetTotal"], 2);

    // A second upload of the same filename overwrites: same id, new generation.
    let before = assets
        .iter()
        .find(|a| a["filename"] == "cat.png")
        .unwrap()
        .clone();
    let cat2 = png(8, 9, 4);
    c.upload(&ds, &[("cat.png", &cat2)]);
    let after = c.assets(&ds);
    assert_eq!(after.len(), 2);
    let a = after.iter().find(|a| a["filename"] == "cat.png").unwrap();
    assert_eq!(a["assetId"], before["assetId"]);
    assert_ne!(a["etag"], before["etag"]);
    assert_eq!(a["metadata"]["width"], 8);
}

#[test]
fn declaration_is_strict() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("strict");
    let path = c.src(&ds, "/assetIngestionSessions");
    let img = png(2, 2, 0);
    let good = declaration("a.png", &img);
    let body = |assets: Value| json!({"spec": {"assets": assets, "kind": "Upload", "failureMode": "FailAfterOne", "onAssetOverwritten": "RemoveLinkedResource"}});
    let msg = |b: Value| {
        c.post(&path, &b).expect(400).json()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let mut extra = good.clone();
    extra["colour"] = json!("red");
    assert!(msg(body(json!([extra]))).contains("unknown field \"spec.assets[0].colour\""));
    assert!(msg(body(json!([good, good]))).contains("duplicate filename \"a.png\""));
    let mut bad_crc = good.clone();
    bad_crc["crc32c"] = json!(3_808_858_755u64);
    assert!(msg(body(json!([bad_crc]))).contains("crc32c"));
    let mut bad_kind = good.clone();
    bad_kind["kind"] = json!("Video");
    assert!(msg(body(json!([bad_kind]))).contains("kind"));
    // Names are opaque keys (`a/b.png` is accepted); only NUL and bare dot-segments are not.
    let mut dots = good.clone();
    dots["filename"] = json!("..");
    assert!(msg(body(json!([dots]))).contains("filename"));
    assert!(msg(json!({"spec": {"assets": [], "kind": "Download"}})).contains("kind"));
    assert!(
        msg(json!({"spec": {"assets": [], "kind": "Upload", "failureMode": "Never"}}))
            .contains("failureMode")
    );
    assert!(msg(json!({"spec": {"kind": "Upload"}})).contains("missing field \"spec.assets\""));
    assert!(msg(json!({"spec": {"assets": []}, "x": 1})).contains("unknown field \"x\""));

    // crc32c and customMetadata may be absent or null.
    let mut minimal = good.clone();
    minimal.as_object_mut().unwrap().remove("crc32c");
    minimal.as_object_mut().unwrap().remove("customMetadata");
    let s = c.post(&path, &body(json!([minimal]))).expect(200).json();
    c.put_file(&s, "a.png", &img).expect(200);

    // An empty session is finished at once.
    let empty = c.post(&path, &body(json!([]))).expect(200).json();
    assert_eq!(finished_status(&empty).as_deref(), Some("Reached"));
    assert_eq!(progress(&empty), (0, 0, 0));

    c.get(&c.src(&ds, "/assetIngestionSessions/sess-unknown"))
        .expect(404);
    let list = c
        .get(&c.src(&ds, "/assetIngestionSessions?s=10"))
        .expect(200)
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[test]
fn missing_files_time_out() {
    let emu = Emulator::start_with(EmulatorConfig {
        missing_file_timeout: Duration::from_secs(60),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("timeout");
    let a = png(3, 3, 0);
    let b = png(4, 4, 0);
    let s = c.create_session(&ds, &[("a.png", &a), ("b.png", &b)], "FailAfterAll");
    c.put_file(&s, "a.png", &a).expect(200);
    assert_eq!(
        finished_status(&c.session(&ds, &session_id(&s))).as_deref(),
        Some("Waiting")
    );
    emu.advance_clock(Duration::from_secs(61));
    let done = c.session(&ds, &session_id(&s));
    assert_eq!(finished_status(&done).as_deref(), Some("Reached"));
    assert_eq!(progress(&done), (2, 1, 1));
    assert_eq!(
        errors_of(&done),
        vec![("b.png".to_owned(), "ETIMEOUT".to_owned())]
    );
    assert_eq!(c.assets(&ds).len(), 1);
}

#[test]
fn cancel_refuses_later_uploads() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("cancel");
    let a = png(3, 3, 0);
    let b = png(4, 4, 0);
    let s = c.create_session(&ds, &[("a.png", &a), ("b.png", &b)], "FailAfterOne");
    c.put_file(&s, "a.png", &a).expect(200);
    let id = session_id(&s);
    let cancelled = c
        .post_empty(&c.src(&ds, &format!("/assetIngestionSessions/{id}:cancel")))
        .expect(200)
        .json();
    assert_eq!(cancelled["assetIngestionSessionId"], id.as_str());
    let fin = &cancelled["status"]["conditions"][0];
    assert_eq!(fin["condition"], "Finished");
    assert_eq!(fin["status"], "FailedReach");
    assert_eq!(fin["reason"], "Cancelled");
    c.put_file(&s, "b.png", &b).expect(409);
    c.put_file(&s, "a.png", &a).expect(409);
    // a.png was ingested when it arrived, before the cancel; b.png never will be.
    let names: Vec<Value> = c
        .assets(&ds)
        .iter()
        .map(|a| a["filename"].clone())
        .collect();
    assert_eq!(names, vec![json!("a.png")]);
    c.post_empty(&c.src(&ds, "/assetIngestionSessions/sess-nope:cancel"))
        .expect(404);
}
