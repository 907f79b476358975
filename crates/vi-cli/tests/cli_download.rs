//! End-to-end tests of `dtvi assets download` against a real emulator on 127.0.0.1:
//! byte-identical round trips, chosen assets, and resuming after the process was killed.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use vi_testkit::{TestEnv, write_file};

use crate::common;

use common::{arr, create_dataset, human, images, json, json_with_code, s};

#[test]
fn round_trip_upload_list_download_is_byte_identical() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "round trip");
    let dir = env.path("up");
    let files = images(&dir, 4);
    json(&env, &["assets", "upload", "--dataset", &ds, s(&dir)]);
    let listed = json(&env, &["assets", "list", "--dataset", &ds, "--all"]);
    assert_eq!(arr(&listed).len(), 4);

    let to = env.path("down");
    let report = json(
        &env,
        &["assets", "download", "--dataset", &ds, "--to", s(&to)],
    );
    assert_eq!(arr(&report["downloaded"]).len(), 4, "{report}");
    assert_eq!(report["success"], true);
    assert_eq!(report["total"], 4);
    let expected_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert_eq!(report["bytes"], expected_bytes);
    let folder = PathBuf::from(report["directory"].as_str().unwrap());
    for file in &files {
        let name = file.file_name().unwrap();
        let got = std::fs::read(folder.join(name)).expect("the downloaded file");
        assert_eq!(got, std::fs::read(file).unwrap(), "{name:?} differs");
    }
    // No partial files left behind, nor their folder.
    for entry in std::fs::read_dir(&folder).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().ends_with(".part"), "{name:?}");
        assert_ne!(name, vi_core::download::PARTIAL_DIR);
    }

    // Again: everything is already there.
    let again = json(
        &env,
        &["assets", "download", "--dataset", &ds, "--to", s(&to)],
    );
    assert_eq!(arr(&again["skipped"]).len(), 4, "{again}");
    assert!(arr(&again["downloaded"]).is_empty());

    // Chosen assets only, overwriting, human output.
    let id = listed[0]["asset_id"].as_str().unwrap();
    let (stdout, _) = human(
        &env,
        &[
            "assets",
            "download",
            "--dataset",
            &ds,
            "--to",
            s(&to),
            "--asset",
            id,
            "--overwrite",
            "--concurrency",
            "2",
        ],
        0,
    );
    assert!(stdout.contains("Download complete"), "{stdout}");

    // An unknown asset among known ones: partial (4); only unknown ones: not found (5).
    let report = json_with_code(
        &env,
        &[
            "assets",
            "download",
            "--dataset",
            &ds,
            "--to",
            s(&to),
            "--asset",
            id,
            "--asset",
            "nosuchasset",
        ],
        4,
    );
    assert_eq!(arr(&report["failed"]).len(), 1, "{report}");
    human(
        &env,
        &[
            "assets",
            "download",
            "--dataset",
            &ds,
            "--to",
            s(&to),
            "--asset",
            "nosuchasset",
        ],
        5,
    );
}

#[test]
fn a_download_killed_mid_transfer_leaves_no_partial_file_and_resumes() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "killed");
    let src = env.path("killed-src");
    // Files larger than the transports' 256 KiB write buffer, so a partial file has bytes
    // on disk when the process dies.
    let originals: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            let name = format!("big{i}.png");
            let bytes = vi_testkit::noisy_png(700, 500, 50 + i);
            write_file(&src.join(&name), &bytes);
            (name, bytes)
        })
        .collect();
    json(&env, &["assets", "upload", "--dataset", &ds, s(&src)]);

    // The storage now sends every body in small, slow chunks.
    env.emulator.inject(vi_testkit::Fault {
        target: vi_testkit::FaultTarget::Download,
        kind: vi_testkit::FaultKind::SlowBody {
            chunk: 64 * 1024,
            pause: Duration::from_millis(20),
        },
        times: 1000,
    });
    let out = env.path("killed-out");
    let folder = out.join(&ds);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dtvi"))
        .args(["--quiet", "assets", "download", "--dataset", &ds])
        .args(["--to", s(&out), "--concurrency", "2"])
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
    // Kill it (SIGKILL: no handler runs) once a partial file holds some bytes.
    let partials = folder.join(vi_core::download::PARTIAL_DIR);
    let has_partial = || {
        std::fs::read_dir(&partials).ok().is_some_and(|entries| {
            entries.flatten().any(|e| {
                e.file_name().to_string_lossy().ends_with(".part")
                    && e.metadata().is_ok_and(|m| m.len() > 0)
            })
        })
    };
    let started = std::time::Instant::now();
    while !has_partial() {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Whatever is under a final name is complete; the rest is in the partial-file folder.
    let partial = std::fs::read_dir(&partials).unwrap().count();
    for entry in std::fs::read_dir(&folder).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == vi_core::download::PARTIAL_DIR {
            continue;
        }
        let (_, bytes) = originals.iter().find(|(n, _)| *n == name).unwrap();
        assert!(
            std::fs::read(entry.path()).unwrap() == *bytes,
            "{name} is partial"
        );
    }
    assert!(partial >= 1);

    // A later run finishes the job, continuing the partial files.
    env.emulator.clear_faults();
    let report = json(
        &env,
        &["assets", "download", "--dataset", &ds, "--to", s(&out)],
    );
    let downloaded = arr(&report["downloaded"]);
    assert!(downloaded.iter().any(|d| d["resumed"] == true), "{report}");
    for (name, bytes) in &originals {
        assert!(
            std::fs::read(folder.join(name)).unwrap() == *bytes,
            "{name}"
        );
    }
    assert!(
        !partials.exists(),
        "the partial-file folder is gone once everything is in place"
    );
}
