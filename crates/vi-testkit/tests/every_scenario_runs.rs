//! Every public scenario function is stamped into a `#[test]` by its suite's macro, so a
//! scenario added to `src/scenarios/*.rs` but forgotten in `src/scenarios/mod.rs` fails
//! here instead of silently never running.

use std::collections::BTreeSet;
use std::path::Path;

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

/// The identifiers listed in the body of `macro_rules! name` in `text`.
fn stamped(text: &str, name: &str) -> BTreeSet<String> {
    let start = text
        .find(&format!("macro_rules! {name} "))
        .unwrap_or_else(|| panic!("macro {name} not found"));
    let body = &text[start..];
    let body = &body[..body.find("\n}\n").expect("end of macro")];
    let list = &body[body.find(':').expect("a list")..];
    list.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| word.contains('_') && !word.starts_with("__"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_scenario_is_stamped_into_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scenarios");
    let macros = std::fs::read_to_string(dir.join("mod.rs")).unwrap();
    for (file, suite, suffix) in [
        ("calls.rs", "api_tests", "<F: Facade>"),
        ("uploads.rs", "upload_tests", "<F: Facade>"),
        ("resume.rs", "resume_tests", "<F: Facade>"),
        ("downloads.rs", "download_tests", "<F: Facade>"),
        ("hostile.rs", "hostile_tests", "<F: Facade>"),
        ("multipart.rs", "multipart_tests", "<F: Facade>"),
        ("tuning.rs", "tuning_tests", "<F: Facade>"),
        (
            "transport.rs",
            "transport_tests",
            "(stack: &TransportStack)",
        ),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let defined = scenario_names(&text, suffix);
        assert!(!defined.is_empty(), "{file} defines scenarios");
        let listed = stamped(&macros, suite);
        let missing: Vec<_> = defined.difference(&listed).collect();
        let unknown: Vec<_> = listed.difference(&defined).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{suite}! and {file} disagree: not stamped {missing:?}, not defined {unknown:?}"
        );
    }
}
