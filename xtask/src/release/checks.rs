//! Checks of the workspace's metadata, from `cargo metadata`: what crates.io and docs.rs need,
//! which crates are published, and whether the declared `rust-version` fits the dependencies.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Whether a package from `cargo metadata` may be published to crates.io.
pub fn publishable(package: &Value) -> bool {
    match package.get("publish") {
        None | Some(Value::Null) => true,
        Some(Value::Array(registries)) => registries.iter().any(|r| r == "crates-io"),
        Some(_) => false,
    }
}

/// `package`'s string field, when present and not blank.
fn text<'a>(package: &'a Value, field: &str) -> Option<&'a str> {
    package
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// What a publishable package lacks: description, license, repository, readme, keywords,
/// categories and docs.rs metadata, in the forms crates.io accepts.
pub fn metadata_problems(package: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match text(package, "description") {
        None => problems.push("no description".to_owned()),
        Some(d) => {
            let lower = d.to_ascii_lowercase();
            if ["placeholder", "todo", "tbd", "fixme", "lorem ipsum"]
                .iter()
                .any(|w| lower.contains(w))
                || d.len() < 20
            {
                problems.push(format!(
                    "description {d:?} is a placeholder, not a description"
                ));
            }
        }
    }
    if text(package, "license").is_none() && text(package, "license_file").is_none() {
        problems.push("no license".to_owned());
    }
    match text(package, "repository") {
        None => problems.push("no repository".to_owned()),
        Some(r) if !r.starts_with("https://") => {
            problems.push(format!("repository {r:?} is not an https URL"));
        }
        Some(_) => {}
    }
    match text(package, "readme") {
        None => problems.push("no readme".to_owned()),
        Some(path) => {
            // Relative to the crate's manifest, as cargo reads it.
            let dir = package
                .get("manifest_path")
                .and_then(Value::as_str)
                .and_then(|m| std::path::Path::new(m).parent())
                .unwrap_or(std::path::Path::new("."));
            if !dir.join(path).is_file() {
                problems.push(format!("readme {path} does not exist"));
            }
        }
    }
    let list = |field: &str| -> Vec<String> {
        package
            .get(field)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let keywords = list("keywords");
    if keywords.is_empty() {
        problems.push("no keywords".to_owned());
    }
    if keywords.len() > 5 {
        problems.push(format!(
            "{} keywords (crates.io takes at most 5)",
            keywords.len()
        ));
    }
    for k in &keywords {
        let valid = k.len() <= 20
            && k.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '+');
        if !valid {
            problems.push(format!(
                "keyword {k:?}: crates.io wants at most 20 ASCII letters, digits, -, _ or +"
            ));
        }
    }
    let categories = list("categories");
    if categories.is_empty() {
        problems.push("no categories".to_owned());
    }
    if categories.len() > 5 {
        problems.push(format!(
            "{} categories (crates.io takes at most 5)",
            categories.len()
        ));
    }
    for c in &categories {
        if !c
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch == '-' || ch == ':')
        {
            problems.push(format!("category {c:?} is not a crates.io category slug"));
        }
    }
    if !package
        .get("metadata")
        .and_then(|m| m.get("docs"))
        .and_then(|d| d.get("rs"))
        .is_some_and(Value::is_object)
    {
        problems.push("no [package.metadata.docs.rs] table".to_owned());
    }
    if text(package, "rust_version").is_none() {
        problems.push("no rust-version".to_owned());
    }
    problems
}

/// The publishable crates in an order where each comes after the crates it depends on (any
/// dependency kind with a version requirement, since crates.io needs those first); ties in
/// name order.
///
/// # Errors
/// A message naming the crates of a dependency cycle.
pub fn publish_order(packages: &[&Value]) -> Result<Vec<String>, String> {
    let names: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in packages {
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            continue;
        };
        let deps = p
            .get("dependencies")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let entry = needs.entry(name.to_owned()).or_default();
        for d in deps {
            let Some(dep) = d.get("name").and_then(Value::as_str) else {
                continue;
            };
            // Path-only dev-dependencies are stripped by cargo when packaging.
            let versioned = d
                .get("req")
                .and_then(Value::as_str)
                .is_some_and(|r| r != "*");
            if names.contains(dep) && versioned && dep != name {
                entry.insert(dep.to_owned());
            }
        }
    }
    let mut order = Vec::new();
    while !needs.is_empty() {
        let ready: Vec<String> = needs
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        let Some(next) = ready.first() else {
            let cycle: Vec<&str> = needs.keys().map(String::as_str).collect();
            return Err(format!("dependency cycle among {}", cycle.join(", ")));
        };
        let next = next.clone();
        needs.remove(&next);
        for deps in needs.values_mut() {
            deps.remove(&next);
        }
        order.push(next);
    }
    Ok(order)
}

/// Parses `1.85` or `1.85.0` into `(major, minor, patch)`.
pub fn parse_rust_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    parts.next().is_none().then_some((major, minor, patch))
}

/// Whether an installed toolchain (a `rustup toolchain list` name such as
/// `1.85.0-x86_64-unknown-linux-gnu`, or a `rustc` version `1.85.1`) is the declared
/// `rust-version` (`1.85` takes any 1.85.x).
pub fn toolchain_matches(declared: &str, toolchain: &str) -> bool {
    let Some(want) = parse_rust_version(declared) else {
        return false;
    };
    let version = toolchain.split('-').next().unwrap_or_default();
    let Some(have) = parse_rust_version(version) else {
        return false;
    };
    let exact = declared.trim().split('.').count() == 3;
    have.0 == want.0 && have.1 == want.1 && (!exact || have.2 == want.2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn complete() -> Value {
        json!({
            "name": "vi-core",
            "description": "Models, endpoints and orchestration of the Vi SDK.",
            "license": "Apache-2.0",
            "repository": "https://github.com/datature/vi-rs",
            "manifest_path": concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
            "readme": "Cargo.toml",
            "keywords": ["datature", "sdk"],
            "categories": ["api-bindings", "web-programming::http-client"],
            "metadata": {"docs": {"rs": {"all-features": true}}},
            "rust_version": "1.85",
            "publish": null
        })
    }

    #[test]
    fn complete_metadata_passes() {
        let package = complete();
        assert_eq!(metadata_problems(&package), Vec::<String>::new());
        assert!(publishable(&package));
    }

    #[test]
    fn missing_and_placeholder_metadata_is_reported() {
        let package = json!({"name": "vi-async", "description": "placeholder",
            "keywords": ["a keyword with spaces"], "categories": ["API Bindings"], "publish": []});
        let problems = metadata_problems(&package);
        assert_eq!(
            problems,
            [
                "description \"placeholder\" is a placeholder, not a description",
                "no license",
                "no repository",
                "no readme",
                "keyword \"a keyword with spaces\": crates.io wants at most 20 ASCII letters, digits, -, _ or +",
                "category \"API Bindings\" is not a crates.io category slug",
                "no [package.metadata.docs.rs] table",
                "no rust-version",
            ]
        );
        assert!(!publishable(&package));
        assert!(publishable(&json!({"publish": ["crates-io"]})));
        assert!(!publishable(&json!({"publish": ["private-registry"]})));
    }

    #[test]
    fn publish_order_puts_dependencies_first() {
        let p = |name: &str, deps: &[(&str, &str)]| json!({"name": name, "dependencies": deps.iter().map(|(n, r)| json!({"name": n, "req": r})).collect::<Vec<_>>()});
        let packages = [
            p(
                "vi-cli",
                &[
                    ("vi-blocking", "^0.1.0"),
                    ("vi-emulator", "^0.1.0"),
                    ("clap", "^4"),
                ],
            ),
            p("vi-blocking", &[("vi-core", "^0.1.0"), ("vi-testkit", "*")]),
            p("vi-async", &[("vi-core", "^0.1.0")]),
            p("vi-emulator", &[]),
            p("vi-core", &[]),
        ];
        let refs: Vec<&Value> = packages.iter().collect();
        assert_eq!(
            publish_order(&refs).unwrap(),
            [
                "vi-core",
                "vi-async",
                "vi-blocking",
                "vi-emulator",
                "vi-cli"
            ]
        );
        let cyclic = [p("a", &[("b", "^1")]), p("b", &[("a", "^1")])];
        let refs: Vec<&Value> = cyclic.iter().collect();
        assert!(
            publish_order(&refs)
                .unwrap_err()
                .contains("cycle among a, b")
        );
    }

    #[test]
    fn rust_versions_match_toolchains() {
        assert_eq!(parse_rust_version("1.85"), Some((1, 85, 0)));
        assert_eq!(parse_rust_version("1.85.2"), Some((1, 85, 2)));
        assert_eq!(parse_rust_version("1.x"), None);
        assert!(toolchain_matches("1.85", "1.85.0-x86_64-unknown-linux-gnu"));
        assert!(toolchain_matches("1.85", "1.85.1"));
        assert!(!toolchain_matches("1.85.0", "1.85.1"));
        assert!(!toolchain_matches(
            "1.85",
            "1.95.0-x86_64-unknown-linux-gnu"
        ));
        assert!(!toolchain_matches(
            "1.85",
            "stable-x86_64-unknown-linux-gnu"
        ));
    }
}
