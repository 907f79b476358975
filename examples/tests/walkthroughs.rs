//! The two walkthroughs run against a separate emulator, as they would against the
//! service, and ask it for nothing beyond the documented protocol: no request carries a
//! `filter`, whose syntax is the service's own (issue 11, defect 13: the walkthroughs
//! found large and square assets with a filter only the emulator understood).

use std::path::PathBuf;
use std::process::Command;

use vi_emulator::{Emulator, EmulatorConfig};

/// An example's binary, which `cargo test` builds beside this test's own (all targets;
/// with `--test walkthroughs` alone cargo builds no example, and an older binary would be
/// run).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/walkthroughs-<hash> -> target/<profile>/examples/<name>
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a target directory");
    let path = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: `cargo test -p vi-examples` builds the examples (a `--test` filter alone does not)",
        path.display()
    );
    path
}

fn runs_without_a_filter(name: &str) {
    let log = tempfile::NamedTempFile::new().expect("a request log");
    let emulator = Emulator::start_with(EmulatorConfig {
        record_to: Some(log.path().to_owned()),
        ..EmulatorConfig::default()
    })
    .expect("an emulator");
    let output = Command::new(example(name))
        .env("DATATURE_VI_API_ENDPOINT", emulator.url())
        .env("DATATURE_VI_SECRET_KEY", emulator.secret_key())
        .env("DATATURE_VI_ORGANIZATION_ID", emulator.organization_id())
        .output()
        .unwrap_or_else(|e| panic!("{name} could not start: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{name}: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Large assets"), "{name}: {stdout}");

    let requests: Vec<serde_json::Value> = std::fs::read_to_string(log.path())
        .expect("the request log")
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let listings = requests
        .iter()
        .filter(|r| {
            r["method"] == "GET" && r["route"].as_str().is_some_and(|r| r.ends_with("/assets"))
        })
        .count();
    assert!(listings > 0, "{name} listed the dataset's assets");
    for request in &requests {
        assert!(
            request["query"].get("filter").is_none(),
            "{name} sent a filter: {request}"
        );
    }
}

#[test]
fn the_blocking_walkthrough_filters_on_the_client() {
    runs_without_a_filter("asset_upload_download");
}

#[test]
fn the_async_walkthrough_filters_on_the_client() {
    runs_without_a_filter("asset_upload_download_async");
}
