//! The dataset-with-labels walkthrough, with the blocking client: upload images, import
//! their Vi JSONL annotations, then download the dataset ready for training (export,
//! wait, ranged download, safe unpack) and read each image with its records.
//!
//! Run: `cargo run --example dataset_with_labels`
//! (against the embedded emulator unless `DATATURE_VI_SECRET_KEY` is set).

use vi_blocking::models::{
    AnnotationRecord, BoundingBox, DatasetType, GroundedPhrase, PhraseGrounding, RecordAsset,
    RecordContents, to_jsonl,
};
use vi_blocking::{Client, DatasetDownloadOptions, ImportOptions, NewDataset, UploadOptions};

/// Width and height from a PNG's header (bytes 16–23, big-endian).
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_default();
    let at = |i: usize| {
        bytes
            .get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_be_bytes)
    };
    (at(16), at(20))
}

fn main() -> vi_blocking::Result<()> {
    let (config, _emulator) = vi_examples::setup()?;
    let client = Client::from_config(config)?;
    let work = tempfile::tempdir().map_err(|e| vi_blocking::Error::io("temporary directory", e))?;

    // 1. A phrase-grounding dataset with four sample images.
    let dataset = client.datasets().create(
        NewDataset::new("Labels walkthrough (Rust)").dataset_type(DatasetType::PhraseGrounding),
    )?;
    let dataset_id = dataset.id()?;
    let images = work.path().join("images");
    let paths =
        vi_examples::sample_images(&images, 4).map_err(|e| vi_blocking::Error::io(&images, e))?;
    let uploaded = client
        .assets()
        .upload(&dataset_id, images.as_path(), UploadOptions::new())?;
    println!("Uploaded:\n{}", uploaded.summary());

    // 2. One Vi JSONL record per image (made in another tool, say), imported.
    let records: Vec<AnnotationRecord> = paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let (width, height) = png_size(path);
            let caption = PhraseGrounding::new(format!("a gradient with a bright corner {i}"))
                .phrase(
                    GroundedPhrase::new("a bright corner", 3, 6)
                        .bound(BoundingBox::new(0.5, 0.5, 1.0, 1.0)),
                );
            AnnotationRecord::new(
                format!("label-{i}"),
                RecordAsset::image(name, width, height),
                RecordContents::PhraseGrounding(caption),
            )
        })
        .collect();
    let labels = work.path().join("labels.jsonl");
    std::fs::write(&labels, to_jsonl(&records)).map_err(|e| vi_blocking::Error::io(&labels, e))?;
    let imported = client
        .annotations()
        .upload(&dataset_id, [labels], ImportOptions::new())?;
    println!("Imported {} annotations", imported.total_annotations());

    // 3. The whole dataset, 75% for training: created, waited for, downloaded, unpacked.
    let out = work.path().join("datasets");
    let options = DatasetDownloadOptions::new().split_ratio(0.75);
    let downloaded = client
        .datasets()
        .download_dataset(&dataset_id, &out, &options)?;
    println!("\nDownloaded to {}", downloaded.path.display());
    for split in &downloaded.splits {
        println!(
            "  {:<10} {} images, {} annotations",
            split.name, split.assets, split.annotations
        );
    }

    // 4. Each image with its records, paired by filename, for a training loop.
    for item in downloaded.folder()?.labeled_assets()? {
        let boxes: usize = item
            .records
            .iter()
            .map(|r| match &r.contents {
                RecordContents::PhraseGrounding(pg) => {
                    pg.grounded_phrases.iter().map(|p| p.bounds.len()).sum()
                }
                _ => 0,
            })
            .sum();
        println!(
            "  {:<10} {:<16} {} box(es)",
            item.split, item.filename, boxes
        );
    }

    // 5. Asking again finds the complete copy and creates no new export.
    let again = client
        .datasets()
        .download_dataset(&dataset_id, &out, &options)?;
    println!("\nSecond call: already present = {}", again.already_present);
    client.datasets().delete(&dataset_id)?;
    Ok(())
}
