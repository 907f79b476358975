//! Uploads that resume ([`UploadOptions::skip_existing`]) and dry runs
//! ([`UploadOptions::dry_run`]): plain functions over a [`ResumeEnv`], run by both
//! facades through [`Facade`] (see [`crate::resume_tests!`]).
//!
//! The emulator records every request, so a scenario counts exactly what a run sent: the
//! listing pages, the ingestion sessions and the file PUTs. It pages asset listings at
//! 1000 like the service (not in one page, as it does by default for the Python SDK), so
//! the 10,000-asset comparison really streams ten pages. The emulator's data and the
//! local files live in memory (`/dev/shm`) where there is one: these disks create many
//! small files slowly (DESIGN §8), and the scenarios are about behaviour, not the disk.

use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use vi_core::api::{
    CancelToken, ComparedBy, ProgressEvent, SkipReason, UploadOptions, UploadReport, UploadSources,
};
use vi_core::{AssetId, DatasetId, ListAssetsOptions};

use super::multipart::{Recorded, S1, read_log};
use crate::facade::{AssetOps, Facade, new_dataset};
use crate::{EmulatorConfig, TestEnv, png, write_file};

/// Route of A1, the asset listing (GET).
pub const LIST: &str = "/datasets/{dsc}/assets";
/// Route of U1, creating an ingestion session (POST).
pub const CREATE_SESSION: &str = "/assetIngestionSessions";

/// An emulator that records every request and pages asset listings at 1000, with its data
/// and a scratch directory in memory when the system has `/dev/shm`.
pub struct ResumeEnv {
    env: TestEnv,
    log: tempfile::NamedTempFile,
    // Declared after `env`: the emulator stops before its data directory goes.
    scratch: tempfile::TempDir,
}

impl ResumeEnv {
    /// Starts the emulator.
    pub fn new() -> Self {
        let shm = Path::new("/dev/shm");
        let scratch = if shm.is_dir() {
            tempfile::Builder::new().prefix("vi-resume").tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("a scratch directory");
        let log = tempfile::NamedTempFile::new_in(scratch.path()).expect("a request log");
        let env = TestEnv::with(EmulatorConfig {
            record_to: Some(log.path().to_owned()),
            single_page_at_max_size: false,
            ..Default::default()
        });
        ResumeEnv { env, log, scratch }
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    /// Every request recorded so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        read_log(self.log.path())
    }

    /// Runs `f` and counts the requests it made: (listing pages, sessions created, file
    /// PUTs).
    pub fn counting<T>(&self, f: impl FnOnce() -> T) -> (T, Sent) {
        let before = self.requests().len();
        let out = f();
        let during = &self.requests()[before..];
        let count =
            |method: &str, route: &str| during.iter().filter(|r| r.is(method, route)).count();
        let sent = Sent {
            list_pages: count("GET", LIST),
            sessions: count("POST", CREATE_SESSION),
            puts: count("PUT", S1),
        };
        (out, sent)
    }
}

impl Default for ResumeEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for ResumeEnv {
    type Target = TestEnv;

    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

/// What one call sent, from the emulator's request log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Asset listing pages (A1).
    pub list_pages: usize,
    /// Ingestion sessions created (U1).
    pub sessions: usize,
    /// File PUTs to signed URLs (S1).
    pub puts: usize,
}

/// The dataset's assets by filename: (asset id, size). Panics on a name listed twice.
fn assets<F: Facade>(c: &F, ds: &DatasetId) -> HashMap<String, (AssetId, u64)> {
    let mut out = HashMap::new();
    for page in c
        .assets()
        .list(ds, ListAssetsOptions::new().page_size(1000))
        .unwrap()
    {
        for a in page.unwrap().items {
            let id = a.id().unwrap();
            let previous = out.insert(a.filename.clone(), (id, a.metadata.file_size));
            assert!(previous.is_none(), "{} is in the dataset twice", a.filename);
        }
    }
    out
}

/// Downloads the dataset and returns the bytes of every file by name.
fn contents<F: Facade>(
    env: &ResumeEnv,
    c: &F,
    ds: &DatasetId,
    to: &str,
) -> HashMap<String, Vec<u8>> {
    let dir = env.path(to);
    let report = c
        .assets()
        .download(ds, &dir, vi_core::api::DownloadOptions::new())
        .unwrap();
    assert!(report.is_success(), "{}", report.summary());
    report
        .downloaded
        .iter()
        .map(|d| (d.filename.clone(), std::fs::read(&d.path).unwrap()))
        .collect()
}

/// Writes `n` small PNGs `f0000.png`… into `dir` (the first 257 all different, then
/// repeating: PNG encoding is slow in debug builds); returns (name, bytes).
fn write_images(dir: &Path, n: u32) -> Vec<(String, Vec<u8>)> {
    let variants: Vec<Vec<u8>> = (0..n.min(257))
        .map(|i| png(4 + i % 7, 3 + i % 5, i))
        .collect();
    (0..n)
        .map(|i| {
            let name = format!("f{i:04}.png");
            let bytes = variants[(i % 257) as usize].clone();
            write_file(&dir.join(&name), &bytes);
            (name, bytes)
        })
        .collect()
}

fn present_asset(reason: &SkipReason) -> Option<(&AssetId, ComparedBy)> {
    match reason {
        SkipReason::AlreadyPresent { asset, compared_by } => Some((asset, *compared_by)),
        _ => None,
    }
}

fn names<'a>(files: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    let mut names: Vec<&str> = files.into_iter().map(String::as_str).collect();
    names.sort_unstable();
    names
}

fn succeeded(report: &UploadReport) -> Vec<&str> {
    names(report.succeeded.iter().map(|f| &f.filename))
}

/// An upload cancelled after twelve of twenty files (three sessions of five: two
/// finished, the third cancelled) leaves some files in the dataset; the same upload again
/// with `skip_existing` skips exactly those, each with its asset id, and sends only the
/// others: in the end every file is in the dataset once, byte for byte.
pub fn an_interrupted_upload_resumed_sends_only_what_is_missing<F: Facade>(env: &ResumeEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "resume");
    let dir = env.path("photos");
    let files = write_images(&dir, 20);

    let token = CancelToken::new();
    let trigger = token.clone();
    let finished = Arc::new(AtomicUsize::new(0));
    let count = finished.clone();
    let interrupted = UploadOptions::new()
        .batch_size(5)
        .max_sessions_in_flight(1)
        .concurrency(1)
        .cancel_token(token)
        .progress(move |e: &ProgressEvent<'_>| {
            if matches!(e, ProgressEvent::FileFinished { .. })
                && count.fetch_add(1, Ordering::SeqCst) + 1 == 12
            {
                trigger.cancel();
            }
        });
    let first = c.assets().upload(&ds, dir.as_path(), interrupted).unwrap();
    assert!(first.cancelled, "{}", first.summary());
    let there = assets(&c, &ds);
    assert!(
        (5..20).contains(&there.len()),
        "the interruption left {} files",
        there.len()
    );

    let options = UploadOptions::new().batch_size(5).skip_existing(true);
    let (report, sent) = env.counting(|| c.assets().upload(&ds, dir.as_path(), options).unwrap());
    assert!(report.is_success(), "{}", report.summary());
    assert_eq!(report.total_files(), 20);
    assert_eq!(report.assets_listed, Some(there.len() as u64));
    assert_eq!(report.already_present().count(), there.len());
    assert_eq!(
        report.succeeded.len(),
        20 - there.len(),
        "{}",
        report.summary()
    );
    for skip in &report.skipped {
        let (asset, by) = present_asset(&skip.reason).expect("only already-present skips");
        assert_eq!(asset, &there[&skip.filename].0, "{}", skip.filename);
        assert_eq!(by, ComparedBy::SizeAndCrc32c);
        assert!(skip.reason.to_string().contains(asset.as_str()));
    }
    for file in &report.succeeded {
        assert!(
            !there.contains_key(&file.filename),
            "{} sent again",
            file.filename
        );
        assert_eq!(file.replaced, None);
    }
    assert_eq!(sent.list_pages, 1);
    assert_eq!(
        sent.puts,
        20 - there.len(),
        "only the missing files are sent"
    );
    assert_eq!(sent.sessions, (20 - there.len()).div_ceil(5));
    let missing_bytes: usize = files
        .iter()
        .filter(|(n, _)| !there.contains_key(n))
        .map(|(_, b)| b.len())
        .sum();
    assert_eq!(report.bytes_uploaded, missing_bytes as u64);
    let summary = report.summary();
    assert!(summary.contains("Upload complete"), "{summary}");
    assert!(
        summary.contains(&format!("not sent again: {} files", there.len())),
        "{summary}"
    );
    report.into_result().unwrap();

    // Every file exactly once, with its bytes.
    let now = contents(env, &c, &ds, "check");
    assert_eq!(now.len(), 20);
    for (name, bytes) in &files {
        assert!(now[name] == *bytes, "{name}");
    }

    // A third run finds everything there and sends nothing at all.
    let (again, sent) = env.counting(|| {
        c.assets()
            .upload(&ds, dir.as_path(), UploadOptions::new().skip_existing(true))
            .unwrap()
    });
    assert_eq!(again.already_present().count(), 20, "{}", again.summary());
    assert!(again.is_success() && again.sessions.is_empty());
    assert_eq!((sent.sessions, sent.puts), (0, 0));
}

/// Two PNGs of the same byte length with different content, differing from `seed`.
fn same_size_pair(seed: u32) -> (Vec<u8>, Vec<u8>) {
    let a = png(9, 9, seed);
    let b = (seed + 1..seed + 10_000)
        .map(|s| png(9, 9, s))
        .find(|b| b.len() == a.len() && *b != a)
        .expect("two PNGs of the same size");
    (a, b)
}

/// A file changed since it was uploaded (same size and other bytes, or another size) is
/// sent again and replaces its asset; the unchanged one is skipped.
pub fn a_changed_file_is_sent_again<F: Facade>(env: &ResumeEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "resume");
    let dir = env.path("set");
    let same = png(5, 5, 1);
    let (before_b, after_b) = same_size_pair(100);
    let before_c = png(6, 6, 3);
    let after_c = png(12, 6, 3);
    assert_ne!(before_c.len(), after_c.len());
    write_file(&dir.join("same.png"), &same);
    write_file(&dir.join("b.png"), &before_b);
    write_file(&dir.join("c.png"), &before_c);
    c.assets()
        .upload(&ds, dir.as_path(), UploadOptions::new())
        .unwrap()
        .into_result()
        .unwrap();
    let old = assets(&c, &ds);

    write_file(&dir.join("b.png"), &after_b);
    write_file(&dir.join("c.png"), &after_c);
    let (report, sent) = env.counting(|| {
        c.assets()
            .upload(&ds, dir.as_path(), UploadOptions::new().skip_existing(true))
            .unwrap()
    });
    assert!(report.is_success(), "{}", report.summary());
    assert_eq!(
        succeeded(&report),
        ["b.png", "c.png"],
        "{}",
        report.summary()
    );
    for file in &report.succeeded {
        assert_eq!(
            file.replaced.as_ref(),
            Some(&old[&file.filename].0),
            "{} replaces its asset",
            file.filename
        );
    }
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].filename, "same.png");
    assert_eq!(
        present_asset(&report.skipped[0].reason),
        Some((&old["same.png"].0, ComparedBy::SizeAndCrc32c))
    );
    assert_eq!(sent.puts, 2);

    let now = contents(env, &c, &ds, "check");
    assert_eq!(now.len(), 3);
    assert!(now["b.png"] == after_b && now["c.png"] == after_c && now["same.png"] == same);
}

/// An asset renamed in the dataset is not matched by its old name: the local file is sent
/// again under that name, and a local copy of the same content under another name is sent
/// too (the comparison is by name, then size and CRC-32C).
pub fn a_renamed_asset_is_not_matched<F: Facade>(env: &ResumeEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "resume");
    let dir = env.path("set");
    let x = png(7, 7, 7);
    write_file(&dir.join("x.png"), &x);
    c.assets()
        .upload(&ds, dir.as_path(), UploadOptions::new())
        .unwrap()
        .into_result()
        .unwrap();
    let (id, _) = assets(&c, &ds).remove("x.png").unwrap();
    c.assets().rename(&ds, &id, "renamed.png").unwrap();
    write_file(&dir.join("copy.png"), &x);

    let report = c
        .assets()
        .upload(&ds, dir.as_path(), UploadOptions::new().skip_existing(true))
        .unwrap();
    assert!(report.is_success(), "{}", report.summary());
    assert_eq!(
        succeeded(&report),
        ["copy.png", "x.png"],
        "{}",
        report.summary()
    );
    assert!(report.skipped.is_empty(), "{}", report.summary());
    assert!(report.succeeded.iter().all(|f| f.replaced.is_none()));
    assert_eq!(report.assets_listed, Some(1));
    let now = assets(&c, &ds);
    assert_eq!(
        names(now.keys()),
        ["copy.png", "renamed.png", "x.png"],
        "{now:?}"
    );
    assert_eq!(now["renamed.png"].0, id, "the renamed asset is left alone");
}

/// A dataset of 10,000 assets (seeded from memory by one upload with 32 transfers at once,
/// the quickest way in through the emulator) compared
/// with a folder of the same 10,000 files, five of them changed and five new: the listing
/// streams twenty pages of 500, the 9,995 unchanged files are skipped with their asset ids
/// and only the ten others are sent. Memory stays bounded because each page is dropped
/// once read and only the assets named like a local file are kept (checked in
/// `vi_core::upload::existing`'s tests); here the behaviour at scale is checked.
pub fn ten_thousand_assets_are_compared_page_by_page<F: Facade>(env: &ResumeEnv) {
    const N: u32 = 10_000;
    let c = F::connect(env);
    let ds = new_dataset(&c, "resume");
    let dir = env.path("big");
    let files = write_images(&dir, N);
    let seed: Vec<(String, Vec<u8>)> = files.clone();
    c.assets()
        .upload(&ds, seed, UploadOptions::new().concurrency(32))
        .unwrap()
        .into_result()
        .unwrap();
    // Five files change (other sizes), five are new.
    let changed: Vec<&String> = files.iter().step_by(2000).map(|(n, _)| n).collect();
    for name in &changed {
        write_file(&dir.join(name), &png(40, 40, 1));
    }
    for i in 0..5 {
        write_file(&dir.join(format!("new{i}.png")), &png(30, 3, i));
    }

    let (report, sent) = env.counting(|| {
        c.assets()
            .upload(&ds, dir.as_path(), UploadOptions::new().skip_existing(true))
            .unwrap()
    });
    assert!(report.is_success(), "{}", report.summary());
    assert_eq!(report.assets_listed, Some(u64::from(N)));
    assert_eq!(sent.list_pages, 20, "pages of 500");
    assert_eq!(report.already_present().count(), (N - 5) as usize);
    assert_eq!(report.succeeded.len(), 10, "{}", report.summary());
    assert_eq!(
        report
            .succeeded
            .iter()
            .filter(|f| f.replaced.is_some())
            .count(),
        5
    );
    let mut sent_names = succeeded(&report);
    sent_names.retain(|n| !n.starts_with("new"));
    assert_eq!(sent_names, names(changed.iter().copied()));
    assert_eq!((sent.sessions, sent.puts), (1, 10));
    assert_eq!(report.compared_by_size_only(), 0);

    let now = assets(&c, &ds);
    assert_eq!(now.len(), (N + 5) as usize);
    for skip in report.skipped.iter().step_by(997) {
        let (asset, _) = present_asset(&skip.reason).unwrap();
        assert_eq!(asset, &now[&skip.filename].0);
    }
}

/// A dry run lists what would be sent and what skipped, and sends nothing: no session, no
/// PUT; without `skip_existing` it does not even list the dataset.
pub fn a_dry_run_sends_nothing<F: Facade>(env: &ResumeEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "resume");
    let dir = env.path("set");
    let files = write_images(&dir, 4);
    let half: Vec<PathBuf> = files[..2].iter().map(|(n, _)| dir.join(n)).collect();
    c.assets()
        .upload(&ds, half, UploadOptions::new())
        .unwrap()
        .into_result()
        .unwrap();
    write_file(&dir.join("notes.txt"), b"not an image");
    let sources = UploadSources::new()
        .path(&dir)
        .bytes("empty.png", Vec::new());

    let options = UploadOptions::new().skip_existing(true).dry_run(true);
    let (report, sent) = env.counting(|| c.assets().upload(&ds, sources.clone(), options).unwrap());
    assert!(report.dry_run);
    assert_eq!(
        sent,
        Sent {
            list_pages: 1,
            sessions: 0,
            puts: 0
        }
    );
    assert!(report.sessions.is_empty() && report.succeeded.is_empty());
    assert_eq!(report.bytes_uploaded, 0);
    assert_eq!(
        names(report.planned.iter().map(|p| &p.filename)),
        ["f0002.png", "f0003.png"]
    );
    assert_eq!(report.planned[0].size, files[2].1.len() as u64);
    assert_eq!(report.already_present().count(), 2);
    assert_eq!(report.skipped.len(), 3, "the empty file too");
    assert_eq!(report.total_files(), 5);
    assert!(!report.is_success(), "the empty file is a problem");
    let summary = report.summary();
    assert!(summary.contains("Dry run, nothing sent"), "{summary}");
    assert!(summary.contains("Would send"), "{summary}");
    assert!(
        summary.contains("empty.png"),
        "the problem is listed: {summary}"
    );
    assert_eq!(assets(&c, &ds).len(), 2, "the dataset is unchanged");

    let (plain, sent) = env.counting(|| {
        c.assets()
            .upload(&ds, dir.as_path(), UploadOptions::new().dry_run(true))
            .unwrap()
    });
    assert_eq!(plain.planned.len(), 4, "{}", plain.summary());
    assert_eq!(plain.assets_listed, None);
    assert!(plain.is_success());
    assert_eq!((sent.list_pages, sent.sessions, sent.puts), (0, 0, 0));
}
