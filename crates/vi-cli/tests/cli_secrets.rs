//! End-to-end test that no output of `vi` (help, verbose logs, tables) ever shows the
//! secret key or a signed URL.

use predicates::prelude::*;
use vi_testkit::TestEnv;

mod common;

use common::{create_dataset, images, json, s, vi};

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
