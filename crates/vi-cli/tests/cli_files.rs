//! Files that fight back, against the real command and a real emulator on 127.0.0.1: FIFOs
//! and hard links planted where partial files go, two download processes into one
//! folder, a process killed with SIGKILL in the middle of a body, a read-only folder, a
//! mistyped dataset id. Every run must end (each command has a two-minute limit, so a hang
//! fails the test), and say what happened to every file.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use vi_core::download::{PARTIAL_DIR, asset_part_path, content_version};
use vi_core::{DatasetId, ListAssetsOptions};
use vi_testkit::facade::{AssetOps, BlockingFacade, Facade};
use vi_testkit::{Fault, FaultKind, FaultTarget, TestEnv};

/// The command's binary name (the one place to change when it is renamed).
const BIN: &str = "dtvi";

use crate::common;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin(BIN)
}

/// The command with the emulator's credentials in its environment, as a user sets them.
fn std_cli(env: &TestEnv) -> StdCommand {
    let mut cmd = StdCommand::new(bin());
    common::credentials(&mut cmd, env);
    cmd
}

fn cli(env: &TestEnv) -> Command {
    let mut cmd = Command::from_std(std_cli(env));
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// Runs `ARGS`, expects `code`; returns (stdout, stderr).
fn run(env: &TestEnv, args: &[&str], code: i32) -> (String, String) {
    let output = cli(env).args(args).output().expect("the command runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{BIN} {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

fn json(env: &TestEnv, args: &[&str], code: i32) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (stdout, _) = run(env, &all, code);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A dataset holding `files` (uploaded with the command), and the files as (name, bytes).
fn dataset(env: &TestEnv, files: &[(&str, Vec<u8>)]) -> (DatasetId, Vec<(String, Vec<u8>)>) {
    let created = json(env, &["datasets", "create", "fight back"], 0);
    let ds = created["dataset_id"].as_str().unwrap().to_owned();
    let src = env.path(&format!("src-{ds}"));
    for (name, bytes) in files {
        vi_testkit::write_file(&src.join(name), bytes);
    }
    let report = json(env, &["assets", "upload", "--dataset", &ds, s(&src)], 0);
    assert_eq!(report["succeeded"].as_array().unwrap().len(), files.len());
    let owned = files
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.clone()))
        .collect();
    (DatasetId::new(&ds).unwrap(), owned)
}

fn images(n: u32) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| (format!("img{i}.png"), vi_testkit::png(20 + i, 16, i)))
        .collect()
}

fn refs(files: &[(String, Vec<u8>)]) -> Vec<(&str, Vec<u8>)> {
    files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect()
}

/// The partial-file path of the asset called `name` when downloaded into `dir`.
fn part_of(env: &TestEnv, ds: &DatasetId, dir: &Path, name: &str) -> PathBuf {
    let client = BlockingFacade::connect(env);
    let asset = client
        .assets()
        .page(ds, ListAssetsOptions::new(), None)
        .unwrap()
        .items
        .into_iter()
        .find(|a| a.filename == name)
        .unwrap();
    asset_part_path(dir, &asset.id().unwrap(), content_version(&asset))
}

fn mkfifo(path: &Path) {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
}

fn download_args<'a>(ds: &'a DatasetId, to: &'a Path) -> Vec<&'a str> {
    vec![
        "assets",
        "download",
        "--dataset",
        ds.as_str(),
        "--to",
        s(to),
    ]
}

#[test]
fn a_fifo_at_a_partial_file_fails_that_asset_and_the_run_ends() {
    use std::os::unix::fs::FileTypeExt;
    let env = TestEnv::new();
    let (ds, files) = dataset(&env, &refs(&images(9)));
    let to = env.path("to");
    let dir = to.join(ds.as_str());
    let part = part_of(&env, &ds, &dir, "img4.png");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    mkfifo(&part);

    let report = json(&env, &download_args(&ds, &to), 4);
    assert_eq!(
        report["downloaded"].as_array().unwrap().len(),
        8,
        "{report}"
    );
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    let reason = failed[0].to_string();
    assert!(reason.contains("FIFO"), "{reason}");
    for (name, bytes) in files.iter().filter(|(n, _)| n != "img4.png") {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), *bytes, "{name}");
    }
    assert!(
        std::fs::symlink_metadata(&part)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn a_hard_link_at_a_partial_file_leaves_the_other_file_byte_for_byte() {
    let env = TestEnv::new();
    let (ds, files) = dataset(&env, &refs(&images(3)));
    let to = env.path("to");
    let dir = to.join(ds.as_str());
    let victim = env.path("victim.txt");
    let notes = b"38 bytes of someone else's notes.....\n".to_vec();
    std::fs::write(&victim, &notes).unwrap();
    let part = part_of(&env, &ds, &dir, "img1.png");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::hard_link(&victim, &part).unwrap();

    let (stdout, stderr) = run(&env, &download_args(&ds, &to), 4);
    assert!(
        stdout.contains("hard links") || stderr.contains("hard links"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), notes);
    assert!(!dir.join("img1.png").exists());

    // Once the planted link is removed, the next run puts the asset in place.
    std::fs::remove_file(&part).unwrap();
    run(&env, &download_args(&ds, &to), 0);
    for (name, bytes) in &files {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), *bytes, "{name}");
    }
    assert_eq!(std::fs::read(&victim).unwrap(), notes);
}

#[test]
fn two_downloads_into_one_folder_one_runs_and_the_other_names_it() {
    let env = TestEnv::new();
    let files = images(60);
    let (ds, files) = dataset(&env, &refs(&files));
    // Slow bodies (seconds for the whole run), so the two runs, started together, overlap.
    env.emulator.inject(Fault {
        target: FaultTarget::Download,
        kind: FaultKind::SlowBody {
            chunk: 64,
            pause: Duration::from_millis(100),
        },
        times: 1000,
    });
    let to = env.path("to");
    let spawn = || {
        std_cli(&env)
            .arg("--json")
            .args(download_args(&ds, &to))
            .arg("--concurrency")
            .arg("4")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let pids = [first.id(), second.id()];
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let mut winners = 0;
    for (i, output) in outputs.iter().enumerate() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {
                winners += 1;
                let report: Value = serde_json::from_str(&stdout).unwrap();
                let handled = report["downloaded"].as_array().unwrap().len()
                    + report["skipped"].as_array().unwrap().len();
                assert_eq!(handled, 60, "{report}");
                assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
            }
            Some(1) => {
                // The loser names the winner, by its process id.
                let other = format!("another download (process {} (", pids[1 - i]);
                assert!(
                    stderr.contains(&other) && stderr.contains("is writing into this folder"),
                    "{stderr}"
                );
            }
            other => panic!("exit {other:?}\nstdout: {stdout}\nstderr: {stderr}"),
        }
    }
    assert_eq!(
        winners, 1,
        "one run downloads everything, the other stops at once"
    );
    let dir = to.join(ds.as_str());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    assert_eq!(names, expected, "every asset once, nothing else");
    for (name, bytes) in &files {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), *bytes, "{name}");
    }
}

#[test]
fn sigkill_in_the_middle_of_a_body_keeps_every_byte_received() {
    let env = TestEnv::new();
    let big = vi_testkit::noisy_png(400, 300, 9);
    let (ds, _) = dataset(&env, &[("big.png", big.clone())]);
    // The storage sends 20,000 bytes, then nothing for ten minutes.
    const SENT: u64 = 20_000;
    env.emulator.inject(Fault {
        target: FaultTarget::Download,
        kind: FaultKind::SlowBody {
            chunk: SENT,
            pause: Duration::from_secs(600),
        },
        times: 1,
    });
    let to = env.path("to");
    let part = part_of(&env, &ds, &to.join(ds.as_str()), "big.png");
    let mut child = std_cli(&env)
        .arg("--quiet")
        .args(download_args(&ds, &to))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Every byte the client received reaches the file while the storage pauses; before,
    // they stayed in a 256 KiB buffer of the process.
    let started = Instant::now();
    let len = || std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    while len() < SENT {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the partial file holds {} of the {SENT} bytes received",
            len()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(len(), SENT);
    assert_eq!(std::fs::read(&part).unwrap(), big[..SENT as usize]);

    // The next run continues from there.
    env.emulator.clear_faults();
    let report = json(&env, &download_args(&ds, &to), 0);
    assert_eq!(report["downloaded"][0]["resumed"], true, "{report}");
    assert_eq!(
        std::fs::read(to.join(ds.as_str()).join("big.png")).unwrap(),
        big
    );
}

#[test]
fn a_read_only_download_folder_fails_once_before_any_asset() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let env = TestEnv::new();
    let (ds, _) = dataset(&env, &refs(&images(5)));
    // A folder of its own that everyone may enter, so the command can run as another user.
    let base = tempfile::tempdir().unwrap();
    let open = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(base.path(), open.clone()).unwrap();
    let to = base.path().join("to");
    let dir = to.join(ds.as_str());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&to, open).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = std_cli(&env);
    // Root may write anywhere: run as `nobody`, to whom the folder is read-only.
    if rustix::process::geteuid().is_root() {
        cmd.uid(65534).gid(65534).env("HOME", base.path());
    }
    let output = cmd
        .args(download_args(&ds, &to))
        .output()
        .expect("the command runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("make the folder writable"), "{stderr}");
    assert!(
        !stderr.contains("more"),
        "one error, not one per asset: {stderr}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn a_mistyped_dataset_or_asset_id_leaves_no_folder_behind() {
    let env = TestEnv::new();
    let (ds, _) = dataset(&env, &refs(&images(2)));
    let to = env.path("to");
    run(
        &env,
        &[
            "assets",
            "download",
            "--dataset",
            "nosuchdataset",
            "--to",
            s(&to),
        ],
        5,
    );
    assert!(!to.join("nosuchdataset").exists());
    let mut args = download_args(&ds, &to);
    args.extend(["--asset", "nosuchasset"]);
    run(&env, &args, 5);
    assert!(!to.join(ds.as_str()).exists());
}

/// Planting a link in place of the partial-file folder refuses the whole download, once.
#[test]
fn a_link_in_place_of_the_partial_file_folder_fails_the_run_once() {
    let env = TestEnv::new();
    let (ds, _) = dataset(&env, &refs(&images(4)));
    let to = env.path("to");
    let dir = to.join(ds.as_str());
    std::fs::create_dir_all(&dir).unwrap();
    let elsewhere = env.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(PARTIAL_DIR)).unwrap();
    let (_, stderr) = run(&env, &download_args(&ds, &to), 1);
    assert!(stderr.contains("is a link"), "{stderr}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}
