//! Reading an unpacked export: its split folders (`training`, `validation`, `dump`),
//! their asset files (`images/`, else `assets/`) and their Vi JSONL records
//! (`annotations/*.jsonl` and `*.json`, one record per line), with each record paired
//! with its asset by `asset.filename`, never by position.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::models::{AnnotationRecord, RecordError, parse_jsonl};

/// The split folders an export may hold, in the order they are read.
pub const SPLITS: [&str; 3] = ["training", "validation", "dump"];

/// One split folder of an unpacked export.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitFolder {
    /// `training`, `validation` or `dump`.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
    /// The folder of asset files (`images/`, else `assets/`), when there is one
    /// (annotation-only exports have none).
    pub assets_dir: Option<PathBuf>,
    /// The asset files, sorted by name.
    pub asset_files: Vec<PathBuf>,
    /// The annotation files (`*.jsonl`, `*.json` directly in `annotations/`), sorted by
    /// name.
    pub annotation_files: Vec<PathBuf>,
}

/// An asset of an export with its annotation records.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LabeledAsset {
    /// The split it is in.
    pub split: String,
    /// The asset's filename (what its records name).
    pub filename: String,
    /// Its file, when the export holds it (annotation-only exports do not).
    pub path: Option<PathBuf>,
    /// Its records, in file order; empty for an asset without annotations.
    pub records: Vec<AnnotationRecord>,
}

/// A record that could not be decoded, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadRecord {
    /// The annotation file.
    pub file: PathBuf,
    /// The line and the reason.
    pub error: RecordError,
}

/// Every asset of an export with its records, and the records that could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct LabeledAssets {
    /// The assets, by split, then by filename.
    pub assets: Vec<LabeledAsset>,
    /// Lines that are not valid records (the rest of their file is still read).
    pub bad_records: Vec<BadRecord>,
}

impl IntoIterator for LabeledAssets {
    type Item = LabeledAsset;
    type IntoIter = std::vec::IntoIter<LabeledAsset>;
    fn into_iter(self) -> Self::IntoIter {
        self.assets.into_iter()
    }
}

/// An unpacked export on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportFolder {
    /// The folder (`<folder>/<dataset id>`).
    pub root: PathBuf,
    /// Its split folders, in the order of [`SPLITS`].
    pub splits: Vec<SplitFolder>,
}

fn sorted_files(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let is_file = entry
            .file_type()
            .map_err(|e| Error::io(&path, e))?
            .is_file();
        if is_file && keep(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn is_annotation_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"))
}

impl ExportFolder {
    /// Reads the layout of the unpacked export at `root`.
    ///
    /// # Errors
    /// [`Error::Io`] when a folder cannot be read; [`Error::InvalidInput`] when `root`
    /// holds none of the split folders.
    pub fn open(root: impl Into<PathBuf>) -> Result<ExportFolder> {
        let root = root.into();
        let mut splits = Vec::new();
        for name in SPLITS {
            let path = root.join(name);
            if !path.is_dir() {
                continue;
            }
            let assets_dir = ["images", "assets"]
                .iter()
                .map(|d| path.join(d))
                .find(|d| d.is_dir());
            let asset_files = match &assets_dir {
                Some(dir) => sorted_files(dir, |_| true)?,
                None => Vec::new(),
            };
            let annotation_files = sorted_files(&path.join("annotations"), is_annotation_file)?;
            splits.push(SplitFolder {
                name: name.to_owned(),
                path,
                assets_dir,
                asset_files,
                annotation_files,
            });
        }
        if splits.is_empty() {
            return Err(Error::invalid(
                "export folder",
                format!(
                    "{} holds none of the folders training/, validation/ or dump/; is it an \
                     unpacked export?",
                    root.display()
                ),
            ));
        }
        Ok(ExportFolder { root, splits })
    }

    /// Every asset with its records, paired by filename within each split: one record
    /// file per asset and one file per split both work. Records naming a file the split
    /// does not hold (annotation-only exports) come as assets without a path.
    ///
    /// # Errors
    /// [`Error::Io`] when an annotation file cannot be read. Lines that are not valid
    /// records are reported in [`LabeledAssets::bad_records`], not as an error.
    pub fn labeled_assets(&self) -> Result<LabeledAssets> {
        let mut out = LabeledAssets::default();
        for split in &self.splits {
            let mut by_name: BTreeMap<String, LabeledAsset> = BTreeMap::new();
            for file in &split.asset_files {
                let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                by_name.insert(
                    name.to_owned(),
                    LabeledAsset {
                        split: split.name.clone(),
                        filename: name.to_owned(),
                        path: Some(file.clone()),
                        records: Vec::new(),
                    },
                );
            }
            for file in &split.annotation_files {
                let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
                for parsed in parse_jsonl(&text) {
                    match parsed {
                        Ok(record) => by_name
                            .entry(record.asset.filename.clone())
                            .or_insert_with(|| LabeledAsset {
                                split: split.name.clone(),
                                filename: record.asset.filename.clone(),
                                path: None,
                                records: Vec::new(),
                            })
                            .records
                            .push(record),
                        Err(error) => out.bad_records.push(BadRecord {
                            file: file.clone(),
                            error,
                        }),
                    }
                }
            }
            out.assets.extend(by_name.into_values());
        }
        Ok(out)
    }
}

/// Counts the non-empty lines of the annotation files: the records of a Vi JSONL export.
pub(crate) fn count_lines(files: &[PathBuf]) -> Result<u64> {
    let mut n = 0;
    for file in files {
        let text = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        n += text
            .split(|&b| b == b'\n')
            .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
            .count() as u64;
    }
    Ok(n)
}
