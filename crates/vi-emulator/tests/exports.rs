//! Dataset exports (E1–E3) and their archives: body checks, the archive's layout, `HEAD`
//! and exact ranges on its signed URL, paging, and persistence across a restart.

use crate::common;

use std::io::Read;

use common::*;
use serde_json::{Value, json};
use vi_emulator::{Emulator, EmulatorConfig};

fn export(c: &Client, ds: &str, body: &Value) -> Value {
    c.post(&c.ds(ds, "/datasetExports"), body)
        .expect(200)
        .json()
}

/// Polls E2 once: the first poll finds the export finished.
fn finished(c: &Client, ds: &str, id: &str) -> Value {
    let e = c
        .get(&c.ds(ds, &format!("/datasetExports/{id}")))
        .expect(200)
        .json();
    let conditions = e["status"]["conditions"].as_array().unwrap();
    assert!(conditions.iter().all(|c| c["status"] == "Reached"), "{e}");
    e
}

fn names_in(archive: &[u8]) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().to_owned())
        .collect()
}

#[test]
fn bodies_are_checked_and_the_format_is_echoed() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("exports");
    let url = c.ds(&ds, "/datasetExports");
    c.post(&url, &json!({"spec": {"format": "Parquet"}}))
        .expect(400);
    c.post(
        &url,
        &json!({"spec": {"format": "ViFull", "options": {"splitRatio": 1.5}}}),
    )
    .expect(400);
    c.post(&url, &json!({"spec": {"format": "ViFull", "extra": 1}}))
        .expect(400);
    // Unknown option keys (the official client may send its own) and no options at all.
    let e = export(
        &c,
        &ds,
        &json!({"spec": {"format": "Coco", "options": {"split_ratio": 0.8}}}),
    );
    assert_eq!(e["kind"], "DatasetExport");
    assert_eq!(e["spec"]["format"], "Coco");
    assert_eq!(
        e["spec"]["options"],
        json!({"normalized": true, "splitRatio": null})
    );
    assert!(
        e["status"].get("downloadUrl").is_none(),
        "not built before the first poll"
    );
    let e = export(&c, &ds, &json!({"spec": {"format": "ViJsonl"}}));
    let id = e["datasetExportId"].as_str().unwrap();
    let done = finished(&c, &ds, id);
    assert!(done["status"]["downloadUrl"]["expiresAt"].as_i64().unwrap() > 0);
    c.get(&c.ds(&ds, "/datasetExports/exp-nope")).expect(404);
    c.get(&c.ds(&ds, "/datasetExports?x=1")).expect(400);
}

#[test]
fn the_archive_has_split_folders_images_and_one_record_file_per_asset() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("layout");
    let (a, b, d) = (png(4, 3, 1), png(5, 3, 2), png(6, 3, 3));
    c.upload(&ds, &[("a.png", &a), ("b.png", &b), ("d.png", &d)]);
    let body =
        json!({"spec": {"format": "ViFull", "options": {"normalized": true, "splitRatio": 0.67}}});
    let id = export(&c, &ds, &body)["datasetExportId"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = finished(&c, &ds, &id)["status"]["downloadUrl"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let archive = c.get_plain(&url, &[]).expect(200).body;
    assert_eq!(
        names_in(&archive),
        [
            "training/images/a.png",
            "training/annotations/a.jsonl",
            "training/images/b.png",
            "training/annotations/b.jsonl",
            "validation/images/d.png",
            "validation/annotations/d.jsonl",
        ]
    );
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&archive[..])).unwrap();
    let mut got = Vec::new();
    zip.by_name("validation/images/d.png")
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, d);
}

#[test]
fn the_signed_url_answers_head_and_exact_ranges_only() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("ranges");
    c.upload(&ds, &[("a.png", &png(40, 30, 1))]);
    let id = export(&c, &ds, &json!({"spec": {"format": "ViFull"}}))["datasetExportId"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = finished(&c, &ds, &id)["status"]["downloadUrl"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let whole = c.get_plain(&url, &[]).expect(200).body;
    let size = whole.len();
    let head = agent().head(&url).call().unwrap();
    assert_eq!(head.status(), 200);
    let length = head.headers()["content-length"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(length, size.to_string());
    let hash = head.headers()["x-goog-hash"].to_str().unwrap().to_owned();
    assert!(hash.starts_with("crc32c="), "{hash}");
    let part = c.get_plain(&url, &[("Range", "bytes=10-19")]).expect(206);
    assert_eq!(
        part.header("content-range").unwrap(),
        format!("bytes 10-19/{size}")
    );
    assert_eq!(part.body, whole[10..20]);
    c.get_plain(&url, &[("Range", &format!("bytes={size}-"))])
        .expect(416);
    // A tampered signature is refused.
    c.get_plain(&url.replace("signature=", "signature=00"), &[])
        .expect(403);
}

#[test]
fn exports_page_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmulatorConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..EmulatorConfig::default()
    };
    let (ds, ids) = {
        let emu = Emulator::start_with(config()).unwrap();
        let c = Client::new(&emu);
        let ds = c.create_dataset("kept");
        c.upload(&ds, &[("a.png", &png(4, 4, 1))]);
        let ids: Vec<String> = (0..3)
            .map(|_| {
                export(&c, &ds, &json!({"spec": {"format": "ViFull"}}))["datasetExportId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        emu.shutdown();
        (ds, ids)
    };
    let emu = Emulator::start_with(config()).unwrap();
    let c = Client::new(&emu);
    let first = c.get(&c.ds(&ds, "/datasetExports?s=2")).expect(200).json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let token = first["nextPage"].as_str().unwrap();
    let second = c
        .get(&c.ds(&ds, &format!("/datasetExports?s=2&p={token}")))
        .expect(200)
        .json();
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|e| e["datasetExportId"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let url = finished(&c, &ds, &ids[0])["status"]["downloadUrl"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let archive = c.get_plain(&url, &[]).expect(200).body;
    assert_eq!(names_in(&archive)[0], "dump/images/a.png");
}
