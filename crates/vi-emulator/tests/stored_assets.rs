//! Uploaded assets afterwards: signed downloads (ranges, signatures, expiry, faults),
//! delete and rename.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use vi_emulator::{Emulator, Fault, FaultKind, FaultTarget};

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
