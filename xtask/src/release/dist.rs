//! The `dtvi` binary and the `.crate` files as release artifacts, with a `SHA256SUMS` manifest
//! that `sha256sum -c SHA256SUMS` checks.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io;
use std::path::Path;

/// The SHA-256 of a file, in lower-case hex.
///
/// # Errors
/// The file cannot be read.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The manifest in the `sha256sum` format: `<hex>  <name>` per line, sorted by name.
pub fn manifest(entries: &[(String, String)]) -> String {
    let mut entries = entries.to_vec();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
        .iter()
        .map(|(name, digest)| format!("{digest}  {name}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_sha256sum() {
        let path = std::env::temp_dir().join(format!("xtask-release-sha-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_manifest_is_sorted_in_sha256sum_form() {
        let text = manifest(&[
            (
                "vi-0.2.0-x86_64-unknown-linux-gnu".to_owned(),
                "bb".to_owned(),
            ),
            ("vi-core-0.2.0.crate".to_owned(), "aa".to_owned()),
        ]);
        assert_eq!(
            text,
            "bb  vi-0.2.0-x86_64-unknown-linux-gnu\naa  vi-core-0.2.0.crate\n"
        );
    }
}
