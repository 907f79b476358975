//! Upload steps 1–2: discover the files and check their names. What is left is the list
//! of files the coordinator examines and sends ([`super::coord`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::coord::FileEntry;
use crate::engine::Core;
use crate::error::{Error, Result};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::runtime::run_blocking;
use crate::select::{Selection, Verdict};
use crate::upload::discover::{dedupe_names, discover_filtered};
use crate::upload::report::{SkippedFile, SourceRef};
use crate::upload::spec::{SkipReason, SpecSource};
use crate::upload::{UploadInput, UploadSources};

/// The inputs of one upload, named and checked.
pub(super) struct Gathered {
    /// The files to examine and send, in order.
    pub files: Vec<FileEntry>,
    /// Inputs left out already (unsupported, unreadable, a name taken).
    pub skipped: Vec<SkippedFile>,
    /// Files in the folders given that were not candidates at all (other extensions).
    pub ignored: u64,
}

/// Steps 1–2: discovers folders (on a blocking worker) and gives every candidate a name
/// unique within the upload; later files of a taken name are skipped. Of those, only what
/// `selection` takes stays: the patterns decide during discovery, the shard after the
/// names are settled (a shard holds every file of a name, so it settles them as one
/// process would), and files of other shards are not mentioned at all.
///
/// # Errors
/// [`Error::InvalidInput`] for nothing to upload, a bad in-memory name, or patterns that
/// take none of the candidates; the discovery's error for a missing path.
pub(super) async fn gather(
    core: &Core,
    sources: UploadSources,
    selection: &Selection,
    progress: &ProgressSink,
) -> Result<Gathered> {
    if sources.is_empty() {
        return Err(Error::invalid(
            "upload sources",
            "nothing to upload; give at least one file, folder or in-memory item",
        ));
    }
    let mut paths = Vec::new();
    let mut memory = Vec::new();
    let mut filtered = 0u64;
    let mut matched = false;
    let mine = |name: &str| selection.shard.is_none_or(|s| s.contains(name));
    for input in sources.inputs() {
        match input {
            UploadInput::Path(p) => paths.push(p.clone()),
            UploadInput::Bytes { filename, data } => {
                if filename.trim().is_empty() || filename.contains(['/', '\\', '\0']) {
                    return Err(Error::invalid(
                        "in-memory file name",
                        format!(
                            "{filename:?} must be a plain file name such as photo.jpg (not empty, no '/', '\\' or NUL)"
                        ),
                    ));
                }
                match selection.judge(filename, filename) {
                    Verdict::Taken => memory.push((filename.clone(), data.clone())),
                    Verdict::Filtered => filtered += 1,
                    Verdict::OtherShard => matched = true,
                }
            }
        }
    }
    let mut gathered = Gathered {
        files: Vec::new(),
        skipped: Vec::new(),
        ignored: 0,
    };
    let skip = |source: SourceRef, filename: String, reason: SkipReason| {
        let text = reason.to_string();
        progress.emit(ProgressEvent::FileSkipped {
            name: &filename,
            reason: &text,
        });
        gathered_skip(source, filename, reason)
    };
    let mut skipped = Vec::new();
    if !paths.is_empty() {
        let filter = selection.filter.clone();
        let found = run_blocking(core.runtime().as_ref(), move || {
            discover_filtered(&paths, &filter)
        })
        .await??;
        gathered.ignored = found.ignored;
        filtered += found.filtered;
        matched |= !found.files.is_empty() || !found.skipped.is_empty();
        for (path, reason) in found.skipped {
            if !mine(&file_name(&path)) {
                continue;
            }
            skipped.push(skip(
                SourceRef::File(path.clone()),
                file_name(&path),
                reason,
            ));
        }
        let (kept, duplicates) = dedupe_names(found.files);
        for (path, reason) in duplicates {
            if !mine(&file_name(&path)) {
                continue;
            }
            skipped.push(skip(
                SourceRef::File(path.clone()),
                file_name(&path),
                reason,
            ));
        }
        gathered.files = kept
            .into_iter()
            .filter(|f| mine(&f.filename))
            .map(|f| FileEntry::new(f.filename, SpecSource::File(f.path)))
            .collect();
    }
    matched |= !memory.is_empty();
    add_memory(&mut gathered.files, memory, |name, reason| {
        skipped.push(skip(SourceRef::Memory, name, reason));
    });
    gathered.skipped = skipped;
    // Not the same as an empty shard (another shard has the files): here the patterns
    // took nothing at all.
    if !matched && filtered > 0 {
        return Err(selection.nothing_matched(filtered, "file"));
    }
    Ok(gathered)
}

/// Adds the in-memory inputs after the files: their names share the namespace with
/// the files' (the filename is the asset key), so a name already taken is skipped.
fn add_memory(
    files: &mut Vec<FileEntry>,
    memory: Vec<(String, bytes::Bytes)>,
    mut skip: impl FnMut(String, SkipReason),
) {
    if memory.is_empty() {
        return;
    }
    let mut taken: HashMap<String, Option<PathBuf>> = files
        .iter()
        .map(|entry| {
            let path = match &entry.input {
                Some(SpecSource::File(p)) => Some(p.clone()),
                _ => None,
            };
            (entry.name().to_owned(), path)
        })
        .collect();
    for (name, data) in memory {
        if let Some(first) = taken.get(&name) {
            let first = first
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("<in memory: {name}>")));
            skip(name, SkipReason::DuplicateName { first });
        } else {
            taken.insert(name.clone(), None);
            files.push(FileEntry::new(name, SpecSource::Bytes(data)));
        }
    }
}

fn gathered_skip(source: SourceRef, filename: String, reason: SkipReason) -> SkippedFile {
    SkippedFile {
        source,
        filename,
        reason,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
