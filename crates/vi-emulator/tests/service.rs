//! What the real service does that clients must survive: expired URLs answered 400,
//! deferred verdicts, part replies with a body, strict part ETags, the session window,
//! and `If-Range` on downloads.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use vi_emulator::{Emulator, EmulatorConfig, SessionLimit, Verdicts};

fn errors_of(session: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for event in session["status"]["events"].as_array().unwrap() {
        if event["kind"] == "Error" {
            for (name, code) in event["files"].as_object().unwrap() {
                out.push((name.clone(), code.as_str().unwrap().to_owned()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn expired_urls_get_the_configured_status() {
    for (status, expected) in [(None, 403), (Some(400), 400)] {
        let emu = Emulator::start_with(EmulatorConfig {
            expired_status: status.unwrap_or(403),
            ..EmulatorConfig::default()
        })
        .unwrap();
        let c = Client::new(&emu);
        let ds = c.create_dataset("expiry");
        let data = jpeg(8, 8, 100);
        c.upload(&ds, &[("a.jpg", &data)]);
        let id = c.assets(&ds)[0]["assetId"].as_str().unwrap().to_owned();
        let got = c
            .get(&c.ds(&ds, &format!("/assets/{id}?contents=y")))
            .expect(200)
            .json();
        let url = got["contents"]["asset"]["url"].as_str().unwrap().to_owned();
        c.get_plain(&url, &[]).expect(200);
        let session = c.create_session(&ds, &[("b.jpg", &data)], "FailAfterAll");
        emu.advance_clock(Duration::from_secs(3601));
        let r = c.get_plain(&url, &[]).expect(expected);
        assert_eq!(r.json()["reason"], "ExpiredToken");
        let r = c.put_file(&session, "b.jpg", &data).expect(expected);
        assert_eq!(r.json()["reason"], "ExpiredToken");
    }
}

#[test]
fn deferred_verdicts_accept_bytes_and_report_later() {
    let emu = Emulator::start_with(EmulatorConfig {
        verdicts: Verdicts::Deferred,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("deferred");
    let good = jpeg(8, 8, 100);
    let bad_crc = jpeg(8, 8, 101);
    let short = jpeg(8, 8, 102);
    let not_image = b"not an image at all".to_vec();
    let mut declared_bad = bad_crc.clone();
    declared_bad[40] ^= 0xff;
    let mut decl_short = declaration("short.jpg", &short);
    decl_short["size"] = json!(short.len() + 5);
    let session = c
        .post(
            &c.src(&ds, "/assetIngestionSessions"),
            &json!({"spec": {
                "kind": "Upload",
                "failureMode": "FailAfterAll",
                "assets": [
                    declaration("good.jpg", &good),
                    declaration("crc.jpg", &declared_bad),
                    decl_short,
                    declaration("text.jpg", &not_image),
                ],
            }}),
        )
        .expect(200)
        .json();
    // Every PUT is a 2xx with an ETag, whatever the checks find.
    for (name, bytes) in [
        ("good.jpg", &good),
        ("crc.jpg", &bad_crc),
        ("short.jpg", &short),
        ("text.jpg", &not_image),
    ] {
        let r = c.put_file(&session, name, bytes).expect(200);
        assert!(r.header("etag").is_some(), "{name}");
    }
    let id = session["assetIngestionSessionId"].as_str().unwrap();
    let done = c.session(&ds, id);
    assert_eq!(finished_status(&done), Some("Reached".to_owned()), "{done}");
    assert_eq!(
        errors_of(&done),
        vec![
            ("crc.jpg".to_owned(), "ECORRUPT".to_owned()),
            ("short.jpg".to_owned(), "EBADSIZE".to_owned()),
            ("text.jpg".to_owned(), "ECORRUPT".to_owned()),
        ]
    );
    assert_eq!(done["status"]["progressCount"]["errored"], 3);
    assert_eq!(c.assets(&ds).len(), 1);

    // The default stays synchronous: the PUT itself fails.
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("sync");
    let session = c.create_session(&ds, &[("crc.jpg", &declared_bad)], "FailAfterAll");
    let r = c.put_file(&session, "crc.jpg", &bad_crc).expect(400);
    assert_eq!(r.json()["fileError"], "ECORRUPT");
}

/// Runs a one-file multipart upload and returns the replies of M2 and S2 of part 1.
fn start_multipart(c: &Client, ds: &str, bytes: &[u8]) -> (String, serde_json::Value, Reply) {
    let s = c.create_session(ds, &[("big.jpg", bytes)], "FailAfterAll");
    let mp = c
        .post(
            &c.src(ds, "/multipartUploads"),
            &json!({"spec": {"ingestionId": s["ingestionId"], "filename": "big.jpg", "contentType": "image/jpeg", "sizeBytes": bytes.len()}}),
        )
        .expect(200)
        .json();
    assert_eq!(mp["status"]["partCount"], 1);
    let mp_id = mp["multipartUploadId"].as_str().unwrap().to_owned();
    let signed = c
        .post(
            &c.src(ds, &format!("/multipartUploads/{mp_id}/parts/1")),
            &json!({}),
        )
        .expect(200)
        .json();
    let reply = c
        .put_signed(signed["url"].as_str().unwrap(), &[], bytes)
        .expect(200);
    (mp_id, signed, reply)
}

#[test]
fn part_replies_with_a_body_must_be_returned() {
    let emu = Emulator::start_with(EmulatorConfig {
        part_response_body: true,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("bodies");
    let bytes = jpeg(20, 20, 500);
    let (mp_id, signed, reply) = start_multipart(&c, &ds, &bytes);
    assert_eq!(signed["responseBody"], true);
    assert!(
        reply.text().contains("<PartNumber>1</PartNumber>"),
        "{}",
        reply.text()
    );
    let etag = reply.header("etag").unwrap();
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&reply.body);
    let completion = c.src(
        &ds,
        &format!("/multipartUploads/{mp_id}/parts/1/completion"),
    );
    let r = c
        .post(&completion, &json!({"responseHeaders": {"ETag": etag}}))
        .expect(400);
    assert!(r.json()["message"].as_str().unwrap().contains("missing"));
    c.post(
        &completion,
        &json!({"responseHeaders": {"ETag": etag}, "responseBody": "eHl6"}),
    )
    .expect(400);
    c.post(
        &completion,
        &json!({"responseHeaders": {"ETag": etag}, "responseBody": encoded}),
    )
    .expect(200);
    c.post_empty(&c.src(&ds, &format!("/multipartUploads/{mp_id}/completion")))
        .expect(200);
    assert_eq!(c.assets(&ds).len(), 1);
}

#[test]
fn strict_part_etags_refuse_empty_ones() {
    let bytes = jpeg(20, 20, 500);
    for strict in [false, true] {
        let emu = Emulator::start_with(EmulatorConfig {
            require_part_etag: strict,
            ..EmulatorConfig::default()
        })
        .unwrap();
        let c = Client::new(&emu);
        let ds = c.create_dataset("etags");
        let (mp_id, signed, reply) = start_multipart(&c, &ds, &bytes);
        assert_eq!(signed["responseBody"], false);
        let completion = c.src(
            &ds,
            &format!("/multipartUploads/{mp_id}/parts/1/completion"),
        );
        let empty = if strict { 400 } else { 200 };
        c.post(&completion, &json!({"responseHeaders": {"ETag": ""}}))
            .expect(empty);
        c.post(&completion, &json!({"responseHeaders": {}}))
            .expect(empty);
        let etag = reply.header("etag").unwrap();
        c.post(&completion, &json!({"responseHeaders": {"ETag": etag}}))
            .expect(200);
    }
}

#[test]
fn session_window_limits_creation_with_retry_after() {
    let emu = Emulator::start_with(EmulatorConfig {
        session_limit: Some(SessionLimit {
            sessions: 2,
            window: Duration::from_secs(300),
        }),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("window");
    let data = jpeg(8, 8, 1);
    c.create_session(&ds, &[("a.jpg", &data)], "FailAfterAll");
    emu.advance_clock(Duration::from_secs(100));
    c.create_session(&ds, &[("b.jpg", &data)], "FailAfterAll");
    let path = c.src(&ds, "/assetIngestionSessions");
    let body = json!({"spec": {"kind": "Upload", "assets": [declaration("c.jpg", &data)]}});
    let r = c.post(&path, &body).expect(429);
    // The oldest session leaves the window in 200 s.
    assert_eq!(r.header("retry-after").as_deref(), Some("200"));
    emu.advance_clock(Duration::from_secs(199));
    assert_eq!(
        c.post(&path, &body)
            .expect(429)
            .header("retry-after")
            .as_deref(),
        Some("1")
    );
    emu.advance_clock(Duration::from_secs(1));
    c.post(&path, &body).expect(200);
    c.post(&path, &body).expect(429);
}

#[test]
fn downloads_honour_if_range() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("if-range");
    let data = jpeg(10, 10, 3000);
    c.upload(&ds, &[("a.jpg", &data)]);
    let id = c.assets(&ds)[0]["assetId"].as_str().unwrap().to_owned();
    let url = c
        .get(&c.ds(&ds, &format!("/assets/{id}?contents=y")))
        .expect(200)
        .json()["contents"]["asset"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let full = c.get_plain(&url, &[]).expect(200);
    let etag = full.header("etag").unwrap();
    let modified = full.header("last-modified").unwrap();
    assert!(httpdate::parse_http_date(&modified).is_ok(), "{modified}");
    // Matching validators: the range is served.
    for validator in [etag.as_str(), modified.as_str()] {
        let r = c
            .get_plain(&url, &[("Range", "bytes=100-"), ("If-Range", validator)])
            .expect(206);
        assert_eq!(r.body, data[100..]);
    }
    // Another version (ETag, weak ETag, other date): the whole object with 200.
    for validator in [
        "\"0000000000\"",
        &format!("W/{etag}"),
        "Tue, 01 Jan 2002 00:00:00 GMT",
    ] {
        let r = c
            .get_plain(&url, &[("Range", "bytes=100-"), ("If-Range", validator)])
            .expect(200);
        assert_eq!(r.body, data, "{validator}");
        assert_eq!(r.header("etag").as_deref(), Some(etag.as_str()));
    }
}
