//! Multipart uploads: parts signed, sent and completed one by one, then the file
//! assembled, or refused at completion when a part was corrupt.

use crate::common;

use common::session::{errors_of, progress, session_id};
use common::*;
use serde_json::json;
use vi_emulator::{Emulator, EmulatorConfig, Fault, FaultKind, FaultTarget};

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
