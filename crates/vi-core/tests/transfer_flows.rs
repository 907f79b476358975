//! Upload and download orchestration against a scripted service in virtual time: retry
//! schedules, re-signing, waiting for sessions, listing failures, refused URLs.

use std::time::Duration;

use vi_core::DatasetId;
use vi_testkit::scripted::{Harness, Step};

use crate::flows_support;
use flows_support::*;

const FAR_EXPIRY: u64 = 4_102_444_800_000;

fn json_text(value: serde_json::Value) -> String {
    serde_json::to_string(&value).unwrap()
}

/// An ingestion session as the service returns it on creation: one upload URL per file.
fn session_created(files: &[(&str, &[u8])]) -> String {
    let mut session: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/session_created.json")).unwrap();
    let specs: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, bytes)| {
            serde_json::json!({
                "kind": "Image", "filename": name, "mime": "image/png",
                "size": bytes.len(), "crc32c": crc32c::crc32c(bytes) as i32,
            })
        })
        .collect();
    session["spec"]["assets"] = specs.clone().into();
    session["status"]["progressCount"] =
        serde_json::json!({"total": files.len(), "succeeded": 0, "errored": 0});
    session["status"]["assets"] = specs
        .into_iter()
        .map(|spec| {
            let url = format!(
                "https://storage.example.test/upload/ingest-7b3e05/{}?X-Goog-Signature=SECRET",
                spec["filename"].as_str().unwrap()
            );
            serde_json::json!({
                "metadata": spec,
                "upload": {"url": url, "expiry": FAR_EXPIRY, "method": "PUT",
                           "headers": {"Content-Type": "image/png"}},
            })
        })
        .collect::<Vec<_>>()
        .into();
    json_text(session)
}

/// The same session, finished with every file taken in.
fn session_finished(files: usize) -> String {
    let mut session: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/session_finished.json")).unwrap();
    session["status"]["events"] = serde_json::json!([]);
    session["status"]["progressCount"] =
        serde_json::json!({"total": files, "succeeded": files, "errored": 0});
    json_text(session)
}

/// An asset of dataset `ds1` holding `bytes`, with a signed download URL ending in `sig`.
fn asset_with_url(name: &str, bytes: &[u8], sig: &str) -> serde_json::Value {
    let mut asset: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/asset.json")).unwrap();
    asset["datasetId"] = format!("{ORG}_ds1").into();
    asset["filename"] = name.into();
    asset["metadata"]["fileSize"] = bytes.len().into();
    asset["metadata"]["hash"]["contents"] = format!("{:08x}", crc32c::crc32c(bytes)).into();
    asset["contents"]["asset"] = serde_json::json!({
        "url": format!("https://storage.example.test/assets/{name}?X-Goog-Signature={sig}"),
        "expiry": FAR_EXPIRY,
    });
    asset
}

#[test]
fn an_upload_waits_exactly_as_long_as_storage_asks_then_finishes() {
    let bytes = vi_testkit::png(6, 4, 1);
    let files = [("cat.png", bytes.as_slice())];
    let h = harness(vec![
        Step::ok(session_created(&files)),
        Step::status(429, "").header("retry-after", "2"),
        Step::status(429, "").header("retry-after", "7"),
        Step::ok(""),
        Step::ok(session_finished(1)),
    ]);
    let report = block(h.core.upload(
        &DatasetId::new("ds1").unwrap(),
        vec![("cat.png".to_owned(), bytes.clone())].into(),
        vi_core::api::UploadOptions::new().concurrency(1),
    ))
    .unwrap();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.bytes_uploaded, bytes.len() as u64);
    // Retry-After is honoured to the second, and the session, finished at the first look,
    // is not polled again.
    assert_eq!(h.slept(), [Duration::from_secs(2), Duration::from_secs(7)]);
    assert_eq!(h.left(), 0);
    let seen = h.seen();
    let shape: Vec<(String, bool)> = seen
        .iter()
        .map(|s| (s.method.to_string(), s.uri.contains("storage.example.test")))
        .collect();
    assert_eq!(
        shape,
        [
            ("POST".to_owned(), false),
            ("PUT".to_owned(), true),
            ("PUT".to_owned(), true),
            ("PUT".to_owned(), true),
            ("GET".to_owned(), false),
        ]
    );
    for put in &seen[1..4] {
        assert!(put.headers.get("authorization").is_none(), "{put:?}");
        assert_eq!(put.headers["content-length"], bytes.len().to_string());
    }
}

#[test]
fn a_refused_download_url_is_signed_again_and_the_file_lands_verified() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = vi_testkit::png(7, 5, 2);
    let listed =
        json_text(serde_json::json!({"items": [asset_with_url("cat.png", &bytes, "OLD")]}));
    let fresh = json_text(asset_with_url("cat.png", &bytes, "NEW"));
    let body = bytes.clone();
    // Answered by request, not in order: the flow may count, list and fetch as it likes.
    let h = harness_answering(move |seen| {
        let uri = seen.uri.as_str();
        if uri.ends_with("Signature=OLD") {
            Step::status(403, "<Error>expired</Error>")
        } else if uri.ends_with("Signature=NEW") {
            Step::ok(body.clone()).header("content-length", &body.len().to_string())
        } else if uri.contains("/assets:count") {
            Step::ok(r#"{"count": 1}"#)
        } else if uri.contains("/assets/as7f3k2m9x") {
            Step::ok(fresh.clone())
        } else if uri.contains("/assets?") {
            Step::ok(listed.clone())
        } else {
            panic!("unexpected request {uri}")
        }
    });
    let report = block(h.core.download(
        &DatasetId::new("ds1").unwrap(),
        dir.path(),
        vi_core::api::DownloadOptions::new().concurrency(1),
    ))
    .unwrap();
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert!(report.failed.is_empty() && report.skipped.is_empty());
    assert_eq!(
        std::fs::read(report.directory.join("cat.png")).unwrap(),
        bytes
    );
    assert_eq!(
        std::fs::read_dir(&report.directory).unwrap().count(),
        1,
        "no .part left"
    );
    let seen = h.seen();
    let storage: Vec<&str> = seen
        .iter()
        .map(|s| s.uri.as_str())
        .filter(|u| u.contains("storage.example.test"))
        .collect();
    assert_eq!(storage.len(), 2, "{storage:?}");
    assert!(storage[0].ends_with("Signature=OLD"), "{storage:?}");
    assert!(storage[1].ends_with("Signature=NEW"), "{storage:?}");
    let refused = seen.iter().position(|s| s.uri.ends_with("OLD")).unwrap();
    let fetched = seen.iter().position(|s| s.uri.ends_with("NEW")).unwrap();
    let resigned: Vec<&str> = seen[refused..fetched]
        .iter()
        .map(|s| s.uri.as_str())
        .filter(|u| u.contains("/assets/as7f3k2m9x"))
        .collect();
    assert_eq!(resigned.len(), 1, "one fresh URL asked for: {seen:?}");
    // Credentials go to the API only, never to storage.
    for s in &seen {
        let api = !s.uri.contains("storage.example.test");
        assert_eq!(s.headers.get("authorization").is_some(), api, "{}", s.uri);
    }
    // One retry: a single full-jitter backoff, within the first window (base delay 1 s).
    let slept = h.slept();
    assert_eq!(slept.len(), 1, "{slept:?}");
    assert!(slept[0] < Duration::from_secs(1), "{slept:?}");
}

/// The same session, still running: nothing taken in yet.
fn session_running(files: usize) -> String {
    let mut session: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/session_finished.json")).unwrap();
    session["status"]["events"] = serde_json::json!([]);
    session["status"]["conditions"] = serde_json::json!([
        {"condition": "Started", "status": "Reached", "lastTransitionTime": 1732867200000i64}
    ]);
    session["status"]["progressCount"] =
        serde_json::json!({"total": files, "succeeded": 0, "errored": 0});
    json_text(session)
}

/// Answers a one-file upload: the session is created, the PUT lands, and every poll of the
/// session gets `poll` (status, body).
fn upload_harness(bytes: &[u8], poll: (u16, String)) -> Harness {
    let created = session_created(&[("cat.png", bytes)]);
    harness_answering(move |seen| match seen.method.as_str() {
        "POST" => Step::ok(created.clone()),
        "PUT" => Step::ok(""),
        _ => Step::status(poll.0, poll.1.clone()),
    })
}

/// A session poll refused for good (404: the session is gone; 401: the key was revoked) is
/// not asked again and again: the upload returns at once with the file reported as
/// processing.
#[test]
fn waiting_stops_at_a_permanent_refusal() {
    let bytes = vi_testkit::png(6, 4, 3);
    for status in [404, 401] {
        let h = upload_harness(&bytes, (status, r#"{"message":"no"}"#.to_owned()));
        let report = block(h.core.upload(
            &DatasetId::new("ds1").unwrap(),
            vec![("cat.png".to_owned(), bytes.clone())].into(),
            vi_core::api::UploadOptions::new(),
        ))
        .unwrap();
        assert_eq!(report.processing.len(), 1, "{status}: {}", report.summary());
        let polls = h.seen().iter().filter(|s| s.method == "GET").count();
        assert_eq!(polls, 1, "{status}: polled once, not retried");
    }
}

/// A session that never finishes is waited for [`DEFAULT_WAIT_TIMEOUT`] by default (in
/// virtual time here), then the upload returns with the file reported as processing.
#[test]
fn waiting_has_a_default_deadline() {
    let bytes = vi_testkit::png(6, 4, 4);
    let h = upload_harness(&bytes, (200, session_running(1)));
    let report = block(h.core.upload(
        &DatasetId::new("ds1").unwrap(),
        vec![("cat.png".to_owned(), bytes.clone())].into(),
        vi_core::api::UploadOptions::new(),
    ))
    .unwrap();
    assert_eq!(report.processing.len(), 1, "{}", report.summary());
    // Virtual time: the wait, and a tick or two of the tuner's timer while the file was
    // sent (`vi_core::tuning::TICK`).
    let waited: Duration = h.slept().into_iter().sum();
    let deadline = vi_core::upload::DEFAULT_WAIT_TIMEOUT;
    assert!(
        waited >= deadline && waited < deadline + Duration::from_secs(1),
        "{waited:?}"
    );
}

/// Runs a download of two assets whose second listing page fails `failures` times in a row
/// (500), and returns the report.
fn download_with_a_failing_second_page(failures: usize) -> vi_core::api::DownloadReport {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (vi_testkit::png(5, 5, 6), vi_testkit::png(6, 6, 7));
    let mut second = asset_with_url("b.png", &b, "B");
    second["assetId"] = "bs7f3k2m9x".into();
    let first = json_text(serde_json::json!({
        "items": [asset_with_url("a.png", &a, "A")], "nextPage": "t1"
    }));
    let last = json_text(serde_json::json!({"items": [second], "nextPage": null}));
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let h = harness_answering(move |seen| {
        let uri = seen.uri.as_str();
        if uri.ends_with("Signature=A") {
            Step::ok(a.clone()).header("content-length", &a.len().to_string())
        } else if uri.ends_with("Signature=B") {
            Step::ok(b.clone()).header("content-length", &b.len().to_string())
        } else if uri.contains("/assets:count") {
            Step::ok(r#"{"count": 2}"#)
        } else if uri.contains("p=t1") {
            if failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < failures {
                Step::status(500, r#"{"message":"listing broke"}"#)
            } else {
                Step::ok(last.clone())
            }
        } else if uri.contains("/assets?") {
            Step::ok(first.clone())
        } else {
            panic!("unexpected request {uri}")
        }
    });
    let report = block(h.core.download(
        &DatasetId::new("ds1").unwrap(),
        dir.path(),
        vi_core::api::DownloadOptions::new().concurrency(1),
    ))
    .unwrap();
    drop(dir);
    report
}

/// A listing page that fails past one call's retries is asked for again: the download
/// completes. One that keeps failing ends the download with a problem in the summary's
/// title, never a "Download complete".
#[test]
fn a_failing_listing_page_is_asked_again_then_reported() {
    let report = download_with_a_failing_second_page(6);
    assert_eq!(report.downloaded.len(), 2, "{}", report.summary());
    assert!(report.is_success(), "{}", report.summary());

    let report = download_with_a_failing_second_page(1000);
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert!(!report.is_success());
    assert_eq!(report.problems.len(), 1, "{}", report.summary());
    assert!(
        report.summary().starts_with("Download incomplete"),
        "{}",
        report.summary()
    );
}

/// A session whose upload URL names another host over plain http and the method GET (a
/// server trying to point the client somewhere else): nothing is sent there, and the file
/// fails with a reason that says why.
#[test]
fn an_upload_url_with_a_foreign_scheme_or_method_receives_no_request() {
    let bytes = vi_testkit::png(6, 4, 2);
    let mut session: serde_json::Value =
        serde_json::from_str(&session_created(&[("cat.png", bytes.as_slice())])).unwrap();
    for (method, url) in [
        (
            "GET",
            "https://storage.example.test/upload/cat.png?X-Goog-Signature=SECRET",
        ),
        (
            "PUT",
            "http://127.0.0.1:9/upload/cat.png?X-Goog-Signature=SECRET",
        ),
    ] {
        session["status"]["assets"][0]["upload"]["method"] = method.into();
        session["status"]["assets"][0]["upload"]["url"] = url.into();
        let created = json_text(session.clone());
        let h = harness_answering(move |seen| {
            if seen.method == http::Method::POST && !seen.uri.contains(":cancel") {
                Step::ok(created.clone())
            } else if seen.method == http::Method::GET {
                Step::ok(session_finished(0))
            } else {
                Step::ok("{}")
            }
        });
        let report = block(h.core.upload(
            &DatasetId::new("ds1").unwrap(),
            vec![("cat.png".to_owned(), bytes.clone())].into(),
            vi_core::api::UploadOptions::new(),
        ))
        .unwrap();
        assert_eq!(report.failed.len(), 1, "{}", report.summary());
        let reason = report.failed[0].reason.to_string();
        assert!(
            reason.contains("PUT") || reason.contains("https"),
            "{reason}"
        );
        assert!(!reason.contains("SECRET"), "{reason}");
        for request in h.seen() {
            assert!(
                !request.uri.contains("/upload/cat.png"),
                "a request reached the foreign URL: {} {}",
                request.method,
                request.uri
            );
        }
    }
}
