//! End-to-end tests of `dtvi` as a process: `dtvi emulator` prints its listening line first
//! and serves, and Ctrl-C cancels an upload with exit code 130.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use vi_testkit::{TestEnv, png, write_file};

use crate::common;

use common::{create_dataset, json, process, s};

#[test]
fn emulator_command_prints_the_listening_line_first_and_serves() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dtvi"))
        .args(["emulator", "--port", "0"])
        .env_remove("DATATURE_VI_SECRET_KEY")
        .env_remove("DATATURE_VI_ORGANIZATION_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dtvi emulator starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").unwrap();
    let rest: Vec<String> = lines.by_ref().take(6).map(|l| l.unwrap()).collect();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let value = |prefix: &str| {
        rest.iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {rest:?}"))
            .to_owned()
    };
    let key = value("export DATATURE_VI_SECRET_KEY=");
    let org = value("export DATATURE_VI_ORGANIZATION_ID=");

    let output = Command::new(env!("CARGO_BIN_EXE_dtvi"))
        .args(["--json", "datasets", "list"])
        .env("DATATURE_VI_API_ENDPOINT", &url)
        .env("DATATURE_VI_SECRET_KEY", &key)
        .env("DATATURE_VI_ORGANIZATION_ID", &org)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(output.status.success(), "{output:?}");
    let page: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(page["items"].is_array());
}

#[cfg(unix)]
#[test]
fn ctrl_c_cancels_an_upload_and_exits_130() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "cancel");
    let dir = env.path("many");
    for i in 0..2000 {
        write_file(&dir.join(format!("m{i}.png")), &png(4, 4, i));
    }
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dtvi"))
        .args([
            "assets",
            "upload",
            "--dataset",
            &ds,
            "--concurrency",
            "1",
            "--batch-size",
            "50",
            s(&dir),
        ])
        .env("DATATURE_VI_API_ENDPOINT", env.emulator.url())
        .env("DATATURE_VI_SECRET_KEY", env.emulator.secret_key())
        .env(
            "DATATURE_VI_ORGANIZATION_ID",
            env.emulator.organization_id(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the upload is under way (its first session has been taken in), so the
    // Ctrl-C handler is surely installed, then press Ctrl-C.
    let client = vi_blocking::Client::builder()
        .endpoint(env.emulator.url())
        .secret_key(env.emulator.secret_key())
        .organization_id(env.emulator.organization_id())
        .build()
        .unwrap();
    let dataset = vi_blocking::DatasetId::new(ds.clone()).unwrap();
    let started = std::time::Instant::now();
    while client
        .assets()
        .count(&dataset, vi_blocking::CountAssetsOptions::new())
        .unwrap()
        == 0
    {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("cancelling…"), "{stderr}");
    assert!(stderr.contains("cancelled: "), "{stderr}");
    assert!(stdout.contains("Upload cancelled"), "{stdout}");
}

/// One Ctrl-C in the middle of one large file's transfer stops it: a 256 MiB upload over a
/// 1 MB/s link (about four minutes) ends within seconds of the signal, exits 130, and
/// leaves no asset behind (before: the first Ctrl-C waited for the transfer to finish,
/// then reported a cancel that had not happened).
#[cfg(unix)]
#[test]
fn one_ctrl_c_stops_a_large_transfer_in_flight() {
    let env = TestEnv::with(vi_emulator::EmulatorConfig {
        bandwidth: Some(1_000_000),
        ..vi_emulator::EmulatorConfig::default()
    });
    let ds = create_dataset(&env, "large");
    let file = env.path("large/big.png");
    write_file(&file, &png(4, 4, 1));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_len(256 << 20))
        .unwrap();
    let child = process(&env, env!("CARGO_BIN_EXE_dtvi"))
        .args(["assets", "upload", "--dataset", &ds, s(&file)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while env.emulator.stats().upload_requests == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no transfer started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let some bytes move, then press Ctrl-C once.
    std::thread::sleep(Duration::from_millis(500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let pressed = std::time::Instant::now();
    let output = child.wait_with_output().unwrap();
    let took = pressed.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(10),
        "the upload went on for {took:?} after one Ctrl-C"
    );
    let count = json(&env, &["assets", "count", "--dataset", &ds]);
    assert_eq!(count["count"], 0, "{count}");
}
