//! Which local files an annotation import sends, and under which names.
//!
//! A file named explicitly is taken whatever its extension; a folder is walked
//! recursively for `.json` and `.jsonl` files (any case). Each file is registered under its
//! base name; two files with the same base name are refused (or, when asked, renamed by
//! the folders between the given folder and the file), because the service keys files by
//! name and the official client sends one file's bytes under the other's size and CRC.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What to do with two files that would be registered under the same name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DuplicateNames {
    /// Refuse the import before anything is sent, naming both files.
    #[default]
    Refuse,
    /// Register every file whose base name is shared under its path relative to the given
    /// folder, with `__` between the parts (`train/labels.jsonl` → `train__labels.jsonl`);
    /// the extension is kept, so the service still sees the format.
    PrefixFolders,
}

/// A local file and the name it is registered under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalFile {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    /// The path below the folder it was found in (the base name for a named file).
    relative: PathBuf,
}

fn is_annotation_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("jsonl"))
}

fn base_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::invalid(
                "annotation file",
                format!(
                    "{}: the file name is not valid UTF-8; rename the file",
                    path.display()
                ),
            )
        })
}

/// The files of `paths`, in a stable order (folders sorted by name), each with its name.
///
/// # Errors
/// [`Error::InvalidInput`] for a path that does not exist or is neither a file nor a
/// folder, a folder that cannot be read, no file at all, or (under
/// [`DuplicateNames::Refuse`]) two files with the same name.
pub(crate) fn collect(paths: &[PathBuf], duplicates: DuplicateNames) -> Result<Vec<LocalFile>> {
    let mut files = Vec::new();
    for given in paths {
        let meta = std::fs::metadata(given).map_err(|e| {
            Error::invalid(
                "annotation path",
                format!("{}: {e}; give an existing file or folder", given.display()),
            )
        })?;
        if meta.is_file() {
            let name = base_name(given)?;
            files.push(LocalFile {
                path: given.clone(),
                relative: PathBuf::from(&name),
                name,
            });
        } else if meta.is_dir() {
            let walk = walkdir::WalkDir::new(given).sort_by_file_name();
            for entry in walk {
                let entry = entry.map_err(|e| {
                    Error::invalid("annotation folder", format!("{}: {e}", given.display()))
                })?;
                if !entry.file_type().is_file() || !is_annotation_file(entry.path()) {
                    continue;
                }
                let path = entry.into_path();
                let relative = path.strip_prefix(given).unwrap_or(&path).to_path_buf();
                files.push(LocalFile {
                    name: base_name(&path)?,
                    path,
                    relative,
                });
            }
        } else {
            return Err(Error::invalid(
                "annotation path",
                format!("{} is neither a file nor a folder", given.display()),
            ));
        }
    }
    if files.is_empty() {
        return Err(Error::invalid(
            "annotation files",
            "none found (folders are searched for .json and .jsonl files); give files or \
             folders that hold some",
        ));
    }
    name_duplicates(files, duplicates)
}

/// Applies the duplicate-name rule.
fn name_duplicates(mut files: Vec<LocalFile>, rule: DuplicateNames) -> Result<Vec<LocalFile>> {
    // The same file given twice (a file and its folder) is sent once.
    let mut seen = std::collections::HashSet::new();
    files
        .retain(|f| seen.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone())));
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        by_name.entry(f.name.clone()).or_default().push(i);
    }
    for indices in by_name.values().filter(|v| v.len() > 1) {
        match rule {
            DuplicateNames::Refuse => {
                let a = &files[indices[0]].path;
                let b = &files[indices[1]].path;
                return Err(Error::invalid(
                    "annotation files",
                    format!(
                        "{} and {} would both be registered as {:?}; rename one, or let the \
                         import name them by their folders (DuplicateNames::PrefixFolders, \
                         --prefix-folders)",
                        a.display(),
                        b.display(),
                        files[indices[0]].name
                    ),
                ));
            }
            DuplicateNames::PrefixFolders => {
                for &i in indices {
                    let parts: Vec<String> = files[i]
                        .relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    files[i].name = parts.join("__");
                }
            }
        }
    }
    let mut names = std::collections::HashSet::new();
    for f in &files {
        if !names.insert(f.name.as_str()) {
            return Err(Error::invalid(
                "annotation files",
                format!(
                    "{} is registered as {:?}, a name another file already has; rename it",
                    f.path.display(),
                    f.name
                ),
            ));
        }
    }
    Ok(files)
}

/// The size of a file and the base64 of its big-endian CRC-32C, read in 256 KiB blocks.
///
/// # Errors
/// [`Error::Io`]-like [`Error::InvalidInput`] naming the file when it cannot be read.
pub(crate) fn size_and_crc(path: &Path) -> Result<(u64, String)> {
    use base64::Engine as _;
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| {
        Error::invalid(
            "annotation file",
            format!("{}: cannot be read: {e}", path.display()),
        )
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut crc = 0u32;
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
        size += n as u64;
    }
    Ok((
        size,
        base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, relative: &str) -> LocalFile {
        let path = PathBuf::from(path);
        LocalFile {
            name: base_name(&path).unwrap(),
            path,
            relative: PathBuf::from(relative),
        }
    }

    #[test]
    fn duplicate_names_are_refused_or_prefixed() {
        let files = vec![
            file("/x/a/labels.jsonl", "a/labels.jsonl"),
            file("/x/b/labels.jsonl", "b/labels.jsonl"),
            file("/x/c.json", "c.json"),
        ];
        let err = name_duplicates(files.clone(), DuplicateNames::Refuse)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/x/a/labels.jsonl") && err.contains("/x/b/labels.jsonl"),
            "{err}"
        );
        let named = name_duplicates(files, DuplicateNames::PrefixFolders).unwrap();
        let names: Vec<&str> = named.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a__labels.jsonl", "b__labels.jsonl", "c.json"]);
    }

    #[test]
    fn the_crc_is_base64_of_the_big_endian_crc32c() {
        let dir = std::env::temp_dir().join(format!("vi-crc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("labels.jsonl");
        std::fs::write(&path, b"{\"id\":\"1\"}\n").unwrap();
        assert_eq!(size_and_crc(&path).unwrap(), (11, "wsH6xg==".to_owned()));
        std::fs::write(&path, b"123456789").unwrap();
        assert_eq!(size_and_crc(&path).unwrap().1, "4waSgw==");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
