//! Turning server-supplied asset names into safe local file names.
//!
//! The name comes from the asset's `filename` (the official client uses the signed URL's
//! last path segment instead; we fall back to it, percent-decoded, only when the asset has
//! no filename). Nothing a server sends can make us write outside the target directory:
//!
//! * separators (`/`, `\`), NUL, control characters, the characters Windows forbids
//!   (`< > : " | ? *`) and the invisible characters that reorder or hide text (bidi
//!   overrides and isolates, zero-width characters) become `_`;
//! * leading and trailing spaces and dots are removed, so `..`, `.` and `...` cannot name a
//!   parent or the directory itself; a name whose only dot leads keeps it as its
//!   extension behind a `_` (`..jpg` → `_.jpg`);
//! * reserved device names (`CON`, `NUL`, `COM0`–`COM9`, `COM¹`–`COM³`, `LPT…`,
//!   `CONIN$`, `CONOUT$`, … with or without an extension or trailing spaces, as in
//!   `CON .png`) get a leading `_`;
//! * names longer than 250 bytes are shortened, keeping the extension;
//! * an empty result becomes `asset-<asset id>`.
//!
//! **Collisions.** Two assets can end up with the same local name: a name changed by the
//! rules above (`a/b.png` → `a_b.png`) may meet a real `a_b.png`, and names differing only
//! in case meet on case-insensitive file systems. The rule: an asset whose name had to be
//! changed, or whose name (compared case-insensitively and in Unicode normal form C, as
//! macOS and Windows compare names) is already taken in this run, gets its asset id
//! appended before the extension: `a_b (as7f3k2m9x).png`. Unchanged, distinct
//! names are always kept as they are, so a later run finds the same files again.

use std::collections::HashSet;

/// The longest local name we hand out, in bytes (most file systems accept 255; a margin is
/// kept for the collision suffix of a name that is already this long).
pub const MAX_NAME_BYTES: usize = 250;

/// Device names Windows reserves in every folder, whatever the extension.
const RESERVED: [&str; 33] = [
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$", "COM0", "COM1", "COM2", "COM3",
    "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// True for characters replaced by `_`: separators, what Windows forbids, controls, and
/// the invisible characters that reorder or hide text.
fn unsafe_char(c: char) -> bool {
    matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*')
        || c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
}

/// Makes one path component out of a server-supplied name. Returns the safe name and
/// whether it differs from the input. Applying it to its own result changes nothing.
pub fn sanitize(name: &str) -> (String, bool) {
    let replaced: String = name
        .chars()
        .map(|c| if unsafe_char(c) { '_' } else { c })
        .collect();
    let edges = |c: char| c == ' ' || c == '.';
    let trimmed = replaced.trim_matches(edges);
    // A name whose only dot leads (`..jpg`, `.png`) keeps it as its extension behind a
    // `_` (`_.jpg`): cutting the dots alone would lose the extension.
    let dotted = replaced.trim_start_matches(' ').starts_with('.')
        && !trimmed.is_empty()
        && !trimmed.contains('.');
    let trimmed = if dotted {
        format!("_.{trimmed}")
    } else {
        trimmed.to_owned()
    };
    let cut = shorten(&trimmed, MAX_NAME_BYTES);
    let mut safe = cut.trim_matches(edges).to_owned();
    let stem = safe
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_uppercase();
    if RESERVED.contains(&stem.as_str()) {
        safe.insert(0, '_');
        // The `_` may push a long name one byte over; the cut keeps its start.
        safe = shorten(&safe, MAX_NAME_BYTES)
            .trim_end_matches(edges)
            .to_owned();
    }
    let changed = safe != name;
    (safe, changed)
}

/// How two local names are compared for collisions: case-insensitively, in Unicode normal
/// form C (macOS and Windows treat such names as one file).
fn collision_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    name.nfc().collect::<String>().to_lowercase()
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
        let name = if changed || self.taken.contains(&collision_key(&safe)) {
            let (stem, ext) = split_extension(&safe);
            // Long "extensions" are not kept, as in `shorten`.
            let (stem, ext) = if ext.len() <= 16 {
                (stem, ext)
            } else {
                (&safe[..], "")
            };
            let suffix = format!(" ({asset_id}){ext}");
            let stem = shorten(stem, MAX_NAME_BYTES.saturating_sub(suffix.len()));
            let stem = stem.trim_end_matches([' ', '.']);
            if stem.is_empty() {
                format!("asset-{asset_id}{ext}")
            } else {
                format!("{stem}{suffix}")
            }
        } else {
            safe
        };
        self.taken.insert(collision_key(&name));
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
    fn more_reserved_names_and_invisible_characters_are_defused() {
        for reserved in [
            "COM0.png",
            "lpt0",
            "CONIN$",
            "conout$.txt",
            "CON .png",
            "COM¹.jpg",
            "lpt³",
        ] {
            let (safe, changed) = sanitize(reserved);
            assert!(changed && safe.starts_with('_'), "{reserved} -> {safe}");
        }
        assert_eq!(sanitize("gnp.\u{202e}exe.png").0, "gnp._exe.png");
        assert_eq!(sanitize("a\u{200b}b.png").0, "a_b.png");
    }

    #[test]
    fn names_equal_under_normalization_collide() {
        let mut names = NameAllocator::new();
        // "é" precomposed, then as "e" + combining acute: one file on macOS.
        assert_eq!(names.allocate("caf\u{e9}.png", "id1"), "caf\u{e9}.png");
        assert_eq!(
            names.allocate("cafe\u{301}.png", "id2"),
            "cafe\u{301} (id2).png"
        );
    }

    #[test]
    fn reserved_device_names_are_defused() {
        assert_eq!(sanitize("CON").0, "_CON");
        assert_eq!(sanitize("nul.txt").0, "_nul.txt");
        assert_eq!(sanitize("com1.png").0, "_com1.png");
        assert_eq!(sanitize("console.png").0, "console.png");
    }

    #[test]
    fn a_name_whose_only_dot_leads_keeps_its_extension() {
        assert_eq!(sanitize("..jpg"), ("_.jpg".to_owned(), true));
        assert_eq!(sanitize(".png"), ("_.png".to_owned(), true));
        assert_eq!(sanitize("_.png"), ("_.png".to_owned(), false));
        assert_eq!(sanitize("..a.jpg").0, "a.jpg");
        let mut names = NameAllocator::new();
        let local = names.allocate("..jpg", "as1");
        assert!(local.ends_with(".jpg"), "{local}");
        assert!(!local.starts_with('.'), "{local}");
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
