//! The asset upload and download walkthrough, with the async client.
//!
//! Run: `cargo run --example asset_upload_download_async`
//! (against the embedded emulator unless `DATATURE_VI_SECRET_KEY` is set).

use futures_util::TryStreamExt;
use vi_async::{Client, DownloadOptions, ListAssetsOptions, NewDataset, UploadOptions};

#[tokio::main]
async fn main() -> vi_async::Result<()> {
    let (config, _emulator) = vi_examples::setup()?;
    let client = Client::from_config(config)?;
    let work = tempfile::tempdir().map_err(|e| vi_async::Error::io("temporary directory", e))?;

    // 1. Find the walkthrough dataset, or create it.
    let name = "Asset walkthrough (Rust, async)";
    let mut datasets = client.datasets().list(100)?.items();
    let mut dataset = None;
    while let Some(found) = datasets.try_next().await? {
        if found.name == name {
            dataset = Some(found);
            break;
        }
    }
    let dataset = match dataset {
        Some(d) => d,
        None => {
            client
                .datasets()
                .create(NewDataset::new(name).description("created by the vi-rs walkthrough"))
                .await?
        }
    };
    let dataset_id = dataset.id()?;
    println!("Dataset {} ({dataset_id})", dataset.name);

    // 2. Five sample images.
    let images = work.path().join("images");
    let paths =
        vi_examples::sample_images(&images, 5).map_err(|e| vi_async::Error::io(&images, e))?;
    println!(
        "Created {} sample images in {}",
        paths.len(),
        images.display()
    );

    // 3. Upload one image, then 4. the whole folder.
    let single = client
        .assets()
        .upload(&dataset_id, paths[0].as_path(), UploadOptions::new())
        .await?;
    println!("\nSingle image:\n{}", single.summary());
    let folder = client
        .assets()
        .upload(&dataset_id, images.as_path(), UploadOptions::new())
        .await?;
    println!("Folder:\n{}", folder.summary());

    // 5. The first page of assets.
    let page = client
        .assets()
        .page(&dataset_id, ListAssetsOptions::new().page_size(10), None)
        .await?;
    println!(
        "{:<18} {:<12} {:>9} {:>11} {:>11}",
        "filename", "asset id", "bytes", "dimensions", "annotations"
    );
    for asset in &page.items {
        let m = &asset.metadata;
        println!(
            "{:<18} {:<12} {:>9} {:>11} {:>11}",
            asset.filename,
            asset.asset_id,
            m.file_size,
            format!("{}x{}", m.width, m.height),
            m.annotations.total
        );
    }

    // 6. One asset with its signed download URL (a credential: print it redacted).
    if let Some(first) = page.items.first() {
        let asset = client
            .assets()
            .get_with_contents(&dataset_id, &first.id()?)
            .await?;
        if let Some(url) = asset.download_url() {
            println!(
                "\n{}: download URL {} (expires at {})",
                asset.filename,
                url.redacted_url(),
                url.expiry
            );
        }
    }

    // 7. Download everything.
    let downloads = work.path().join("downloads");
    let report = client
        .assets()
        .download(&dataset_id, &downloads, DownloadOptions::new())
        .await?;
    println!("\n{}", report.summary());

    // 8. Large assets and square ones, chosen on the client (the service's `filter` syntax
    //    is its own; this example does not depend on a guess about it).
    let mut large = 0;
    let mut assets = client
        .assets()
        .list(&dataset_id, ListAssetsOptions::new().page_size(1000))?
        .items();
    while let Some(asset) = assets.try_next().await? {
        let m = &asset.metadata;
        if m.file_size > 10_000 {
            large += 1;
        }
        if m.width == m.height {
            println!("Square: {} ({}x{})", asset.filename, m.width, m.height);
        }
    }
    println!("Large assets (over 10,000 bytes): {large}");
    Ok(())
}
