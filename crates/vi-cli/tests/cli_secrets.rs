//! End-to-end test that no output of `dtvi` (help, verbose logs, tables) ever shows the
//! secret key or a signed URL.

use predicates::prelude::*;
use vi_testkit::TestEnv;

use crate::common;

use common::{create_dataset, images, json, s, vi};
use std::process::Output;

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
    let id = listed["items"][0]["asset_id"].as_str().unwrap().to_owned();
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

/// Runs `dtvi ARGS` with `RUST_LOG` as given, expecting success.
fn run(env: &TestEnv, rust_log: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = vi(env);
    if let Some(filter) = rust_log {
        cmd.env("RUST_LOG", filter);
    }
    let output = cmd.args(args).output().expect("dtvi runs");
    assert!(
        output.status.success(),
        "dtvi {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Fails when any 16-character slice of the key, or a signature parameter, shows.
fn assert_clean(key: &str, output: &Output, what: &str) {
    let chars: Vec<char> = key.chars().collect();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        for window in chars.windows(16) {
            let slice: String = window.iter().collect();
            assert!(
                !text.contains(&slice),
                "{what}: a slice of the secret key was printed"
            );
        }
        assert!(
            !text.contains("signature="),
            "{what}: a signature was printed"
        );
    }
}

/// The HTTP and TLS libraries log request heads and hex dumps at trace level; at `-vvv` and
/// with `RUST_LOG=trace` none of it may reach the terminal.
#[test]
fn trace_logging_never_prints_the_key_or_a_signature() {
    let env = TestEnv::new();
    let key = env.emulator.secret_key().to_owned();
    let ds = create_dataset(&env, "trace");
    let dir = env.path("t");
    images(&dir, 3);
    let to = env.path("t-down");
    for (rust_log, verbose) in [(None, "-vvv"), (Some("trace"), "-q")] {
        let what = format!("RUST_LOG={rust_log:?} {verbose}");
        let listed = run(&env, rust_log, &[verbose, "datasets", "list"]);
        assert_clean(&key, &listed, &what);
        let up = [verbose, "assets", "upload", "--dataset", &ds, s(&dir)];
        assert_clean(&key, &run(&env, rust_log, &up), &what);
        let down = [
            verbose,
            "assets",
            "download",
            "--dataset",
            &ds,
            "--to",
            s(&to),
            "--overwrite",
        ];
        assert_clean(&key, &run(&env, rust_log, &down), &what);
        if rust_log.is_none() {
            // Verbosity still works: only the secrets are kept out.
            let stderr = String::from_utf8_lossy(&listed.stderr);
            assert!(
                stderr.contains("vi.call"),
                "-vvv shows the SDK's spans: {stderr}"
            );
        }
    }
}

#[test]
fn a_cleartext_endpoint_off_this_machine_is_refused_without_the_opt_in() {
    let env = TestEnv::new();
    let output = vi(&env)
        .args(["--endpoint", "http://192.0.2.10:8080", "datasets", "list"])
        .env_remove("DATATURE_VI_API_ENDPOINT")
        .output()
        .expect("dtvi runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("--allow-http"), "{stderr}");
    assert!(stderr.contains("unencrypted"), "{stderr}");
}
