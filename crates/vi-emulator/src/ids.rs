//! Identifier and credential generation.

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_from(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
        .collect()
}

/// A short id: 10 lowercase alphanumerics, never containing `_` (docs/protocol.md §2.1, §15 #9).
pub(crate) fn short_id() -> String {
    random_from(LOWER_ALNUM, 10)
}

/// A longer random token for blob names and temp files.
pub(crate) fn token() -> String {
    random_from(LOWER_ALNUM, 24)
}

/// A secret key: `dtvi_` followed by 98 alphanumerics, 103 characters in all (§1.2).
pub(crate) fn secret_key() -> String {
    format!("dtvi_{}", random_from(ALNUM, 98))
}

/// A UUID-shaped (version 4 layout) organization id.
pub(crate) fn organization_id() -> String {
    let mut bytes = [0u8; 16];
    for b in &mut bytes {
        *b = fastrand::u8(..);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Random bytes for the HMAC signing key.
pub(crate) fn signing_key() -> Vec<u8> {
    (0..32).map(|_| fastrand::u8(..)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let key = secret_key();
        assert_eq!(key.len(), 103);
        assert!(key.starts_with("dtvi_"));
        let org = organization_id();
        assert_eq!(org.len(), 36);
        assert_eq!(org.matches('-').count(), 4);
        let id = short_id();
        assert_eq!(id.len(), 10);
        assert!(!id.contains('_'));
    }
}
