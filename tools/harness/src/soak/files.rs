//! The files the soak moves: distinct small PNGs, incompressible, generated per run.

use std::path::Path;

/// Writes `count` distinct PNG files of about `size_kib` KiB (pseudo-random pixels from
/// `vi_testkit::noisy_png`, about 3 bytes a pixel) and returns their names.
pub fn generate(dir: &Path, count: u32, size_kib: u32) -> Result<Vec<String>, String> {
    let side = (f64::from(size_kib.max(1)) * 1024.0 / 3.0).sqrt().max(1.0) as u32;
    (0..count)
        .map(|i| {
            let name = format!("soak-{i:06}.png");
            let png = vi_testkit::noisy_png(side, side, u64::from(i));
            std::fs::write(dir.join(&name), png).map_err(|e| format!("{name}: {e}"))?;
            Ok(name)
        })
        .collect()
}
