//! Core flows against a scripted transport and virtual time: no network, no real sleeping.
//! Retry schedules, pager edge cases and credential handling are asserted exactly.

use std::time::Duration;

use vi_core::endpoints::ListAssets;
use vi_core::paging::Pager;
use vi_core::retry::RetryPolicy;
use vi_core::transport::TransportErrorKind;
use vi_core::{
    AssetId, AssetSortBy, ConfigBuilder, Cursor, DatasetId, Error, ErrorKind, ListAssetsOptions,
    SortOrder,
};
use vi_testkit::scripted::{Harness, Step};

const ORG: &str = "org-1";

fn ok(body: &'static str) -> Step {
    Step::ok(body)
}

fn config() -> vi_core::Config {
    ConfigBuilder::default()
        .endpoint("https://api.example.test/some/prefix/")
        .secret_key(format!("dtvi_{}", "k".repeat(98)))
        .organization_id(ORG)
        .retry_policy(RetryPolicy::default())
        .build_with_env(&|_| None)
        .unwrap()
}

fn harness(steps: Vec<Step>) -> Harness {
    Harness::new(config(), steps)
}

fn harness_answering(
    responder: impl Fn(&vi_testkit::scripted::Seen) -> Step + Send + Sync + 'static,
) -> Harness {
    Harness::answering(config(), responder)
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

fn page(items: &[&str], next: Option<&str>) -> &'static str {
    let items: Vec<String> = items.iter().map(|n| dataset_json(n)).collect();
    let next = next.map_or("null".to_owned(), |n| format!("\"{n}\""));
    Box::leak(format!("{{\"items\":[{}],\"nextPage\":{next}}}", items.join(",")).into_boxed_str())
}

fn dataset_json(short: &str) -> String {
    format!(
        r#"{{"kind":"Dataset","datasetId":"{ORG}_{short}","workspaceId":"{ORG}","name":"{short}","owner":"{ORG}","type":"phrase-grounding","content":"Image","createDate":1,"statistic":{{"assetTotal":0,"annotationTotal":0,"tagsCount":{{}},"assetAnnotated":0}},"users":{{}},"tags":{{}},"cohorts":[],"status":0,"lastAccessed":1,"isLocked":false,"access":{{"isPublic":null,"isReadOnly":null}},"preference":{{}},"assetStatuses":{{}},"selfLink":"/x","etag":"1"}}"#
    )
}

fn datasets_pager(h: &Harness, size: u32) -> Pager<vi_core::models::Dataset> {
    vi_core::Datasets::new(h.core.clone())
        .list(size)
        .unwrap()
        .into_pager()
}

fn names(page: &vi_core::Page<vi_core::models::Dataset>) -> Vec<String> {
    page.items.iter().map(|d| d.name.clone()).collect()
}

#[test]
fn requests_carry_credentials_and_join_onto_the_origin() {
    let h = harness(vec![ok(page(&["a"], None))]);
    let mut pager = datasets_pager(&h, 5);
    block(pager.next_page()).unwrap().unwrap();
    let seen = h.seen();
    assert_eq!(seen[0].method, http::Method::GET);
    // The base URL's path is discarded (spec §1.1).
    assert_eq!(
        seen[0].uri,
        "https://api.example.test/workspaces/org-1/datasets?s=5"
    );
    let headers = &seen[0].headers;
    assert_eq!(headers["organization-id"], ORG);
    assert!(
        headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Bearer dtvi_")
    );
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["accept"], "application/json");
    assert!(
        headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("vi-rs/")
    );
}

#[test]
fn list_assets_encodes_every_option() {
    let h = harness(vec![ok(r#"{"items":[]}"#)]);
    let ds = DatasetId::new("ds1").unwrap();
    let options = ListAssetsOptions::new()
        .page_size(2)
        .sort(AssetSortBy::FileSize, SortOrder::Descending)
        .filter("metadata.width >= 7")
        .with_contents(true)
        .metadata_query("k == 1")
        .rule_query("r")
        .strict_query(true)
        .page_after(true);
    let mut pager = Pager::new(
        h.core.clone(),
        ListAssets {
            dataset: ds,
            options,
            cursor: Some(Cursor::new("eyJ+/=")),
        },
    );
    block(pager.next_page()).unwrap().unwrap();
    assert_eq!(
        h.seen()[0].uri,
        "https://api.example.test/workspaces/org-1/datasets/org-1_ds1/assets?p=eyJ%2B%2F%3D&s=2&sortBy=metadata.fileSize&o=desc&filter=metadata.width+%3E%3D+7&contents=y&metadataQuery=k+%3D%3D+1&ruleQuery=r&pageAfter=y&strictQuery=y"
    );
}

#[test]
fn an_empty_page_with_a_cursor_does_not_end_the_listing() {
    let h = harness(vec![
        ok(page(&["a", "b"], Some("t1"))),
        ok(page(&[], Some("t2"))),
        ok(page(&["c"], None)),
    ]);
    let mut pager = datasets_pager(&h, 2);
    let p1 = block(pager.next_page()).unwrap().unwrap();
    assert_eq!(names(&p1), ["a", "b"]);
    let p2 = block(pager.next_page()).unwrap().unwrap();
    assert!(p2.items.is_empty());
    assert_eq!(p2.next, Some(Cursor::new("t2")));
    let p3 = block(pager.next_page()).unwrap().unwrap();
    assert_eq!(names(&p3), ["c"]);
    assert!(block(pager.next_page()).is_none());
    let uris: Vec<String> = h.seen().into_iter().map(|s| s.uri).collect();
    assert!(uris[1].contains("p=t1"), "{}", uris[1]);
    assert!(uris[2].contains("p=t2"), "{}", uris[2]);
}

#[test]
fn item_pager_skips_empty_pages() {
    let h = harness(vec![
        ok(page(&[], Some("t1"))),
        ok(page(&["a"], Some("t2"))),
        ok(page(&[], None)),
    ]);
    let mut items = datasets_pager(&h, 2).into_items();
    let first = block(items.next_item()).unwrap().unwrap();
    assert_eq!(first.name, "a");
    assert!(block(items.next_item()).is_none());
    assert_eq!(h.left(), 0);
}

#[test]
fn a_repeated_cursor_is_an_error_not_a_loop() {
    let h = harness(vec![
        ok(page(&["a"], Some("t1"))),
        ok(page(&["b"], Some("t2"))),
        ok(page(&["c"], Some("t1"))),
    ]);
    let mut pager = datasets_pager(&h, 1);
    block(pager.next_page()).unwrap().unwrap();
    block(pager.next_page()).unwrap().unwrap();
    let err = block(pager.next_page()).unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pagination, "{err}");
    assert!(err.to_string().contains("already"), "{err}");
    assert!(block(pager.next_page()).is_none(), "the listing ends");
}

#[test]
fn a_failed_page_can_be_fetched_again() {
    let h = harness(vec![
        ok(page(&["a"], Some("t1"))),
        Step::status(404, r#"{"message":"gone for now"}"#),
        ok(page(&["b"], None)),
    ]);
    let mut pager = datasets_pager(&h, 1);
    block(pager.next_page()).unwrap().unwrap();
    let err = block(pager.next_page()).unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        pager.cursor(),
        Some(&Cursor::new("t1")),
        "still at the failed page"
    );
    let p = block(pager.next_page()).unwrap().unwrap();
    assert_eq!(names(&p), ["b"]);
    assert!(h.seen()[2].uri.contains("p=t1"));
}

#[test]
fn get_is_retried_through_5xx_with_bounded_backoff() {
    let h = harness(vec![
        Step::status(503, ""),
        Step::fail_with(TransportErrorKind::Interrupted),
        ok(dataset_json_static()),
    ]);
    let ds =
        block(vi_core::Datasets::new(h.core.clone()).get(&DatasetId::new("ds1").unwrap())).unwrap();
    assert_eq!(ds.name, "ds1");
    let slept = h.slept();
    assert_eq!(slept.len(), 2);
    assert!(slept[0] <= Duration::from_secs(1), "{slept:?}");
    assert!(slept[1] <= Duration::from_secs(2), "{slept:?}");
}

fn dataset_json_static() -> &'static str {
    Box::leak(dataset_json("ds1").into_boxed_str())
}

#[test]
fn get_gives_up_after_three_retries_with_the_last_cause() {
    let h = harness(
        (0..4)
            .map(|_| Step::status(500, r#"{"message":"boom"}"#))
            .collect(),
    );
    let err = block(vi_core::Datasets::new(h.core.clone()).get(&DatasetId::new("ds1").unwrap()))
        .unwrap_err();
    match &err {
        Error::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 4);
            assert_eq!(last.status().unwrap().as_u16(), 500);
            assert!(last.to_string().contains("boom"));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(h.slept().len(), 3);
}

#[test]
fn post_is_not_repeated_after_a_5xx_or_a_timeout() {
    let h = harness(vec![Step::status(502, "bad gateway")]);
    let err = block(vi_core::Datasets::new(h.core.clone()).create("x")).unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 502);
    assert!(err.to_string().contains("bad gateway"), "{err}");
    assert_eq!(h.seen().len(), 1);

    let h = harness(vec![Step::fail_with(TransportErrorKind::Timeout)]);
    let err = block(vi_core::Datasets::new(h.core.clone()).create("x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(h.seen().len(), 1);
}

#[test]
fn post_is_repeated_after_a_connect_failure_and_on_429_with_retry_after() {
    let h = harness(vec![
        Step::fail_with(TransportErrorKind::Connect),
        Step::status(429, "").header("retry-after", "3"),
        ok(dataset_json_static()),
    ]);
    block(vi_core::Datasets::new(h.core.clone()).create("x")).unwrap();
    let slept = h.slept();
    assert_eq!(slept.len(), 2);
    assert_eq!(slept[1], Duration::from_secs(3), "Retry-After is honoured");
    assert_eq!(h.seen().len(), 3);
    let body_posts = h
        .seen()
        .iter()
        .filter(|s| s.method == http::Method::POST)
        .count();
    assert_eq!(body_posts, 3);
}

#[test]
fn a_repeated_delete_that_finds_the_asset_gone_succeeds() {
    let h = harness(vec![
        Step::status(503, ""),
        Step::status(404, r#"{"message":"not found"}"#),
    ]);
    block(vi_core::Assets::new(h.core.clone()).delete(
        &DatasetId::new("ds1").unwrap(),
        &AssetId::new("a1").unwrap(),
    ))
    .unwrap();
    // A first-attempt 404 is still an error.
    let h = harness(vec![Step::status(404, r#"{"message":"not found"}"#)]);
    let err = block(vi_core::Assets::new(h.core.clone()).delete(
        &DatasetId::new("ds1").unwrap(),
        &AssetId::new("a1").unwrap(),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn api_errors_carry_message_code_and_request_id() {
    let h = harness(vec![
        Step::status(
            404,
            r#"{"message":"Dataset ds1 not found","error":"ResourceNotFound"}"#,
        )
        .header("x-cloud-trace-context", "abc123/456;o=1"),
    ]);
    let err = block(vi_core::Datasets::new(h.core.clone()).get(&DatasetId::new("ds1").unwrap()))
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.message, "Dataset ds1 not found");
    assert_eq!(api.request_id.as_deref(), Some("abc123"));
    assert_eq!(api.code, vi_core::ApiErrorCode::ResourceNotFound);
    let text = err.to_string();
    assert!(
        text.contains("get dataset") && text.contains("404"),
        "{text}"
    );
}

#[test]
fn signed_urls_get_no_credentials_and_land_complete() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("sub/file.png");
    let h = harness(vec![
        Step::status(503, ""),
        Step::status(200, "PNGDATA").header("content-length", "7"),
    ]);
    let url: vi_core::models::SignedUrl = serde_json::from_str(
        r#"{"url":"https://storage.example.test/b/file.png?signature=SECRET","expiry":1}"#,
    )
    .unwrap();
    let n = block(h.core.download_url(&url, &dest)).unwrap();
    assert_eq!(n, 7);
    assert_eq!(std::fs::read(&dest).unwrap(), b"PNGDATA");
    assert!(!vi_core::download::part_path(&dest).exists());
    for seen in h.seen() {
        assert!(seen.headers.get("authorization").is_none());
        assert!(seen.headers.get("organization-id").is_none());
    }
}

#[test]
fn a_refused_signed_url_is_final_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.png");
    let h = harness(vec![Step::status(403, "<Error>expired</Error>")]);
    let url: vi_core::models::SignedUrl = serde_json::from_str(
        r#"{"url":"https://storage.example.test/b/file.png?signature=SECRET","expiry":1}"#,
    )
    .unwrap();
    let err = block(h.core.download_url(&url, &dest)).unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 403);
    assert!(!format!("{err} {err:?}").contains("SECRET"));
    assert!(!dest.exists());
    assert!(!vi_core::download::part_path(&dest).exists());
    assert_eq!(h.seen().len(), 1);
}

// ------------------------------------------------------------ upload and download orchestration

/// A URL expiry far in the future (epoch milliseconds, year 2100).
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

/// A listing of more than 10,000 pages (over 100,000 items at the default page size of 10)
/// runs to its end: loops are caught by the repeated-token check, not by a page count.
#[test]
fn a_listing_of_more_than_ten_thousand_pages_runs_to_its_end() {
    const PAGES: usize = 10_050;
    let item = dataset_json("d");
    let h = harness_answering(move |seen| {
        let n: usize = seen
            .uri
            .split("p=t")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .map_or(0, |n| n.parse().unwrap());
        let next = if n + 1 < PAGES {
            format!("\"t{}\"", n + 1)
        } else {
            "null".to_owned()
        };
        Step::ok(format!("{{\"items\":[{item}],\"nextPage\":{next}}}"))
    });
    let mut items = datasets_pager(&h, 10).into_items();
    let mut count = 0;
    while let Some(item) = block(items.next_item()) {
        item.unwrap();
        count += 1;
    }
    assert_eq!(count, PAGES);
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
    let waited: Duration = h.slept().into_iter().sum();
    assert_eq!(waited, vi_core::upload::DEFAULT_WAIT_TIMEOUT);
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
