//! End-to-end tests of `vi datasets export`: a dataset downloaded with its split, and an
//! export download killed midway (SIGKILL) that a later run resumes.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::{create_dataset, json, s};
use vi_testkit::{TestEnv, write_file};

/// Three noisy PNGs (about 1 MB each) uploaded through the CLI; returns (name, bytes).
fn upload_images(env: &TestEnv, ds: &str, dir: &str) -> Vec<(String, Vec<u8>)> {
    let src = env.path(dir);
    let originals: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            let name = format!("big{i}.png");
            let bytes = vi_testkit::noisy_png(600, 500, 70 + i);
            write_file(&src.join(&name), &bytes);
            (name, bytes)
        })
        .collect();
    json(env, &["assets", "upload", "--dataset", ds, s(&src)]);
    originals
}

#[test]
fn an_export_lands_in_its_splits_and_reports_them() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "export");
    let originals = upload_images(&env, &ds, "src");
    let out = env.path("out");
    let got = json(
        &env,
        &[
            "datasets",
            "export",
            "--dataset",
            &ds,
            "--to",
            s(&out),
            "--split-ratio",
            "0.67",
        ],
    );
    assert_eq!(got["assets"], 3, "{got}");
    let splits: Vec<(String, u64)> = got["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["assets"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(splits, [("training".into(), 2), ("validation".into(), 1)]);
    for (name, bytes) in &originals {
        let found = ["training", "validation"]
            .iter()
            .map(|split| out.join(&ds).join(split).join("images").join(name))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(std::fs::read(found).unwrap() == *bytes, "{name}");
    }
    // Asking again returns the copy without a new export.
    let again = json(
        &env,
        &["datasets", "export", "--dataset", &ds, "--to", s(&out)],
    );
    assert_eq!(again["already_present"], true, "{again}");
    assert!(again["export"].is_null());
}

#[test]
fn an_export_download_killed_midway_resumes_from_the_ranges_kept() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "killed-export");
    let originals = upload_images(&env, &ds, "src");
    env.emulator.inject(vi_testkit::Fault {
        target: vi_testkit::FaultTarget::Download,
        kind: vi_testkit::FaultKind::SlowBody {
            chunk: 16 * 1024,
            pause: Duration::from_millis(40),
        },
        times: 10_000,
    });
    let out = env.path("out");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dtvi"))
        .args([
            "--quiet",
            "datasets",
            "export",
            "--dataset",
            &ds,
            "--to",
            s(&out),
        ])
        .env("DATATURE_VI_API_ENDPOINT", env.emulator.url())
        .env("DATATURE_VI_SECRET_KEY", env.emulator.secret_key())
        .env(
            "DATATURE_VI_ORGANIZATION_ID",
            env.emulator.organization_id(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // SIGKILL once the state beside the archive records a few finished ranges.
    let state = out.join(format!(".{ds}.export")).join("state.json");
    let ranges_done = || {
        std::fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["done"].as_object().map(serde_json::Map::len))
            .unwrap_or(0)
    };
    let started = std::time::Instant::now();
    while ranges_done() < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join(&ds).exists(), "nothing under the dataset's name");

    env.emulator.clear_faults();
    let got = json(
        &env,
        &["datasets", "export", "--dataset", &ds, "--to", s(&out)],
    );
    let resumed = got["resumed_bytes"].as_u64().unwrap();
    assert!(
        resumed > 0 && resumed < got["archive_bytes"].as_u64().unwrap(),
        "{got}"
    );
    for (name, bytes) in &originals {
        let path = out.join(&ds).join("dump/images").join(name);
        assert!(std::fs::read(path).unwrap() == *bytes, "{name}");
    }
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![ds], "the archive and its state are gone");
}
