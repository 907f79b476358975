//! Upload scenarios: every report number is checked exactly, and uploaded bytes are read
//! back from the service.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`Facade`] (see [`crate::upload_tests!`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use vi_core::api::{
    CancelToken, ProgressEvent, SkipReason, UploadFailure, UploadFailureMode, UploadOptions,
    UploadSources,
};
use vi_core::{DatasetId, ErrorKind, ListAssetsOptions};

use crate::facade::{AssetOps, Facade, new_dataset};
use crate::{Fault, FaultKind, FaultTarget, TestEnv, status_fault};
use vi_emulator::{EmulatorConfig, FailureModel};

/// The dataset's assets as (filename, size), sorted, read through the API.
fn listed<F: Facade>(c: &F, ds: &DatasetId) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let listing = c
        .assets()
        .list(ds, ListAssetsOptions::new().page_size(1000))
        .unwrap();
    for page in listing {
        out.extend(
            page.unwrap()
                .items
                .into_iter()
                .map(|a| (a.filename, a.metadata.file_size)),
        );
    }
    out.sort();
    out
}

/// Lets the next `untouched` uploads through, then has the storage find the one after
/// them corrupt (`ECORRUPT`).
fn corrupt_upload_after(env: &TestEnv, untouched: u32) {
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Delay(std::time::Duration::ZERO),
        times: untouched,
    });
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::CorruptUploadCheck,
        times: 1,
    });
}

/// Writes `count` distinct small PNGs `<prefix><i>.png` into folder `name` of the test
/// directory and returns the folder.
fn small_pngs(env: &TestEnv, name: &str, prefix: &str, count: u32) -> std::path::PathBuf {
    let root = env.path(name);
    for i in 0..count {
        crate::write_file(&root.join(format!("{prefix}{i}.png")), &crate::png(5, 5, i));
    }
    root
}

/// Downloads the asset named `name` and returns its bytes.
fn fetch<F: Facade>(env: &TestEnv, c: &F, ds: &DatasetId, name: &str) -> Vec<u8> {
    let page = c
        .assets()
        .page(
            ds,
            ListAssetsOptions::new().page_size(1000).with_contents(true),
            None,
        )
        .unwrap();
    let asset = page
        .items
        .into_iter()
        .find(|a| a.filename == name)
        .expect("asset listed");
    let url = asset.contents.unwrap().asset.unwrap();
    let dest = env.path(&format!("fetched-{}", name.replace('/', "_")));
    c.assets().download_url(&url, &dest).unwrap();
    std::fs::read(dest).unwrap()
}

/// One file: every report number, the listed asset (size, dimensions, MIME) and its bytes
/// read back.
pub fn upload_one_file<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let bytes = crate::png(12, 8, 1);
    let path = env.path("one/cat.png");
    crate::write_file(&path, &bytes);
    let report = c
        .assets()
        .upload(&ds, path.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.total_files(), 1);
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(
        (
            report.failed.len(),
            report.skipped.len(),
            report.processing.len()
        ),
        (0, 0, 0)
    );
    assert_eq!(report.bytes_uploaded, bytes.len() as u64);
    assert_eq!(report.sessions.len(), 1);
    assert_eq!(report.session_ids().len(), 1);
    assert_eq!(report.success_rate(), 100.0);
    assert!(report.is_complete() && report.is_success() && !report.cancelled);
    assert_eq!(report.succeeded[0].filename, "cat.png");
    assert!(report.summary().contains("Succeeded"));
    assert_eq!(
        listed(&c, &ds),
        vec![("cat.png".to_owned(), bytes.len() as u64)]
    );
    assert_eq!(fetch(env, &c, &ds, "cat.png"), bytes);
    let asset = c
        .assets()
        .page(&ds, ListAssetsOptions::new(), None)
        .unwrap()
        .items
        .remove(0);
    assert_eq!((asset.metadata.width, asset.metadata.height), (12, 8));
    assert_eq!(asset.metadata.mime_type, "image/png");
    report.into_result().unwrap();
}

/// A nested folder with hidden, empty, fake and mislabelled files: which are uploaded, which
/// are skipped and why, and what is left alone in the folder scan.
pub fn upload_a_nested_folder_with_mixed_files<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = env.path("photos");
    let a = crate::png(5, 5, 1);
    let b = crate::png(6, 5, 2);
    let d = crate::png(7, 5, 3);
    crate::write_file(&root.join("a.png"), &a);
    crate::write_file(&root.join("deep/er/B.PNG"), &b);
    crate::write_file(&root.join(".hidden/d.png"), &d);
    crate::write_file(&root.join("notes.txt"), b"not an image");
    crate::write_file(
        &root.join("deep/fake.jpg"),
        b"this is text, not a jpeg at all",
    );
    crate::write_file(&root.join("deep/empty.png"), b"");
    // A real PNG named .mp4: the content says image, the extension says video.
    crate::write_file(&root.join("clip.mp4"), &crate::png(3, 3, 9));
    let report = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new())
        .unwrap();
    let mut ok: Vec<&str> = report
        .succeeded
        .iter()
        .map(|f| f.filename.as_str())
        .collect();
    ok.sort();
    assert_eq!(ok, ["B.PNG", "a.png", "d.png"], "{}", report.summary());
    // notes.txt is not an upload candidate in a folder scan; the other three are skipped.
    assert_eq!(report.total_files(), 6);
    assert_eq!(report.skipped.len(), 3, "{}", report.summary());
    let reason = |name: &str| {
        report
            .skipped
            .iter()
            .find(|s| s.filename == name)
            .map(|s| s.reason.clone())
    };
    assert!(
        matches!(reason("fake.jpg"), Some(SkipReason::UnrecognizedContent)),
        "{:?}",
        reason("fake.jpg")
    );
    assert!(matches!(reason("empty.png"), Some(SkipReason::EmptyFile)));
    assert!(
        matches!(reason("clip.mp4"), Some(SkipReason::ContentMismatch { .. })),
        "{:?}",
        reason("clip.mp4")
    );
    assert!(report.failed.is_empty() && report.processing.is_empty());
    assert_eq!(
        report.ignored_in_folders, 1,
        "notes.txt is counted, not lost"
    );
    assert!(
        report.summary().contains("left alone in the folders: 1"),
        "{}",
        report.summary()
    );
    assert_eq!(report.bytes_uploaded, (a.len() + b.len() + d.len()) as u64);
    assert!((report.success_rate() - 50.0).abs() < 1e-9);
    assert!(report.into_result().is_err(), "skips make into_result fail");
    assert_eq!(fetch(env, &c, &ds, "B.PNG"), b);
}

/// In-memory bytes (with and without an extension) and an explicitly named text file, which
/// is skipped.
pub fn upload_in_memory_bytes_and_an_explicit_unsupported_file<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let one = crate::png(9, 4, 1);
    let two = crate::png(4, 9, 2);
    let text = env.path("readme.txt");
    crate::write_file(&text, b"hello");
    let sources = UploadSources::new()
        .bytes("mem-one.png", one.clone())
        .bytes("no-extension", two.clone())
        .path(&text);
    let report = c
        .assets()
        .upload(&ds, sources, UploadOptions::new())
        .unwrap();
    let mut ok: Vec<&str> = report
        .succeeded
        .iter()
        .map(|f| f.filename.as_str())
        .collect();
    ok.sort();
    assert_eq!(ok, ["mem-one.png", "no-extension"], "{}", report.summary());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].filename, "readme.txt");
    assert_eq!(report.total_files(), 3);
    assert_eq!(fetch(env, &c, &ds, "mem-one.png"), one);
    assert_eq!(fetch(env, &c, &ds, "no-extension"), two);
}

/// Two files with the same name in two folders: the first is uploaded with its own bytes,
/// the second is skipped as a duplicate name.
pub fn same_filename_in_two_folders_is_never_mixed_up<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let first = crate::png(10, 10, 1);
    let second = crate::png(20, 20, 2);
    crate::write_file(&env.path("set/a/img.png"), &first);
    crate::write_file(&env.path("set/b/img.png"), &second);
    let report = c
        .assets()
        .upload(&ds, env.path("set"), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.skipped.len(), 1);
    match &report.skipped[0].reason {
        SkipReason::DuplicateName { first } => {
            assert!(first.ends_with("a/img.png"), "{first:?}")
        }
        other => panic!("unexpected reason {other:?}"),
    }
    assert!(
        report.skipped[0].reason.to_string().contains("img.png")
            || report.skipped[0].reason.to_string().contains("name")
    );
    // The uploaded bytes are exactly the first file's.
    assert_eq!(fetch(env, &c, &ds, "img.png"), first);
}

/// Seven files in batches of three: three sessions, progress events for each session and
/// file, and a batch size over 5000 refused.
pub fn more_files_than_one_batch<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = env.path("many");
    for i in 0..7 {
        crate::write_file(&root.join(format!("f{i}.png")), &crate::png(3 + i, 3, i));
    }
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = events.clone();
    let options = UploadOptions::new()
        .batch_size(3)
        .max_sessions_in_flight(2)
        .concurrency(2)
        .progress(move |e: &ProgressEvent<'_>| {
            let tag = match e {
                ProgressEvent::SessionCreated { .. } => "session",
                ProgressEvent::FileStarted { .. } => "started",
                ProgressEvent::FileFinished { .. } => "finished",
                _ => return,
            };
            seen.lock().unwrap().push(tag.to_owned());
        });
    let report = c.assets().upload(&ds, root.as_path(), options).unwrap();
    assert_eq!(report.succeeded.len(), 7, "{}", report.summary());
    assert_eq!(report.sessions.len(), 3);
    let mut ids = report.session_ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let events = events.lock().unwrap();
    assert_eq!(events.iter().filter(|e| *e == "session").count(), 3);
    assert_eq!(events.iter().filter(|e| *e == "started").count(), 7);
    assert_eq!(events.iter().filter(|e| *e == "finished").count(), 7);
    assert_eq!(listed(&c, &ds).len(), 7);
    let err = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new().batch_size(5001))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// Uploads one file after `fault`, expects it to arrive through a second session (its
/// first URL given up), and returns how many PUTs it took.
fn arrives_through_a_fresh_session<F: Facade>(c: &F, env: &TestEnv, fault: Fault) -> u64 {
    let ds = new_dataset(c, "uploads");
    let bytes = crate::png(6, 6, 9);
    let path = env.path("moved.png");
    crate::write_file(&path, &bytes);
    env.emulator.inject(fault);
    let before = env.emulator.stats();
    let report = c
        .assets()
        .upload(&ds, path.as_path(), UploadOptions::new())
        .unwrap();
    let after = env.emulator.stats();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.sessions.len(), 2, "a second session for the file");
    assert_ne!(
        report.succeeded[0].session,
        report.sessions[0].id().unwrap()
    );
    assert_eq!(
        after.expired_urls, before.expired_urls,
        "a PUT reached an expired URL"
    );
    assert_eq!(fetch(env, c, &ds, "moved.png"), bytes);
    after.upload_requests - before.upload_requests
}

/// A PUT whose URL the storage refuses (403, as for an expired or bad signature) is not
/// tried again on that URL: the file moves to a fresh session and arrives.
pub fn a_refused_upload_url_moves_the_file_to_a_fresh_session<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let puts = arrives_through_a_fresh_session(&c, env, status_fault(FaultTarget::Upload, 403, 1));
    assert_eq!(puts, 2, "one PUT per URL");
}

/// A retry that would start after the URL's expiry (here a 503 asking to wait 3 s on a
/// URL that lives 2 s) is not sent to the dead URL: the file moves to a fresh session.
pub fn a_retry_never_reaches_an_expired_url<F: Facade>(_: &TestEnv) {
    let env = &TestEnv::with(EmulatorConfig {
        signed_url_ttl: std::time::Duration::from_secs(2),
        ..EmulatorConfig::default()
    });
    // Retry-After is honoured up to `max_delay`.
    let patient = vi_core::retry::RetryPolicy {
        max_delay: std::time::Duration::from_secs(5),
        ..crate::fast_retries()
    };
    let config = env.config_builder().retry_policy(patient);
    let c = F::from_config(config.build_with_env(&|_| None).unwrap()).unwrap();
    let late = Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Status {
            status: 503,
            retry_after: Some(3),
        },
        times: 1,
    };
    assert_eq!(arrives_through_a_fresh_session(&c, env, late), 2);
}

/// 12,000 files and upload URLs that live 3 seconds: sessions are opened as their files
/// can start and sized to what goes through while their URLs live; a file whose URL ran
/// out moves to a fresh session. Every file arrives, and no PUT reaches the storage with
/// an expired URL. (Before: 5 sessions of 5000 URLs at once, and a crawl of PUTs on dead
/// URLs after the first few thousand files.)
pub fn twelve_thousand_files_with_three_second_urls<F: Facade>(_: &TestEnv) {
    const FILES: usize = 12_000;
    let env = &TestEnv::with(EmulatorConfig {
        signed_url_ttl: std::time::Duration::from_secs(3),
        ..EmulatorConfig::default()
    });
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = env.path("twelve");
    let bytes = crate::png(2, 2, 1);
    for i in 0..FILES {
        crate::write_file(&root.join(format!("t{i:05}.png")), &bytes);
    }
    let report = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), FILES, "{}", report.summary());
    assert_eq!(report.total_files(), FILES);
    assert_eq!(
        env.emulator.stats().expired_urls,
        0,
        "a PUT reached an expired URL"
    );
    assert_eq!(listed(&c, &ds).len(), FILES);
}

/// A session creation (a POST, not repeated on a 5xx by the API's retries) that fails
/// twice is asked for again and the file arrives, its own second chances untouched (the
/// 100,000-file soak lost 8 files when failed creations used them up); five failures in
/// a row fail the files with the reason.
pub fn a_session_creation_that_fails_is_asked_for_again<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = small_pngs(env, "create", "c", 3);
    let creation = |times| Fault {
        target: FaultTarget::ApiMatching {
            method: Some("POST".into()),
            path_contains: Some("assetIngestionSessions".into()),
        },
        kind: FaultKind::Status {
            status: 500,
            retry_after: None,
        },
        times,
    };
    env.emulator.inject(creation(2));
    // Then every PUT of the first three rounds fails: the file still has its three
    // second chances, so the fourth round gets it through.
    env.emulator
        .inject(status_fault(FaultTarget::Upload, 500, 12));
    let one = root.join("c0.png");
    let report = c
        .assets()
        .upload(&ds, one.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.sessions.len(), 1);

    env.emulator.inject(creation(5));
    let report = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.failed.len(), 3, "{}", report.summary());
    assert!(
        report
            .failed
            .iter()
            .all(|f| matches!(f.reason, UploadFailure::SessionNotCreated { .. })),
        "{}",
        report.summary()
    );
}

/// A signed PUT answered 503 twice is retried and the file arrives intact.
pub fn a_put_that_fails_twice_with_503_then_succeeds<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let bytes = crate::png(8, 8, 5);
    let path = env.path("retry.png");
    crate::write_file(&path, &bytes);
    env.emulator
        .inject(status_fault(FaultTarget::Upload, 503, 2));
    let report = c
        .assets()
        .upload(&ds, path.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(fetch(env, &c, &ds, "retry.png"), bytes);
}

/// A PUT failing for good (500 on its 4 attempts, and again on each of its 3 second
/// chances) fails that file only, with a reason that names the status and no signed URL.
pub fn a_put_failing_for_good_fails_that_file_only<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    crate::write_file(&env.path("two/a.png"), &crate::png(8, 8, 1));
    crate::write_file(&env.path("two/b.png"), &crate::png(8, 8, 2));
    // a.png (sent first) goes through untouched; every attempt at b.png fails.
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Delay(std::time::Duration::ZERO),
        times: 1,
    });
    env.emulator
        .inject(status_fault(FaultTarget::Upload, 500, 16));
    let options = UploadOptions::new()
        .concurrency(1)
        .failure_mode(UploadFailureMode::FailAfterAll);
    let report = c.assets().upload(&ds, env.path("two"), options).unwrap();
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.failed[0].filename, "b.png");
    assert!(
        matches!(
            report.failed[0].reason,
            UploadFailure::Transfer {
                status: Some(500),
                ..
            }
        ),
        "{:?}",
        report.failed[0].reason
    );
    assert!(
        !report.failed[0].reason.to_string().contains("signature"),
        "no signed URL in reasons"
    );
    // The file the service took in is an asset when the call returns, although its
    // session still waits for the file that never arrived.
    let names: Vec<String> = listed(&c, &ds).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec![report.succeeded[0].filename.clone()]);
}

/// Under failure model (b) a `FailAfterOne` session ends `FailedReach` once a file
/// fails; the files the service had already taken in (and counted succeeded) are
/// reported succeeded, and exactly those are assets. The others are reported with the
/// service's reasons.
pub fn files_taken_in_before_a_failed_reach_are_reported_succeeded<F: Facade>(_: &TestEnv) {
    let env = &TestEnv::with(EmulatorConfig {
        failure_model: FailureModel::FailedReachOnFirstError,
        ..EmulatorConfig::default()
    });
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = small_pngs(env, "reach", "r", 4);
    // The first two uploads go through untouched, the third is found corrupt.
    corrupt_upload_after(env, 2);
    let options = UploadOptions::new().concurrency(1);
    let report = c.assets().upload(&ds, root.as_path(), options).unwrap();
    assert_eq!(report.sessions.len(), 1);
    assert!(
        report.sessions[0].failure().is_some(),
        "the session ended FailedReach"
    );
    let mut succeeded: Vec<String> = report
        .succeeded
        .iter()
        .map(|f| f.filename.clone())
        .collect();
    succeeded.sort();
    assert_eq!(succeeded, ["r0.png", "r1.png"], "{}", report.summary());
    assert_eq!(report.failed.len(), 2, "{}", report.summary());
    for f in &report.failed {
        assert!(
            matches!(f.reason, UploadFailure::Rejected { .. }),
            "{}: {:?}",
            f.filename,
            f.reason
        );
    }
    let names: Vec<String> = listed(&c, &ds).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names, succeeded,
        "the report names exactly the assets that exist"
    );
}

/// Under `FailAfterOne` (the default) the service gives up on the rest of a session once
/// a file fails. The engine looks at the session after such a failure and does not send
/// the files it gave up on; each is reported with the service's reason (`EUNKNOWN`).
pub fn files_the_service_gave_up_on_are_not_sent<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = small_pngs(env, "given-up", "g", 8);
    // g0 goes through, g1 is found corrupt.
    corrupt_upload_after(env, 1);
    let before = env.emulator.stats();
    let report = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new().concurrency(1))
        .unwrap();
    let puts = env.emulator.stats().upload_requests - before.upload_requests;
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.failed.len(), 7, "{}", report.summary());
    // g0, g1, and at most the one transfer started while the session was being looked at.
    assert!(puts <= 3, "{puts} PUTs for 8 files");
    let unknown = report
        .failed
        .iter()
        .filter(|f| matches!(&f.reason, UploadFailure::Rejected { code } if code.as_str() == "EUNKNOWN"))
        .count();
    assert_eq!(unknown, 6, "{}", report.summary());
}

/// A body the service finds corrupt is reported failed (ECORRUPT) and creates no asset.
pub fn a_corrupted_body_is_rejected_by_the_service<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let path = env.path("bad.png");
    crate::write_file(&path, &crate::png(8, 8, 7));
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::CorruptUploadCheck,
        times: 1,
    });
    let report = c
        .assets()
        .upload(&ds, path.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), 0, "{}", report.summary());
    assert_eq!(report.failed.len(), 1);
    let reason = report.failed[0].reason.to_string();
    assert!(
        reason.contains("ECORRUPT") || reason.contains("400"),
        "{reason}"
    );
    assert!(listed(&c, &ds).is_empty());
}

/// With `wait(false)` a file is reported processing or done, never both, never lost.
pub fn without_waiting_files_are_reported_processing_or_done<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let path = env.path("nowait.png");
    crate::write_file(&path, &crate::png(8, 8, 3));
    let report = c
        .assets()
        .upload(&ds, path.as_path(), UploadOptions::new().wait(false))
        .unwrap();
    // Without waiting, the session is looked at once: a file is reported done only if
    // the service has already taken it in, else processing. Never both, never lost.
    assert_eq!(report.total_files(), 1);
    assert_eq!(
        report.processing.len() + report.succeeded.len(),
        1,
        "{}",
        report.summary()
    );
    assert_eq!(report.is_complete(), report.processing.is_empty());
    assert!(report.summary().contains("Processing"));
}

/// Cancelling after four of ten files stops the upload and cancels the session: the
/// files the service had taken in before the cancel are reported succeeded and are
/// assets; every other file is reported cancelled and is not.
pub fn cancelling_halfway_stops_and_cancels_the_session<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = env.path("cancel");
    for i in 0..10 {
        crate::write_file(&root.join(format!("c{i:02}.png")), &crate::png(4, 4, i));
    }
    let token = CancelToken::new();
    let trigger = token.clone();
    let finished = Arc::new(AtomicUsize::new(0));
    let count = finished.clone();
    let options = UploadOptions::new()
        .concurrency(1)
        .cancel_token(token)
        .progress(move |e: &ProgressEvent<'_>| {
            if matches!(e, ProgressEvent::FileFinished { .. })
                && count.fetch_add(1, Ordering::SeqCst) + 1 == 4
            {
                trigger.cancel();
            }
        });
    let report = c.assets().upload(&ds, root.as_path(), options).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.total_files(), 10);
    assert_eq!(report.succeeded.len() + report.failed.len(), 10);
    assert!(
        report
            .failed
            .iter()
            .all(|f| f.reason == UploadFailure::Cancelled),
        "{}",
        report.summary()
    );
    let sent = finished.load(Ordering::SeqCst);
    assert!((4..10).contains(&sent), "stopped early: {sent}");
    assert!(report.succeeded.len() <= sent, "{}", report.summary());
    assert!(!report.failed.is_empty(), "{}", report.summary());
    let mut assets: Vec<String> = listed(&c, &ds).into_iter().map(|(n, _)| n).collect();
    let mut succeeded: Vec<String> = report
        .succeeded
        .iter()
        .map(|f| f.filename.clone())
        .collect();
    assets.sort();
    succeeded.sort();
    assert_eq!(
        assets, succeeded,
        "the report names exactly the assets that exist"
    );
    assert!(report.summary().contains("cancelled"));
}

/// A token cancelled before the upload opens no session and reports every input as
/// cancelled.
pub fn a_token_fired_before_the_upload_sends_nothing_and_loses_nothing<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = env.path("early");
    for i in 0..6 {
        crate::write_file(&root.join(format!("e{i}.png")), &crate::png(4, 4, i));
    }
    let token = CancelToken::new();
    token.cancel();
    let sources = UploadSources::new()
        .path(&root)
        .bytes("mem.png", crate::png(3, 3, 9));
    let options = UploadOptions::new().cancel_token(token);
    let report = c.assets().upload(&ds, sources, options).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.total_files(), 7, "{}", report.summary());
    assert_eq!(report.failed.len(), 7);
    assert!(
        report
            .failed
            .iter()
            .all(|f| f.reason == UploadFailure::Cancelled)
    );
    assert!(report.sessions.is_empty(), "no session was opened");
    assert_eq!(report.bytes_uploaded, 0);
}

/// Missing paths, empty sources, names with `/` are `InvalidInput`; an unknown dataset is
/// `NotFound`.
pub fn bad_upload_input_is_refused_before_sending<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let missing = env.path("does/not/exist");
    let err = c
        .assets()
        .upload(&ds, missing.as_path(), UploadOptions::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("does/not/exist"), "{err}");
    let err = c
        .assets()
        .upload(&ds, UploadSources::new(), UploadOptions::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = c
        .assets()
        .upload(
            &ds,
            UploadSources::new().bytes("a/b.png", vec![1u8]),
            UploadOptions::new(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let path = env.path("x.png");
    crate::write_file(&path, &crate::png(2, 2, 2));
    let unknown = DatasetId::new("nosuchdataset").unwrap();
    let err = c
        .assets()
        .upload(&unknown, path.as_path(), UploadOptions::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}
