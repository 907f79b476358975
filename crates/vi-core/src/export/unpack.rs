//! Unpacking an export archive safely: every entry is checked before anything is
//! written (names, types, sizes), then the entries are written into a fresh staging
//! folder, each CRC-32 checked while reading. What the checks refuse is in
//! `docs/exports.md`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Limits against archives that would fill the disk ("zip bombs"). Every limit is
/// checked from the archive's directory before a byte is written, and again while
/// writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnpackLimits {
    /// The most entries (files and folders); 1,000,000 by default.
    pub max_entries: u64,
    /// The most bytes all files may hold once unpacked; 256 GiB by default.
    pub max_total_bytes: u64,
    /// The most bytes one compressed entry may expand to per compressed byte; 1000 by
    /// default.
    pub max_ratio: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_entries: 1_000_000,
            max_total_bytes: 256 << 30,
            max_ratio: 1000,
        }
    }
}

impl UnpackLimits {
    /// The defaults.
    pub fn new() -> Self {
        UnpackLimits::default()
    }

    /// Sets the most entries.
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n;
        self
    }

    /// Sets the most unpacked bytes.
    pub fn max_total_bytes(mut self, n: u64) -> Self {
        self.max_total_bytes = n;
        self
    }

    /// Sets the largest expansion ratio of one entry.
    pub fn max_ratio(mut self, n: u64) -> Self {
        self.max_ratio = n;
        self
    }
}

/// What was unpacked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
const MAX_COMPONENT: usize = 255;
const MAX_NAME: usize = 4096;

/// One checked entry: its path components and whether it is a folder.
struct Entry {
    components: Vec<String>,
    dir: bool,
    size: u64,
}

/// The path components of an entry name, or why the name is refused.
fn check_name(raw: &[u8]) -> std::result::Result<(Vec<String>, bool), &'static str> {
    if raw.is_empty() {
        return Err("the name is empty");
    }
    if raw.len() > MAX_NAME {
        return Err("the name is longer than 4096 bytes");
    }
    if raw.contains(&0) {
        return Err("the name holds a NUL byte");
    }
    let name = std::str::from_utf8(raw).map_err(|_| "the name is not UTF-8")?;
    if name.contains('\\') {
        return Err(
            "the name holds a backslash (ZIP names use '/'); it could name a path on Windows",
        );
    }
    if name.starts_with('/') {
        return Err("the name is an absolute path");
    }
    let dir = name.ends_with('/');
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    let mut components = Vec::new();
    for (i, part) in trimmed.split('/').enumerate() {
        match part {
            "" => return Err("the name has an empty component ('//')"),
            "." | ".." => {
                return Err("the name has a '.' or '..' component (it could leave the folder)");
            }
            _ if i == 0 && part.len() >= 2 && part.as_bytes()[1] == b':' => {
                return Err("the name starts with a drive prefix");
            }
            _ if part.len() > MAX_COMPONENT => return Err("a component is longer than 255 bytes"),
            _ => components.push(part.to_owned()),
        }
    }
    Ok((components, dir))
}

fn archive_error(archive: &Path, member: Option<&str>, reason: impl Into<String>) -> Error {
    Error::Archive {
        archive: archive.to_path_buf(),
        member: member.map(|m| crate::redact::printable(m, false).into_owned()),
        reason: reason.into(),
    }
}

/// Checks every entry of the archive at `archive` against `limits`, then writes them
/// into `staging` (an empty folder the caller created). On any failure the caller
/// removes `staging`; nothing is written elsewhere.
///
/// # Errors
/// [`Error::Archive`] naming the entry and the reason; [`Error::Io`] for the disk.
pub(crate) fn unpack(archive: &Path, staging: &Path, limits: &UnpackLimits) -> Result<Unpacked> {
    let file = std::fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| archive_error(archive, None, format!("not a readable ZIP archive: {e}")))?;
    let count = zip.len() as u64;
    if count > limits.max_entries {
        return Err(archive_error(
            archive,
            None,
            format!(
                "it has {count} entries, more than the limit of {}",
                limits.max_entries
            ),
        ));
    }
    let entries = check_entries(archive, &mut zip, limits)?;
    let mut done = Unpacked::default();
    for (index, entry) in entries.iter().enumerate() {
        let path: PathBuf = entry
            .components
            .iter()
            .fold(staging.to_path_buf(), |p, c| p.join(c));
        let shown = entry.components.join("/");
        if entry.dir {
            std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut member = zip
            .by_index(index)
            .map_err(|e| archive_error(archive, Some(&shown), e.to_string()))?;
        let out = crate::fsguard::create_new_own(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                archive_error(archive, Some(&shown), "the entry appears twice")
            } else {
                Error::io(&path, e)
            }
        })?;
        let mut out = std::io::BufWriter::new(out);
        // One byte more than declared is read, to catch an entry longer than it says.
        let mut limited = (&mut member).take(entry.size.saturating_add(1));
        let copied = std::io::copy(&mut limited, &mut out).map_err(|e| {
            archive_error(
                archive,
                Some(&shown),
                format!("cannot be read ({e}); the archive is corrupt"),
            )
        })?;
        if copied != entry.size {
            return Err(archive_error(
                archive,
                Some(&shown),
                format!(
                    "holds {copied} bytes, not the {} its header declares",
                    entry.size
                ),
            ));
        }
        out.flush().map_err(|e| Error::io(&path, e))?;
        done.files += 1;
        done.bytes += copied;
    }
    Ok(done)
}

/// Every entry, checked: names, types, sizes and ratios, before anything is written.
fn check_entries<R: std::io::Read + std::io::Seek>(
    archive: &Path,
    zip: &mut zip::ZipArchive<R>,
    limits: &UnpackLimits,
) -> Result<Vec<Entry>> {
    let mut total: u64 = 0;
    let mut entries = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        let member = zip
            .by_index_raw(index)
            .map_err(|e| archive_error(archive, None, format!("entry {index}: {e}")))?;
        let raw = member.name_raw().to_vec();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let (components, named_dir) =
            check_name(&raw).map_err(|reason| archive_error(archive, Some(&shown), reason))?;
        let kind = member.unix_mode().map_or(0, |m| m & S_IFMT);
        if kind == S_IFLNK || member.is_symlink() {
            return Err(archive_error(
                archive,
                Some(&shown),
                "is a symbolic link; links are never created",
            ));
        }
        if kind != 0 && kind != S_IFREG && kind != S_IFDIR {
            return Err(archive_error(
                archive,
                Some(&shown),
                "is a special file (device, pipe or socket); only files and folders are unpacked",
            ));
        }
        let dir = named_dir || kind == S_IFDIR || member.is_dir();
        let size = member.size();
        if !dir {
            let packed = member.compressed_size();
            let stored = member.compression() == zip::CompressionMethod::Stored;
            let too_dense = if stored {
                packed != size
            } else {
                size > packed
                    .saturating_mul(limits.max_ratio)
                    .max(limits.max_ratio)
            };
            if too_dense {
                return Err(archive_error(
                    archive,
                    Some(&shown),
                    format!(
                        "expands from {packed} to {size} bytes, past the ratio limit of {}:1 \
                         (a zip bomb?)",
                        limits.max_ratio
                    ),
                ));
            }
            total = total.saturating_add(size);
            if total > limits.max_total_bytes {
                return Err(archive_error(
                    archive,
                    Some(&shown),
                    format!(
                        "the entries hold more than the limit of {} bytes once unpacked",
                        limits.max_total_bytes
                    ),
                ));
            }
        }
        entries.push(Entry {
            components,
            dir,
            size,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_the_folder_are_refused() {
        for bad in [
            &b""[..],
            b"../escape.txt",
            b"/tmp/x/abs.txt",
            b"dump/../../e.txt",
            b"C:\\win\\evil.txt",
            b"C:/win/evil.txt",
            b"a\0b",
            b"a//b",
            b"./a",
        ] {
            assert!(check_name(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            check_name(b"dump/images/a.jpg").unwrap(),
            (vec!["dump".into(), "images".into(), "a.jpg".into()], false)
        );
        assert_eq!(check_name(b"dump/").unwrap(), (vec!["dump".into()], true));
        assert!(check_name(b"dump/a:b.jpg").is_ok());
    }

    fn archive(dir: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("a.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        // Stored, so a test can reach into an entry's bytes at a known offset.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    fn refused(entries: &[(&str, &[u8])], limits: UnpackLimits) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path(), entries);
        let staging = dir.path().join("staging");
        std::fs::create_dir(&staging).unwrap();
        let e = unpack(&path, &staging, &limits).unwrap_err();
        assert!(matches!(e, Error::Archive { .. }), "{e}");
        e.to_string()
    }

    #[test]
    fn archives_past_the_limits_are_refused_and_good_ones_land() {
        let two: [(&str, &[u8]); 2] = [("dump/images/a.png", b"aa"), ("dump/images/b.png", b"bb")];
        let e = refused(&two, UnpackLimits::new().max_entries(1));
        assert!(e.contains("2 entries"), "{e}");
        let e = refused(&two, UnpackLimits::new().max_total_bytes(3));
        assert!(e.contains("more than the limit of 3 bytes"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path(), &two);
        let staging = dir.path().join("staging");
        std::fs::create_dir(&staging).unwrap();
        let done = unpack(&path, &staging, &UnpackLimits::new()).unwrap();
        assert_eq!(done, Unpacked { files: 2, bytes: 4 });
        assert_eq!(
            std::fs::read(staging.join("dump/images/b.png")).unwrap(),
            b"bb"
        );
    }

    #[test]
    fn a_corrupt_member_is_an_archive_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let payload = vec![7u8; 5000];
        let path = archive(dir.path(), &[("dump/images/x.png", &payload)]);
        let mut bytes = std::fs::read(&path).unwrap();
        // Flip a byte inside the stored payload (after the 30-byte local header and name).
        let at = 30 + "dump/images/x.png".len() + 100;
        bytes[at] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let staging = dir.path().join("staging");
        std::fs::create_dir(&staging).unwrap();
        let e = unpack(&path, &staging, &UnpackLimits::new()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("dump/images/x.png") && text.contains("corrupt"),
            "{text}"
        );
    }
}
