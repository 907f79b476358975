//! Every public scenario function is stamped into a `#[test]` by its suite's macro, so a
//! scenario added to `src/scenarios/*.rs` but forgotten in `src/scenarios/mod.rs` fails
//! here instead of silently never running. Every scenario file has its suite here, and
//! both facades' tests invoke every suite exactly once.

use std::collections::BTreeSet;
use std::path::Path;

/// Each file of `src/scenarios/`, the macro that stamps its scenarios, and what follows a
/// scenario's name in its signature.
const SUITES: &[(&str, &str, &str)] = &[
    ("calls.rs", "api_tests", "<F: Facade>"),
    ("uploads.rs", "upload_tests", "<F: Facade>"),
    ("upload_retries.rs", "upload_retry_tests", "<F: Facade>"),
    ("upload_verdicts.rs", "upload_verdict_tests", "<F: Facade>"),
    ("upload_cancel.rs", "upload_cancel_tests", "<F: Facade>"),
    ("coordinator.rs", "coordinator_tests", "<F: Facade>"),
    ("resume.rs", "resume_tests", "<F: Facade>"),
    ("selection.rs", "selection_tests", "<F: Facade>"),
    ("downloads.rs", "download_tests", "<F: Facade>"),
    ("hostile.rs", "hostile_tests", "<F: Facade>"),
    ("multipart.rs", "multipart_tests", "<F: Facade>"),
    ("tuning.rs", "tuning_tests", "<F: Facade>"),
    ("exports.rs", "export_tests", "<F: Facade + ExportOps>"),
    ("labels.rs", "label_tests", "<F: Labels>"),
    (
        "transport.rs",
        "transport_tests",
        "(stack: &TransportStack)",
    ),
];

/// The names in `text` that follow `pub fn ` and are followed by `suffix`.
fn scenario_names(text: &str, suffix: &str) -> BTreeSet<String> {
    text.split("pub fn ")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            rest[end..]
                .starts_with(suffix)
                .then(|| rest[..end].to_owned())
        })
        .collect()
}

/// The identifiers listed in the body of `macro_rules! name` in `text`, but for `module`
/// (the `module:` the scenarios are taken from).
fn stamped(text: &str, name: &str, module: &str) -> BTreeSet<String> {
    let start = text
        .find(&format!("macro_rules! {name} "))
        .unwrap_or_else(|| panic!("macro {name} not found"));
    let body = &text[start..];
    let body = &body[..body.find("\n}\n").expect("end of macro")];
    let list = &body[body.find(':').expect("a list")..];
    list.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| word.contains('_') && !word.starts_with("__") && *word != module)
        .map(str::to_owned)
        .collect()
}

fn scenarios_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scenarios")
}

#[test]
fn every_scenario_is_stamped_into_a_test() {
    let dir = scenarios_dir();
    let macros = std::fs::read_to_string(dir.join("mod.rs")).unwrap();
    for &(file, suite, suffix) in SUITES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let defined = scenario_names(&text, suffix);
        assert!(!defined.is_empty(), "{file} defines scenarios");
        let listed = stamped(&macros, suite, file.trim_end_matches(".rs"));
        let missing: Vec<_> = defined.difference(&listed).collect();
        let unknown: Vec<_> = listed.difference(&defined).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{suite}! and {file} disagree: not stamped {missing:?}, not defined {unknown:?}"
        );
    }
}

#[test]
fn every_scenario_file_has_its_suite() {
    let known: BTreeSet<&str> = SUITES.iter().map(|(file, _, _)| *file).collect();
    for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") && name != "mod.rs" {
            assert!(
                known.contains(name.as_str()),
                "src/scenarios/{name} is not in SUITES: its scenarios are not checked"
            );
        }
    }
}

#[test]
fn both_facades_run_every_suite_once() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for facade in ["vi-async", "vi-blocking"] {
        let mut tests = String::new();
        for entry in std::fs::read_dir(crates.join(facade).join("tests")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                tests.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
        for &(_, suite, _) in SUITES {
            let calls = tests.matches(&format!("vi_testkit::{suite}!(")).count();
            assert_eq!(
                calls, 1,
                "{facade}'s tests invoke {suite}! {calls} times, not once"
            );
        }
    }
}
