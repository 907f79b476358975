//! `dtvi assets upload --skip-existing` and `--dry-run` end to end: the `dtvi` binary against
//! an emulator that records every request (so the tests count what each run sent).

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use vi_testkit::scenarios::resume::ResumeEnv;
use vi_testkit::{png, write_file};

use crate::common;

/// `dtvi` with the emulator's credentials in the environment.
fn vi(env: &ResumeEnv) -> std::process::Command {
    common::process(env, env!("CARGO_BIN_EXE_dtvi"))
}

/// Runs `dtvi ARGS`, expects `code`, returns stdout.
fn run(env: &ResumeEnv, args: &[&str], code: i32) -> String {
    let output = vi(env).args(args).output().expect("dtvi runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "dtvi {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

fn json(env: &ResumeEnv, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let stdout = run(env, &all, 0);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn client(env: &ResumeEnv) -> vi_blocking::Client {
    vi_blocking::Client::builder()
        .endpoint(env.emulator.url())
        .secret_key(env.emulator.secret_key())
        .organization_id(env.emulator.organization_id())
        .build()
        .unwrap()
}

/// The dataset's assets: filename → (asset id, size); panics on a name listed twice.
fn assets(env: &ResumeEnv, ds: &str) -> HashMap<String, (String, u64)> {
    let dataset = vi_blocking::DatasetId::new(ds).unwrap();
    let c = client(env);
    let mut out = HashMap::new();
    let listing = c
        .assets()
        .list(
            &dataset,
            vi_blocking::ListAssetsOptions::new().page_size(1000),
        )
        .unwrap();
    for a in listing {
        let a = a.unwrap();
        let previous = out.insert(
            a.filename.clone(),
            (a.asset_id.clone(), a.metadata.file_size),
        );
        assert!(previous.is_none(), "{} is in the dataset twice", a.filename);
    }
    out
}

fn images(dir: &Path, n: u32) -> Vec<(String, u64)> {
    (0..n)
        .map(|i| {
            let name = format!("img{i:04}.png");
            let bytes = png(4 + i % 9, 4 + i % 5, i);
            write_file(&dir.join(&name), &bytes);
            (name, bytes.len() as u64)
        })
        .collect()
}

fn arr(value: &Value) -> &Vec<Value> {
    value.as_array().expect("a JSON array")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// `kill -9` in the middle of `dtvi assets upload` (some sessions finished, one open), then
/// the same command with `--skip-existing`: it lists the dataset once, sends exactly the
/// files that were missing, and every file ends up in the dataset exactly once.
#[test]
fn an_upload_killed_with_sigkill_resumes_with_skip_existing() {
    let env = ResumeEnv::new();
    let ds = json(&env, &["datasets", "create", "killed"])["dataset_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = env.path("photos");
    let files = images(&dir, 400);
    let upload = ["assets", "upload", "--dataset", &ds, "--batch-size", "20"];

    let mut child = vi(&env)
        .args(upload)
        .args(["--concurrency", "1", s(&dir)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no handler runs, no session is cancelled) once a session has
    // finished, i.e. once some files are in the dataset.
    let dataset = vi_blocking::DatasetId::new(ds.clone()).unwrap();
    let c = client(&env);
    let started = Instant::now();
    while c
        .assets()
        .count(&dataset, vi_blocking::CountAssetsOptions::new())
        .unwrap()
        == 0
    {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let there = assets(&env, &ds);
    assert!(
        !there.is_empty() && there.len() < files.len(),
        "killed too late: {} files there",
        there.len()
    );

    let mut resume: Vec<&str> = upload.to_vec();
    resume.extend(["--skip-existing", s(&dir)]);
    let (report, sent) = env.counting(|| json(&env, &resume));
    let missing = files.len() - there.len();
    assert_eq!(report["success"], true, "{report}");
    assert_eq!(report["already_present"], there.len(), "{report}");
    assert_eq!(report["assets_listed"], there.len());
    assert_eq!(arr(&report["succeeded"]).len(), missing, "{report}");
    assert_eq!(arr(&report["skipped"]).len(), there.len());
    for skip in arr(&report["skipped"]) {
        let name = skip["filename"].as_str().unwrap();
        assert_eq!(skip["code"], "already_present");
        assert_eq!(skip["asset_id"], there[name].0.as_str(), "{skip}");
        assert_eq!(skip["compared_by"], "size_and_crc32c");
    }
    for done in arr(&report["succeeded"]) {
        assert!(!there.contains_key(done["filename"].as_str().unwrap()));
    }
    // One listing to compare, one after the upload for the new assets' ids.
    assert_eq!(sent.list_pages, 2);
    assert_eq!(sent.puts, missing, "only the missing files are sent");
    assert_eq!(sent.sessions, missing.div_ceil(20));

    let now = assets(&env, &ds);
    assert_eq!(now.len(), files.len());
    for (name, size) in &files {
        assert_eq!(now[name].1, *size, "{name}");
    }
}

/// `--dry-run` prints every file it would send and every file it would skip, and sends
/// nothing: no session, no PUT, the dataset unchanged.
#[test]
fn dry_run_prints_what_would_be_sent_and_skipped_and_sends_nothing() {
    let env = ResumeEnv::new();
    let ds = json(&env, &["datasets", "create", "dry"])["dataset_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = env.path("photos");
    let files = images(&dir, 4);
    let first_two = [
        s(&dir.join(&files[0].0)).to_owned(),
        s(&dir.join(&files[1].0)).to_owned(),
    ];
    let mut args = vec!["assets", "upload", "--dataset", &ds];
    args.extend(first_two.iter().map(String::as_str));
    json(&env, &args);
    let present = assets(&env, &ds);

    let (stdout, sent) = env.counting(|| {
        run(
            &env,
            &[
                "assets",
                "upload",
                "--dataset",
                &ds,
                "--skip-existing",
                "--dry-run",
                s(&dir),
            ],
            0,
        )
    });
    assert_eq!((sent.list_pages, sent.sessions, sent.puts), (1, 0, 0));
    assert!(stdout.contains("Dry run, nothing sent"), "{stdout}");
    for (name, _) in &files[2..] {
        assert!(stdout.contains(&format!("send {name} (")), "{stdout}");
    }
    for (name, _) in &files[..2] {
        let line = format!("skip {name} (");
        assert!(stdout.contains(&line), "{stdout}");
        assert!(stdout.contains(&present[name].0), "{stdout}");
    }
    assert!(stdout.contains("already in the dataset"), "{stdout}");

    let (report, sent) = env.counting(|| {
        json(
            &env,
            &["assets", "upload", "--dataset", &ds, "--dry-run", s(&dir)],
        )
    });
    // Without --skip-existing the dataset is listed to say which names it holds already.
    assert_eq!((sent.list_pages, sent.sessions, sent.puts), (1, 0, 0));
    assert_eq!(report["dry_run"], true);
    assert_eq!(arr(&report["planned"]).len(), 4, "{report}");
    assert_eq!(report["replaced"], 2, "{report}");
    for planned in arr(&report["planned"]) {
        let name = planned["filename"].as_str().unwrap();
        match present.get(name) {
            Some((id, _)) => assert_eq!(planned["replaces_asset_id"], id.as_str(), "{planned}"),
            None => assert!(planned["replaces_asset_id"].is_null(), "{planned}"),
        }
    }
    assert_eq!(report["session_ids"].as_array().unwrap().len(), 0);
    assert_eq!(assets(&env, &ds).len(), 2, "the dataset is unchanged");
}
