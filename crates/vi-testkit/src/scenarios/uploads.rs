//! Upload scenarios: what is uploaded from folders, paths and bytes (and what is skipped),
//! batches, not waiting, and input refused before sending. Every report number is checked
//! exactly, and uploaded bytes are read back from the service.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`Facade`] (see [`crate::upload_tests!`]). The helpers here serve the other upload
//! suites too: [`upload_retries`](super::upload_retries),
//! [`upload_verdicts`](super::upload_verdicts) and [`upload_cancel`](super::upload_cancel).

use std::sync::{Arc, Mutex};

use vi_core::api::{ProgressEvent, SkipReason, UploadOptions, UploadSources};
use vi_core::{DatasetId, ErrorKind, ListAssetsOptions};

use crate::TestEnv;
use crate::facade::{AssetOps, Facade, new_dataset};

/// The dataset's assets as (filename, size), sorted, read through the API.
pub(super) fn listed<F: Facade>(c: &F, ds: &DatasetId) -> Vec<(String, u64)> {
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

/// Writes `count` distinct small PNGs `<prefix><i>.png` into folder `name` of the test
/// directory and returns the folder.
pub(super) fn small_pngs(
    env: &TestEnv,
    name: &str,
    prefix: &str,
    count: u32,
) -> std::path::PathBuf {
    let root = env.path(name);
    for i in 0..count {
        crate::write_file(&root.join(format!("{prefix}{i}.png")), &crate::png(5, 5, i));
    }
    root
}

/// Downloads the asset named `name` and returns its bytes.
pub(super) fn fetch<F: Facade>(env: &TestEnv, c: &F, ds: &DatasetId, name: &str) -> Vec<u8> {
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
