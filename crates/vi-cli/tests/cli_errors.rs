//! End-to-end tests of how `dtvi` fails: bad flags (2), missing or malformed configuration
//! (3), wrong credentials (1) and unknown datasets (5), each with a one-line message.

use predicates::prelude::*;
use vi_testkit::TestEnv;

use crate::common;

use common::{human, images, s, vi};

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
        vec!["datasets", "delete", "nosuchdataset", "--yes"],
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
