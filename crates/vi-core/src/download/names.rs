//! Turning server-supplied asset names into safe local file names.
//!
//! The name comes from the asset's `filename` (the official client uses the signed URL's
//! last path segment instead; we fall back to it, percent-decoded, only when the asset has
//! no filename). Nothing a server sends can make us write outside the target directory:
//!
//! * separators (`/`, `\`), NUL, control characters and the characters Windows forbids
//!   (`< > : " | ? *`) become `_`;
//! * leading and trailing spaces and dots are removed, so `..`, `.` and `...` cannot name a
//!   parent or the directory itself;
//! * reserved device names (`CON`, `NUL`, `COM1`, … with or without an extension) get a
//!   leading `_`;
//! * names longer than 250 bytes are shortened, keeping the extension (the `.part` file
//!   beside them must fit in the usual 255);
//! * an empty result becomes `asset-<asset id>`.
//!
//! **Collisions.** Two assets can end up with the same local name: a name changed by the
//! rules above (`a/b.png` → `a_b.png`) may meet a real `a_b.png`, and names differing only
//! in case meet on case-insensitive file systems. The rule: an asset whose name had to be
//! changed, or whose name (compared case-insensitively) is already taken in this run, gets
//! its asset id appended before the extension: `a_b (as7f3k2m9x).png`. Unchanged, distinct
//! names are always kept as they are, so a later run finds the same files again.

use std::collections::HashSet;

/// The longest local name we hand out, in bytes: most file systems accept 255, and the
/// `.part` file beside it needs 5 more.
pub const MAX_NAME_BYTES: usize = 255 - ".part".len();

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Makes one path component out of a server-supplied name. Returns the safe name and
/// whether it differs from the input.
pub fn sanitize(name: &str) -> (String, bool) {
    let replaced: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = replaced.trim_matches(|c: char| c == ' ' || c == '.');
    let mut safe = trimmed.to_owned();
    let stem = safe.split('.').next().unwrap_or("").to_ascii_uppercase();
    if RESERVED.contains(&stem.as_str()) {
        safe.insert(0, '_');
    }
    let safe = shorten(&safe, MAX_NAME_BYTES);
    let changed = safe != name;
    (safe, changed)
}

/// Cuts `name` to at most `max` bytes on a character boundary, keeping a short extension.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = split_extension(name);
    let ext = if ext.len() <= 16 { ext } else { "" };
    let mut cut = max.saturating_sub(ext.len());
    while cut > 0 && !stem.is_char_boundary(cut.min(stem.len())) {
        cut -= 1;
    }
    format!("{}{}", &stem[..cut.min(stem.len())], ext)
}

/// Splits `photo.tar.jpg` into (`photo.tar`, `.jpg`); a name without a dot has no extension.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// Hands out local names for the assets of one download, applying the collision rule.
#[derive(Debug, Default)]
pub struct NameAllocator {
    taken: HashSet<String>,
}

impl NameAllocator {
    /// An allocator with no names taken.
    pub fn new() -> Self {
        Self::default()
    }

    /// The local file name for an asset.
    pub fn allocate(&mut self, filename: &str, asset_id: &str) -> String {
        let (safe, changed) = sanitize(filename);
        let safe = if safe.is_empty() {
            format!("asset-{asset_id}")
        } else {
            safe
        };
        let name = if changed || self.taken.contains(&safe.to_lowercase()) {
            let (stem, ext) = split_extension(&safe);
            let suffix = format!(" ({asset_id}){ext}");
            let stem = shorten(stem, MAX_NAME_BYTES.saturating_sub(suffix.len()));
            format!("{stem}{suffix}")
        } else {
            safe
        };
        self.taken.insert(name.to_lowercase());
        name
    }
}

/// The name at the end of a signed URL's path, percent-decoded (the official client's
/// naming, used only when an asset has no filename).
pub fn name_from_url(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let last = path.rsplit('/').next()?;
    if last.is_empty() {
        return None;
    }
    Some(
        percent_encoding::percent_decode_str(last)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_kept() {
        assert_eq!(sanitize("cat.jpg"), ("cat.jpg".to_owned(), false));
        assert_eq!(
            sanitize("ünïcødé 猫.png"),
            ("ünïcødé 猫.png".to_owned(), false)
        );
    }

    #[test]
    fn nothing_escapes_the_directory() {
        for hostile in [
            "../x.jpg",
            "../../etc/passwd",
            "/abs/path.png",
            "a/b.png",
            "a\\b.png",
            "..",
            ".",
            "...",
            "C:\\evil.png",
            "nul\0byte.png",
        ] {
            let (safe, changed) = sanitize(hostile);
            assert!(changed, "{hostile}");
            assert!(!safe.contains('/') && !safe.contains('\\') && !safe.contains('\0'));
            assert!(
                safe != ".." && safe != "." && !safe.starts_with('.'),
                "{hostile} -> {safe}"
            );
        }
        assert_eq!(sanitize("../x.jpg").0, "_x.jpg");
        assert_eq!(sanitize("..").0, "");
    }

    #[test]
    fn reserved_device_names_are_defused() {
        assert_eq!(sanitize("CON").0, "_CON");
        assert_eq!(sanitize("nul.txt").0, "_nul.txt");
        assert_eq!(sanitize("com1.png").0, "_com1.png");
        assert_eq!(sanitize("console.png").0, "console.png");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.jpeg", "é".repeat(300));
        let (safe, changed) = sanitize(&long);
        assert!(changed);
        assert!(safe.len() <= MAX_NAME_BYTES);
        assert!(safe.ends_with(".jpeg"));
    }

    #[test]
    fn collisions_get_the_asset_id() {
        let mut names = NameAllocator::new();
        assert_eq!(names.allocate("a_b.png", "id1"), "a_b.png");
        assert_eq!(names.allocate("a/b.png", "id2"), "a_b (id2).png");
        assert_eq!(names.allocate("A_B.PNG", "id3"), "A_B (id3).PNG");
        assert_eq!(names.allocate("", "id4"), "asset-id4");
        let long = names.allocate(&format!("{}.png", "x".repeat(400)), "id5");
        assert!(
            long.len() <= MAX_NAME_BYTES && long.ends_with(" (id5).png"),
            "{long}"
        );
    }

    #[test]
    fn url_names_are_percent_decoded() {
        assert_eq!(
            name_from_url("https://s.example/b/my%20cat.jpg?sig=a%2Fb").as_deref(),
            Some("my cat.jpg")
        );
        assert_eq!(name_from_url("https://s.example/b/?x=1"), None);
    }
}
