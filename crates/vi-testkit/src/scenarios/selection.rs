//! Large jobs through the SDK, in both facades: shards and patterns choosing what an
//! upload and a download take, and a bandwidth limit that paces both directions without
//! losing or damaging a byte and still lets a cancel through.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vi_core::ErrorKind;
use vi_core::api::{
    BandwidthLimit, CancelToken, DownloadOptions, Filter, ProgressEvent, Shard, UploadOptions,
};

use super::uploads::{listed, small_pngs};
use crate::TestEnv;
use crate::facade::{AssetOps, Facade, new_dataset};

/// Three shards of an upload, then of a download, take every file exactly once between
/// them, each only its own; patterns narrow both, and patterns that take nothing are an
/// invalid-input error rather than an empty success.
pub fn shards_and_patterns_split_uploads_and_downloads<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "shards");
    let root = small_pngs(env, "shards-src", "s", 30);
    let all: BTreeSet<String> = (0..30).map(|i| format!("s{i}.png")).collect();
    let no_s1x = Filter::new().exclude("s1?.png").unwrap();
    let mut uploaded = BTreeSet::new();
    for k in 0..3 {
        let shard = Shard::new(k, 3).unwrap();
        let options = UploadOptions::new().shard(shard).filter(no_s1x.clone());
        let report = c.assets().upload(&ds, root.as_path(), options).unwrap();
        assert!(report.is_success(), "{}", report.summary());
        for f in &report.succeeded {
            assert!(
                shard.contains(&f.filename),
                "{} is not shard {k}'s",
                f.filename
            );
            assert!(!f.filename.starts_with("s1") || f.filename == "s1.png");
            assert!(uploaded.insert(f.filename.clone()), "{} twice", f.filename);
        }
    }
    let expected: BTreeSet<String> = all
        .iter()
        .filter(|n| !(n.len() == 7 && n.starts_with("s1")))
        .cloned()
        .collect();
    assert_eq!(uploaded, expected);
    let in_dataset: BTreeSet<String> = listed(&c, &ds).into_iter().map(|(n, _)| n).collect();
    assert_eq!(in_dataset, expected);

    let out = env.path("shards-out");
    let mut downloaded = BTreeSet::new();
    for k in 0..3 {
        let shard = Shard::new(k, 3).unwrap();
        let report = c
            .assets()
            .download(&ds, &out, DownloadOptions::new().shard(shard))
            .unwrap();
        assert!(report.is_success(), "{}", report.summary());
        for f in &report.downloaded {
            assert!(shard.contains(&f.filename));
            assert!(
                downloaded.insert(f.filename.clone()),
                "{} twice",
                f.filename
            );
        }
    }
    assert_eq!(downloaded, expected);

    let only = Filter::new().include("s2*").unwrap();
    let report = c
        .assets()
        .download(&ds, &env.path("only"), DownloadOptions::new().filter(only))
        .unwrap();
    let names: BTreeSet<String> = report
        .downloaded
        .iter()
        .map(|d| d.filename.clone())
        .collect();
    assert_eq!(
        names,
        [
            "s2.png", "s20.png", "s21.png", "s22.png", "s23.png", "s24.png", "s25.png", "s26.png",
            "s27.png", "s28.png", "s29.png"
        ]
        .map(String::from)
        .into()
    );

    let nothing = Filter::new().include("*.tiff").unwrap();
    let e = c
        .assets()
        .upload(
            &ds,
            root.as_path(),
            UploadOptions::new().filter(nothing.clone()),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let e = c
        .assets()
        .download(
            &ds,
            &env.path("none"),
            DownloadOptions::new().filter(nothing),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

/// One limit shared by an upload and a download: every byte arrives intact in both
/// directions, and a cancel during a paced download still ends it, reported cancelled.
pub fn a_bandwidth_limit_paces_both_directions_and_lets_a_cancel_through<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "paced");
    let root = env.path("paced-src");
    for i in 0..3 {
        crate::write_file(
            &root.join(format!("p{i}.png")),
            &crate::noisy_png(300, 300, i),
        );
    }
    let limit = BandwidthLimit::new(2 << 20);
    let started = std::time::Instant::now();
    let report = c
        .assets()
        .upload(
            &ds,
            root.as_path(),
            UploadOptions::new().bandwidth_limit(limit.clone()),
        )
        .unwrap();
    assert!(report.is_success(), "{}", report.summary());
    let up = started.elapsed();
    let out = env.path("paced-out");
    let started = std::time::Instant::now();
    let report = c
        .assets()
        .download(
            &ds,
            &out,
            DownloadOptions::new().bandwidth_limit(limit.clone()),
        )
        .unwrap();
    assert!(report.is_success(), "{}", report.summary());
    // Printed for the curious, never asserted: speed is for benchmarks.
    eprintln!(
        "{} bytes each way at 2 MiB/s: upload {up:?}, download {:?}",
        report.bytes_downloaded,
        started.elapsed()
    );
    for i in 0..3 {
        let name = format!("p{i}.png");
        let got = std::fs::read(report.directory.join(&name)).unwrap();
        assert_eq!(
            got,
            std::fs::read(root.join(&name)).unwrap(),
            "{name} differs"
        );
    }

    // A slow limit and a cancel at the first bytes: the call ends, cancelled.
    let token = CancelToken::new();
    let fired = Arc::new(AtomicBool::new(false));
    let (t, f) = (token.clone(), fired.clone());
    let options = DownloadOptions::new()
        .overwrite(true)
        .bandwidth_limit(BandwidthLimit::new(64 << 10))
        .cancel_token(token)
        .progress(move |e: &ProgressEvent<'_>| {
            if matches!(e, ProgressEvent::FileProgress { .. }) && !f.swap(true, Ordering::SeqCst) {
                t.cancel();
            }
        });
    let report = c
        .assets()
        .download(&ds, &env.path("cancelled"), options)
        .unwrap();
    assert!(fired.load(Ordering::SeqCst));
    assert!(report.cancelled, "{}", report.summary());
}
