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
