//! Core flows against a scripted transport and virtual time: no network, no real sleeping.
//! Retry schedules, pager edge cases and credential handling are asserted exactly.

use std::time::Duration;

use vi_core::endpoints::ListAssets;
use vi_core::paging::Pager;
use vi_core::transport::TransportErrorKind;
use vi_core::{
    AssetId, AssetSortBy, Cursor, DatasetId, Error, ErrorKind, ListAssetsOptions, SortOrder,
};
use vi_testkit::scripted::{Harness, Step};

use crate::flows_support;
use flows_support::*;

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
    // The base URL's path is discarded (docs/protocol.md §1.1).
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
