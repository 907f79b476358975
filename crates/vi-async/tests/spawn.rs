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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::from_config(env.config()).unwrap();
    runtime.block_on(async {
        let ds = client
            .datasets()
            .create("dropped")
            .await
            .unwrap()
            .id()
            .unwrap();
        // Dropped a moment after its first transfer started (so its session exists),
        // long before the paced transfers can end (about 0.7 s at 40 kB/s, two at once).
        let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = started.clone();
        let options = UploadOptions::new()
            .concurrency(2)
            .progress(move |e: &vi_async::ProgressEvent<'_>| {
                if matches!(e, vi_async::ProgressEvent::FileStarted { .. }) {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            });
        let assets = client.assets();
        let upload = assets.upload(&ds, files.clone(), options);
        let moment = async {
            while !started.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        tokio::select! {
            report = upload => panic!("the upload should still be running: {:?}", report.map(|r| r.summary())),
            () = moment => {}
        }
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
