//! The async client's futures are `Send`, so they run inside `tokio::spawn` (the way async
//! services use them), and the client works on a current-thread runtime too.

use vi_async::{Client, DownloadOptions, ListAssetsOptions, UploadOptions};

#[test]
fn operations_run_inside_spawned_tasks_on_both_runtime_flavours() {
    let env = vi_testkit::TestEnv::new();
    for multi_thread in [true, false] {
        let runtime = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .unwrap();
        let config = env.config();
        let out = env.path(if multi_thread { "multi" } else { "current" });
        let files: Vec<(String, Vec<u8>)> = (0..4)
            .map(|i| (format!("s{i}.png"), vi_testkit::png(5, 5, i)))
            .collect();
        let expected = files.clone();
        runtime.block_on(async move {
            let client = Client::from_config(config).unwrap();
            let task = tokio::spawn(async move {
                let ds = client.datasets().create("spawned").await?.id()?;
                let up = client
                    .assets()
                    .upload(&ds, files, UploadOptions::new())
                    .await?;
                assert_eq!(up.succeeded.len(), 4, "{}", up.summary());
                let page = client
                    .assets()
                    .page(&ds, ListAssetsOptions::new(), None)
                    .await?;
                assert_eq!(page.items.len(), 4);
                client
                    .assets()
                    .download(&ds, &out, DownloadOptions::new())
                    .await
            });
            let report = task.await.unwrap().unwrap();
            assert_eq!(report.downloaded.len(), 4, "{}", report.summary());
            for (name, bytes) in &expected {
                assert_eq!(&std::fs::read(report.directory.join(name)).unwrap(), bytes);
            }
        });
    }
}

/// An upload whose future is dropped (here by a timeout) stops its transfers and cancels
/// the session that still had files to send, in the background; an immediate rerun with
/// `skip_existing` then leaves every file in the dataset exactly once, intact.
#[test]
fn a_dropped_upload_cancels_its_session_and_a_rerun_completes_it() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let env = vi_testkit::TestEnv::with(vi_testkit::EmulatorConfig {
        bandwidth: Some(40_000),
        record_to: Some(log.path().to_owned()),
        ..Default::default()
    });
    let files: Vec<(String, Vec<u8>)> = (0..12)
        .map(|i| (format!("d{i:02}.png"), vi_testkit::noisy_png(40, 40, i)))
        .collect();
    let (runtime, client, ds) = runtime_client_dataset(&env, "dropped");
    runtime.block_on(async {
        // Dropped a moment after its first transfer started (so its session exists),
        // long before the paced transfers can end (about 0.7 s at 40 kB/s, two at once).
        let (started, observer) = start_flag();
        let options = UploadOptions::new().concurrency(2).progress(observer);
        let assets = client.assets();
        let upload = assets.upload(&ds, files.clone(), options);
        let upload = async { upload.await.map(|r| r.summary()) };
        drop_after_first_start(upload, &started, std::time::Duration::from_millis(100)).await;
        // The cancel goes out in the background.
        let mut cancelled = false;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            cancelled = vi_testkit::scenarios::multipart::read_log(log.path())
                .iter()
                .any(|r| r.method == "POST" && r.route.contains("cancel") && r.status == 200);
            if cancelled {
                break;
            }
        }
        assert!(cancelled, "the dropped upload's session was cancelled");

        let again = client
            .assets()
            .upload(&ds, files.clone(), UploadOptions::new().skip_existing(true))
            .await
            .unwrap();
        assert!(again.failed.is_empty(), "{}", again.summary());
        assert_eq!(again.succeeded.len() + again.skipped.len(), files.len());
        let mut listed: Vec<(String, u64)> = client
            .assets()
            .page(&ds, ListAssetsOptions::new().page_size(100), None)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|a| (a.filename, a.metadata.file_size))
            .collect();
        listed.sort();
        let expected: Vec<(String, u64)> = files
            .iter()
            .map(|(n, b)| (n.clone(), b.len() as u64))
            .collect();
        assert_eq!(listed, expected);
    });
}

/// Every file under `dir` (recursively, the partial-file folder included) with its size.
fn sizes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.push((entry.path(), meta.len()));
            }
        }
    }
    out.sort();
    out
}

/// A download whose future is dropped (here by `select!`, as a timeout would) stops its
/// in-flight writers with it: no partial file changes and no file is put in place after
/// the drop (before issue 11: the transfers in flight went on detached, writing into the
/// partial files a rerun would start on). An immediate rerun then puts every file in place, byte for byte.
#[test]
fn a_dropped_download_stops_its_writers_and_a_rerun_gets_every_file_intact() {
    let env = vi_testkit::TestEnv::with(vi_testkit::EmulatorConfig {
        bandwidth: Some(40_000),
        ..Default::default()
    });
    // About 43 kB each: a second per file at 40 kB/s.
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("w{i}.png"), vi_testkit::noisy_png(120, 120, i)))
        .collect();
    let (runtime, client, ds) = runtime_client_dataset(&env, "dropped download");
    let out = env.path("dropped-download");
    runtime.block_on(async {
        let up = client
            .assets()
            .upload(&ds, files.clone(), UploadOptions::new().concurrency(6))
            .await
            .unwrap();
        assert_eq!(up.succeeded.len(), files.len(), "{}", up.summary());

        let (started, observer) = start_flag();
        let options = DownloadOptions::new().concurrency(3).progress(observer);
        let assets = client.assets();
        let download = assets.download(&ds, &out, options);
        let download = async { download.await.map(|r| r.summary()) };
        // Far from a file's end (a second each).
        drop_after_first_start(download, &started, std::time::Duration::from_millis(300)).await;
        // Whatever was in flight has had a moment to stop; from now on nothing may grow.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let at_drop = sizes(&out);
        assert!(
            at_drop
                .iter()
                .any(|(p, _)| p.extension().is_some_and(|e| e == "part")),
            "no transfer was in flight when the download was dropped: {at_drop:?}"
        );
        // Longer than a whole file takes: a transfer that went on detached would have
        // written its bytes and renamed its file into place by now.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(
            sizes(&out),
            at_drop,
            "files changed after the download was dropped"
        );

        let report = client
            .assets()
            .download(&ds, &out, DownloadOptions::new())
            .await
            .unwrap();
        assert!(report.failed.is_empty(), "{}", report.summary());
        assert_eq!(
            report.downloaded.len() + report.skipped.len(),
            files.len(),
            "{}",
            report.summary()
        );
        for (name, bytes) in &files {
            assert_eq!(
                &std::fs::read(report.directory.join(name)).unwrap(),
                bytes,
                "{name}"
            );
        }
    });
}

/// A multi-thread runtime, a client of `env` and a new dataset named `name` in it.
fn runtime_client_dataset(
    env: &vi_testkit::TestEnv,
    name: &str,
) -> (tokio::runtime::Runtime, Client, vi_async::DatasetId) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::from_config(env.config()).unwrap();
    let ds = runtime
        .block_on(client.datasets().create(name))
        .unwrap()
        .id()
        .unwrap();
    (runtime, client, ds)
}

/// Raised by a progress observer when the first file starts.
type StartFlag = std::sync::Arc<std::sync::atomic::AtomicBool>;

/// The flag, and the observer that raises it at the first `FileStarted`.
fn start_flag() -> (
    StartFlag,
    impl Fn(&vi_async::ProgressEvent<'_>) + Send + Sync + 'static,
) {
    let started = StartFlag::default();
    let flag = started.clone();
    let observer = move |e: &vi_async::ProgressEvent<'_>| {
        if matches!(e, vi_async::ProgressEvent::FileStarted { .. }) {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    };
    (started, observer)
}

/// Runs `work` until `after` has passed since the flag went up, then drops it; panics if
/// `work` ends first.
async fn drop_after_first_start<T: std::fmt::Debug>(
    work: impl std::future::Future<Output = T>,
    started: &StartFlag,
    after: std::time::Duration,
) {
    let moment = async {
        while !started.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::time::sleep(after).await;
    };
    tokio::select! {
        result = work => panic!("the transfer should still be running: {result:?}"),
        () = moment => {}
    }
}
