//! Checking a client's downloads against the originals: same names, sizes and hashes.

use std::path::Path;

/// One file: its name, size and FNV-1a hash.
pub(super) type FileSum = (String, u64, u64);

/// Every file directly in `dir`, sorted by name, with its size and hash.
pub(super) fn list_files(dir: &Path) -> Result<Vec<FileSum>, String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let data = std::fs::read(entry.path()).map_err(|e| format!("{name}: {e}"))?;
        files.push((name, data.len() as u64, fnv1a(&data)));
    }
    files.sort();
    Ok(files)
}

/// Fails unless `dir` holds exactly the `originals`, byte for byte.
pub(super) fn verify(originals: &[FileSum], dir: &Path) -> Result<(), String> {
    let copies = list_files(dir)?;
    if copies.len() != originals.len() {
        return Err(format!(
            "{} files in {}, expected {}",
            copies.len(),
            dir.display(),
            originals.len()
        ));
    }
    let bad: Vec<&str> = originals
        .iter()
        .zip(&copies)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.as_str())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} files differ in name, size or hash (first: {})",
            bad.len(),
            bad[0]
        ))
    }
}

/// FNV-1a, 64 bits: enough to catch a corrupted copy.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
