//! Upload images held in memory (e.g. generated or received over the network).
//!
//! Run: `cargo run --example upload_bytes`

use vi_blocking::{Client, UploadOptions, UploadSources};

fn main() -> vi_blocking::Result<()> {
    let (config, _emulator) = vi_examples::setup()?;
    let client = Client::from_config(config)?;
    let dataset = client.datasets().create("In-memory uploads")?.id()?;

    // Any mix of (name, bytes) items; the name's extension decides the MIME type, and the
    // content is sniffed to catch mismatches.
    let sources = UploadSources::new()
        .bytes("generated_0.png", vi_examples::png_bytes(64, 64, 1))
        .bytes("generated_1.png", vi_examples::png_bytes(32, 48, 2))
        .bytes("not-an-image.png", b"plain text".to_vec());
    let report = client
        .assets()
        .upload(&dataset, sources, UploadOptions::new())?;
    println!("{}", report.summary());
    for skipped in &report.skipped {
        println!("skipped {}: {}", skipped.filename, skipped.reason);
    }
    assert_eq!(report.succeeded.len(), 2);
    Ok(())
}
