//! Download scenarios: whole datasets across pages, chosen assets, hostile names, resumed
//! `.part` files, expired URLs, truncated bodies, outages and cancellation.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`Facade`] (see [`crate::download_tests!`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use vi_core::api::{CancelToken, DownloadFailure, DownloadOptions, ProgressEvent, UploadOptions};
use vi_core::{AssetId, DatasetId, ErrorKind, ListAssetsOptions};

use crate::facade::{AssetOps, DatasetOps, Facade};
use crate::{Fault, FaultKind, FaultTarget, TestEnv, status_fault};

/// A dataset with `n` distinct PNGs uploaded from memory; returns (name, bytes).
fn dataset_with<F: Facade>(c: &F, n: u32) -> (DatasetId, Vec<(String, Vec<u8>)>) {
    let files: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| (format!("d{i:04}.png"), crate::png(3 + i % 17, 2 + i % 5, i)))
        .collect();
    let ds = c.datasets().create("downloads").unwrap().id().unwrap();
    let report = c
        .assets()
        .upload(&ds, files.clone(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), n as usize, "{}", report.summary());
    (ds, files)
}

fn assert_same_files(dir: &std::path::Path, files: &[(String, Vec<u8>)]) {
    for (name, bytes) in files {
        let got = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(got == *bytes, "{name} differs");
    }
    let on_disk = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(on_disk, files.len(), "no stray files (.part or others)");
}

/// 230 assets downloaded across pages of 50 with six workers, byte for byte; a second run
/// skips them all; a locally changed file is refused, then replaced with `overwrite`.
pub fn round_trip_across_pages_then_skip_then_overwrite<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files) = dataset_with(&c, 230);
    let to = env.path("out");
    let finished = Arc::new(AtomicUsize::new(0));
    let count = finished.clone();
    let options = DownloadOptions::new()
        .page_size(50)
        .concurrency(6)
        .progress(move |e: &ProgressEvent<'_>| {
            if let ProgressEvent::FileFinished { .. } = e {
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
    let report = c.assets().download(&ds, &to, options).unwrap();
    assert_eq!(report.downloaded.len(), 230, "{}", report.summary());
    assert_eq!((report.skipped.len(), report.failed.len()), (0, 0));
    assert_eq!(report.total(), 230);
    assert!(report.is_success() && !report.cancelled);
    assert_eq!(report.directory, to.join(ds.as_str()));
    let bytes: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    assert_eq!(report.bytes_downloaded, bytes);
    assert_eq!(finished.load(Ordering::SeqCst), 230);
    assert_same_files(&report.directory, &files);

    let again = c
        .assets()
        .download(&ds, &to, DownloadOptions::new().page_size(50))
        .unwrap();
    assert_eq!(
        (
            again.downloaded.len(),
            again.skipped.len(),
            again.failed.len()
        ),
        (0, 230, 0),
        "{}",
        again.summary()
    );
    assert_eq!(again.bytes_downloaded, 0);

    // A changed local file is refused without overwrite, replaced with it.
    let victim = report.directory.join("d0007.png");
    std::fs::write(&victim, b"local edits").unwrap();
    let refused = c
        .assets()
        .download(&ds, &to, DownloadOptions::new())
        .unwrap();
    assert_eq!(
        (
            refused.downloaded.len(),
            refused.skipped.len(),
            refused.failed.len()
        ),
        (0, 229, 1)
    );
    assert!(matches!(
        refused.failed[0].reason,
        DownloadFailure::DifferentFileExists { .. }
    ));
    assert_eq!(std::fs::read(&victim).unwrap(), b"local edits");
    assert!(refused.into_result().is_err());

    let over = c
        .assets()
        .download(&ds, &to, DownloadOptions::new().overwrite(true))
        .unwrap();
    assert_eq!(
        (over.downloaded.len(), over.skipped.len(), over.failed.len()),
        (230, 0, 0)
    );
    assert_same_files(&over.directory, &files);
}

/// Downloading chosen ids (an unknown one is reported `NotFound`), one asset to an exact
/// path, and a filtered listing.
pub fn chosen_assets_only<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files) = dataset_with(&c, 6);
    let page = c
        .assets()
        .page(&ds, ListAssetsOptions::new().page_size(100), None)
        .unwrap();
    let pick: Vec<AssetId> = page
        .items
        .iter()
        .filter(|a| a.filename == "d0001.png" || a.filename == "d0004.png")
        .map(|a| a.id().unwrap())
        .collect();
    let mut ids = pick.clone();
    ids.push(AssetId::new("nosuchasset").unwrap());
    let to = env.path("chosen");
    let report = c
        .assets()
        .download(&ds, &to, DownloadOptions::new().assets(ids))
        .unwrap();
    assert_eq!(report.downloaded.len(), 2, "{}", report.summary());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].reason, DownloadFailure::NotFound);
    assert_eq!(report.failed[0].asset.as_str(), "nosuchasset");
    let chosen: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .filter(|(n, _)| n == "d0001.png" || n == "d0004.png")
        .collect();
    assert_same_files(&report.directory, &chosen);

    // One asset to an exact path.
    let one = env.path("single/copy.png");
    let file = c.assets().download_asset(&ds, &pick[0], &one).unwrap();
    assert_eq!(file.path, one);
    assert!(
        std::fs::read(&one).unwrap() == chosen.iter().find(|(n, _)| *n == file.filename).unwrap().1
    );

    // A listing with a filter.
    let listing = ListAssetsOptions::new().filter("metadata.width >= 6");
    let expected = c.assets().count(&ds, (&listing).into()).unwrap();
    let report = c
        .assets()
        .download(
            &ds,
            &env.path("filtered"),
            DownloadOptions::new().listing(listing),
        )
        .unwrap();
    assert_eq!(report.downloaded.len() as u64, expected);
    assert!(expected > 0 && expected < 6);
}

/// Asset names with `..`, slashes, reserved and very long names land inside the target
/// directory under distinct, sanitised names, and are found again by a second run.
pub fn hostile_filenames_stay_inside_the_directory<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = c.datasets().create("hostile").unwrap().id().unwrap();
    let long = format!("{}.png", "é".repeat(200));
    let names = [
        "../x.png",
        "a/b.png",
        "a_b.png",
        "..hidden",
        "CON.png",
        "猫 ünï.png",
        long.as_str(),
        "/abs.png",
        "tab\there.png",
    ];
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(i, _)| (format!("plain{i}.png"), crate::png(4, 4, 100 + i as u32)))
        .collect();
    let report = c
        .assets()
        .upload(&ds, files.clone(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), names.len(), "{}", report.summary());
    // Give the assets hostile names through the service (rename accepts any text).
    for (i, name) in names.iter().enumerate() {
        c.assets()
            .rename_by_filename(&ds, &format!("plain{i}.png"), name)
            .unwrap();
    }
    let to = env.path("hostile-out");
    let report = c
        .assets()
        .download(&ds, &to, DownloadOptions::new())
        .unwrap();
    assert_eq!(report.downloaded.len(), names.len(), "{}", report.summary());
    let dir = std::fs::canonicalize(&report.directory).unwrap();
    let mut local: Vec<String> = Vec::new();
    for f in &report.downloaded {
        let real = std::fs::canonicalize(&f.path).unwrap();
        assert_eq!(real.parent().unwrap(), dir, "{:?} escaped", f.path);
        local.push(f.path.file_name().unwrap().to_string_lossy().into_owned());
        let i = names.iter().position(|n| *n == f.filename).unwrap();
        assert!(std::fs::read(&f.path).unwrap() == files[i].1);
    }
    assert!(!to.join("x.png").exists());
    assert!(
        local.contains(&"a_b.png".to_owned())
            || local.iter().filter(|n| n.starts_with("a_b")).count() == 2,
        "{local:?}"
    );
    assert!(local.contains(&"猫 ünï.png".to_owned()), "{local:?}");
    assert!(local.iter().all(|n| n.len() <= 255));
    let mut unique = local.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "distinct local names: {local:?}");
    // A second run finds them all again.
    let again = c
        .assets()
        .download(&ds, &to, DownloadOptions::new())
        .unwrap();
    assert_eq!(again.skipped.len(), names.len(), "{}", again.summary());
}

/// A half partial file is continued, a complete one is only checked and renamed, a stale
/// one with wrong bytes is caught by the checksum and fetched again, and one started for
/// an older version of the asset is not continued.
pub fn a_part_file_left_by_a_killed_run_is_resumed<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let big = crate::png(300, 200, 7);
    let ds = c.datasets().create("resume").unwrap().id().unwrap();
    c.assets()
        .upload(
            &ds,
            vec![("big.png".to_owned(), big.clone())],
            UploadOptions::new(),
        )
        .unwrap();
    let dir = env.path("resume-out").join(ds.as_str());
    let asset = c
        .assets()
        .page(&ds, Default::default(), None)
        .unwrap()
        .items
        .remove(0);
    let id = asset.id().unwrap();
    let version = vi_core::download::content_version(&asset);
    let part = vi_core::download::asset_part_path(&dir, &id, version);
    // What a killed run leaves: the partial file, named for the version it was started for.
    let leave_partial = |bytes: &[u8]| {
        std::fs::create_dir_all(part.parent().unwrap()).unwrap();
        std::fs::write(&part, bytes).unwrap();
    };
    let half = big.len() / 2;
    leave_partial(&big[..half]);
    let report = c
        .assets()
        .download(&ds, &env.path("resume-out"), DownloadOptions::new())
        .unwrap();
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert!(report.downloaded[0].resumed);
    assert_eq!(report.bytes_downloaded, (big.len() - half) as u64);
    assert!(std::fs::read(dir.join("big.png")).unwrap() == big);
    assert!(!part.exists());

    // A partial file holding every byte (the run died just before the rename) is only
    // checked and renamed: nothing is transferred.
    std::fs::remove_file(dir.join("big.png")).unwrap();
    leave_partial(&big);
    let report = c
        .assets()
        .download(&ds, &env.path("resume-out"), DownloadOptions::new())
        .unwrap();
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert!(report.downloaded[0].resumed);
    assert_eq!(report.bytes_downloaded, 0);
    assert!(std::fs::read(dir.join("big.png")).unwrap() == big);
    assert!(!part.exists());

    // A stale partial file with wrong bytes is caught by the checksum and fetched again.
    std::fs::remove_file(dir.join("big.png")).unwrap();
    let mut wrong = big[..half].to_vec();
    wrong[10] ^= 0xff;
    leave_partial(&wrong);
    let report = c
        .assets()
        .download(&ds, &env.path("resume-out"), DownloadOptions::new())
        .unwrap();
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert!(std::fs::read(dir.join("big.png")).unwrap() == big);

    // The asset is replaced by other content after a run died: its partial file belongs
    // to the old version and is not continued (one GET of the whole new file, no range).
    std::fs::remove_file(dir.join("big.png")).unwrap();
    leave_partial(&big[..half]);
    // And what SDK 0.1 left: `<id>.part` with its version noted beside it.
    let old_style = part.with_file_name(format!("{id}.part"));
    std::fs::write(&old_style, &big[..half]).unwrap();
    std::fs::write(old_style.with_extension("part.version"), "0").unwrap();
    let other = crate::png(300, 200, 8);
    c.assets()
        .upload(
            &ds,
            vec![("big.png".to_owned(), other.clone())],
            UploadOptions::new(),
        )
        .unwrap();
    let before = env.emulator.stats().download_requests;
    let report = c
        .assets()
        .download(&ds, &env.path("resume-out"), DownloadOptions::new())
        .unwrap();
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert!(!report.downloaded[0].resumed);
    assert_eq!(report.bytes_downloaded, other.len() as u64);
    assert_eq!(env.emulator.stats().download_requests - before, 1);
    assert!(std::fs::read(dir.join("big.png")).unwrap() == other);
    // The old version's partial file is swept once the asset is in place, and with it
    // the partial-file folder.
    assert!(!part.exists());
    assert!(!part.parent().unwrap().exists());
}

/// An expired URL is refused (403) but `download_asset` signs a fresh one; truncated bodies
/// are continued and verified; a storage outage fails only the files it hits.
pub fn expired_urls_are_signed_again_and_truncated_bodies_fetched_again<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files) = dataset_with(&c, 3);
    // URLs listed now expire before they are used: list, then jump the clock.
    let page = c
        .assets()
        .page(&ds, ListAssetsOptions::new().with_contents(true), None)
        .unwrap();
    let asset = page
        .items
        .into_iter()
        .find(|a| a.filename == "d0002.png")
        .unwrap();
    env.emulator
        .advance_clock(Duration::from_secs(3 * 24 * 3600));
    let stale = asset.download_url().unwrap().clone();
    let err = c
        .assets()
        .download_url(&stale, &env.path("stale.png"))
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    // download_asset gets a fresh URL itself.
    let dest = env.path("fresh.png");
    c.assets()
        .download_asset(&ds, &asset.id().unwrap(), &dest)
        .unwrap();
    assert!(std::fs::read(&dest).unwrap() == files[2].1);

    // The storage cuts the next two bodies short: detected, continued, verified.
    env.emulator.inject(Fault {
        target: FaultTarget::Download,
        kind: FaultKind::TruncateBody { after_bytes: 20 },
        times: 2,
    });
    let to = env.path("trunc");
    let report = c
        .assets()
        .download(&ds, &to, DownloadOptions::new().concurrency(1))
        .unwrap();
    assert_eq!(report.downloaded.len(), 3, "{}", report.summary());
    assert_same_files(&report.directory, &files);

    // An outage that outlasts one round of retries is ridden out by a later round, with a
    // fresh URL: nothing fails.
    env.emulator
        .inject(status_fault(FaultTarget::Download, 500, 4));
    let report = c
        .assets()
        .download(
            &ds,
            &env.path("short-outage"),
            DownloadOptions::new().concurrency(1),
        )
        .unwrap();
    assert_eq!(report.downloaded.len(), 3, "{}", report.summary());

    // A storage outage longer than the retries of all three rounds fails those files only.
    env.emulator
        .inject(status_fault(FaultTarget::Download, 500, 12));
    let report = c
        .assets()
        .download(
            &ds,
            &env.path("outage"),
            DownloadOptions::new().concurrency(1),
        )
        .unwrap();
    assert_eq!(
        (report.downloaded.len(), report.failed.len()),
        (2, 1),
        "{}",
        report.summary()
    );
    assert!(
        matches!(
            report.failed[0].reason,
            DownloadFailure::Transfer {
                status: Some(500),
                ..
            }
        ),
        "{:?}",
        report.failed[0].reason
    );
    assert!(!report.summary().contains("signature="));
}

/// URLs listed fresh expire after the first file: the other files get new URLs and arrive.
pub fn urls_that_expire_in_the_middle_of_a_download_are_signed_again<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files) = dataset_with(&c, 5);
    // One page is listed with fresh URLs; after the first file, the clock jumps past
    // their expiry, so the other four are refused (403) unless signed again.
    let clock = env.emulator.clone();
    let jumped = AtomicBool::new(false);
    let options = DownloadOptions::new()
        .concurrency(1)
        .progress(move |e: &ProgressEvent<'_>| {
            if matches!(e, ProgressEvent::FileFinished { .. })
                && !jumped.swap(true, Ordering::SeqCst)
            {
                clock.advance_clock(Duration::from_secs(3 * 24 * 3600));
            }
        });
    let report = c
        .assets()
        .download(&ds, &env.path("late"), options)
        .unwrap();
    assert_eq!(report.downloaded.len(), 5, "{}", report.summary());
    assert_same_files(&report.directory, &files);
}

/// Cancelling after five of twenty files keeps the finished files and reports the rest as
/// cancelled.
pub fn cancelling_a_download_keeps_finished_files_and_reports_the_rest<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, _files) = dataset_with(&c, 20);
    let token = CancelToken::new();
    let trigger = token.clone();
    let finished = Arc::new(AtomicUsize::new(0));
    let count = finished.clone();
    let options = DownloadOptions::new()
        .concurrency(1)
        .cancel_token(token)
        .progress(move |e: &ProgressEvent<'_>| {
            if matches!(e, ProgressEvent::FileFinished { .. })
                && count.fetch_add(1, Ordering::SeqCst) + 1 == 5
            {
                trigger.cancel();
            }
        });
    let report = c
        .assets()
        .download(&ds, &env.path("cancel"), options)
        .unwrap();
    assert!(report.cancelled);
    assert_eq!(report.total(), 20, "{}", report.summary());
    assert!(report.downloaded.len() >= 5 && report.downloaded.len() < 20);
    assert!(
        report
            .failed
            .iter()
            .all(|f| f.reason == DownloadFailure::Cancelled)
    );
    for f in &report.downloaded {
        assert!(f.path.exists());
    }
}

/// An unknown dataset is `NotFound`; a concurrency of 0 is `InvalidInput`.
pub fn downloading_an_unknown_dataset_is_an_error<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let err = c
        .assets()
        .download(
            &DatasetId::new("nosuch").unwrap(),
            &env.path("x"),
            DownloadOptions::new(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = c
        .assets()
        .download(
            &DatasetId::new("nosuch").unwrap(),
            &env.path("x"),
            DownloadOptions::new().concurrency(0),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// The next listing page is asked for while the current page's transfers still run, not
/// once they have all started: on a link with latency the transfers would otherwise stand
/// still for a listing round trip at every page.
pub fn the_next_listing_page_is_asked_for_while_transfers_run<F: Facade>(_: &TestEnv) {
    let log = tempfile::NamedTempFile::new().expect("a request log");
    let env = &TestEnv::with(crate::EmulatorConfig {
        record_to: Some(log.path().to_owned()),
        latency: Duration::from_millis(100),
        ..crate::EmulatorConfig::default()
    });
    let c = F::connect(env);
    let (ds, files) = dataset_with(&c, 20);
    let before = super::multipart::read_log(log.path()).len();
    let to = env.path("next-page");
    let report = c
        .assets()
        .download(
            &ds,
            &to,
            DownloadOptions::new().page_size(10).concurrency(2),
        )
        .unwrap();
    assert_eq!(report.downloaded.len(), 20, "{}", report.summary());
    assert_same_files(&to.join(ds.as_str()), &files);

    let during = &super::multipart::read_log(log.path())[before..];
    let pages: Vec<usize> = (0..during.len())
        .filter(|&i| during[i].is("GET", "/assets"))
        .collect();
    assert_eq!(pages.len(), 2, "two listing pages of 10");
    let gets_before_second_page = during[..pages[1]]
        .iter()
        .filter(|r| r.route.starts_with("/_storage/download/"))
        .count();
    // Asked for when the queue holds less than two rounds of transfers (4 here): the
    // answer (one 100 ms round trip) comes before the page's last transfers, which wait
    // for earlier ones to finish. Asked for only once the queue is empty, it came after
    // all 10.
    assert!(
        gets_before_second_page <= 8,
        "{gets_before_second_page} of the first page's 10 transfers finished before the second page was listed"
    );
}
