//! The files the soak moves: distinct small PNGs, incompressible, generated per run.

use std::path::Path;

/// Writes `count` distinct PNG files of about `size_kib` KiB: a valid signature and
/// header (what ingestion reads) followed by an ancillary chunk of noise.
pub fn generate(dir: &Path, count: u32, size_kib: u32) -> Result<Vec<String>, String> {
    let mut names = Vec::with_capacity(count as usize);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let payload = (size_kib as usize * 1024).saturating_sub(64).max(16);
    for i in 0..count {
        let name = format!("soak-{i:06}.png");
        let mut png = Vec::with_capacity(payload + 64);
        png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&(8 + i % 64).to_be_bytes());
        ihdr.extend_from_slice(&(8 + i / 64 % 64).to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        let mut noise = Vec::with_capacity(payload);
        while noise.len() < payload {
            // xorshift64*: distinct, incompressible bytes.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            noise.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        noise.truncate(payload);
        chunk(&mut png, b"soAk", &noise);
        chunk(&mut png, b"IEND", &[]);
        std::fs::write(dir.join(&name), &png).map_err(|e| format!("{name}: {e}"))?;
        names.push(name);
    }
    Ok(names)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = 0xFFFF_FFFFu32;
    for &b in kind.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_be_bytes());
}
