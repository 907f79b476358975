//! Download only chosen assets, and one asset to an exact path.
//!
//! Run: `cargo run --example download_chosen`

use vi_blocking::{Client, DownloadOptions, ListAssetsOptions, UploadOptions};

fn main() -> vi_blocking::Result<()> {
    let (config, _emulator) = vi_examples::setup()?;
    let client = Client::from_config(config)?;
    let dataset = client.datasets().create("Chosen downloads")?.id()?;
    let items: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("shot_{i}.png"), vi_examples::png_bytes(16, 16, i)))
        .collect();
    client
        .assets()
        .upload(&dataset, items, UploadOptions::new())?
        .into_result()?;

    // Pick two assets by id.
    let page = client
        .assets()
        .page(&dataset, ListAssetsOptions::new().page_size(100), None)?;
    let chosen: Vec<_> = page
        .items
        .iter()
        .filter(|a| a.filename.ends_with("_1.png") || a.filename.ends_with("_4.png"))
        .map(|a| a.id())
        .collect::<vi_blocking::Result<_>>()?;

    let out = tempfile::tempdir().map_err(|e| vi_blocking::Error::io("temporary directory", e))?;
    let report = client.assets().download(
        &dataset,
        out.path(),
        DownloadOptions::new().assets(chosen.clone()),
    )?;
    println!("{}", report.summary());
    for file in &report.downloaded {
        println!("{} -> {}", file.filename, file.path.display());
    }

    // One asset to exactly this path.
    let single = out.path().join("picked.png");
    let file = client
        .assets()
        .download_asset(&dataset, &chosen[0], &single)?;
    println!("{} bytes written to {}", file.size, file.path.display());
    Ok(())
}
