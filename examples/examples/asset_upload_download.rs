//! The asset upload and download walkthrough, with the blocking client.
//!
//! Run: `cargo run --example asset_upload_download`
//! (against the embedded emulator unless `DATATURE_VI_SECRET_KEY` is set).

use std::time::UNIX_EPOCH;

use vi_blocking::{
    Client, CountAssetsOptions, DownloadOptions, ListAssetsOptions, NewDataset, UploadOptions,
};

fn main() -> vi_blocking::Result<()> {
    let (config, _emulator) = vi_examples::setup()?;
    let client = Client::from_config(config)?;
    let work = tempfile::tempdir().map_err(|e| vi_blocking::Error::io("temporary directory", e))?;

    // 1. Find the walkthrough dataset, or create it.
    let name = "Asset walkthrough (Rust)";
    let mut dataset = None;
    for found in client.datasets().list(100)? {
        let found = found?;
        if found.name == name {
            dataset = Some(found);
            break;
        }
    }
    let dataset = match dataset {
        Some(d) => d,
        None => client
            .datasets()
            .create(NewDataset::new(name).description("created by the vi-rs walkthrough"))?,
    };
    let dataset_id = dataset.id()?;
    println!("Dataset {} ({dataset_id})", dataset.name);

    // 2. Five sample images.
    let images = work.path().join("images");
    let paths =
        vi_examples::sample_images(&images, 5).map_err(|e| vi_blocking::Error::io(&images, e))?;
    println!(
        "Created {} sample images in {}",
        paths.len(),
        images.display()
    );

    // 3. Upload one image.
    let single = client
        .assets()
        .upload(&dataset_id, paths[0].as_path(), UploadOptions::new())?;
    println!("\nSingle image:\n{}", single.summary());

    // 4. Upload the whole folder (the first image again replaces itself).
    let folder = client
        .assets()
        .upload(&dataset_id, images.as_path(), UploadOptions::new())?;
    println!("Folder:\n{}", folder.summary());

    // 5. The first page of assets.
    let page = client
        .assets()
        .page(&dataset_id, ListAssetsOptions::new().page_size(10), None)?;
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
            .get_with_contents(&dataset_id, &first.id()?)?;
        if let Some(url) = asset.download_url() {
            let expires = url
                .expires_at()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            println!(
                "\n{}: download URL {} (expires at {}, {} s from the Unix epoch)",
                asset.filename,
                url.redacted_url(),
                url.expiry,
                expires
            );
        }
    }

    // 7. Download everything (files already there are skipped on a second run).
    let downloads = work.path().join("downloads");
    let report = client
        .assets()
        .download(&dataset_id, &downloads, DownloadOptions::new())?;
    println!("\n{}", report.summary());

    // 8. The large assets and the square ones, chosen here on the client as the official
    //    walkthrough does: the service's `filter` syntax is its own, passed verbatim, and
    //    this example must not depend on a guess about it.
    let (mut large, mut square) = (0, Vec::new());
    for asset in client
        .assets()
        .list(&dataset_id, ListAssetsOptions::new().page_size(1000))?
    {
        let asset = asset?;
        let m = &asset.metadata;
        if m.file_size > 10_000 {
            large += 1;
        }
        if m.width == m.height {
            square.push(format!("{} ({}x{})", asset.filename, m.width, m.height));
        }
    }
    println!("Large assets (over 10,000 bytes): {large}");
    for found in &square {
        println!("Square: {found}");
    }
    let total = client
        .assets()
        .count(&dataset_id, CountAssetsOptions::new())?;
    println!("The dataset now holds {total} assets.");
    Ok(())
}
