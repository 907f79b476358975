//! Sample file contents for the upload spec and discovery tests (`upload_*.rs`): tiny
//! valid PNG, JPEG and MP4 headers, plain text, and a writer of files into a test folder.

use std::fs;
use std::path::{Path, PathBuf};

/// A complete, valid 1×1 RGBA PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// The spec's third CRC vector: a JFIF header followed by 100 zero bytes (111 bytes).
pub fn jpeg() -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00,
    ];
    v.resize(111, 0);
    v
}

/// An ISO-BMFF `ftyp` box with the given major brand, padded.
pub fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftyp");
    v.extend_from_slice(brand);
    v.extend_from_slice(&[0, 0, 2, 0]);
    v.extend_from_slice(brand);
    v.extend_from_slice(b"mp41");
    v.resize(256, 0);
    v
}

pub fn mp4() -> Vec<u8> {
    ftyp(b"isom")
}

pub const TEXT: &[u8] = b"just some plain text, nothing to see here\n";

/// Writes `data` to `dir/rel`, creating the folders on the way; returns the path.
#[allow(dead_code, reason = "upload_spec_bytes.rs writes no files")]
pub fn write(dir: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, data).unwrap();
    path
}
