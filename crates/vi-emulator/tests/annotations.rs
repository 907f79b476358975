//! Annotation state across a restart, and the import policies, over HTTP.

use crate::common;

use common::*;
use serde_json::{Value, json};
use vi_emulator::{Emulator, EmulatorConfig};

fn crc_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(bytes).to_be_bytes())
}

/// Imports `files` (name, bytes) under `policy` for every failure kind; returns the
/// session as the first look after `FilesInserted` shows it.
fn import(c: &Client, ds: &str, files: &[(&str, &[u8])], policy: &str) -> Value {
    let created = c
        .post(
            &c.ds(ds, "/annotationImportSessions"),
            &json!({"spec": {"failurePolicies": {"onBadAnnotation": policy, "onBadFile": policy,
                     "onOverwritten": policy}}, "metadata": {"attributes": {}}}),
        )
        .expect(200)
        .json();
    let id = created["annotationImportSessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let declared: serde_json::Map<String, Value> = files
        .iter()
        .map(|(n, b)| {
            (
                (*n).to_owned(),
                json!({"sizeBytes": b.len(), "crc32c": crc_b64(b), "kind": "Unknown"}),
            )
        })
        .collect();
    let urls = c
        .post(
            &c.ds(ds, &format!("/annotationImportSessions/{id}/files")),
            &json!({"files": declared}),
        )
        .expect(200)
        .json();
    for (name, bytes) in files {
        let url = urls["files"][*name]["url"].as_str().unwrap();
        c.put_signed(url, &[], bytes).expect(200);
    }
    c.patch(
        &c.ds(ds, &format!("/annotationImportSessions/{id}/status")),
        &json!({"status": {"conditions": [{"condition": "FilesInserted", "status": "Reached", "lastTransitionTime": 1}]}}),
    )
    .expect(200);
    c.get(&c.ds(ds, &format!("/annotationImportSessions/{id}")))
        .expect(200)
        .json()
}

fn record(id: &str, filename: &str, caption: &str) -> String {
    format!(
        r#"{{"id":"{id}","asset":{{"filename":"{filename}","width":4,"height":3}},"contents":{{"type":"PhraseGrounding","caption":"{caption}","groundedPhrases":[]}}}}"#
    )
}

fn parts(c: &Client, ds: &str, asset: &str) -> Vec<Value> {
    c.get(&c.ds(ds, &format!("/assets/{asset}/annotations?s=100")))
        .expect(200)
        .json()["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn imported_annotations_survive_a_restart_and_go_with_their_asset() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmulatorConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..EmulatorConfig::default()
    };
    let (ds, asset) = {
        let emu = Emulator::start_with(config()).unwrap();
        let c = Client::new(&emu);
        let ds = c.create_dataset("kept");
        c.upload(&ds, &[("a.png", &png(4, 3, 1))]);
        let asset = c.assets(&ds)[0]["assetId"].as_str().unwrap().to_owned();
        let line = record("r1", "a.png", "kept caption");
        let done = import(&c, &ds, &[("l.jsonl", line.as_bytes())], "RejectSession");
        assert_eq!(
            done["status"]["annotations"]["statusCount"]["Created"], 1,
            "{done}"
        );
        emu.shutdown();
        (ds, asset)
    };
    let emu = Emulator::start_with(config()).unwrap();
    let c = Client::new(&emu);
    let got = parts(&c, &ds, &asset);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["spec"]["contents"]["contents"], "kept caption");
    let sessions = c
        .get(&c.ds(&ds, "/annotationImportSessions"))
        .expect(200)
        .json();
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);
    c.delete(&c.ds(&ds, &format!("/assets/{asset}")))
        .expect(204);
    c.get(&c.ds(&ds, &format!("/assets/{asset}/annotations")))
        .expect(404);
}

#[test]
fn import_policies_reject_the_session_the_file_or_only_warn() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("policies");
    c.upload(&ds, &[("a.png", &png(4, 3, 1))]);
    let asset = c.assets(&ds)[0]["assetId"].as_str().unwrap().to_owned();
    let good = record("g1", "a.png", "good");
    let unknown = record("u1", "missing.png", "no such asset");
    let file = format!("{good}\n{unknown}\n");

    let rejected = import(&c, &ds, &[("f.jsonl", file.as_bytes())], "RejectSession");
    assert!(
        rejected["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "FailedReach"),
        "{rejected}"
    );
    assert!(
        rejected["status"]["reason"]
            .as_str()
            .unwrap()
            .contains("missing.png")
    );
    assert!(parts(&c, &ds, &asset).is_empty(), "nothing applied");

    let dropped = import(&c, &ds, &[("f.jsonl", file.as_bytes())], "RejectFile");
    assert_eq!(
        dropped["status"]["files"]["statusCount"]["Failed"], 1,
        "{dropped}"
    );
    assert!(
        parts(&c, &ds, &asset).is_empty(),
        "the file's records are dropped"
    );

    let warned = import(&c, &ds, &[("f.jsonl", file.as_bytes())], "Warn");
    assert_eq!(
        warned["status"]["annotations"]["statusCount"]["Created"], 1,
        "{warned}"
    );
    assert_eq!(
        warned["status"]["annotations"]["statusCount"]["Rejected"],
        1
    );
    assert_eq!(parts(&c, &ds, &asset).len(), 1);

    // The same id again: an overwrite, rejected under RejectSession, applied under Warn.
    let again = record("g1", "a.png", "replaced");
    let refused = import(&c, &ds, &[("o.jsonl", again.as_bytes())], "RejectSession");
    assert!(
        refused["status"]["reason"]
            .as_str()
            .unwrap()
            .contains("overwrite"),
        "{refused}"
    );
    import(&c, &ds, &[("o.jsonl", again.as_bytes())], "Warn");
    assert_eq!(
        parts(&c, &ds, &asset)[0]["spec"]["contents"]["contents"],
        "replaced"
    );
}
