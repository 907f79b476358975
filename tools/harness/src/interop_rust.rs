//! The wire-compatibility scenario run through our SDK (the blocking facade): the same
//! operations, in the same order, as `interop/official_client.py` runs with the official
//! Python client. `cargo xtask interop` runs it as `vi-harness interop-rust SAMPLES WORK` with
//! `DATATURE_VI_*` pointing at an emulator that records every request.
//!
//! Operations: create a dataset; upload one file, a folder and in-memory bytes (waiting);
//! import a folder with one Vi JSONL file (`annotations().upload`) and download the
//! annotations only as a ViJsonl export (`download_dataset`, annotations only);
//! list assets 2 per page; count; list (sorted) and count with a filter; get without and
//! with contents and fetch the signed URL; download the dataset twice with skip-existing
//! (the second run fetches nothing); rename by id and back by filename; delete an asset;
//! delete the dataset.
//!
//! Every step checks its result (counts, ids, bytes); the first mismatch or error ends the
//! run with a message naming the step.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::path::{Path, PathBuf};

use vi_blocking::ImportOptions;
use vi_blocking::models::Asset;
use vi_blocking::{
    AssetSortBy, Client, CountAssetsOptions, DatasetDownloadOptions, DatasetId, DownloadOptions,
    ErrorKind, ListAssetsOptions, NewDataset, SortOrder, UploadOptions, UploadReport,
    UploadSources,
};

/// The sample files, relative to the samples directory (written by
/// `official_client.py make-samples`; keep both lists in step).
const SINGLE: &str = "single/solo.png";
const FOLDER: &str = "folder";
const FOLDER_FILES: [&str; 3] = [
    "folder/alpha.png",
    "folder/beta.png",
    "folder/nested/gamma.png",
];
const BYTES_FILES: [&str; 2] = ["bytes/memory-one.png", "bytes/memory-two.png"];
const PAGE_SIZE: u32 = 2;
/// Sample widths are 16 + 4 × seed (seeds 1–6 in file order): 20, 24, 28, 32, 36, 40.
const WIDE_FILTER: &str = "metadata.width >= 32";
const WIDE_SORTED: [&str; 3] = ["memory-two.png", "memory-one.png", "gamma.png"];
const DATASET_NAME: &str = "interop our sdk";

/// Vi JSONL records imported and exported again: (record id, asset, width, height); keep
/// in step with `official_client.py`.
const LABELS_FILE: &str = "labels.jsonl";
const LABELS: [(&str, &str, u32, u32); 2] = [
    ("an-solo", "solo.png", 20, 15),
    ("an-alpha", "alpha.png", 24, 18),
];

/// The import file: one phrase-grounding record per entry of [`LABELS`].
fn vi_jsonl() -> String {
    let mut out = String::new();
    for (id, name, width, height) in LABELS {
        let record = serde_json::json!({
            "id": id,
            "asset": {"type": "Image", "filename": name, "width": width, "height": height},
            "contents": {
                "type": "PhraseGrounding",
                "caption": "a small test pattern",
                "groundedPhrases": [{"phrase": "a small test pattern", "startTokenIndex": 0,
                                     "endTokenIndex": 4, "bounds": [[0.1, 0.2, 0.6, 0.9]]}],
            },
        });
        out.push_str(&record.to_string());
        out.push('\n');
    }
    out
}

/// The `.jsonl` files below `dir`.
fn walk_jsonl(dir: &Path) -> StepResult<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(err)?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                found.push(path);
            }
        }
    }
    Ok(found)
}

type StepResult<T> = Result<T, String>;

fn check(ok: bool, message: impl Display) -> StepResult<()> {
    if ok { Ok(()) } else { Err(message.to_string()) }
}

fn err(e: impl Display) -> String {
    e.to_string()
}

fn file_name(rel: &str) -> String {
    Path::new(rel)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Numbers the steps and prints each outcome.
struct Steps {
    count: usize,
}

impl Steps {
    fn run<T>(
        &mut self,
        name: &str,
        body: impl FnOnce() -> StepResult<(T, String)>,
    ) -> StepResult<T> {
        self.count += 1;
        match body() {
            Ok((value, note)) => {
                let note = if note.is_empty() {
                    note
                } else {
                    format!(" ({note})")
                };
                println!("  [ok] {:2}. {name}{note}", self.count);
                Ok(value)
            }
            Err(message) => {
                println!("  [FAILED] {:2}. {name}", self.count);
                Err(format!("step {} ({name}): {message}", self.count))
            }
        }
    }
}

fn check_upload(report: &UploadReport, names: &[&str], ignored: u64) -> StepResult<()> {
    let expected: BTreeSet<String> = names.iter().map(|n| file_name(n)).collect();
    let succeeded: BTreeSet<String> = report
        .succeeded
        .iter()
        .map(|f| f.filename.clone())
        .collect();
    check(
        report.failed.is_empty(),
        format!("failed files: {:?}", report.failed),
    )?;
    check(
        report.skipped.is_empty(),
        format!("skipped files: {:?}", report.skipped),
    )?;
    check(
        report.processing.is_empty(),
        format!("files still processing: {:?}", report.processing),
    )?;
    check(
        succeeded == expected,
        format!("succeeded {succeeded:?}, expected {expected:?}"),
    )?;
    check(
        report.sessions.len() == 1,
        format!(
            "one ingestion session expected, got {}",
            report.sessions.len()
        ),
    )?;
    check(
        report.ignored_in_folders == ignored,
        format!(
            "{} files ignored in folders, expected {ignored}",
            report.ignored_in_folders
        ),
    )?;
    check(report.is_complete(), "the report is not complete")
}

/// Every original but `deleted` is in the export's `dump/images/`, byte for byte.
fn check_export(
    got: &vi_blocking::DownloadedDataset,
    originals: &BTreeMap<String, Vec<u8>>,
    deleted: &str,
) -> StepResult<()> {
    let images = got.path.join("dump").join("images");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&images).map_err(|e| format!("{}: {e}", images.display()))? {
        let entry = entry.map_err(err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).map_err(err)?;
        check(
            originals.get(&name) == Some(&bytes),
            format!("{name}: bytes differ from the original"),
        )?;
        found.insert(name);
    }
    let expected: BTreeSet<String> = originals
        .keys()
        .filter(|n| n.as_str() != deleted)
        .cloned()
        .collect();
    check(
        found == expected,
        format!("exported {found:?}, expected {expected:?}"),
    )?;
    check(got.path.join("metadata.json").is_file(), "no metadata.json")
}

/// Runs the scenario; `Err` names the failed step.
pub fn run(samples: &Path, work: &Path) -> StepResult<()> {
    let mut originals: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for rel in std::iter::once(SINGLE)
        .chain(FOLDER_FILES)
        .chain(BYTES_FILES)
    {
        let path = samples.join(rel);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        originals.insert(file_name(rel), bytes);
    }
    let expected: BTreeSet<String> = originals.keys().cloned().collect();
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;

    let client = Client::from_env().map_err(|e| format!("configuring the client: {e}"))?;
    let assets = client.assets();
    let datasets = client.datasets();
    let mut steps = Steps { count: 0 };

    let ds: DatasetId = steps.run("create dataset", || {
        let dataset = datasets
            .create(NewDataset::new(DATASET_NAME).description("wire-compatibility run"))
            .map_err(err)?;
        let id = dataset.id().map_err(err)?;
        check(
            !id.as_str().contains('_'),
            format!("short dataset id expected, got {id}"),
        )?;
        check(
            dataset.name == DATASET_NAME,
            format!("name {:?}", dataset.name),
        )?;
        let note = format!("dataset {id}");
        Ok((id, note))
    })?;

    steps.run("upload one file (wait)", || {
        let report = assets
            .upload(&ds, samples.join(SINGLE), UploadOptions::new())
            .map_err(err)?;
        check_upload(&report, &[SINGLE], 0)?;
        Ok(((), String::new()))
    })?;

    steps.run("upload a folder (wait)", || {
        let report = assets
            .upload(&ds, samples.join(FOLDER), UploadOptions::new())
            .map_err(err)?;
        // The folder's notes.txt is not collected, only counted.
        check_upload(&report, &FOLDER_FILES, 1)?;
        Ok(((), String::new()))
    })?;

    steps.run("upload in-memory bytes (wait)", || {
        let mut sources = UploadSources::new();
        for rel in BYTES_FILES {
            sources = sources.bytes(file_name(rel), originals[&file_name(rel)].clone());
        }
        let report = assets
            .upload(&ds, sources, UploadOptions::new())
            .map_err(err)?;
        check_upload(&report, &BYTES_FILES, 0)?;
        Ok(((), String::new()))
    })?;

    steps.run("import annotations (Vi JSONL, a folder, wait)", || {
        let dir = work.join("labels");
        std::fs::create_dir_all(&dir).map_err(err)?;
        std::fs::write(dir.join(LABELS_FILE), vi_jsonl()).map_err(err)?;
        let report = client
            .annotations()
            .upload(&ds, [dir], ImportOptions::new())
            .map_err(err)?;
        check(report.files.len() == 1, format!("files {:?}", report.files))?;
        check(
            report.total_annotations() == LABELS.len() as u64,
            format!("{} annotations", report.total_annotations()),
        )?;
        check(
            report.is_done(),
            format!("the import is {:?}", report.state),
        )?;
        Ok(((), format!("{} annotations", report.total_annotations())))
    })?;

    steps.run(
        "download annotations (ViJsonl, explicit export settings)",
        || {
            let options = DatasetDownloadOptions::new()
                .annotations_only(true)
                .format(vi_blocking::models::ExportFormat::ViJsonl)
                .overwrite(true);
            let got = datasets
                .download_dataset(&ds, work.join("annotations"), &options)
                .map_err(err)?;
            let mut ids = Vec::new();
            for entry in walk_jsonl(&got.path)? {
                let text = std::fs::read_to_string(&entry).map_err(err)?;
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let value: serde_json::Value = serde_json::from_str(line).map_err(err)?;
                    ids.push(value["id"].as_str().unwrap_or_default().to_owned());
                }
            }
            ids.sort();
            let mut expected: Vec<String> =
                LABELS.iter().map(|(id, ..)| (*id).to_owned()).collect();
            expected.sort();
            check(
                ids == expected,
                format!("exported record ids {ids:?}, expected {expected:?}"),
            )?;
            Ok(((), String::new()))
        },
    )?;

    let by_name: BTreeMap<String, Asset> = steps.run(
        &format!("list assets page by page ({PAGE_SIZE} per page, the SDK follows the tokens)"),
        || {
            let listing = assets
                .list(&ds, ListAssetsOptions::new().page_size(PAGE_SIZE))
                .map_err(err)?;
            let mut by_name = BTreeMap::new();
            let mut pages = 0usize;
            for page in listing.pages() {
                let page = page.map_err(err)?;
                pages += 1;
                check(
                    page.items.len() <= PAGE_SIZE as usize,
                    format!("page {pages} has {} items", page.items.len()),
                )?;
                for asset in page.items {
                    check(
                        !by_name
                            .values()
                            .any(|a: &Asset| a.asset_id == asset.asset_id),
                        format!("asset {} listed twice", asset.asset_id),
                    )?;
                    by_name.insert(asset.filename.clone(), asset);
                }
                check(pages < 100, "more than 100 pages")?;
            }
            let names: BTreeSet<String> = by_name.keys().cloned().collect();
            check(
                names == expected,
                format!("listed {names:?}, expected {expected:?}"),
            )?;
            let expected_pages = expected.len().div_ceil(PAGE_SIZE as usize);
            check(
                pages >= expected_pages,
                format!("{pages} pages, expected at least {expected_pages}"),
            )?;
            for (name, asset) in &by_name {
                check(
                    asset.metadata.file_size == originals[name].len() as u64,
                    format!("{name}: fileSize {}", asset.metadata.file_size),
                )?;
                check(
                    asset.contents.is_none(),
                    format!("{name}: contents present without contents=y"),
                )?;
            }
            let note = format!("{} assets in {pages} pages", by_name.len());
            Ok((by_name, note))
        },
    )?;

    steps.run("count assets", || {
        let count = assets.count(&ds, CountAssetsOptions::new()).map_err(err)?;
        check(
            count == expected.len() as u64,
            format!("count {count}, expected {}", expected.len()),
        )?;
        Ok(((), String::new()))
    })?;

    steps.run(
        "list and count with a filter, sorted by filename descending",
        || {
            let page = assets
                .page(
                    &ds,
                    ListAssetsOptions::new()
                        .page_size(10)
                        .filter(WIDE_FILTER)
                        .sort(AssetSortBy::Filename, SortOrder::Descending),
                    None,
                )
                .map_err(err)?;
            let names: Vec<&str> = page.items.iter().map(|a| a.filename.as_str()).collect();
            check(
                names == WIDE_SORTED,
                format!("listed {names:?}, expected {WIDE_SORTED:?}"),
            )?;
            check(page.is_last(), "a next page after every match")?;
            let count = assets
                .count(&ds, CountAssetsOptions::new().filter(WIDE_FILTER))
                .map_err(err)?;
            check(
                count == WIDE_SORTED.len() as u64,
                format!("filtered count {count}, expected {}", WIDE_SORTED.len()),
            )?;
            Ok(((), String::new()))
        },
    )?;

    let solo = by_name["solo.png"].id().map_err(err)?;
    steps.run("get asset (no contents)", || {
        let asset = assets.get(&ds, &solo).map_err(err)?;
        check(
            asset.asset_id == solo.as_str() && asset.filename == "solo.png",
            format!("got {} {}", asset.asset_id, asset.filename),
        )?;
        check(
            asset.contents.is_none(),
            "contents present without contents=y",
        )?;
        Ok(((), String::new()))
    })?;

    steps.run("get asset with contents, fetch its signed URL", || {
        let asset = assets.get_with_contents(&ds, &solo).map_err(err)?;
        check(
            asset.asset_id == solo.as_str(),
            format!("got asset {}", asset.asset_id),
        )?;
        let url = asset.download_url().ok_or("no contents.asset")?;
        check(url.expiry.as_millis() > 0, "no expiry")?;
        let target = work.join("single-fetch").join("solo.png");
        let written = assets.download_url(url, &target).map_err(err)?;
        let bytes = std::fs::read(&target).map_err(err)?;
        check(
            written == bytes.len() as u64,
            format!("{written} bytes reported, {} on disk", bytes.len()),
        )?;
        check(
            bytes == originals["solo.png"],
            "downloaded bytes differ from the original",
        )?;
        Ok(((), String::new()))
    })?;

    // The SDK's dataset download (skip complete existing files), as the official
    // client's `assets.download(overwrite=False)`.
    let save_root = work.join("downloads");
    let save_dir = save_root.join(ds.as_str());
    let download_all = |expect_new: usize| -> StepResult<(BTreeMap<String, PathBuf>, usize)> {
        let report = assets
            .download(&ds, &save_root, DownloadOptions::new())
            .map_err(err)?;
        check(
            report.failed.is_empty() && report.problems.is_empty() && !report.cancelled,
            format!(
                "failed: {:?}, problems: {:?}",
                report.failed, report.problems
            ),
        )?;
        check(
            report.directory == save_dir,
            format!("saved into {}", report.directory.display()),
        )?;
        check(
            report.downloaded.len() == expect_new
                && report.skipped.len() == expected.len() - expect_new,
            format!(
                "{} downloaded and {} skipped, expected {expect_new} and {}",
                report.downloaded.len(),
                report.skipped.len(),
                expected.len() - expect_new
            ),
        )?;
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(&save_dir).map_err(err)? {
            let entry = entry.map_err(err)?;
            if entry.file_type().map_err(err)?.is_file() {
                files.insert(
                    entry.file_name().to_string_lossy().into_owned(),
                    entry.path(),
                );
            }
        }
        Ok((files, report.downloaded.len()))
    };
    let stamp = |path: &Path| -> StepResult<(std::time::SystemTime, u64)> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let modified = meta.modified().map_err(err)?;
        Ok((modified, meta.len()))
    };

    let before = steps.run("download all (skip existing), first run", || {
        let (files, fetched) = download_all(expected.len())?;
        let names: BTreeSet<String> = files.keys().cloned().collect();
        check(names == expected, format!("downloaded {names:?}"))?;
        let mut before = BTreeMap::new();
        for (name, path) in &files {
            let bytes = std::fs::read(path).map_err(err)?;
            check(
                bytes == originals[name],
                format!("{name}: bytes differ from the original"),
            )?;
            before.insert(name.clone(), stamp(path)?);
        }
        Ok((before, format!("{fetched} fetched")))
    })?;

    steps.run(
        "download all (skip existing), second run writes nothing",
        || {
            let (files, _) = download_all(0)?;
            for (name, path) in &files {
                let bytes = std::fs::read(path).map_err(err)?;
                check(bytes == originals[name], format!("{name}: bytes changed"))?;
                check(
                    stamp(path)? == before[name],
                    format!("{name} was written again"),
                )?;
            }
            Ok(((), String::new()))
        },
    )?;

    let gamma = by_name["gamma.png"].id().map_err(err)?;
    steps.run("rename an asset by id, and back by filename", || {
        let renamed = assets
            .rename(&ds, &gamma, "gamma-renamed.png")
            .map_err(err)?;
        check(
            renamed.filename == "gamma-renamed.png",
            format!("rename answered {}", renamed.filename),
        )?;
        let now = assets.get(&ds, &gamma).map_err(err)?;
        check(
            now.filename == "gamma-renamed.png",
            "the new name does not show",
        )?;
        let back = assets
            .rename_by_filename(&ds, "gamma-renamed.png", "gamma.png")
            .map_err(err)?;
        check(
            back.asset_id == gamma.as_str() && back.filename == "gamma.png",
            format!("rename back answered {} {}", back.asset_id, back.filename),
        )?;
        Ok(((), String::new()))
    })?;

    let beta = by_name["beta.png"].id().map_err(err)?;
    steps.run("delete an asset", || {
        assets.delete(&ds, &beta).map_err(err)?;
        let count = assets.count(&ds, CountAssetsOptions::new()).map_err(err)?;
        check(
            count == expected.len() as u64 - 1,
            format!("count after delete {count}"),
        )?;
        match assets.get(&ds, &beta) {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(((), String::new())),
            Err(e) => Err(format!("get of the deleted asset: {e}")),
            Ok(_) => Err("the deleted asset can still be fetched".into()),
        }
    })?;

    steps.run(
        "download the dataset with its labels (export, wait, ranges, unpack)",
        || {
            let dir = work.join("export");
            let got = datasets
                .download_dataset(&ds, &dir, &DatasetDownloadOptions::new())
                .map_err(err)?;
            check_export(&got, &originals, "beta.png")?;
            Ok(((), format!("{} images", got.asset_count())))
        },
    )?;

    steps.run("delete the dataset", || {
        let gone = datasets.delete(&ds).map_err(err)?;
        let id = gone.dataset().map_err(err)?;
        check(id == ds, format!("deleted {id}"))?;
        match datasets.get(&ds) {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(((), String::new())),
            Err(e) => Err(format!("get of the deleted dataset: {e}")),
            Ok(_) => Err("the deleted dataset can still be fetched".into()),
        }
    })?;

    println!("our SDK scenario: all {} steps passed", steps.count);
    Ok(())
}
