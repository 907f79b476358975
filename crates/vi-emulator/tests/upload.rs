//! Ingestion sessions, signed uploads and downloads, multipart, faults.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use vi_emulator::{Emulator, EmulatorConfig, FailureModel, Fault, FaultKind, FaultTarget};

fn errors_of(session: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in session["status"]["events"].as_array().unwrap() {
        if e["kind"] == "Error" {
            assert_keys(e, &["files", "corrections", "time"]);
            assert_int(&e["time"]);
            for (k, v) in e["files"].as_object().unwrap() {
                out.push((k.clone(), v.as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

fn progress(session: &Value) -> (u64, u64, u64) {
    let p = &session["status"]["progressCount"];
    (
        p["total"].as_u64().unwrap(),
        p["succeeded"].as_u64().unwrap(),
        p["errored"].as_u64().unwrap(),
    )
}

fn session_id(session: &Value) -> String {
    session["assetIngestionSessionId"]
        .as_str()
        .unwrap()
        .to_owned()
}

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
fn crc_and_size_mismatches_fail_the_file() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("failures");
    let good = png(5, 5, 1);
    let bad = png(6, 6, 2);
    let short = png(7, 7, 3);
    let notimg = b"definitely not an image".to_vec();
    let session = c.create_session(
        &ds,
        &[
            ("good.png", &good),
            ("bad.png", &bad),
            ("short.png", &short),
            ("text.png", &notimg),
        ],
        "FailAfterAll",
    );
    // Same length, different content → ECORRUPT.
    let mut corrupted = bad.clone();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 0xFF;
    let r = c.put_file(&session, "bad.png", &corrupted).expect(400);
    assert_eq!(r.json()["fileError"], "ECORRUPT");
    // A failed file is final: a retry gets the same per-file error.
    let r = c.put_file(&session, "bad.png", &bad).expect(400);
    assert_eq!(r.json()["fileError"], "ECORRUPT");
    // Wrong length → EBADSIZE.
    let r = c.put_file(&session, "short.png", &short[..10]).expect(400);
    assert_eq!(r.json()["fileError"], "EBADSIZE");
    // Unreadable image header → ECORRUPT.
    let r = c.put_file(&session, "text.png", &notimg).expect(400);
    assert_eq!(r.json()["fileError"], "ECORRUPT");
    c.put_file(&session, "good.png", &good).expect(200);

    let done = c.session(&ds, &session_id(&session));
    assert_eq!(finished_status(&done).as_deref(), Some("Reached"));
    assert_eq!(progress(&done), (4, 1, 3));
    let mut errors = errors_of(&done);
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("bad.png".to_owned(), "ECORRUPT".to_owned()),
            ("short.png".to_owned(), "EBADSIZE".to_owned()),
            ("text.png".to_owned(), "ECORRUPT".to_owned()),
        ]
    );
    let assets = c.assets(&ds);
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0]["filename"], "good.png");
}

#[test]
fn fail_after_one_and_failure_models() {
    for (model, expected) in [
        (FailureModel::ReachedWithErrors, "Reached"),
        (FailureModel::FailedReachOnFirstError, "FailedReach"),
    ] {
        let emu = Emulator::start_with(EmulatorConfig {
            failure_model: model,
            ..EmulatorConfig::default()
        })
        .unwrap();
        let c = Client::new(&emu);
        let ds = c.create_dataset("models");
        let a = png(3, 3, 0);
        let b = png(4, 4, 0);
        let s = c.create_session(&ds, &[("a.png", &a), ("b.png", &b)], "FailAfterOne");
        emu.inject(Fault {
            target: FaultTarget::Upload,
            kind: FaultKind::CorruptUploadCheck,
            times: 1,
        });
        assert_eq!(
            c.put_file(&s, "a.png", &a).expect(400).json()["fileError"],
            "ECORRUPT"
        );
        // FailAfterOne: the rest is marked errored and the session is over.
        let r = c.put_file(&s, "b.png", &b).expect(400);
        assert_eq!(r.json()["fileError"], "EUNKNOWN");
        let r = c.put_file(&s, "a.png", &a).expect(400);
        assert_eq!(r.json()["fileError"], "ECORRUPT");
        let done = c.session(&ds, &session_id(&s));
        assert_eq!(finished_status(&done).as_deref(), Some(expected));
        assert_eq!(progress(&done), (2, 0, 2));
        let errors = errors_of(&done);
        assert!(errors.contains(&("a.png".into(), "ECORRUPT".into())));
        assert!(errors.contains(&("b.png".into(), "EUNKNOWN".into())));
    }
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

#[test]
fn signed_upload_checks() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("signed");
    let a = png(3, 3, 0);
    let s = c.create_session(&ds, &[("a b+c.png", &a)], "FailAfterAll");
    let url = s["status"]["assets"][0]["upload"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("/a%20b%2Bc.png?"), "{url}");
    let ct = [("Content-Type", "image/png")];
    // Chunked single uploads are refused (411); a wrong Content-Type is a signature error.
    c.put_chunked(&url, &ct, &a).expect(411);
    c.put_signed(&url, &[("Content-Type", "image/jpeg")], &a)
        .expect(403);
    c.put_signed(&url, &[], &a).expect(403);
    // Tampered path or signature.
    let other = url.replace("a%20b%2Bc.png", "z.png");
    c.put_signed(&other, &ct, &a).expect(403);
    let (base, query) = url.split_once("signature=").unwrap();
    let flipped: String = query
        .chars()
        .enumerate()
        .map(|(i, ch)| {
            if i == 0 {
                if ch == '0' { '1' } else { '0' }
            } else {
                ch
            }
        })
        .collect();
    c.put_signed(&format!("{base}signature={flipped}"), &ct, &a)
        .expect(403);
    c.put_signed(url.split('?').next().unwrap(), &ct, &a)
        .expect(403);
    // Upload faults fire before normal handling, then clear.
    emu.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        times: 2,
    });
    c.put_signed(&url, &ct, &a).expect(503);
    c.put_signed(&url, &ct, &a).expect(503);
    c.put_signed(&url, &ct, &a).expect(200);
    assert_eq!(c.assets(&ds)[0]["filename"], "a b+c.png");

    // Expired upload URLs are refused.
    let b = png(4, 4, 0);
    let s = c.create_session(&ds, &[("b.png", &b)], "FailAfterAll");
    emu.advance_clock(Duration::from_secs(3601));
    let r = c.put_file(&s, "b.png", &b).expect(403);
    assert_eq!(r.json()["reason"], "ExpiredToken");
}

#[test]
fn downloads_ranges_and_signatures() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("download");
    let data = jpeg(10, 10, 3000);
    c.upload(&ds, &[("photo 1.jpg", &data)]);
    let asset = &c.assets(&ds)[0];
    let id = asset["assetId"].as_str().unwrap();
    let got = c
        .get(&c.ds(&ds, &format!("/assets/{id}?contents=y")))
        .expect(200)
        .json();
    let contents = &got["contents"]["asset"];
    let url = contents["url"].as_str().unwrap().to_owned();
    assert!(got["contents"]["thumbnail"]["url"].is_string());
    let expiry = contents["expiry"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        expiry > now + 3_500_000 && expiry < now + 3_700_000,
        "expiry is ms"
    );
    // The URL ends with /<percent-encoded filename>?… and no '/' in the query.
    let (path, query) = url.split_once('?').unwrap();
    assert!(path.ends_with("/photo%201.jpg"), "{url}");
    assert!(!query.contains('/'));
    assert!(path.starts_with(emu.url()));

    let r = c.get_plain(&url, &[]).expect(200);
    assert_eq!(r.body, data);
    assert_eq!(r.header("content-type").as_deref(), Some("image/jpeg"));
    assert_eq!(r.header("content-length"), Some(data.len().to_string()));
    assert_eq!(r.header("accept-ranges").as_deref(), Some("bytes"));
    let etag = r.header("etag").unwrap();
    assert!(etag.starts_with('"'));

    let r = c.get_plain(&url, &[("Range", "bytes=100-")]).expect(206);
    assert_eq!(r.body, &data[100..]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-{}/{}", data.len() - 1, data.len()))
    );
    let r = c.get_plain(&url, &[("Range", "bytes=5-9")]).expect(206);
    assert_eq!(r.body, &data[5..10]);
    let r = c.get_plain(&url, &[("Range", &format!("bytes={}-", data.len()))]);
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{}", data.len()))
    );

    // Tampering and expiry.
    c.get_plain(&url.replace("photo%201.jpg", "other.jpg"), &[])
        .expect(403);
    c.get_plain(&url.replace(id, "zzzzzzzzzz"), &[]).expect(403);
    let later = url.replace(
        &format!("expires={expiry}"),
        &format!("expires={}", expiry + 1),
    );
    c.get_plain(&later, &[]).expect(403);

    // Truncated download fault: full Content-Length announced, connection cut.
    emu.inject(Fault {
        target: FaultTarget::Download,
        kind: FaultKind::TruncateBody { after_bytes: 100 },
        times: 1,
    });
    let mut resp = c.agent.get(&url).call().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.body_mut().read_to_vec().is_err());
    c.get_plain(&url, &[]).expect(200);
    emu.inject(Fault {
        target: FaultTarget::Download,
        kind: FaultKind::Status {
            status: 500,
            retry_after: None,
        },
        times: 1,
    });
    c.get_plain(&url, &[]).expect(500);

    emu.advance_clock(Duration::from_secs(3601));
    let r = c.get_plain(&url, &[]).expect(403);
    assert_eq!(r.json()["reason"], "ExpiredToken");
    // A fresh URL works again.
    let fresh = c
        .get(&c.ds(&ds, &format!("/assets/{id}?contents=y")))
        .expect(200)
        .json();
    c.get_plain(fresh["contents"]["asset"]["url"].as_str().unwrap(), &[])
        .expect(200);

    // Deleted asset: its URL is gone.
    c.delete(&c.ds(&ds, &format!("/assets/{id}"))).expect(204);
    c.get_plain(fresh["contents"]["asset"]["url"].as_str().unwrap(), &[])
        .expect(404);
}

#[test]
fn delete_and_rename_assets() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("rename");
    let a = png(3, 3, 0);
    let b = png(4, 4, 0);
    c.upload(&ds, &[("a.png", &a), ("b b.png", &b)]);
    let assets = c.assets(&ds);
    let id_a = assets.iter().find(|x| x["filename"] == "a.png").unwrap()["assetId"]
        .as_str()
        .unwrap()
        .to_owned();

    let renamed = c
        .post(
            &c.ds(&ds, &format!("/assets/{id_a}/name")),
            &json!({"filename": "c.png"}),
        )
        .expect(200)
        .json();
    assert_eq!(renamed["filename"], "c.png");
    assert_eq!(renamed["assetId"], id_a.as_str());
    c.post(
        &c.ds(&ds, &format!("/assets/{id_a}/name")),
        &json!({"filename": "b b.png"}),
    )
    .expect(409);
    c.post(
        &c.ds(&ds, &format!("/assets/{id_a}/name")),
        &json!({"filename": ""}),
    )
    .expect(400);
    c.post(
        &c.ds(&ds, &format!("/assets/{id_a}/name")),
        &json!({"name": "x.png"}),
    )
    .expect(400);
    c.post(
        &c.ds(&ds, "/assets/nosuchasset/name"),
        &json!({"filename": "x.png"}),
    )
    .expect(404);
    // By filename (A6), percent-encoded segment.
    let r = c
        .post(
            &c.ds(&ds, "/assetFiles/b%20b.png/name"),
            &json!({"filename": "d.png"}),
        )
        .expect(200)
        .json();
    assert_eq!(r["filename"], "d.png");
    c.post(
        &c.ds(&ds, "/assetFiles/b%20b.png/name"),
        &json!({"filename": "e.png"}),
    )
    .expect(404);

    // Delete: 204 with an empty body, then 404.
    let r = c.delete(&c.ds(&ds, &format!("/assets/{id_a}"))).expect(204);
    assert!(r.body.is_empty());
    c.delete(&c.ds(&ds, &format!("/assets/{id_a}"))).expect(404);
    c.get(&c.ds(&ds, &format!("/assets/{id_a}"))).expect(404);
    assert_eq!(c.assets(&ds).len(), 1);
    let count = c.get(&c.ds(&ds, "/assets:count")).expect(200).json();
    assert_eq!(count, json!({"count": 1}));
}

/// Multipart upload with a tiny part size.
#[test]
fn multipart_upload_assembles_parts() {
    let emu = Emulator::start_with(EmulatorConfig {
        multipart_part_size: 1000,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("multipart");
    let big = jpeg(300, 200, 2459);
    assert_eq!(big.len(), 2500);
    let video: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
    let s = c.create_session(
        &ds,
        &[("big.jpg", &big), ("clip.mp4", &video)],
        "FailAfterAll",
    );
    let ingestion = s["ingestionId"].as_str().unwrap();
    let mp_path = c.src(&ds, "/multipartUploads");
    let create = |name: &str, size: usize, ct: &str| {
        c.post(
            &mp_path,
            &json!({"spec": {"ingestionId": ingestion, "filename": name, "contentType": ct, "sizeBytes": size}}),
        )
    };
    // Wrong size or unknown file.
    create("big.jpg", 2499, "image/jpeg").expect(400);
    create("nope.jpg", 2500, "image/jpeg").expect(400);
    c.post(
        &mp_path,
        &json!({"spec": {"ingestionId": "ingest-none", "filename": "big.jpg", "sizeBytes": 2500}}),
    )
    .expect(404);

    // First attempt, aborted; then a fresh M1 for the same file.
    let first = create("big.jpg", 2500, "image/jpeg").expect(200).json();
    assert_eq!(first["kind"], "MultipartUpload");
    assert_eq!(first["status"]["partCount"], 3);
    let first_id = first["multipartUploadId"].as_str().unwrap();
    c.delete(&c.src(&ds, &format!("/multipartUploads/{first_id}")))
        .expect(200);
    c.post(
        &c.src(&ds, &format!("/multipartUploads/{first_id}/parts/1")),
        &json!({}),
    )
    .expect(409);

    let mp = create("big.jpg", 2500, "image/jpeg").expect(200).json();
    let mp_id = mp["multipartUploadId"].as_str().unwrap().to_owned();
    let n = mp["status"]["partCount"].as_u64().unwrap() as usize;
    let base = big.len() / n;
    let part_path = |k: usize| c.src(&ds, &format!("/multipartUploads/{mp_id}/parts/{k}"));
    c.post(&part_path(0), &json!({})).expect(400);
    c.post(&part_path(4), &json!({})).expect(400);
    // Completion before the parts exist.
    c.post_empty(&c.src(&ds, &format!("/multipartUploads/{mp_id}/completion")))
        .expect(400);
    for k in 1..=n {
        let start = (k - 1) * base;
        let end = if k == n { big.len() } else { k * base };
        let signed = c.post(&part_path(k), &json!({})).expect(200).json();
        assert_eq!(signed["responseHeaders"], json!(["ETag"]));
        assert_eq!(signed["responseBody"], false);
        let url = signed["url"].as_str().unwrap();
        // A part of the wrong length is refused.
        c.put_signed(url, &[], &big[start..end - 1]).expect(400);
        // Parts may come chunked (§15 #14) or with a length.
        let reply = if k % 2 == 0 {
            c.put_chunked(url, &[], &big[start..end]).expect(200)
        } else {
            c.put_signed(url, &[], &big[start..end]).expect(200)
        };
        let etag = reply.header("etag").unwrap();
        c.post(
            &format!("{}/completion", part_path(k)),
            &json!({"responseHeaders": {"ETag": "\"wrong\""}}),
        )
        .expect(400);
        c.post(
            &format!("{}/completion", part_path(k)),
            &json!({"responseHeaders": {"ETag": etag}}),
        )
        .expect(200);
    }
    let done = c
        .post_empty(&c.src(&ds, &format!("/multipartUploads/{mp_id}/completion")))
        .expect(200)
        .json();
    assert_eq!(done["status"]["conditions"][0]["status"], "Reached");
    c.delete(&c.src(&ds, &format!("/multipartUploads/{mp_id}")))
        .expect(409);

    // The video goes multipart too, with a CRC fault on one part → ECORRUPT at M4.
    let mp = create("clip.mp4", 1500, "video/mp4").expect(200).json();
    let mp_id = mp["multipartUploadId"].as_str().unwrap().to_owned();
    assert_eq!(mp["status"]["partCount"], 2);
    emu.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::CorruptUploadCheck,
        times: 1,
    });
    for (k, range) in [(1, 0..750), (2, 750..1500)] {
        let signed = c
            .post_empty(&c.src(&ds, &format!("/multipartUploads/{mp_id}/parts/{k}")))
            .expect(200)
            .json();
        c.put_signed(signed["url"].as_str().unwrap(), &[], &video[range])
            .expect(200);
        c.post(
            &c.src(
                &ds,
                &format!("/multipartUploads/{mp_id}/parts/{k}/completion"),
            ),
            &json!({"responseHeaders": {"ETag": ""}}),
        )
        .expect(200);
    }
    c.post_empty(&c.src(&ds, &format!("/multipartUploads/{mp_id}/completion")))
        .expect(200);

    let session = c.session(&ds, &session_id(&s));
    assert_eq!(finished_status(&session).as_deref(), Some("Reached"));
    assert_eq!(progress(&session), (2, 1, 1));
    assert_eq!(
        errors_of(&session),
        vec![("clip.mp4".to_owned(), "ECORRUPT".to_owned())]
    );
    let assets = c.assets(&ds);
    assert_eq!(assets.len(), 1);
    let a = &assets[0];
    assert_eq!(a["metadata"]["width"], 300);
    assert_eq!(a["metadata"]["height"], 200);
    assert_eq!(
        a["metadata"]["hash"]["contents"],
        format!("{:08x}", crc32c::crc32c(&big))
    );
    let url = c
        .get(&c.ds(
            &ds,
            &format!("/assets/{}?contents=y", a["assetId"].as_str().unwrap()),
        ))
        .expect(200)
        .json()["contents"]["asset"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(c.get_plain(&url, &[]).expect(200).body, big);
}
