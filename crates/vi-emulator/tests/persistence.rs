//! Restart persistence and the standalone binary.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use vi_emulator::{Emulator, EmulatorConfig};

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmulatorConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..EmulatorConfig::default()
    };
    let data = png(12, 7, 9);
    let (key, org, ds, asset_id) = {
        let emu = Emulator::start_with(config()).unwrap();
        let c = Client::new(&emu);
        let ds = c.create_dataset("persistent");
        c.upload(&ds, &[("kept.png", &data)]);
        let id = c.assets(&ds)[0]["assetId"].as_str().unwrap().to_owned();
        let key = emu.secret_key().to_owned();
        let org = emu.organization_id().to_owned();
        emu.shutdown();
        (key, org, ds, id)
    };
    assert!(dir.path().join("state.db").exists());

    let emu = Emulator::start_with(config()).unwrap();
    assert_eq!(emu.secret_key(), key);
    assert_eq!(emu.organization_id(), org);
    let c = Client::new(&emu);
    let d = c.get(&c.ds(&ds, "")).expect(200).json();
    assert_eq!(d["name"], "persistent");
    assert_eq!(d["statistic"]["assetTotal"], 1);
    let a = c
        .get(&c.ds(&ds, &format!("/assets/{asset_id}?contents=y")))
        .expect(200)
        .json();
    assert_eq!(a["metadata"]["width"], 12);
    let url = a["contents"]["asset"]["url"].as_str().unwrap();
    assert_eq!(c.get_plain(url, &[]).expect(200).body, data);
    drop(emu);

    // Explicit credentials override the persisted ones.
    let emu = Emulator::start_with(EmulatorConfig {
        secret_key: Some(format!("dtvi_{}", "k".repeat(98))),
        organization_id: Some(org.clone()),
        ..config()
    })
    .unwrap();
    assert_ne!(emu.secret_key(), key);
    let c = Client::new(&emu);
    c.get(&c.ds(&ds, "")).expect(200);
}

/// A data directory written by an emulator that kept its state in `state.json` is
/// imported into the database once; a broken one is refused with a clear message.
#[test]
fn older_state_json_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let data = png(5, 4, 1);
    std::fs::create_dir_all(dir.path().join("blobs")).unwrap();
    std::fs::write(dir.path().join("blobs").join("blob1"), &data).unwrap();
    let org = "0b6f4d0e-1111-4222-8333-944455556666";
    let key = format!("dtvi_{}", "a".repeat(98));
    let crc = crc32c::crc32c(&data);
    let legacy = serde_json::json!({
        "secret_key": key,
        "organization_id": org,
        "signing_key": "00112233445566778899aabbccddeeff",
        "datasets": {"oldds00001": {
            "id": "oldds00001", "name": "old", "owner": org, "description": null,
            "dataset_type": "phrase-grounding", "content": "Image",
            "localization": "Datature/Multi", "data_localization": "Datature/Multi",
            "status": 0, "tags": {}, "attributes": {}, "preference": {},
            "created": 1, "updated": 2, "generation": 1,
            "assets": {"asset00001": {
                "id": "asset00001", "filename": "old.png", "blob": "blob1",
                "size": data.len(), "mime": "image/png", "kind": "Image",
                "width": 5, "height": 4, "crc": crc, "custom_metadata": {"k": "v"},
                "created": 1, "updated": 2, "contents_updated": 2, "generation": 1, "seq": 0
            }}
        }},
        "delete_ops": {},
        "sessions": {"sess-old0000001": {
            "id": "sess-old0000001", "ingestion_id": "ingest-old", "dataset": "oldds00001",
            "failure_mode": "FailAfterAll", "keep_linked": false, "spec_kind": "Upload",
            "files": [{"filename": "old.png", "mime": "image/png", "size": data.len(),
                       "crc32c": null, "custom_metadata": null, "kind": "Image",
                       "state": {"Received": {"blob": "blob1", "width": 5, "height": 4, "crc": crc}}}],
            "created": 1, "updated": 2, "last_activity": 2, "generation": 3,
            "upload_expiry": 10, "errors": [],
            "finished": {"reached": true, "reason": null, "message": null, "time": 2}
        }},
        "multiparts": {},
        "next_seq": 1
    });
    std::fs::write(dir.path().join("state.json"), legacy.to_string()).unwrap();
    let config = || EmulatorConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..EmulatorConfig::default()
    };
    for _ in 0..2 {
        // Imported on the first start, read from the database on the second.
        let emu = Emulator::start_with(config()).unwrap();
        assert_eq!(emu.secret_key(), key);
        assert!(dir.path().join("state.json.imported").exists());
        assert!(!dir.path().join("state.json").exists());
        let c = Client::new(&emu);
        let d = c.get(&c.ds("oldds00001", "")).expect(200).json();
        assert_eq!(d["statistic"]["assetTotal"], 1);
        let a = c
            .get(&c.ds("oldds00001", "/assets/asset00001?contents=y"))
            .expect(200)
            .json();
        assert_eq!(a["metadata"]["customMetadata"]["k"], "v");
        let url = a["contents"]["asset"]["url"].as_str().unwrap();
        assert_eq!(c.get_plain(url, &[]).expect(200).body, data);
        let s = c.session("oldds00001", "sess-old0000001");
        assert_eq!(finished_status(&s), Some("Reached".to_owned()));
        assert_eq!(s["status"]["progressCount"]["succeeded"], 1);
    }

    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("state.json"), b"{not json").unwrap();
    let err = Emulator::start_with(EmulatorConfig {
        data_dir: Some(broken.path().to_path_buf()),
        ..EmulatorConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("state.json"), "{err}");
    assert!(err.to_string().contains("older vi-emulator"), "{err}");
}

fn run_binary(args: &[&str], envs: &[(&str, &str)]) -> (std::process::Child, Vec<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vi-emulator"));
    cmd.args(args)
        .env_remove("DATATURE_VI_SECRET_KEY")
        .env_remove("DATATURE_VI_ORGANIZATION_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stdout);
    for _ in 0..7 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let done = line.starts_with("export DATATURE_VI_ORGANIZATION_ID=");
        lines.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    (child, lines)
}

/// Stops a child we started: SIGTERM (graceful, flushes state), then waits.
fn terminate(child: &mut std::process::Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "the emulator should exit cleanly on SIGTERM: {exit:?}"
    );
}

fn value_after<'a>(lines: &'a [String], prefix: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| l.strip_prefix(prefix))
}

#[test]
fn binary_prints_the_listening_line_first_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let (mut child, lines) = run_binary(&["--port", "0", "--data-dir", data_dir], &[]);
    let url = lines[0]
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {:?}", lines[0]))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let key = value_after(&lines, "export DATATURE_VI_SECRET_KEY=")
        .unwrap()
        .to_owned();
    let org = value_after(&lines, "export DATATURE_VI_ORGANIZATION_ID=")
        .unwrap()
        .to_owned();
    assert_eq!(
        value_after(&lines, "export DATATURE_VI_API_ENDPOINT="),
        Some(url.as_str())
    );
    assert_eq!(key.len(), 103);
    let c = Client {
        agent: agent(),
        base: url.clone(),
        key: key.clone(),
        org: org.clone(),
    };
    c.create_dataset("from the binary");
    terminate(&mut child);

    // Credentials from the environment; the key is then not printed.
    let env_key = format!("dtvi_{}", "e".repeat(98));
    let (mut child, lines) = run_binary(
        &["--data-dir", data_dir],
        &[
            ("DATATURE_VI_SECRET_KEY", &env_key),
            ("DATATURE_VI_ORGANIZATION_ID", &org),
        ],
    );
    assert!(lines[0].starts_with("listening on http://127.0.0.1:"));
    assert!(!lines.iter().any(|l| l.contains(&env_key)));
    let c = Client {
        agent: agent(),
        base: lines[0].strip_prefix("listening on ").unwrap().to_owned(),
        key: env_key,
        org,
    };
    let list = c.get(&c.ws("/datasets")).expect(200).json();
    assert_eq!(list["items"][0]["name"], "from the binary");
    terminate(&mut child);
}

/// A data directory that already holds a `tmp` folder of the user's keeps it: the emulator
/// empties only its own folder of unfinished uploads.
#[test]
fn a_users_tmp_folder_in_the_data_directory_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("tmp").join("keep.txt");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, b"the user's").unwrap();
    let config = EmulatorConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..EmulatorConfig::default()
    };
    drop(Emulator::start_with(config.clone()).unwrap());
    drop(Emulator::start_with(config).unwrap());
    assert_eq!(std::fs::read(&mine).unwrap(), b"the user's");
}
