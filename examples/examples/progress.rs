//! Follow an upload and a download with progress events, and cancel on demand.
//!
//! Run: `cargo run --example progress`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vi_blocking::{CancelToken, Client, DownloadOptions, ProgressEvent, UploadOptions};

fn main() -> vi_blocking::Result<()> {
    let (config, _emulator) = vi_examples::setup()?;
    let client = Client::from_config(config)?;
    let dataset = client.datasets().create("Progress demo")?.id()?;
    let dir = tempfile::tempdir().map_err(|e| vi_blocking::Error::io("temporary directory", e))?;
    let images = dir.path().join("images");
    vi_examples::sample_images(&images, 10).map_err(|e| vi_blocking::Error::io(&images, e))?;

    // Progress arrives as events from worker threads: keep the callback quick.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let options = UploadOptions::new().progress(move |event: &ProgressEvent<'_>| match event {
        ProgressEvent::Planned { files, bytes } => {
            println!("uploading {files} files, {bytes} bytes")
        }
        ProgressEvent::SessionCreated { session, files } => {
            println!("session {session} for {files} files")
        }
        ProgressEvent::FileFinished { name, size, .. } => {
            let total = counter.fetch_add(*size, Ordering::Relaxed) + size;
            println!("  sent {name} ({total} bytes so far)");
        }
        ProgressEvent::FileFailed { name, reason } => println!("  {name} failed: {reason}"),
        _ => {}
    });
    let report = client
        .assets()
        .upload(&dataset, images.as_path(), options)?;
    println!("{}", report.summary());

    // A CancelToken stops a long download cleanly; here we cancel after three files.
    let token = CancelToken::new();
    let trigger = token.clone();
    let done = Arc::new(AtomicU64::new(0));
    let options = DownloadOptions::new()
        .concurrency(1)
        .cancel_token(token)
        .progress(move |event: &ProgressEvent<'_>| {
            if let ProgressEvent::FileFinished { name, .. } = event {
                println!("  downloaded {name}");
                if done.fetch_add(1, Ordering::Relaxed) + 1 == 3 {
                    trigger.cancel();
                }
            }
        });
    let report = client
        .assets()
        .download(&dataset, &dir.path().join("out"), options)?;
    println!("{}", report.summary());
    println!("cancelled: {}", report.cancelled);
    Ok(())
}
