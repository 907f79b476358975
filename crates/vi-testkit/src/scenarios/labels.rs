//! Scenarios of annotation import, per-asset annotation parts, ingestion sessions as
//! resources and curation (bulk deletion, dataset update, the lightweight list), run by
//! both facades (see [`crate::label_tests!`]).

use std::path::PathBuf;
use std::time::Duration;

use vi_core::api::{DuplicateNames, ImportOptions, ImportOutcome, ImportState, UploadOptions};
use vi_core::models::{
    AnnotationContents, AnnotationRecord, AnnotationRole, BoundingBox, DatasetType, GroundedPhrase,
    PhraseGrounding, RecordAsset, RecordContents, Vqa, to_jsonl,
};
use vi_core::{
    AnnotationId, AssetId, DatasetId, DatasetUpdate, DeleteCriteria, ErrorKind, IngestionSessionId,
    ListAssetsOptions, NewDataset,
};

use crate::facade::{AssetOps, DatasetOps, Facade, Labels};
use crate::{Fault, FaultKind, FaultTarget, TestEnv, write_file};

const WAIT: Duration = Duration::from_secs(30);

/// A dataset of `type` holding `n` PNGs named img_0.png…; returns it and the assets
/// (id, filename, width, height) in name order.
fn dataset_with_images<F: Facade>(
    c: &F,
    dataset_type: DatasetType,
    n: u32,
) -> (DatasetId, Vec<(AssetId, String, u32, u32)>) {
    let ds = c
        .datasets()
        .create(NewDataset::new("labels").dataset_type(dataset_type))
        .expect("create")
        .id()
        .expect("id");
    let files: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| (format!("img_{i}.png"), crate::png(8 + i, 6 + i, i)))
        .collect();
    c.wait(crate::seed_assets(c.core(), &ds, &files))
        .expect("seed");
    let mut assets: Vec<(AssetId, String, u32, u32)> = c
        .assets()
        .list(&ds, ListAssetsOptions::new())
        .expect("listing")
        .flat_map(|p| p.expect("page").items)
        .map(|a| {
            let (w, h) = (8 + digit(&a.filename), 6 + digit(&a.filename));
            (
                AssetId::new(a.asset_id.clone()).expect("id"),
                a.filename,
                w,
                h,
            )
        })
        .collect();
    assets.sort_by(|a, b| a.1.cmp(&b.1));
    (ds, assets)
}

fn digit(filename: &str) -> u32 {
    filename
        .trim_start_matches("img_")
        .trim_end_matches(".png")
        .parse()
        .expect("a seeded name")
}

/// One phrase-grounding record for an asset: a caption, two phrases, three boxes.
fn grounding(id: &str, name: &str, w: u32, h: u32) -> AnnotationRecord {
    let contents = PhraseGrounding::new("A red car next to a cyclist")
        .phrase(GroundedPhrase::new("A red car", 0, 3).bound(BoundingBox::new(0.1, 0.2, 0.5, 0.8)))
        .phrase(
            GroundedPhrase::new("a cyclist", 5, 7)
                .bound(BoundingBox::new(0.6, 0.3, 0.7, 0.9))
                .bound(BoundingBox::new(0.7, 0.3, 0.8, 0.6)),
        );
    AnnotationRecord::new(
        id,
        RecordAsset::image(name, w, h),
        RecordContents::PhraseGrounding(contents),
    )
}

fn vqa(id: &str, name: &str, w: u32, h: u32) -> AnnotationRecord {
    AnnotationRecord::new(
        id,
        RecordAsset::image(name, w, h),
        RecordContents::Vqa(
            Vqa::new()
                .ask("How many mugs?", "Two")
                .ask("Colour?", "Silver"),
        ),
    )
}

/// Writes records as a Vi JSONL file.
fn jsonl(path: PathBuf, records: &[AnnotationRecord]) -> PathBuf {
    write_file(&path, to_jsonl(records).as_bytes());
    path
}

/// Phrase-grounding and VQA records, imported into datasets of their type, are all
/// counted, every file is accounted for, and the parts read back per asset match them; a
/// record of the other type fails the session with a reason.
pub fn annotations_are_imported_into_both_dataset_types<F: Labels>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, assets) = dataset_with_images(&c, DatasetType::PhraseGrounding, 2);
    let records: Vec<AnnotationRecord> = assets
        .iter()
        .enumerate()
        .map(|(i, (_, name, w, h))| grounding(&format!("an-{i}"), name, *w, *h))
        .collect();
    let file = jsonl(env.path("labels.jsonl"), &records);
    let report = c
        .import_annotations(&ds, vec![file.clone()], ImportOptions::new())
        .expect("import");
    assert_eq!(report.state, ImportState::Done, "{report:?}");
    assert_eq!(report.files.len(), 1);
    assert_eq!(report.files[0].outcome, ImportOutcome::Uploaded);
    assert_eq!(report.files[0].name, "labels.jsonl");
    assert_eq!(
        report.files[0].size,
        std::fs::metadata(&file).unwrap().len()
    );
    assert!(report.unexpected_names.is_empty());
    assert_eq!(report.total_annotations(), 2);
    assert!(report.session.is_complete());

    // One caption part and one part per box, tied to their whole.
    let parts = c.annotations_of(&ds, &assets[0].0, 2).expect("parts");
    assert_eq!(parts.len(), 4, "{parts:?}");
    assert!(parts.iter().all(|p| p.whole_id() == "an-0"));
    assert_eq!(
        parts[0].spec.aggregation.this_part.role,
        AnnotationRole::Caption
    );
    assert_eq!(
        parts[0].spec.contents,
        AnnotationContents::Caption {
            contents: "A red car next to a cyclist".into()
        }
    );
    match &parts[2].spec.contents {
        AnnotationContents::PhraseGroundingBoundingBox { bound, target } => {
            assert_eq!(*target, [5, 7]);
            assert_eq!(bound[0], vec![0.6, 0.3]);
            assert_eq!(bound[2], vec![0.7, 0.9]);
        }
        other => panic!("a box part: {other:?}"),
    }
    let sessions = c.import_sessions(&ds, 10).expect("sessions");
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].annotation_import_session_id,
        report.session_id.as_str()
    );

    let (vds, vassets) = dataset_with_images(&c, DatasetType::Vqa, 1);
    let (_, name, w, h) = &vassets[0];
    let file = jsonl(env.path("vqa.jsonl"), &[vqa("q-1", name, *w, *h)]);
    let report = c
        .import_annotations(&vds, vec![file], ImportOptions::new())
        .expect("vqa import");
    assert_eq!(report.state, ImportState::Done, "{report:?}");
    assert_eq!(report.total_annotations(), 1);
    let parts = c.annotations_of(&vds, &vassets[0].0, 10).expect("parts");
    assert_eq!(parts.len(), 1);
    assert!(matches!(
        parts[0].spec.contents,
        AnnotationContents::Unknown(_)
    ));

    // A grounding record in a VQA dataset: the session is rejected, with its reason.
    let wrong = jsonl(env.path("wrong.jsonl"), &[grounding("g-1", name, *w, *h)]);
    let report = c
        .import_annotations(&vds, vec![wrong], ImportOptions::new())
        .expect("the call itself works");
    match &report.state {
        ImportState::Failed { .. } => {}
        other => panic!("a failed session: {other:?}"),
    }
    let reason = report.session.status.reason.clone().unwrap_or_default();
    assert!(reason.contains("Vqa"), "{reason}");
    assert_eq!(
        c.annotations_of(&vds, &vassets[0].0, 10)
            .expect("parts")
            .len(),
        1
    );
}

/// Two files called `labels.jsonl` in two folders are refused before anything is sent
/// (no session is opened), naming both; with `PrefixFolders` each goes under its own name
/// and both are imported. Paths that do not exist and folders without annotation files
/// are refused too.
pub fn duplicate_names_are_refused_or_named_by_their_folders<F: Labels>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, assets) = dataset_with_images(&c, DatasetType::PhraseGrounding, 2);
    let root = env.path("labels");
    for (i, folder) in ["train", "val"].iter().enumerate() {
        let (_, name, w, h) = &assets[i];
        jsonl(
            root.join(folder).join("labels.jsonl"),
            &[grounding(&format!("{folder}-1"), name, *w, *h)],
        );
    }
    write_file(&root.join("notes.txt"), b"not an annotation file");
    let err = c
        .import_annotations(&ds, vec![root.clone()], ImportOptions::new())
        .expect_err("duplicates are refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(
        text.contains("train") && text.contains("val") && text.contains("labels.jsonl"),
        "{text}"
    );
    assert!(c.import_sessions(&ds, 10).expect("sessions").is_empty());

    let report = c
        .import_annotations(
            &ds,
            vec![root],
            ImportOptions::new().duplicate_names(DuplicateNames::PrefixFolders),
        )
        .expect("import");
    let mut names: Vec<&str> = report.files.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["train__labels.jsonl", "val__labels.jsonl"]);
    assert_eq!(report.state, ImportState::Done, "{report:?}");
    assert_eq!(report.total_annotations(), 2);
    for (asset, ..) in &assets {
        assert_eq!(c.annotations_of(&ds, asset, 10).expect("parts").len(), 4);
    }

    let missing = c
        .import_annotations(&ds, vec![env.path("nowhere.jsonl")], ImportOptions::new())
        .expect_err("missing path");
    assert!(missing.to_string().contains("nowhere.jsonl"), "{missing}");
    std::fs::create_dir_all(env.path("empty")).unwrap();
    let empty = c
        .import_annotations(&ds, vec![env.path("empty")], ImportOptions::new())
        .expect_err("no files");
    assert_eq!(empty.kind(), ErrorKind::InvalidInput);
    assert_eq!(c.import_sessions(&ds, 10).expect("sessions").len(), 1);
}

/// An asset upload started with `wait(false)` is finished later: from its report
/// (`finish_upload` moves every file to succeeded) and from a session id alone (the
/// session is listed, and waiting for it by id finds it finished). An annotation import
/// started without waiting is waited for by its session id; cancelling an open import
/// session fails it.
pub fn uploads_started_without_waiting_are_finished_later<F: Labels>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = crate::facade::new_dataset(&c, "later");
    let dir = env.path("images");
    for i in 0..5 {
        write_file(&dir.join(format!("p{i}.png")), &crate::png(5 + i, 5, i));
    }
    let report = c
        .assets()
        .upload(&ds, dir.as_path(), UploadOptions::default().wait(false))
        .expect("upload");
    assert_eq!(report.failed.len(), 0, "{:?}", report.failed);
    assert_eq!(report.succeeded.len() + report.processing.len(), 5);
    let ids = report.session_ids();
    assert_eq!(ids.len(), 1);

    let listed = c.ingestion_sessions(&ds, 10).expect("sessions");
    assert!(
        listed
            .iter()
            .any(|s| s.asset_ingestion_session_id == ids[0])
    );
    let id = IngestionSessionId::new(ids[0].clone()).unwrap();
    let seen = c.ingestion_session(&ds, &id).expect("get");
    assert_eq!(seen.asset_ingestion_session_id, ids[0]);
    let finished = c.wait_for_ingestion(&ds, &id, WAIT).expect("wait");
    assert!(vi_core::models::is_finished_reached(
        &finished.status.conditions
    ));

    let done = c.finish_upload(report, WAIT).expect("finish");
    assert!(done.processing.is_empty(), "{:?}", done.processing);
    assert_eq!(done.succeeded.len(), 5);
    assert_eq!(done.total_files(), 5);
    assert!(
        done.sessions
            .iter()
            .all(|s| vi_core::models::is_finished_reached(&s.status.conditions))
    );

    // The same for an annotation import.
    let (lds, assets) = dataset_with_images(&c, DatasetType::PhraseGrounding, 1);
    let (_, name, w, h) = &assets[0];
    let file = jsonl(env.path("later.jsonl"), &[grounding("l-1", name, *w, *h)]);
    let started = c
        .import_annotations(&lds, vec![file], ImportOptions::new().wait(false))
        .expect("import");
    assert_eq!(started.state, ImportState::Processing);
    let session = c
        .wait_for_import(&lds, &started.session_id, WAIT)
        .expect("wait");
    assert!(session.is_done() && session.is_complete(), "{session:?}");
    assert_eq!(session.total_annotations(), 1);
    let again = c.import_session(&lds, &started.session_id).expect("get");
    assert!(again.is_done());
    let err = c
        .cancel_import(&lds, &started.session_id)
        .expect_err("a finished import cannot be cancelled");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

/// Bulk deletion: empty criteria are refused before anything is sent; a filter deletes
/// exactly the matching assets (and their annotations) once the session is waited for;
/// "all assets" must be asked for explicitly.
pub fn bulk_deletion_refuses_empty_criteria_and_deletes_what_matches<F: Labels>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, assets) = dataset_with_images(&c, DatasetType::PhraseGrounding, 4);
    let err = c
        .delete_many(&ds, DeleteCriteria::new())
        .expect_err("empty criteria");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("all"), "{err}");
    assert!(c.deletions(&ds, 10).expect("deletions").is_empty());
    assert_eq!(c.assets().count(&ds, Default::default()).expect("count"), 4);

    let started = c
        .delete_many(
            &ds,
            DeleteCriteria::new().filter("filename == \"img_1.png\""),
        )
        .expect("delete many");
    let id = vi_core::BulkDeletionId::new(started.delete_many_assets_session_id.clone()).unwrap();
    let done = c.wait_for_deletion(&ds, &id, WAIT).expect("wait");
    assert!(done.is_done(), "{done:?}");
    let left: Vec<String> = c
        .assets()
        .list(&ds, ListAssetsOptions::new())
        .expect("listing")
        .flat_map(|p| p.expect("page").items)
        .map(|a| a.filename)
        .collect();
    assert_eq!(left.len(), 3);
    assert!(!left.contains(&"img_1.png".to_owned()));
    assert_eq!(c.deletions(&ds, 10).expect("deletions").len(), 1);
    let gone = c
        .annotations_of(&ds, &assets[1].0, 10)
        .expect_err("the asset is gone");
    assert_eq!(gone.kind(), ErrorKind::NotFound);

    let all = c.delete_many(&ds, DeleteCriteria::all_assets());
    // The emulator refuses an all-null spec (a documented modelling choice): the request
    // was sent, and refused by the service, not by the client.
    assert_eq!(
        all.expect_err("refused by the emulator").kind(),
        ErrorKind::Validation
    );
}

/// Per-asset annotation parts: get, update a caption, replace a box, delete a box and
/// then a caption (which takes its whole annotation); the asset with its objects agrees.
/// Dataset update and the lightweight list.
pub fn annotation_parts_and_curation_calls<F: Labels>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, assets) = dataset_with_images(&c, DatasetType::PhraseGrounding, 1);
    let (asset, name, w, h) = &assets[0];
    let file = jsonl(env.path("one.jsonl"), &[grounding("w-1", name, *w, *h)]);
    let report = c
        .import_annotations(&ds, vec![file], ImportOptions::new())
        .expect("import");
    assert!(report.is_done());
    let parts = c
        .annotations_of(&ds, asset, 1)
        .expect("parts, one per page");
    assert_eq!(parts.len(), 4);
    let caption_id = AnnotationId::new(parts[0].annotation_id.clone()).unwrap();
    let box_id = AnnotationId::new(parts[1].annotation_id.clone()).unwrap();

    let got = c.annotation(&ds, asset, &caption_id).expect("get");
    assert_eq!(got, parts[0]);
    let updated = c
        .update_annotation(
            &ds,
            asset,
            &caption_id,
            serde_json::json!({"spec": {"contents": {"kind": "Caption", "contents": "A blue car"}}}),
        )
        .expect("update");
    assert_eq!(
        updated.spec.contents,
        AnnotationContents::Caption {
            contents: "A blue car".into()
        }
    );

    let mut moved = c.annotation(&ds, asset, &box_id).expect("get box");
    moved.spec.contents = AnnotationContents::PhraseGroundingBoundingBox {
        bound: vec![
            vec![0.2, 0.2],
            vec![0.4, 0.2],
            vec![0.4, 0.5],
            vec![0.2, 0.5],
        ],
        target: [1, 3],
    };
    let replaced = c.replace_annotation(&ds, &moved).expect("replace");
    assert_eq!(replaced.spec.contents, moved.spec.contents);

    c.delete_annotation(&ds, asset, &box_id)
        .expect("delete box");
    assert_eq!(c.annotations_of(&ds, asset, 10).expect("parts").len(), 3);
    let with = c.asset_with_objects(&ds, asset).expect("with objects");
    assert_eq!(with.asset().expect("asset").filename, *name);
    assert_eq!(with.objects().len(), 3);
    c.delete_annotation(&ds, asset, &caption_id)
        .expect("delete caption");
    assert!(c.annotations_of(&ds, asset, 10).expect("parts").is_empty());
    let missing = c.annotation(&ds, asset, &caption_id).expect_err("gone");
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let bad = c
        .update_annotation(&ds, asset, &caption_id, serde_json::json!([1]))
        .expect_err("not an object");
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);

    let renamed = c
        .update_dataset(
            &ds,
            DatasetUpdate::new()
                .name("Drone survey (cleaned)")
                .description("spring")
                .attribute("team", "cv"),
        )
        .expect("update");
    assert_eq!(renamed.name, "Drone survey (cleaned)");
    assert_eq!(
        c.datasets().get(&ds).expect("get").description.as_deref(),
        Some("spring")
    );
    let empty = c
        .update_dataset(&ds, DatasetUpdate::new())
        .expect_err("empty");
    assert_eq!(empty.kind(), ErrorKind::InvalidInput);
    let simple = c.simple_datasets(1).expect("simple list");
    let mine = simple
        .iter()
        .find(|d| d.dataset().ok().as_ref() == Some(&ds))
        .expect("listed");
    assert_eq!(mine.name.as_deref(), Some("Drone survey (cleaned)"));
    assert_eq!(mine.dataset_type, Some(DatasetType::PhraseGrounding));
}

/// A declaration reply that leaves one file out and names one that was not declared (the
/// reply that makes the official client send files to the wrong URLs): nothing is sent
/// under the undeclared name, which is reported; the file left out is `NotOffered`; the
/// other file is sent to its own URL; the session is marked failed, with every file in the
/// report.
pub fn a_reply_naming_other_files_sends_nothing_to_them<F: Labels>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, assets) = dataset_with_images(&c, DatasetType::PhraseGrounding, 2);
    let dir = env.path("two");
    for (i, (_, name, w, h)) in assets.iter().enumerate() {
        jsonl(
            dir.join(format!("f{i}.jsonl")),
            &[grounding(&format!("r-{i}"), name, *w, *h)],
        );
    }
    env.emulator.inject(Fault {
        target: FaultTarget::ApiMatching {
            method: Some("POST".into()),
            path_contains: Some("/files".into()),
        },
        kind: FaultKind::SwapUploadName,
        times: 1,
    });
    let uploads_before = env.emulator.stats().upload_requests;
    let report = c
        .import_annotations(&ds, vec![dir], ImportOptions::new())
        .expect("the call itself works");
    assert_eq!(
        report.unexpected_names,
        ["undeclared-f1.jsonl"],
        "{report:?}"
    );
    let outcomes: Vec<(&str, &ImportOutcome)> = report
        .files
        .iter()
        .map(|f| (f.name.as_str(), &f.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("f0.jsonl", &ImportOutcome::Uploaded),
            ("f1.jsonl", &ImportOutcome::NotOffered)
        ]
    );
    assert_eq!(
        env.emulator.stats().upload_requests - uploads_before,
        1,
        "one PUT, to f0's URL"
    );
    match &report.state {
        ImportState::Failed { reason, .. } => {
            assert_eq!(reason.as_deref(), Some("UserUploadErrored"));
        }
        other => panic!("a failed session: {other:?}"),
    }
    assert!(
        c.annotations_of(&ds, &assets[0].0, 10)
            .expect("parts")
            .is_empty()
    );
}

/// Annotation files go to signed storage URLs that upload faults reach: two 503s on the
/// file's PUT are retried (three PUTs) and the import finishes; a PUT refused for good
/// (403 every time) fails that file with its status, and the session is marked failed; a
/// status report lost to a 500 leaves the files accounted for (`NotReported`).
pub fn annotation_file_uploads_are_retried_and_failures_reported<F: Labels>(env: &TestEnv) {
    let c = F::connect(env);
    let (ds, assets) = dataset_with_images(&c, DatasetType::PhraseGrounding, 1);
    let (_, name, w, h) = &assets[0];
    let file = jsonl(env.path("retry.jsonl"), &[grounding("t-1", name, *w, *h)]);
    env.emulator
        .inject(crate::status_fault(FaultTarget::Upload, 503, 2));
    let before = env.emulator.stats().upload_requests;
    let report = c
        .import_annotations(&ds, vec![file.clone()], ImportOptions::new())
        .expect("import");
    assert_eq!(env.emulator.stats().upload_requests - before, 3);
    assert_eq!(report.state, ImportState::Done, "{report:?}");
    assert_eq!(report.total_annotations(), 1);

    env.emulator
        .inject(crate::status_fault(FaultTarget::Upload, 403, 100));
    let report = c
        .import_annotations(&ds, vec![file], ImportOptions::new())
        .expect("the call itself works");
    env.emulator.clear_faults();
    match &report.files[0].outcome {
        ImportOutcome::Failed { status, message } => {
            assert_eq!(*status, Some(403));
            assert!(
                !message.contains("signature="),
                "no signed URL in {message}"
            );
        }
        other => panic!("a failed file: {other:?}"),
    }
    assert!(
        matches!(report.state, ImportState::Failed { .. }),
        "{report:?}"
    );

    // The report of the sent files is lost to a 500 (a PATCH is not repeated): the files
    // stay accounted for, and the state says the session was never told.
    env.emulator.inject(Fault {
        target: FaultTarget::ApiMatching {
            method: Some("PATCH".into()),
            path_contains: Some("/status".into()),
        },
        kind: FaultKind::Status {
            status: 500,
            retry_after: None,
        },
        times: 1,
    });
    let file = jsonl(
        env.path("unreported.jsonl"),
        &[grounding("t-2", name, *w, *h)],
    );
    let report = c
        .import_annotations(&ds, vec![file], ImportOptions::new())
        .expect("the call itself works");
    assert_eq!(report.files[0].outcome, ImportOutcome::Uploaded);
    match &report.state {
        ImportState::NotReported { message } => assert!(message.contains("500"), "{message}"),
        other => panic!("not reported: {other:?}"),
    }
}
