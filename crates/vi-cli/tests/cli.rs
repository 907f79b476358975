//! End-to-end tests of the `vi` command against a real emulator on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use vi_testkit::{TestEnv, png, write_file};

/// `vi` with the emulator's credentials in the environment, as a user would set them.
fn vi(env: &TestEnv) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vi"));
    cmd.env("DATATURE_VI_API_ENDPOINT", env.emulator.url())
        .env("DATATURE_VI_SECRET_KEY", env.emulator.secret_key())
        .env(
            "DATATURE_VI_ORGANIZATION_ID",
            env.emulator.organization_id(),
        )
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(120));
    cmd
}

/// Runs `vi --json ARGS`, expects exit code 0 and returns the parsed stdout.
fn json(env: &TestEnv, args: &[&str]) -> Value {
    json_with_code(env, args, 0)
}

fn json_with_code(env: &TestEnv, args: &[&str], code: i32) -> Value {
    let output = vi(env).arg("--json").args(args).output().expect("vi runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "vi --json {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout of {args:?} is not JSON ({e}): {stdout}"))
}

/// Runs `vi ARGS` (human output), expects `code`, returns (stdout, stderr).
fn human(env: &TestEnv, args: &[&str], code: i32) -> (String, String) {
    let output = vi(env).args(args).output().expect("vi runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "vi {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

fn create_dataset(env: &TestEnv, name: &str) -> String {
    let dataset = json(env, &["datasets", "create", name]);
    dataset["id"].as_str().expect("an id").to_owned()
}

/// Writes `n` distinct PNGs of different widths into `dir`; returns their paths.
fn images(dir: &Path, n: u32) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("img{i}.png"));
            write_file(&path, &png(16 + i, 16, i));
            path
        })
        .collect()
}

fn arr(value: &Value) -> &Vec<Value> {
    value.as_array().expect("a JSON array")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

#[test]
fn datasets_create_get_list_page_and_delete() {
    let env = TestEnv::new();
    let created = json(
        &env,
        &[
            "datasets",
            "create",
            "Drone survey",
            "--description",
            "spring",
            "--type",
            "vqa",
        ],
    );
    let first = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "Drone survey");
    assert_eq!(created["type"], "vqa");
    assert!(created["datasetId"].as_str().unwrap().ends_with(&first));
    let second = create_dataset(&env, "Second");

    let got = json(&env, &["datasets", "get", &first]);
    assert_eq!(got["id"], first.as_str());
    assert_eq!(got["description"], "spring");
    assert_eq!(got["statistic"]["assetTotal"], 0);

    let (table, _) = human(&env, &["datasets", "get", &first], 0);
    assert!(
        table.contains("Drone survey") && table.contains("vqa"),
        "{table}"
    );

    // One page, with a cursor to continue.
    let page = json(&env, &["datasets", "list", "--page-size", "1"]);
    assert_eq!(arr(&page["items"]).len(), 1);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let rest = json(
        &env,
        &["datasets", "list", "--page-size", "1", "--cursor", &cursor],
    );
    let mut ids: Vec<String> = [&page, &rest]
        .iter()
        .map(|p| p["items"][0]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(rest["next_cursor"].is_null());

    // Human: a table, and the hint with the cursor on stderr.
    let (stdout, stderr) = human(&env, &["datasets", "list", "--page-size", "1"], 0);
    assert!(stdout.starts_with("ID "), "{stdout}");
    assert!(stderr.contains("--cursor "), "{stderr}");
    let (stdout, _) = human(&env, &["datasets", "list", "--all", "--page-size", "1"], 0);
    assert!(
        stdout.contains("Drone survey") && stdout.contains("Second"),
        "{stdout}"
    );

    // --all --json: one array, streamed.
    let all = json(&env, &["datasets", "list", "--all", "--page-size", "1"]);
    assert_eq!(arr(&all).len(), 2);

    let deleted = json(&env, &["datasets", "delete", &second, "--wait"]);
    assert!(deleted["datasetId"].as_str().unwrap().ends_with(&second));
    let (_, stderr) = human(&env, &["datasets", "get", &second], 5);
    assert!(stderr.starts_with("error: "), "{stderr}");
    let (stdout, _) = human(&env, &["datasets", "delete", &first], 0);
    assert!(stdout.contains(&first), "{stdout}");
    let all = json(&env, &["datasets", "list", "--all"]);
    assert!(arr(&all).is_empty());
}

#[test]
fn upload_list_count_get_rename_delete() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "assets");
    let dir = env.path("photos");
    let files = images(&dir, 3);
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();

    let report = json(&env, &["assets", "upload", "--dataset", &ds, s(&dir)]);
    assert_eq!(arr(&report["succeeded"]).len(), 3, "{report}");
    assert!(arr(&report["failed"]).is_empty());
    assert!(arr(&report["skipped"]).is_empty());
    assert!(arr(&report["processing"]).is_empty());
    assert_eq!(report["total_files"], 3);
    assert_eq!(report["bytes"], total_bytes);
    assert_eq!(report["success_rate"], 100.0);
    assert_eq!(report["success"], true);
    assert_eq!(report["cancelled"], false);
    assert_eq!(report["dataset"], ds.as_str());
    assert!(!arr(&report["session_ids"]).is_empty());
    assert!(report["duration_secs"].as_f64().unwrap() >= 0.0);
    let first = &report["succeeded"][0];
    assert!(first["source"].as_str().unwrap().ends_with(".png"));
    assert!(first["session_id"].is_string());

    // Listing: one page, all pages, sorting and filtering.
    let page = json(&env, &["assets", "list", "--dataset", &ds]);
    let items = arr(&page["items"]);
    assert_eq!(items.len(), 3);
    assert!(page["next_cursor"].is_null());
    let all = json(
        &env,
        &[
            "assets",
            "list",
            "--dataset",
            &ds,
            "--all",
            "--page-size",
            "1",
            "--sort",
            "filename",
            "--desc",
        ],
    );
    let names: Vec<&str> = arr(&all)
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["img2.png", "img1.png", "img0.png"]);
    let wide = json(
        &env,
        &[
            "assets",
            "list",
            "--dataset",
            &ds,
            "--filter",
            "metadata.width >= 17",
        ],
    );
    assert_eq!(arr(&wide["items"]).len(), 2);
    let (table, stderr) = human(
        &env,
        &["assets", "list", "--dataset", &ds, "--page-size", "2"],
        0,
    );
    assert!(table.starts_with("ASSET ID"), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(stderr.contains("--cursor"), "{stderr}");

    // Counting.
    let count = json(&env, &["assets", "count", "--dataset", &ds]);
    assert_eq!(count["count"], 3);
    let count = json(
        &env,
        &[
            "assets",
            "count",
            "--dataset",
            &ds,
            "--filter",
            "metadata.width >= 17",
        ],
    );
    assert_eq!(count["count"], 2);
    let (stdout, _) = human(&env, &["assets", "count", "--dataset", &ds], 0);
    assert_eq!(stdout.trim(), "3");

    // One asset.
    let id = items
        .iter()
        .find(|a| a["filename"] == "img0.png")
        .and_then(|a| a["assetId"].as_str())
        .unwrap()
        .to_owned();
    let asset = json(&env, &["assets", "get", "--dataset", &ds, &id]);
    assert_eq!(asset["assetId"], id.as_str());
    assert_eq!(asset["metadata"]["width"], 16);
    let (stdout, _) = human(&env, &["assets", "get", "--dataset", &ds, &id], 0);
    assert!(
        stdout.contains("img0.png") && stdout.contains("16x16"),
        "{stdout}"
    );

    // Rename, then delete.
    let renamed = json(
        &env,
        &["assets", "rename", "--dataset", &ds, &id, "renamed.png"],
    );
    assert_eq!(renamed["filename"], "renamed.png");
    assert_eq!(renamed["assetId"], id.as_str());
    let (stdout, _) = human(&env, &["assets", "delete", "--dataset", &ds, &id], 0);
    assert!(stdout.contains(&id), "{stdout}");
    let count = json(&env, &["assets", "count", "--dataset", &ds]);
    assert_eq!(count["count"], 2);
    human(&env, &["assets", "get", "--dataset", &ds, &id], 5);
    let deleted = json(
        &env,
        &[
            "assets",
            "delete",
            "--dataset",
            &ds,
            arr(&all)[0]["assetId"].as_str().unwrap(),
        ],
    );
    assert_eq!(deleted["deleted"], true);
}

#[test]
fn partial_upload_exits_4_and_reports_every_file() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "partial");
    let dir = env.path("mixed");
    images(&dir, 2);
    // Named like an image, but its content is text: left out with a reason.
    write_file(&dir.join("broken.png"), b"this is not an image at all");

    let report = json_with_code(
        &env,
        &[
            "assets",
            "upload",
            "--dataset",
            &ds,
            "--failure-mode",
            "fail-after-all",
            s(&dir),
        ],
        4,
    );
    assert_eq!(arr(&report["succeeded"]).len(), 2, "{report}");
    let problems: Vec<&Value> = arr(&report["failed"])
        .iter()
        .chain(arr(&report["skipped"]))
        .collect();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["filename"], "broken.png");
    assert!(!problems[0]["reason"].as_str().unwrap().is_empty());
    assert_eq!(report["success"], false);
    assert_eq!(report["total_files"], 3);

    // Human: the summary names the file and its reason.
    let (stdout, _) = human(
        &env,
        &[
            "assets",
            "upload",
            "--dataset",
            &ds,
            "--failure-mode",
            "fail-after-all",
            "--overwrite-mode",
            "keep-linked",
            "--concurrency",
            "2",
            "--batch-size",
            "10",
            "--wait-timeout",
            "60",
            s(&dir),
        ],
        4,
    );
    assert!(stdout.contains("broken.png"), "{stdout}");
}

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
    // No partial files left behind.
    for entry in std::fs::read_dir(&folder).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().ends_with(".part"), "{name:?}");
    }

    // Again: everything is already there.
    let again = json(
        &env,
        &["assets", "download", "--dataset", &ds, "--to", s(&to)],
    );
    assert_eq!(arr(&again["skipped"]).len(), 4, "{again}");
    assert!(arr(&again["downloaded"]).is_empty());

    // Chosen assets only, overwriting, human output.
    let id = listed[0]["assetId"].as_str().unwrap();
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
fn get_url_prints_a_url_that_fetches_the_file() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "urls");
    let dir = env.path("one");
    let files = images(&dir, 1);
    json(&env, &["assets", "upload", "--dataset", &ds, s(&files[0])]);
    let listed = json(&env, &["assets", "list", "--dataset", &ds]);
    let id = listed["items"][0]["assetId"].as_str().unwrap().to_owned();

    let (stdout, stderr) = human(&env, &["assets", "get", "--dataset", &ds, &id, "--url"], 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let url = stdout.trim();
    assert!(
        url.starts_with("http://") && url.contains("signature="),
        "{url}"
    );
    assert!(stderr.contains("expires"), "{stderr}");

    // The URL works on its own (fetched with the SDK's signed-URL download).
    let client = vi_blocking::Client::builder()
        .endpoint(env.emulator.url())
        .secret_key(env.emulator.secret_key())
        .organization_id(env.emulator.organization_id())
        .build()
        .unwrap();
    let signed = vi_blocking::models::SignedUrl {
        url: url.to_owned(),
        ..Default::default()
    };
    let target = env.path("fetched.png");
    client.assets().download_url(&signed, &target).unwrap();
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(&files[0]).unwrap()
    );

    // --json --url keeps the real URL; plain --json has none to leak.
    let with_url = json(&env, &["assets", "get", "--dataset", &ds, &id, "--url"]);
    let json_url = with_url["contents"]["asset"]["url"].as_str().unwrap();
    assert!(json_url.contains("signature="), "{json_url}");
    assert_eq!(json_url.split('?').next(), url.split('?').next());
    let plain = json(&env, &["assets", "get", "--dataset", &ds, &id]);
    assert!(!plain.to_string().contains("signature="), "{plain}");
}

#[test]
fn bad_flags_exit_2() {
    let env = TestEnv::new();
    human(&env, &["datasets", "list", "--bogus"], 2);
    human(&env, &["assets", "upload", "some/path"], 2);
    human(
        &env,
        &["assets", "list", "--dataset", "x", "--sort", "colour"],
        2,
    );
    human(&env, &["datasets", "list", "--page-size", "0"], 2);
    human(&env, &["nonsense"], 2);
    let (_, stderr) = human(&env, &["assets", "list", "--dataset", "not an id"], 2);
    assert!(stderr.starts_with("error: invalid dataset id"), "{stderr}");
}

#[test]
fn missing_credentials_exit_3_and_say_how_to_fix() {
    let env = TestEnv::new();
    let output = vi(&env)
        .env_remove("DATATURE_VI_SECRET_KEY")
        .args(["datasets", "list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("DATATURE_VI_SECRET_KEY"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.stdout.is_empty());

    // A malformed key given on the command line is a configuration error too.
    vi(&env)
        .args(["--secret-key", "nope", "datasets", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("nope").not());

    // A missing config file, likewise.
    vi(&env)
        .env_remove("DATATURE_VI_SECRET_KEY")
        .args(["--config-file", "/nonexistent/vi.json", "datasets", "list"])
        .assert()
        .code(3);
}

#[test]
fn wrong_credentials_fail_with_1() {
    let env = TestEnv::new();
    let wrong = format!("dtvi_{}", "x".repeat(98));
    vi(&env)
        .env("DATATURE_VI_SECRET_KEY", &wrong)
        .args(["datasets", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains(&wrong).not());
}

#[test]
fn unknown_dataset_exits_5() {
    let env = TestEnv::new();
    let dir = env.path("x");
    images(&dir, 1);
    for args in [
        vec!["datasets", "get", "nosuchdataset"],
        vec!["datasets", "delete", "nosuchdataset"],
        vec!["assets", "list", "--dataset", "nosuchdataset"],
        vec!["assets", "count", "--dataset", "nosuchdataset"],
        vec!["assets", "upload", "--dataset", "nosuchdataset", s(&dir)],
        vec![
            "assets",
            "download",
            "--dataset",
            "nosuchdataset",
            "--to",
            s(&dir),
        ],
    ] {
        let (stdout, stderr) = human(&env, &args, 5);
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn human_output_never_shows_the_secret_key_or_a_signature() {
    let env = TestEnv::new();
    let key = env.emulator.secret_key().to_owned();
    let ds = create_dataset(&env, "secrets");
    let dir = env.path("s");
    images(&dir, 2);
    let to = env.path("s-down");
    let output = vi(&env)
        .args(["-vv", "assets", "upload", "--dataset", &ds, s(&dir)])
        .output()
        .unwrap();
    assert!(output.status.success());
    let mut runs = vec![
        vec!["--help"],
        vec!["assets", "upload", "--help"],
        vec!["-vv", "assets", "upload", "--dataset", &ds, s(&dir)],
        vec!["-vv", "assets", "list", "--dataset", &ds, "--all"],
        vec![
            "-vv",
            "assets",
            "download",
            "--dataset",
            &ds,
            "--to",
            s(&to),
        ],
        vec!["datasets", "list"],
        vec!["datasets", "get", &ds],
    ];
    let listed = json(&env, &["assets", "list", "--dataset", &ds]);
    let id = listed["items"][0]["assetId"].as_str().unwrap().to_owned();
    runs.push(vec!["-vv", "assets", "get", "--dataset", &ds, &id]);
    for args in runs {
        let output = vi(&env).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains(&key), "{args:?} printed the secret key");
            assert!(
                !text.contains("signature="),
                "{args:?} printed a signed URL"
            );
        }
    }
    // The key given on the command line does not show in --help either.
    vi(&env)
        .args(["--secret-key", &key, "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&key).not())
        .stdout(predicate::str::contains("Exit codes"))
        .stdout(predicate::str::contains("130"));
}

#[test]
fn emulator_command_prints_the_listening_line_first_and_serves() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vi"))
        .args(["emulator", "--port", "0"])
        .env_remove("DATATURE_VI_SECRET_KEY")
        .env_remove("DATATURE_VI_ORGANIZATION_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vi emulator starts");
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

    let output = Command::new(env!("CARGO_BIN_EXE_vi"))
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
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_vi"))
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

#[test]
fn a_download_killed_mid_transfer_leaves_no_partial_file_and_resumes() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "killed");
    let src = env.path("killed-src");
    // Files larger than the transports' 512 KiB write buffer, so a partial file has bytes
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
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vi"))
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
    let has_partial = || {
        std::fs::read_dir(&folder).ok().is_some_and(|entries| {
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

    // Whatever is under a final name is complete; the rest is in .part files.
    let mut partial = 0;
    for entry in std::fs::read_dir(&folder).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".part") {
            partial += 1;
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
    let leftovers = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .count();
    assert_eq!(leftovers, 0);
}
