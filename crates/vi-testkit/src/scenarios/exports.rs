//! Export scenarios: a dataset with its labels downloaded and unpacked (both dataset
//! types, with and without a split), a download interrupted and resumed, a storage that
//! answers ranges with other bytes, and hostile archives (`../` entries, absolute paths,
//! links, a zip bomb) that must write nothing outside the target.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`ExportOps`] (see [`crate::export_tests!`]).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vi_core::api::{
    CancelToken, DatasetDownloadOptions, DownloadedDataset, ExportEvent, ExportSettings,
    ImportOptions, UploadOptions,
};
use vi_core::models::{
    AnnotationRecord, BoundingBox, DatasetType, ExportFormat, GroundedPhrase, PhraseGrounding,
    RecordAsset, RecordContents, Vqa, to_jsonl,
};
use vi_core::{DatasetId, ErrorKind, NewDataset};

use crate::facade::{AssetOps, DatasetOps, ExportOps, Facade};
use crate::{Fault, FaultKind, FaultTarget, TestEnv, status_fault};

/// The record of image `name` (`w` × `h`) for a dataset of `kind`.
fn record(kind: &DatasetType, i: usize, name: &str, w: u32, h: u32) -> AnnotationRecord {
    let contents = match kind {
        DatasetType::Vqa => RecordContents::Vqa(
            Vqa::new()
                .ask(format!("What is in picture {i}?"), "Noise")
                .ask("How many colours?", format!("{}", i + 3)),
        ),
        _ => RecordContents::PhraseGrounding(
            PhraseGrounding::new(format!("a red square number {i}")).phrase(
                GroundedPhrase::new("a red square", 0, 3)
                    .bound(BoundingBox::new(0.125, 0.25, 0.5, 0.75))
                    .bound(BoundingBox::new(0.5, 0.5, 1.0, 1.0)),
            ),
        ),
    };
    AnnotationRecord::new(format!("an-{i}"), RecordAsset::image(name, w, h), contents)
}

/// A dataset, its images (name, bytes) and their records.
type Labeled = (DatasetId, Vec<(String, Vec<u8>)>, Vec<AnnotationRecord>);

/// A dataset of `kind` with `n` images and one imported Vi JSONL record each.
fn labeled_dataset<F: Facade>(
    env: &TestEnv,
    c: &F,
    kind: DatasetType,
    n: usize,
    image: impl Fn(usize) -> (u32, u32, Vec<u8>),
) -> Labeled {
    let ds = c
        .datasets()
        .create(NewDataset::new("labels").dataset_type(kind.clone()))
        .unwrap()
        .id()
        .unwrap();
    let mut files = Vec::new();
    let mut records = Vec::new();
    for i in 0..n {
        let (w, h, bytes) = image(i);
        let name = format!("img_{i:03}.png");
        records.push(record(&kind, i, &name, w, h));
        files.push((name, bytes));
    }
    let report = c
        .assets()
        .upload(&ds, files.clone(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), n, "{}", report.summary());
    let jsonl = env.path(&format!("labels-{}.jsonl", ds));
    std::fs::write(&jsonl, to_jsonl(&records)).unwrap();
    let annotations = vi_core::Annotations::from(c.core().clone());
    let imported = c
        .wait(annotations.upload(&ds, [jsonl], ImportOptions::new()))
        .unwrap();
    assert!(imported.is_done(), "{imported:?}");
    (ds, files, records)
}

fn small(i: usize) -> (u32, u32, Vec<u8>) {
    let (w, h) = (8 + i as u32, 6 + i as u32);
    (w, h, crate::png(w, h, i as u32))
}

fn noisy(i: usize) -> (u32, u32, Vec<u8>) {
    (120, 100, crate::noisy_png(120, 100, i as u64 + 1))
}

/// Every image byte for byte and every record equal to the imported one.
fn assert_same_dataset(
    got: &DownloadedDataset,
    files: &[(String, Vec<u8>)],
    records: &[AnnotationRecord],
) {
    assert_eq!(got.asset_count(), files.len() as u64, "{got:?}");
    assert_eq!(got.annotation_count(), records.len() as u64, "{got:?}");
    let labeled = got.folder().unwrap().labeled_assets().unwrap();
    assert!(labeled.bad_records.is_empty(), "{:?}", labeled.bad_records);
    assert_eq!(labeled.assets.len(), files.len());
    for asset in &labeled.assets {
        let (_, bytes) = files
            .iter()
            .find(|(n, _)| *n == asset.filename)
            .unwrap_or_else(|| panic!("unexpected {}", asset.filename));
        let path = asset.path.as_ref().expect("a full export holds the image");
        assert!(
            std::fs::read(path).unwrap() == *bytes,
            "{} differs",
            asset.filename
        );
        let expected: Vec<&AnnotationRecord> = records
            .iter()
            .filter(|r| r.asset.filename == asset.filename)
            .collect();
        assert_eq!(asset.records.iter().collect::<Vec<_>>(), expected);
    }
    assert!(got.path.join("metadata.json").is_file());
}

/// Only `<dir>/<dataset>` is left in `dir`: no staging folder, no archive.
fn assert_only_the_dataset(dir: &Path, dataset: &DatasetId) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![dataset.to_string()]);
}

/// Upload images, import their records (phrase grounding, then VQA), export, download
/// and unpack: the images are byte-identical and the records equal the imported ones.
pub fn a_dataset_with_labels_round_trips_for_both_dataset_types<F: Facade + ExportOps>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    for kind in [DatasetType::PhraseGrounding, DatasetType::Vqa] {
        let (ds, files, records) = labeled_dataset(env, &c, kind.clone(), 4, small);
        let dir = env.path(&format!("out-{kind}"));
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = events.clone();
        let options = DatasetDownloadOptions::new().progress(move |e| {
            seen.lock().unwrap().push(e.clone());
        });
        let got = c.download_dataset(&ds, &dir, &options).unwrap();
        assert!(!got.already_present && got.export.is_some());
        assert_eq!(got.path, dir.join(ds.as_str()));
        assert_eq!(
            got.splits
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["dump"]
        );
        assert_same_dataset(&got, &files, &records);
        assert_only_the_dataset(&dir, &ds);
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(got.path.join("metadata.json")).unwrap())
                .unwrap();
        assert_eq!(meta["name"], ds.as_str());
        assert_eq!(meta["organizationId"], env.emulator.organization_id());
        assert!(
            meta["createdAt"].as_u64().unwrap() < 10_000_000_000,
            "seconds"
        );
        let events = events.lock().unwrap();
        assert!(matches!(
            events.first(),
            Some(ExportEvent::Export { created: true, .. })
        ));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ExportEvent::Unpacking { .. }))
        );
    }
}

/// With a split ratio of 0.5, four assets go two to `training/` and two to
/// `validation/`, and still all come back.
pub fn a_split_export_puts_every_asset_in_training_or_validation<F: Facade + ExportOps>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    let (ds, files, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 4, small);
    let options = DatasetDownloadOptions::new().split_ratio(0.5);
    let got = c
        .download_dataset(&ds, &env.path("split"), &options)
        .unwrap();
    let splits: Vec<(&str, u64)> = got
        .splits
        .iter()
        .map(|s| (s.name.as_str(), s.assets))
        .collect();
    assert_eq!(splits, [("training", 2), ("validation", 2)]);
    assert_same_dataset(&got, &files, &records);
}

/// `annotations_only` asks for `ViJsonl`: records, no images; `Coco` (which the official
/// client cannot even decode) downloads too, as an opaque archive.
pub fn an_annotation_only_export_holds_records_and_no_images<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, _files, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 3, small);
    let options = DatasetDownloadOptions::new().annotations_only(true);
    let got = c
        .download_dataset(&ds, &env.path("labels"), &options)
        .unwrap();
    assert_eq!((got.asset_count(), got.annotation_count()), (0, 3));
    let labeled = got.folder().unwrap().labeled_assets().unwrap();
    assert!(labeled.assets.iter().all(|a| a.path.is_none()));
    let mut back: Vec<AnnotationRecord> =
        labeled.assets.into_iter().flat_map(|a| a.records).collect();
    back.sort_by_key(|r| r.id.to_string());
    assert_eq!(back, records);
    let coco = DatasetDownloadOptions::new()
        .annotations_only(true)
        .format(ExportFormat::Coco);
    let got = c.download_dataset(&ds, &env.path("coco"), &coco).unwrap();
    let file = got.path.join("dump/annotations/coco.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(doc["images"].as_array().unwrap().len(), 3);
}

/// A second call finds the complete copy and returns it without creating an export; with
/// `overwrite` it downloads again and replaces it, stale files gone.
pub fn a_complete_copy_is_returned_without_a_new_export<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 2, small);
    let dir = env.path("again");
    let first = c
        .download_dataset(&ds, &dir, &DatasetDownloadOptions::new())
        .unwrap();
    std::fs::write(first.path.join("dump/stale.txt"), b"old").unwrap();
    let before = env.emulator.stats();
    let second = c
        .download_dataset(&ds, &dir, &DatasetDownloadOptions::new())
        .unwrap();
    assert!(second.already_present && second.export.is_none());
    assert_eq!(
        env.emulator.stats().api_requests,
        before.api_requests,
        "nothing asked"
    );
    let third = c
        .download_dataset(&ds, &dir, &DatasetDownloadOptions::new().overwrite(true))
        .unwrap();
    assert!(!third.already_present);
    assert!(!third.path.join("dump/stale.txt").exists());
    assert_same_dataset(&third, &files, &records);
    assert_only_the_dataset(&dir, &ds);
}

/// A download that fails midway (the storage starts refusing) leaves nothing under the
/// dataset's name; the next call reuses the export and fetches only the missing ranges.
pub fn an_interrupted_download_resumes_where_it_stopped<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 4, noisy);
    let dir = env.path("resume");
    let emulator = env.emulator.clone();
    let cut = Arc::new(AtomicBool::new(false));
    let fired = cut.clone();
    let options = DatasetDownloadOptions::new()
        .chunk_size(16 << 10)
        .concurrency(1)
        .progress(move |e| {
            let ExportEvent::Downloading { received, total } = e else {
                return;
            };
            if *received >= total / 2 && !fired.swap(true, Ordering::SeqCst) {
                emulator.inject(status_fault(FaultTarget::Download, 404, 10_000));
            }
        });
    let err = c.download_dataset(&ds, &dir, &options).unwrap_err();
    assert!(cut.load(Ordering::SeqCst), "the download was cut: {err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    assert!(
        !dir.join(ds.as_str()).exists(),
        "nothing under the final name"
    );
    env.emulator.clear_faults();
    let plain = DatasetDownloadOptions::new().chunk_size(16 << 10);
    let got = c.download_dataset(&ds, &dir, &plain).unwrap();
    assert!(got.resumed_bytes >= got.archive_bytes / 2, "{got:?}");
    assert!(got.resumed_bytes < got.archive_bytes, "{got:?}");
    assert_same_dataset(&got, &files, &records);
    assert_only_the_dataset(&dir, &ds);
}

/// A token fired after the first ranges stops the call with `Cancelled`: nothing is put
/// in place, and the next call continues from the ranges written.
pub fn a_cancelled_download_keeps_its_ranges_for_the_next_call<F: Facade + ExportOps>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    let (ds, files, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 3, noisy);
    let dir = env.path("cancel");
    let token = CancelToken::new();
    let fire = token.clone();
    let options = DatasetDownloadOptions::new()
        .chunk_size(16 << 10)
        .concurrency(1)
        .cancel(token)
        .progress(move |e| {
            if matches!(e, ExportEvent::Downloading { received, .. } if *received >= 32 << 10) {
                fire.cancel();
            }
        });
    let err = c.download_dataset(&ds, &dir, &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(!dir.join(ds.as_str()).exists());
    let plain = DatasetDownloadOptions::new().chunk_size(16 << 10);
    let got = c.download_dataset(&ds, &dir, &plain).unwrap();
    assert!(got.resumed_bytes >= 32 << 10, "{got:?}");
    assert_same_dataset(&got, &files, &records);
    assert_only_the_dataset(&dir, &ds);
}

/// A storage answering a range with the bytes of another range (its `Content-Range` says
/// so) is refused with the range asked for and what came back; nothing is unpacked.
pub fn a_range_answered_with_other_bytes_is_refused<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 2, noisy);
    let dir = env.path("ranges");
    env.emulator.inject(Fault {
        target: FaultTarget::Download,
        kind: FaultKind::MisplacedRange,
        times: 10_000,
    });
    let options = DatasetDownloadOptions::new().chunk_size(16 << 10);
    let err = c.download_dataset(&ds, &dir, &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("asked for bytes=") && text.contains("Content-Range bytes"),
        "{text}"
    );
    assert!(!dir.join(ds.as_str()).exists());
    env.emulator.clear_faults();
    let got = c.download_dataset(&ds, &dir, &options).unwrap();
    assert_same_dataset(&got, &files, &records);
}

/// A storage that refuses `HEAD` (405) still gives the archive's size through the
/// `Content-Range` of a one-byte range, and the download completes.
pub fn a_refused_head_falls_back_to_a_one_byte_range<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, files, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 2, small);
    let export = c.export(&ds, ExportSettings::new()).unwrap();
    c.get_export(&ds, &export.id().unwrap()).unwrap();
    env.emulator
        .inject(status_fault(FaultTarget::Download, 405, 1));
    let options = DatasetDownloadOptions::new().export(export.id().unwrap());
    let got = c
        .download_dataset(&ds, &env.path("nohead"), &options)
        .unwrap();
    assert_eq!(
        env.emulator.stats().injected_faults,
        1,
        "the HEAD was refused"
    );
    assert_same_dataset(&got, &files, &records);
}

/// Ranges refused with 403 (an expired or revoked signature) get a fresh URL from the
/// export (E2) and the download completes.
pub fn a_refused_archive_url_is_signed_again_through_the_export<F: Facade + ExportOps>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    let (ds, files, records) = labeled_dataset(env, &c, DatasetType::Vqa, 3, noisy);
    let emulator = env.emulator.clone();
    let once = Arc::new(AtomicBool::new(false));
    let options = DatasetDownloadOptions::new()
        .chunk_size(16 << 10)
        .progress(move |e| {
            if matches!(e, ExportEvent::Downloading { .. }) && !once.swap(true, Ordering::SeqCst) {
                emulator.inject(status_fault(FaultTarget::Download, 403, 2));
            }
        });
    let before = env.emulator.stats();
    let got = c
        .download_dataset(&ds, &env.path("resign"), &options)
        .unwrap();
    assert!(env.emulator.stats().injected_faults >= before.injected_faults + 2);
    assert_same_dataset(&got, &files, &records);
}

/// `Coco` for a VQA dataset is refused before any export exists, naming the formats
/// that suit; told to skip the check, the call goes through.
pub fn an_unsuitable_format_is_refused_before_any_export_unless_told<F: Facade + ExportOps>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    let (ds, _, _) = labeled_dataset(env, &c, DatasetType::Vqa, 1, small);
    let options = DatasetDownloadOptions::new()
        .annotations_only(true)
        .format(ExportFormat::Coco);
    let before = env.emulator.stats();
    let err = c
        .download_dataset(&ds, &env.path("x"), &options)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("ViJsonl, ViTfrecord"), "{err}");
    // Only the dataset was read.
    assert_eq!(env.emulator.stats().api_requests, before.api_requests + 1);
    let got = c
        .download_dataset(&ds, &env.path("x"), &options.skip_format_check())
        .unwrap();
    assert!(got.path.join("dump/annotations/coco.json").is_file());
}

/// An export whose build fails ends the wait with the service's reason.
pub fn a_failed_export_is_an_operation_error<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, _, _) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 1, small);
    let export = c.export(&ds, ExportSettings::new()).unwrap();
    let id = export.id().unwrap();
    env.emulator
        .fail_export(
            id.as_str(),
            "ArchiveTooLarge",
            "the archive would be too large",
        )
        .unwrap();
    let options = DatasetDownloadOptions::new().export(id.clone());
    let err = c
        .download_dataset(&ds, &env.path("failed"), &options)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OperationFailed, "{err}");
    assert!(
        err.to_string().contains("the archive would be too large"),
        "{err}"
    );
    assert!(c.get_export(&ds, &id).unwrap().failure().is_some());
}

/// Three exports list as pages of 2 and 1 (and as one page without a size); with
/// `reuse_finished`, the newest finished one with the same settings is downloaded and no
/// export is created.
pub fn exports_are_listed_page_by_page_and_a_finished_one_is_reused<F: Facade + ExportOps>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    let (ds, files, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 2, small);
    let mut ids = Vec::new();
    for settings in [
        ExportSettings::new(),
        ExportSettings::new().format(ExportFormat::ViJsonl),
        ExportSettings::new(),
    ] {
        let export = c.export(&ds, settings).unwrap();
        let id = export.id().unwrap();
        assert!(!export.is_done());
        assert!(c.get_export(&ds, &id).unwrap().is_done());
        ids.push(id);
    }
    let (sizes, listed) = c.list_exports(&ds, Some(2)).unwrap();
    assert_eq!(sizes, [2, 1]);
    let listed: Vec<String> = listed.iter().map(|e| e.dataset_export_id.clone()).collect();
    assert_eq!(
        listed,
        ids.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    assert_eq!(c.list_exports(&ds, None).unwrap().0, [3]);
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    let options = DatasetDownloadOptions::new()
        .reuse_finished(true)
        .progress(move |e| seen.lock().unwrap().push(e.clone()));
    let got = c
        .download_dataset(&ds, &env.path("reuse"), &options)
        .unwrap();
    assert_eq!(got.export.as_ref(), ids.last());
    assert!(events.lock().unwrap().contains(&ExportEvent::Export {
        export: ids[2].to_string(),
        created: false
    }));
    assert_eq!(
        c.list_exports(&ds, None).unwrap().1.len(),
        3,
        "none created"
    );
    assert_same_dataset(&got, &files, &records);
}

/// With `normalized(false)` the boxes come back in pixels: the imported fractions times
/// the image's width and height.
pub fn pixel_coordinates_are_the_fractions_times_the_image_size<F: Facade + ExportOps>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    let (ds, _, records) = labeled_dataset(env, &c, DatasetType::PhraseGrounding, 2, small);
    let options = DatasetDownloadOptions::new().normalized(false);
    let got = c
        .download_dataset(&ds, &env.path("pixels"), &options)
        .unwrap();
    for item in got.folder().unwrap().labeled_assets().unwrap() {
        let original = records
            .iter()
            .find(|r| r.asset.filename == item.filename)
            .unwrap();
        let (w, h) = (
            f64::from(original.asset.width),
            f64::from(original.asset.height),
        );
        let (RecordContents::PhraseGrounding(want), RecordContents::PhraseGrounding(back)) =
            (&original.contents, &item.records[0].contents)
        else {
            panic!("{item:?}")
        };
        let want = want.grounded_phrases[0].bounds[0];
        let back = back.grounded_phrases[0].bounds[0];
        assert_eq!(
            (back.xmin, back.ymin, back.xmax, back.ymax),
            (want.xmin * w, want.ymin * h, want.xmax * w, want.ymax * h)
        );
    }
}

/// A hostile archive served through the normal signed URL of an export of `ds`.
fn download_hostile<F: Facade + ExportOps>(
    env: &TestEnv,
    c: &F,
    archive: Vec<u8>,
    dir: &Path,
) -> (DatasetId, vi_core::Error) {
    let ds = c.datasets().create("hostile").unwrap().id().unwrap();
    let export = c.export(&ds, ExportSettings::new()).unwrap();
    let id = export.id().unwrap();
    env.emulator
        .replace_export_archive(id.as_str(), &archive)
        .unwrap();
    let options = DatasetDownloadOptions::new().export(id);
    let err = c.download_dataset(&ds, dir, &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Archive, "{err}");
    assert!(
        !dir.join(ds.as_str()).exists(),
        "nothing under the final name"
    );
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(
        left.is_empty(),
        "no staging folder or archive left: {left:?}"
    );
    (ds, err)
}

/// A ZIP with one harmless entry first, then `entries` (name, bytes).
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("dump/images/ok.png", options).unwrap();
    zip.write_all(&crate::png(2, 2, 1)).unwrap();
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// `dump/../../escape.txt` is refused, naming the entry; nothing appears above the
/// target (nor in it: the harmless entry before it was only staged).
pub fn an_entry_climbing_out_with_dot_dot_writes_nothing_outside<F: Facade + ExportOps>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    let dir = env.path("climb/inner");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = zip_of(&[("dump/../../escape.txt", b"out"), ("../escape.txt", b"out")]);
    let (_, err) = download_hostile(env, &c, archive, &dir);
    assert!(err.to_string().contains("'..'"), "{err}");
    assert!(!env.path("climb/escape.txt").exists());
    assert!(!env.path("escape.txt").exists());
}

/// `/tmp/<unique>/abs.txt` is refused as an absolute path and never created.
pub fn an_entry_with_an_absolute_path_writes_nothing_outside<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let dir = env.path("abs");
    std::fs::create_dir_all(&dir).unwrap();
    let outside = env.path("elsewhere/abs.txt");
    let name = outside.to_string_lossy().into_owned();
    let archive = zip_of(&[(name.as_str(), b"out")]);
    let (_, err) = download_hostile(env, &c, archive, &dir);
    assert!(err.to_string().contains("absolute path"), "{err}");
    assert!(!outside.exists() && !env.path("elsewhere").exists());
}

/// A symbolic-link entry (pointing outside) is refused: no link is ever created, and
/// nothing is written where it points.
pub fn a_link_entry_is_refused_and_nothing_is_linked<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let dir = env.path("links");
    std::fs::create_dir_all(&dir).unwrap();
    let target = env.path("victim");
    std::fs::create_dir_all(&target).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.add_symlink("dump/images", target.to_string_lossy(), options)
        .unwrap();
    zip.start_file("dump/images/planted.png", options).unwrap();
    zip.write_all(b"through the link").unwrap();
    let archive = zip.finish().unwrap().into_inner();
    let (_, err) = download_hostile(env, &c, archive, &dir);
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

/// 64 MiB of zeros deflated to a few KiB (over 1000:1) is refused from the archive's
/// directory, before a byte is unpacked.
pub fn a_zip_bomb_is_refused_before_it_is_unpacked<F: Facade + ExportOps>(env: &TestEnv) {
    let c = F::connect(env);
    let dir = env.path("bomb");
    std::fs::create_dir_all(&dir).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    zip.start_file("dump/images/bomb.png", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        zip.write_all(&zeros).unwrap();
    }
    let archive = zip.finish().unwrap().into_inner();
    assert!(archive.len() < 1 << 20, "{}", archive.len());
    let (_, err) = download_hostile(env, &c, archive, &dir);
    assert!(err.to_string().contains("zip bomb"), "{err}");
}
