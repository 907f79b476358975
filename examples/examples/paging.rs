//! Page through all assets: item by item, page by page, and resuming from a saved cursor.
//!
//! Run: `cargo run --example paging`

use vi_blocking::{AssetSortBy, Client, ListAssetsOptions, SortOrder, UploadOptions};

fn main() -> vi_blocking::Result<()> {
    let (config, _emulator) = vi_examples::setup()?;
    let client = Client::from_config(config)?;
    let dataset = client.datasets().create("Paging demo")?.id()?;
    let items: Vec<(String, Vec<u8>)> = (0..25)
        .map(|i| {
            (
                format!("frame_{i:03}.png"),
                vi_examples::png_bytes(8 + i, 8, i),
            )
        })
        .collect();
    client
        .assets()
        .upload(&dataset, items, UploadOptions::new())?
        .into_result()?;

    // Item by item: pages of 10 are fetched lazily, all of them.
    let options = ListAssetsOptions::new()
        .page_size(10)
        .sort(AssetSortBy::Filename, SortOrder::Ascending);
    let mut count = 0;
    for asset in client.assets().list(&dataset, options.clone())? {
        let asset = asset?;
        count += 1;
        if count <= 3 {
            println!("{} ({} bytes)", asset.filename, asset.metadata.file_size);
        }
    }
    println!("... {count} assets in all");

    // Page by page.
    for (n, page) in client
        .assets()
        .list(&dataset, options.clone())?
        .pages()
        .enumerate()
    {
        println!("page {}: {} assets", n + 1, page?.items.len());
    }

    // One page now, the rest later: the cursor is a plain, serializable token.
    let first = client.assets().page(&dataset, options.clone(), None)?;
    let saved = first.next.clone().expect("more than one page");
    let second = client.assets().page(&dataset, options, Some(saved))?;
    println!(
        "resumed at {}",
        second.items.first().map_or("?", |a| a.filename.as_str())
    );
    Ok(())
}
