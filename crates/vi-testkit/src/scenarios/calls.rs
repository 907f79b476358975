//! Scenarios of single API calls: datasets (create, list, get, delete), asset listings,
//! counts, filters, signed URLs, renames, errors and retries.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`Facade`] (see [`crate::api_tests!`]). Identical results from both facades are
//! the parity guarantee.

use std::time::{Duration, SystemTime};

use vi_core::{
    AssetId, AssetSortBy, CountAssetsOptions, DatasetId, ErrorKind, ListAssetsOptions, NewDataset,
    SortOrder,
};

use crate::facade::{AssetOps, DatasetOps, Facade};
use crate::{Fault, FaultKind, FaultTarget, TestEnv, status_fault};

/// Creates a dataset holding `n` PNGs named img_000.png…, of distinct sizes.
fn dataset_with_assets<F: Facade>(c: &F, n: u32) -> (DatasetId, Vec<(String, Vec<u8>)>) {
    let ds = c
        .datasets()
        .create("scenario")
        .expect("create")
        .id()
        .expect("id");
    let files: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| (format!("img_{i:03}.png"), crate::png(4 + i, 3 + (i % 4), i)))
        .collect();
    let session = c
        .wait(crate::seed_assets(c.core(), &ds, &files))
        .expect("seed");
    assert!(session.is_finished(), "seeding finished: {session:?}");
    (ds, files)
}

/// Creates five datasets, reads one back, lists them in pages of 2 (three pages, each
/// seen once), resumes a listing from a cursor, then deletes one: the deletion finishes and
/// the dataset is gone (404).
pub fn datasets_create_list_get_delete<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);

    let created = c
        .datasets()
        .create(NewDataset::new("Drone survey").description("spring"))
        .expect("create");
    let id = created.id().expect("short id");
    assert!(!id.as_str().contains('_'));
    assert_eq!(created.name, "Drone survey");
    for i in 0..4 {
        c.datasets().create(format!("extra {i}")).expect("create");
    }
    let got = c.datasets().get(&id).expect("get");
    assert_eq!(got.name, "Drone survey");
    assert_eq!(got.description.as_deref(), Some("spring"));
    assert_eq!(got.statistic.asset_total, 0);

    // Listing in pages of 2 crosses page boundaries and sees all five, once.
    let listing = c.datasets().list(2).expect("listing");
    let mut names = Vec::new();
    let mut pages = 0;
    for page in listing {
        let page = page.expect("page");
        pages += 1;
        assert!(page.items.len() <= 2);
        names.extend(page.items.into_iter().map(|d| d.name));
    }
    assert_eq!(pages, 3);
    names.sort();
    assert_eq!(
        names,
        ["Drone survey", "extra 0", "extra 1", "extra 2", "extra 3"]
    );

    // One page, then resume from its cursor.
    let first = c.datasets().page(3, None).expect("page");
    assert_eq!(first.items.len(), 3);
    let rest = c.datasets().page(3, first.next.clone()).expect("page");
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next.is_none());

    let op = c.datasets().delete(&id).expect("delete");
    assert!(op.dataset_id.ends_with(id.as_str()));
    let op = c.datasets().deletion(&id).expect("deletion");
    assert!(op.is_done(), "{op:?}");
    let gone = c.datasets().get(&id).unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));
}

/// `delete_and_wait` returns once the deletion is done.
pub fn dataset_delete_and_wait<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);

    let id = c.datasets().create("short lived").unwrap().id().unwrap();
    let op = c
        .datasets()
        .delete_and_wait(&id, Duration::from_secs(5))
        .unwrap();
    assert!(op.is_done());
}

/// A blank dataset name and page sizes outside 1–1000 are `InvalidInput` errors.
pub fn bad_dataset_input_is_refused_before_sending<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);

    let err = c.datasets().create("  ").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("dataset name"), "{err}");
    let err = c.datasets().list(0).unwrap_err();
    assert!(err.to_string().contains("page size"), "{err}");
    let err = c.datasets().page(1001, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// Seven assets listed with page sizes from 1 to 1000: every asset once, the expected number
/// of pages; sorting by size; listed metadata (size, dimensions, MIME) matches the files.
pub fn asset_listing_across_page_sizes<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files) = dataset_with_assets(&c, 7);

    for size in [1u32, 2, 3, 6, 7, 10, 1000] {
        let listing = c
            .assets()
            .list(&ds, ListAssetsOptions::new().page_size(size))
            .unwrap();
        let mut names = Vec::new();
        let mut pages = 0;
        for page in listing {
            let page = page.unwrap();
            pages += 1;
            assert!(page.items.len() <= size as usize);
            names.extend(page.items.into_iter().map(|a| a.filename));
        }
        names.sort();
        let expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names, expected, "page size {size}");
        assert_eq!(
            pages,
            7usize.div_ceil(size as usize).max(1),
            "page size {size}"
        );
    }

    // Sorted by file size, descending.
    let page = c
        .assets()
        .page(
            &ds,
            ListAssetsOptions::new()
                .page_size(100)
                .sort(AssetSortBy::FileSize, SortOrder::Descending),
            None,
        )
        .unwrap();
    let sizes: Vec<u64> = page.items.iter().map(|a| a.metadata.file_size).collect();
    let mut sorted = sizes.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sizes, sorted);

    // Metadata is real: sizes, dimensions and MIME match the uploaded files.
    for asset in &page.items {
        let (_, bytes) = files.iter().find(|(n, _)| *n == asset.filename).unwrap();
        assert_eq!(asset.metadata.file_size, bytes.len() as u64);
        assert_eq!(asset.metadata.mime_type, "image/png");
        let i: u32 = asset.filename[4..7].parse().unwrap();
        assert_eq!(asset.metadata.width, u64::from(4 + i));
        assert_eq!(asset.metadata.height, u64::from(3 + (i % 4)));
        assert_eq!(asset.dataset().unwrap(), ds);
    }
}

/// Counting all assets and a filtered subset, and listing with the same filter.
pub fn count_and_filter<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, _files) = dataset_with_assets(&c, 6);

    assert_eq!(c.assets().count(&ds, CountAssetsOptions::new()).unwrap(), 6);
    // Widths are 4..=9: three of them are at least 7.
    let wide = CountAssetsOptions::new().filter("metadata.width >= 7");
    assert_eq!(c.assets().count(&ds, wide).unwrap(), 3);
    let page = c
        .assets()
        .page(
            &ds,
            ListAssetsOptions::new().filter("metadata.width >= 7"),
            None,
        )
        .unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(page.items.iter().all(|a| a.metadata.width >= 7));
}

/// An asset read with contents carries a signed URL (expiring within a week, hidden in
/// `Debug`) that `download_url` fetches byte for byte; a plain `get` carries none.
pub fn get_with_contents_and_fetch_the_signed_url<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files) = dataset_with_assets(&c, 2);

    let page = c
        .assets()
        .page(&ds, ListAssetsOptions::new(), None)
        .unwrap();
    let listed = page
        .items
        .iter()
        .find(|a| a.filename == "img_001.png")
        .unwrap();
    let id = listed.id().unwrap();

    let plain = c.assets().get(&ds, &id).unwrap();
    assert!(
        plain
            .contents
            .as_ref()
            .and_then(|c| c.asset.as_ref())
            .is_none()
    );

    let asset = c.assets().get_with_contents(&ds, &id).unwrap();
    let url = asset
        .contents
        .as_ref()
        .and_then(|c| c.asset.clone())
        .expect("a signed URL");
    let now = SystemTime::now();
    assert!(url.expires_at() > now, "expiry in the future");
    assert!(url.expires_at() < now + Duration::from_secs(7 * 24 * 3600));
    // The signature never shows in Debug output.
    let shown = format!("{asset:?}");
    assert!(
        !shown.contains(url.url.split('?').nth(1).unwrap()),
        "{shown}"
    );

    let dest = env.path("fetched/img_001.png");
    let written = c.assets().download_url(&url, &dest).unwrap();
    assert_eq!(written, files[1].1.len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), files[1].1);

    // Listing with contents gives URLs too.
    let page = c
        .assets()
        .page(&ds, ListAssetsOptions::new().with_contents(true), None)
        .unwrap();
    assert!(
        page.items
            .iter()
            .all(|a| a.contents.as_ref().and_then(|c| c.asset.as_ref()).is_some())
    );
}

/// A tampered or expired signed URL is refused with 403, leaves no file behind and never
/// shows its signature in the error.
pub fn tampered_and_expired_download_urls_are_refused<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, _files) = dataset_with_assets(&c, 1);

    let page = c
        .assets()
        .page(&ds, ListAssetsOptions::new().with_contents(true), None)
        .unwrap();
    let url = page.items[0]
        .contents
        .as_ref()
        .unwrap()
        .asset
        .clone()
        .unwrap();

    let mut tampered = url.clone();
    tampered.url = tampered.url.replacen("img_000", "img_001", 1);
    let dest = env.path("tampered.png");
    let err = c.assets().download_url(&tampered, &dest).unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403), "{err}");
    assert!(!dest.exists(), "no file under the final name");
    assert!(
        !err.to_string().contains("signature="),
        "no signed query in errors: {err}"
    );

    env.emulator
        .advance_clock(Duration::from_secs(2 * 24 * 3600));
    let dest = env.path("expired.png");
    let err = c.assets().download_url(&url, &dest).unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403), "{err}");
    assert!(!dest.exists());
}

/// Deleting an asset (again: `NotFound`), renaming by id and by filename (odd characters
/// travel as one path segment), and the errors for a taken or empty name.
pub fn delete_and_rename_assets<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, _files) = dataset_with_assets(&c, 3);

    let page = c
        .assets()
        .page(
            &ds,
            ListAssetsOptions::new().sort(AssetSortBy::Filename, SortOrder::Ascending),
            None,
        )
        .unwrap();
    let ids: Vec<AssetId> = page.items.iter().map(|a| a.id().unwrap()).collect();

    c.assets().delete(&ds, &ids[0]).unwrap();
    assert_eq!(c.assets().count(&ds, CountAssetsOptions::new()).unwrap(), 2);
    let err = c.assets().get(&ds, &ids[0]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = c.assets().delete(&ds, &ids[0]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let renamed = c.assets().rename(&ds, &ids[1], "renamed one.png").unwrap();
    assert_eq!(renamed.filename, "renamed one.png");
    assert_eq!(
        c.assets().get(&ds, &ids[1]).unwrap().filename,
        "renamed one.png"
    );

    // Spaces, `#`, `?`, `%` and non-ASCII in the addressed name travel as one
    // percent-encoded path segment.
    let odd = "ünï #1?%.png";
    let renamed = c
        .assets()
        .rename_by_filename(&ds, "renamed one.png", odd)
        .unwrap();
    assert_eq!(renamed.filename, odd);
    let renamed = c.assets().rename_by_filename(&ds, odd, "back.png").unwrap();
    assert_eq!(renamed.filename, "back.png");

    let err = c.assets().rename(&ds, &ids[2], "back.png").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let err = c.assets().rename(&ds, &ids[2], "").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// A rename the service confirms with less than the asset (an empty JSON object) still
/// returns the renamed asset, read back by id or, addressed by filename, by its new name.
pub fn a_rename_reply_that_is_not_an_asset_is_accepted<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, _files) = dataset_with_assets(&c, 2);
    let page = c
        .assets()
        .page(&ds, ListAssetsOptions::new(), None)
        .unwrap();
    let id = page.items[0].id().unwrap();
    let bare = |times| Fault {
        target: FaultTarget::ApiMatching {
            method: Some("POST".to_owned()),
            path_contains: Some("/name".to_owned()),
        },
        kind: FaultKind::BareReply,
        times,
    };
    env.emulator.inject(bare(2));
    let renamed = c.assets().rename(&ds, &id, "bare one.png").unwrap();
    assert_eq!(renamed.filename, "bare one.png");
    assert_eq!(renamed.id().unwrap(), id);
    let renamed = c
        .assets()
        .rename_by_filename(&ds, "bare one.png", "bare two.png")
        .unwrap();
    assert_eq!(renamed.filename, "bare two.png");
    assert_eq!(renamed.id().unwrap(), id);
    // Both renames met the fault: the next one answers the whole asset again.
    let renamed = c.assets().rename(&ds, &id, "whole.png").unwrap();
    assert_eq!(renamed.filename, "whole.png");
    assert_eq!(env.emulator.stats().injected_faults, 2);
}

/// A wrong key is an `Authentication` error (401) that never shows the key.
pub fn wrong_credentials_are_an_authentication_error<F: Facade>(env: &TestEnv) {
    let c = F::from_config(env.config_with_wrong_key()).unwrap();
    let err = c.datasets().page(10, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    let text = format!("{err} {err:?}");
    assert!(!text.contains("xxxxxxxxxx"), "the key never shows: {text}");
    assert!(!text.contains(env.emulator.secret_key()));
}

/// Unknown datasets and assets are `NotFound`; an empty dataset lists as one empty, final
/// page.
pub fn unknown_dataset_and_asset_are_not_found<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);

    let missing = DatasetId::new("doesnotexist").unwrap();
    let err = c.datasets().get(&missing).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("get dataset"), "{err}");
    let err = c
        .assets()
        .page(&missing, ListAssetsOptions::new(), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = c
        .assets()
        .count(&missing, CountAssetsOptions::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let ds = c.datasets().create("empty").unwrap().id().unwrap();
    let err = c
        .assets()
        .get(&ds, &AssetId::new("nope").unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // An empty dataset lists as one empty, final page.
    let mut listing = c.assets().list(&ds, ListAssetsOptions::new()).unwrap();
    let page = listing.next().unwrap().unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    assert!(listing.next().is_none());
}

/// A GET is retried through 503s, a POST is not (no dataset is created twice), and a 429
/// with `Retry-After` is retried even for a POST.
pub fn transient_server_errors_are_retried<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);

    env.emulator.inject(status_fault(FaultTarget::Api, 503, 2));
    // A GET is retried through two 503s.
    let page = c.datasets().page(10, None).unwrap();
    assert!(page.items.is_empty());
    // A POST is not retried on 5xx: the error surfaces as is.
    env.emulator.inject(status_fault(FaultTarget::Api, 503, 1));
    let err = c.datasets().create("once").unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err}");
    let page = c.datasets().page(10, None).unwrap();
    assert!(page.items.is_empty(), "no dataset was created");
    // 429 with Retry-After is retried, also for a POST.
    env.emulator.inject(Fault {
        target: FaultTarget::Api,
        kind: FaultKind::Status {
            status: 429,
            retry_after: Some(0),
        },
        times: 2,
    });
    c.datasets().create("after rate limit").unwrap();
}
