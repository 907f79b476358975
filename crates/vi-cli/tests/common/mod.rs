//! Helpers shared by the end-to-end tests of the `dtvi` command (`tests/cli_*.rs`): running
//! `dtvi` against a test emulator with its credentials, reading its JSON or human output and
//! exit code, and making datasets and images.
#![allow(
    dead_code,
    reason = "every test file compiles this module but uses only some of the helpers"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use vi_testkit::{TestEnv, png, write_file};

/// The command-line binary under test: the one place that names it.
pub fn vi_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dtvi"))
}

/// `dtvi` as a plain process (to run several at once or kill one), with the emulator's
/// credentials and no job scheduler variables inherited from the machine running the tests.
pub fn vi_process(env: &TestEnv) -> std::process::Command {
    let mut cmd = std::process::Command::new(vi_bin());
    credentials(&mut cmd, env);
    cmd
}

/// What `--shard auto` reads.
pub const SCHEDULER_VARS: [&str; 5] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_COUNT",
    "JOB_COMPLETION_INDEX",
    "VI_SHARD_COUNT",
];

/// `dtvi` with the emulator's credentials in the environment, as a user would set them.
pub fn vi(env: &TestEnv) -> Command {
    let mut std = std::process::Command::new(vi_bin());
    credentials(&mut std, env);
    let mut cmd = Command::from_std(std);
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// Puts the emulator's credentials in `cmd`'s environment, as a user would set them, and
/// keeps the caller's log filter and the machine's job scheduler variables out.
pub fn credentials<'a>(
    cmd: &'a mut std::process::Command,
    env: &TestEnv,
) -> &'a mut std::process::Command {
    for var in SCHEDULER_VARS {
        cmd.env_remove(var);
    }
    cmd.env("DATATURE_VI_API_ENDPOINT", env.emulator.url())
        .env("DATATURE_VI_SECRET_KEY", env.emulator.secret_key())
        .env(
            "DATATURE_VI_ORGANIZATION_ID",
            env.emulator.organization_id(),
        )
        .env_remove("RUST_LOG")
}

/// `program` (the binary, a shell, `script`) with the emulator's credentials in its
/// environment.
pub fn process(env: &TestEnv, program: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    credentials(&mut cmd, env);
    cmd
}

/// Runs `dtvi --json ARGS`, expects exit code 0 and returns the parsed stdout.
pub fn json(env: &TestEnv, args: &[&str]) -> Value {
    json_with_code(env, args, 0)
}

pub fn json_with_code(env: &TestEnv, args: &[&str], code: i32) -> Value {
    let output = vi(env)
        .arg("--json")
        .args(args)
        .output()
        .expect("dtvi runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "dtvi --json {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout of {args:?} is not JSON ({e}): {stdout}"))
}

/// Runs `dtvi ARGS` (human output), expects `code`, returns (stdout, stderr).
pub fn human(env: &TestEnv, args: &[&str], code: i32) -> (String, String) {
    let output = vi(env).args(args).output().expect("dtvi runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "dtvi {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

pub fn create_dataset(env: &TestEnv, name: &str) -> String {
    let dataset = json(env, &["datasets", "create", name]);
    dataset["dataset_id"].as_str().expect("an id").to_owned()
}

/// Writes `n` distinct PNGs of different widths into `dir`; returns their paths.
pub fn images(dir: &Path, n: u32) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("img{i}.png"));
            write_file(&path, &png(16 + i, 16, i));
            path
        })
        .collect()
}

pub fn arr(value: &Value) -> &Vec<Value> {
    value.as_array().expect("a JSON array")
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
