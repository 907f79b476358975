//! Finding the files to upload (docs/protocol.md §6.2) and settling duplicate upload names (§6.6).
//!
//! # Discovery
//!
//! [`discover`] turns the caller's paths into files:
//!
//! * every path is `~`-expanded (`~` and `~/…`, from `HOME`) and resolved to a canonical
//!   absolute path first; a path that does not exist, or that is neither a file nor a
//!   folder, fails the whole call before anything is scanned;
//! * a file is taken whatever its extension (the spec step judges it). A symbolic link
//!   given explicitly is resolved: the file is uploaded under its target's name;
//! * a folder is scanned recursively, hidden files and folders included, keeping the
//!   files whose lower-cased final extension is in the extension map (docs/protocol.md §12.2;
//!   `IMG.JPG` is kept, a file named exactly `.jpg` has no extension and is not). Symbolic
//!   links inside a folder are not followed into folders; links to files are kept under
//!   their own names. Files with other extensions are not inputs and are not reported,
//!   but entries that cannot be read (a sub-folder without permission, a broken link with
//!   a listed extension) are reported in [`Discovery::skipped`], so nothing is lost
//!   silently;
//! * the result is sorted by path, and a file reached twice (given twice, or given and
//!   also inside a given folder) appears once. Explicit paths are canonical and scans start
//!   from canonical folders without following links, so equal paths are the same
//!   directory entry; a link inside a folder and its target are two entries with their
//!   own names and are both kept.
//!
//! The upload name of a file is its base name; folder structure is not kept.
//!
//! # Duplicate upload names
//!
//! The file name is the asset's key within a dataset, so two different files with the same
//! upload name (`a/img.jpg` and `b/img.jpg`) would overwrite each other on the service,
//! and the official client even sends the first file's bytes for both (docs/protocol.md §6.6, §15 #10).
//! [`dedupe_names`] therefore keeps, for each name, **the first file in sorted path
//! order** and skips every later one with [`SkipReason::DuplicateName`], naming the file
//! that is uploaded instead. Names are compared exactly (case-sensitively), as the service
//! does.
//!
//! Everything here is **blocking** (`std::fs`): call it on a blocking worker (the
//! runtime's `spawn_blocking`), never on an async executor thread.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::spec::{SkipReason, is_listed_extension};
use crate::error::Error;
use crate::select::Filter;

/// A file found for upload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DiscoveredFile {
    /// Where the file is: canonical for explicitly given files, the canonical folder plus
    /// the entry's own path for files found by scanning a folder.
    pub path: PathBuf,
    /// The upload name: the base name of `path`.
    pub filename: String,
}

/// What [`discover`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The files to upload, sorted by path, each once.
    pub files: Vec<DiscoveredFile>,
    /// The entries that look like inputs but cannot be used, with the reason, sorted by
    /// path.
    pub skipped: Vec<(PathBuf, SkipReason)>,
    /// Regular files inside scanned folders whose extension is not an image or video one:
    /// not upload candidates (sidecar JSON, notes...), only counted so a report can say so.
    pub ignored: u64,
    /// Candidates the include and exclude patterns left out ([`discover_filtered`]).
    pub filtered: u64,
}

const WHAT: &str = "upload path";

/// Expands a leading `~` component from `HOME` (`USERPROFILE` on Windows).
fn expand_tilde(path: &Path) -> Result<PathBuf, Error> {
    let Ok(rest) = path.strip_prefix("~") else {
        return Ok(path.to_path_buf());
    };
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var_os("USERPROFILE").filter(|h| !h.is_empty()))
        .ok_or_else(|| {
            Error::invalid(
                WHAT,
                format!(
                    "{} starts with ~ but HOME is not set; give the full path instead",
                    path.display()
                ),
            )
        })?;
    let home = PathBuf::from(home);
    Ok(if rest.as_os_str().is_empty() {
        home
    } else {
        home.join(rest)
    })
}

/// What an explicit path turned out to be.
enum Root {
    File(PathBuf),
    Dir(PathBuf),
}

/// Expands, checks and canonicalises one explicit path.
fn resolve(given: &Path) -> Result<Root, Error> {
    if given.as_os_str().is_empty() {
        return Err(Error::invalid(
            WHAT,
            "an empty path was given; give image or video files, or folders that contain them",
        ));
    }
    let expanded = expand_tilde(given)?;
    let absolute = std::path::absolute(&expanded).map_err(|e| Error::io(given, e))?;
    let named = if absolute == given {
        given.display().to_string()
    } else {
        format!("{} ({})", given.display(), absolute.display())
    };
    let meta = match fs::metadata(&absolute) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "{named} does not exist; check the path (a symbolic link must point to an \
                     existing file or folder)"
                ),
            ));
        }
        Err(e) => return Err(Error::io(absolute, e)),
    };
    if !meta.is_file() && !meta.is_dir() {
        return Err(Error::invalid(
            WHAT,
            format!(
                "{named} is neither a file nor a folder; give image or video files, or folders \
                 that contain them"
            ),
        ));
    }
    let canonical = fs::canonicalize(&absolute).map_err(|e| Error::io(absolute, e))?;
    Ok(if meta.is_dir() {
        Root::Dir(canonical)
    } else {
        Root::File(canonical)
    })
}

fn not_utf8() -> SkipReason {
    SkipReason::Unreadable {
        message: "the file name is not valid UTF-8; rename it".to_owned(),
    }
}

/// The upload name of a file, or why it has none.
fn upload_name(name: Option<&OsStr>) -> Result<String, SkipReason> {
    match name {
        Some(name) => name.to_str().map(str::to_owned).ok_or_else(not_utf8),
        None => Err(SkipReason::Unreadable {
            message: "the path has no file name; give the file itself".to_owned(),
        }),
    }
}

fn has_listed_extension(name: &OsStr) -> bool {
    Path::new(name)
        .extension()
        .and_then(OsStr::to_str)
        .is_some_and(is_listed_extension)
}

/// Scans a folder (see the module docs) into `files` and `skipped`.
fn scan(root: &Path, filter: &Filter, found: &mut Discovery) {
    let Discovery {
        files,
        skipped,
        ignored,
        filtered,
    } = found;
    let taken = |path: &Path| filter.matches(&slashed(path.strip_prefix(root).unwrap_or(path)));
    for entry in WalkDir::new(root).follow_links(false).min_depth(1) {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                if !taken(&path) {
                    continue;
                }
                let message = match e.io_error() {
                    Some(io) => format!(
                        "{io}; check that you are allowed to read this folder and its contents"
                    ),
                    None => e.to_string(),
                };
                skipped.push((path, SkipReason::Unreadable { message }));
                continue;
            }
        };
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        if !has_listed_extension(entry.file_name()) {
            if file_type.is_file() {
                *ignored += 1;
            }
            continue;
        }
        if !taken(entry.path()) {
            *filtered += 1;
            continue;
        }
        if file_type.is_symlink() {
            // Links keep their own names; only links to files are inputs.
            match fs::metadata(entry.path()) {
                Ok(meta) if meta.is_file() => {}
                Ok(_) => continue,
                Err(e) => {
                    skipped.push((
                        entry.path().to_path_buf(),
                        SkipReason::Unreadable {
                            message: format!(
                                "it is a symbolic link whose target cannot be read ({e}); fix \
                                 or remove the link"
                            ),
                        },
                    ));
                    continue;
                }
            }
        } else if !file_type.is_file() {
            // Sockets, FIFOs, devices: not regular files, not inputs.
            continue;
        }
        match upload_name(Some(entry.file_name())) {
            Ok(filename) => files.push(DiscoveredFile {
                path: entry.into_path(),
                filename,
            }),
            Err(reason) => skipped.push((entry.into_path(), reason)),
        }
    }
}

/// Finds the files to upload from the caller's paths (docs/protocol.md §6.2; see the module docs).
///
/// **Blocking**: this walks the file system with `std::fs`; run it on a blocking worker
/// (`spawn_blocking`), never on an async executor thread.
///
/// # Errors
/// [`Error::InvalidInput`] naming the path when a path is empty, does not exist, or is
/// neither a file nor a folder, or starts with `~` while `HOME` is unset; [`Error::Io`]
/// when a path cannot be examined (e.g. a parent folder cannot be searched). Either way
/// nothing is scanned. Problems inside scanned folders are reported in
/// [`Discovery::skipped`] instead.
pub fn discover(paths: &[PathBuf]) -> Result<Discovery, Error> {
    discover_filtered(paths, &Filter::new())
}

/// [`discover`], keeping only the candidates `filter` takes: files found in a folder are
/// matched on their path relative to it, files given directly on the path as given
/// (see [`crate::select`]). What it leaves out is counted in [`Discovery::filtered`].
///
/// # Errors
/// As [`discover`].
pub fn discover_filtered(paths: &[PathBuf], filter: &Filter) -> Result<Discovery, Error> {
    let roots = paths
        .iter()
        .map(|p| resolve(p).map(|root| (p, root)))
        .collect::<Result<Vec<_>, _>>()?;

    let mut found = Discovery::default();
    for (given, root) in roots {
        match root {
            Root::File(path) => {
                if !filter.matches(&slashed(given)) {
                    found.filtered += 1;
                    continue;
                }
                match upload_name(path.file_name()) {
                    Ok(filename) => found.files.push(DiscoveredFile { path, filename }),
                    Err(reason) => found.skipped.push((path, reason)),
                }
            }
            Root::Dir(dir) => scan(&dir, filter, &mut found),
        }
    }

    found.files.sort_by(|a, b| a.path.cmp(&b.path));
    found.files.dedup_by(|a, b| a.path == b.path);
    found.skipped.sort_by(|a, b| a.0.cmp(&b.0));
    found.skipped.dedup();
    Ok(found)
}

/// A path as the patterns see it: `/`-separated.
fn slashed(path: &Path) -> String {
    let text = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// Keeps one file per upload name (see "Duplicate upload names" in the module docs).
///
/// The files are put in path order; for each name the first is kept, and every later one
/// is returned as skipped with [`SkipReason::DuplicateName`] naming the kept file. Names
/// are compared exactly (case-sensitively). Does no I/O.
pub fn dedupe_names(
    mut files: Vec<DiscoveredFile>,
) -> (Vec<DiscoveredFile>, Vec<(PathBuf, SkipReason)>) {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut first_by_name: HashMap<String, PathBuf> = HashMap::with_capacity(files.len());
    let mut kept = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    for file in files {
        if let Some(first) = first_by_name.get(&file.filename) {
            skipped.push((
                file.path,
                SkipReason::DuplicateName {
                    first: first.clone(),
                },
            ));
        } else {
            first_by_name.insert(file.filename.clone(), file.path.clone());
            kept.push(file);
        }
    }
    (kept, skipped)
}
