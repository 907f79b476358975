//! Shared setup for the examples.
//!
//! With `DATATURE_VI_SECRET_KEY` set, the examples use the configured service (the
//! `DATATURE_VI_*` variables). Without it they start the embedded `vi-emulator` in-process,
//! so they run anywhere with nothing but the Rust toolchain, and say so on their first line.

use std::path::Path;

use vi_core::{Config, ConfigBuilder, Result};
use vi_emulator::{Emulator, EmulatorConfig};

/// A configuration for the examples, and the emulator serving it when one was started
/// (keep it alive for as long as the client is used).
pub fn setup() -> Result<(Config, Option<Emulator>)> {
    let has_key = std::env::var("DATATURE_VI_SECRET_KEY").is_ok_and(|k| !k.trim().is_empty());
    if has_key {
        let config = ConfigBuilder::default().build()?;
        println!("Using the Vi API at {}", config.origin());
        return Ok((config, None));
    }
    let emulator =
        Emulator::start_with(EmulatorConfig::default()).map_err(|e| vi_core::Error::Config {
            message: format!("could not start the embedded emulator: {e}"),
        })?;
    println!(
        "DATATURE_VI_SECRET_KEY is not set: using the embedded Vi emulator at {}",
        emulator.url()
    );
    let config = ConfigBuilder::default()
        .endpoint(emulator.url())
        .secret_key(emulator.secret_key())
        .organization_id(emulator.organization_id())
        .build_with_env(&|_| None)?;
    Ok((config, Some(emulator)))
}

/// Writes `count` sample PNG images of different sizes into `dir` (two of them square) and
/// returns their paths.
pub fn sample_images(dir: &Path, count: u32) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    (0..count)
        .map(|i| {
            let (w, h) = match i % 5 {
                0 => (640, 480),
                1 => (256, 256),
                2 => (1024, 768),
                3 => (128, 128),
                _ => (320, 240),
            };
            let path = dir.join(format!("sample_{i:03}.png"));
            std::fs::write(&path, png_bytes(w, h, i))?;
            Ok(path)
        })
        .collect()
}

/// A valid PNG of `width` × `height` whose pixels depend on `seed` (made by
/// `vi_testkit::png`, the workspace's one image generator).
pub fn png_bytes(width: u32, height: u32, seed: u32) -> Vec<u8> {
    vi_testkit::png(width, height, seed)
}
