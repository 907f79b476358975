//! Logs are output: at any verbosity, and with `RUST_LOG=trace`, nothing the `vi` command
//! prints holds the secret key or a signed URL's signature (the HTTP and TLS libraries
//! underneath log request heads and hex dumps at trace level).

use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use vi_testkit::{TestEnv, png};

/// Runs `vi` against the emulator with `args`, `RUST_LOG` as given, and returns its output.
fn run(env: &TestEnv, rust_log: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vi"));
    cmd.env("DATATURE_VI_API_ENDPOINT", env.emulator.url())
        .env("DATATURE_VI_SECRET_KEY", env.emulator.secret_key())
        .env(
            "DATATURE_VI_ORGANIZATION_ID",
            env.emulator.organization_id(),
        )
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(120));
    if let Some(filter) = rust_log {
        cmd.env("RUST_LOG", filter);
    }
    let output = cmd.args(args).output().expect("vi runs");
    assert!(
        output.status.success(),
        "vi {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Fails when any 16-character slice of the key, or a signature parameter, shows.
fn assert_clean(key: &str, output: &Output, what: &str) {
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        let chars: Vec<char> = key.chars().collect();
        for window in chars.windows(16) {
            let slice: String = window.iter().collect();
            assert!(
                !text.contains(&slice),
                "{what}: a slice of the secret key was printed"
            );
        }
        assert!(
            !text.contains("signature="),
            "{what}: a signed URL's signature was printed"
        );
    }
}

#[test]
fn no_verbosity_prints_the_key_or_a_signature() {
    let env = TestEnv::new();
    let key = env.emulator.secret_key().to_owned();
    let folder = env.path("photos");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..3 {
        std::fs::write(folder.join(format!("p{i}.png")), png(6, 5, i)).unwrap();
    }
    let created = run(&env, None, &["--json", "datasets", "create", "secrets"]);
    let dataset: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let dataset = dataset["id"].as_str().unwrap().to_owned();
    let folder = folder.to_str().unwrap().to_owned();
    let out = env.path("out");
    let out = out.to_str().unwrap().to_owned();

    for (rust_log, verbose) in [(None, "-vvv"), (Some("trace"), "-q")] {
        let what = format!("RUST_LOG={rust_log:?} {verbose}");
        let listed = run(&env, rust_log, &[verbose, "datasets", "list"]);
        assert_clean(&key, &listed, &what);
        let uploaded = run(
            &env,
            rust_log,
            &[verbose, "assets", "upload", "--dataset", &dataset, &folder],
        );
        assert_clean(&key, &uploaded, &what);
        let fetched = run(
            &env,
            rust_log,
            &[
                verbose,
                "assets",
                "download",
                "--dataset",
                &dataset,
                "--to",
                &out,
                "--overwrite",
            ],
        );
        assert_clean(&key, &fetched, &what);
        let stderr = String::from_utf8_lossy(&listed.stderr);
        if rust_log.is_none() {
            // The SDK's own trace still shows: verbosity works, only secrets are kept out.
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
    let output = Command::new(env!("CARGO_BIN_EXE_vi"))
        .env_remove("RUST_LOG")
        .env("DATATURE_VI_SECRET_KEY", env.emulator.secret_key())
        .env(
            "DATATURE_VI_ORGANIZATION_ID",
            env.emulator.organization_id(),
        )
        .args(["--endpoint", "http://192.0.2.10:8080", "datasets", "list"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("vi runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("--allow-http"), "{stderr}");
    assert!(stderr.contains("unencrypted"), "{stderr}");
}
