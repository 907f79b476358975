//! The checks a release makes before it changes anything: the metadata of every member, the
//! declared `rust-version` against the dependencies and the toolchains, and API
//! compatibility with the previous release (`cargo semver-checks`).

use super::commands::{output, run_shown};
use super::options::Options;
use super::version::release_type;
use super::workspace::{Member, Workspace};
use super::{PRIVATE, PUBLISHABLE, checks};
use crate::cargo;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};

pub fn check_metadata(ws: &Workspace) -> Result<(), String> {
    let mut problems = Vec::new();
    for member in &ws.members {
        let name = member.name.as_str();
        let publishable = checks::publishable(&member.package);
        if PUBLISHABLE.contains(&name) {
            if !publishable {
                problems.push(format!("{name}: must be publishable but has `publish` set"));
            }
            for p in checks::metadata_problems(&member.package) {
                problems.push(format!("{name}: {p}"));
            }
            // Nothing published may need an unpublished crate.
            for dep in member.package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let dep_name = dep["name"].as_str().unwrap_or_default();
                if PRIVATE.contains(&dep_name) {
                    let kind = dep["kind"].as_str().unwrap_or("normal");
                    let versioned = dep["req"].as_str().is_some_and(|r| r != "*");
                    if kind != "dev" || versioned {
                        problems.push(format!(
                            "{name}: depends on the unpublished {dep_name} ({kind}{}): only path-only dev-dependencies on it are allowed",
                            if versioned { ", with a version" } else { "" }
                        ));
                    }
                }
            }
            let license_ok = license_copy_problem(ws, member);
            if let Some(p) = license_ok {
                problems.push(format!("{name}: {p}"));
            }
            println!(
                "{name} {}: description, license {}, repository, readme, keywords, categories, docs.rs metadata{}",
                member.version,
                member.package["license"].as_str().unwrap_or("?"),
                if problems.iter().any(|p| p.starts_with(&format!("{name}:"))) {
                    ": INCOMPLETE"
                } else {
                    ": ok"
                }
            );
        } else if PRIVATE.contains(&name) {
            if publishable {
                problems.push(format!(
                    "{name}: must not be published: add `publish = false`"
                ));
            } else {
                println!("{name}: publish = false, ok");
            }
        } else {
            problems.push(format!(
                "{name}: a new workspace member: add it to PUBLISHABLE or PRIVATE in xtask/src/release.rs"
            ));
        }
    }
    for name in PUBLISHABLE.iter().chain(PRIVATE) {
        if ws.member(name).is_none() {
            problems.push(format!(
                "{name} is listed in xtask/src/release.rs but is not a workspace member"
            ));
        }
    }
    let versions: BTreeSet<&str> = ws
        .members
        .iter()
        .filter(|m| PUBLISHABLE.contains(&m.name.as_str()))
        .map(|m| m.version.as_str())
        .collect();
    if versions.len() > 1 {
        problems.push(format!(
            "the publishable crates have different versions ({}): they inherit the workspace version",
            versions.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    println!("publish order: {}", ws.order.join(" -> "));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("incomplete metadata:\n  {}", problems.join("\n  ")))
    }
}

/// The crate's packaged license must be the repository's `LICENSE`.
fn license_copy_problem(ws: &Workspace, member: &Member) -> Option<String> {
    let root_license = std::fs::read(ws.root.join("LICENSE")).ok()?;
    match std::fs::read(member.dir.join("LICENSE")) {
        Ok(copy) if copy == root_license => None,
        Ok(_) => Some("LICENSE differs from the repository's LICENSE: copy it again".to_owned()),
        Err(_) => Some(
            "no LICENSE file in the crate's directory: copy the repository's LICENSE there"
                .to_owned(),
        ),
    }
}

pub fn check_rust_version(ws: &Workspace) -> Result<(), String> {
    let all_declared: BTreeSet<&str> = ws
        .order
        .iter()
        .filter_map(|n| ws.member(n))
        .filter_map(|m| m.package["rust_version"].as_str())
        .collect();
    if all_declared.len() > 1 {
        return Err(format!(
            "the publishable crates declare different rust-versions: {}",
            all_declared.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let Some(&declared) = all_declared.iter().next() else {
        return Err("no publishable crate declares a rust-version".to_owned());
    };
    let want = checks::parse_rust_version(declared)
        .ok_or(format!("rust-version {declared:?} is not a Rust version"))?;

    // Every dependency the published crates build with (not dev-dependencies) must accept it.
    let mut too_new = Vec::new();
    let mut highest: Option<((u64, u64, u64), String)> = None;
    for (id, package) in dependency_closure(ws) {
        let Some(rv) = package["rust_version"].as_str() else {
            continue;
        };
        let Some(parsed) = checks::parse_rust_version(rv) else {
            continue;
        };
        let label = format!(
            "{} {} (rust-version {rv})",
            package["name"].as_str().unwrap_or(&id),
            package["version"].as_str().unwrap_or("?")
        );
        if parsed > want {
            too_new.push(label.clone());
        }
        if highest.as_ref().is_none_or(|(h, _)| parsed > *h) {
            highest = Some((parsed, label));
        }
    }
    if let Some((_, label)) = &highest {
        println!("highest rust-version among the dependencies: {label}");
    }
    if !too_new.is_empty() {
        return Err(format!(
            "rust-version {declared} is lower than what these dependencies need: {}; raise rust-version in [workspace.package] or keep older dependencies",
            too_new.join(", ")
        ));
    }

    let rustc = output(Command::new("rustc").arg("--version"))?;
    let active = rustc
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    if checks::toolchain_matches(declared, &active) {
        println!(
            "rust-version {declared}: the active toolchain is {active}; the package verification below builds with it"
        );
        return Ok(());
    }
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"]));
    let installed: Vec<String> = toolchains
        .as_deref()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    match installed
        .iter()
        .find(|t| checks::toolchain_matches(declared, t))
    {
        Some(toolchain) => {
            println!("rust-version {declared}: building the publishable crates with {toolchain}");
            let mut cmd = Command::new("rustup");
            cmd.current_dir(&ws.root)
                .args(["run", toolchain, "cargo", "build", "--locked"])
                .env("CARGO_TARGET_DIR", ws.target_dir.join("rust-version"));
            for name in &ws.order {
                cmd.args(["--package", name]);
            }
            run_shown(&mut cmd).map_err(|e| {
                format!("the crates do not build with their rust-version {declared}: {e}")
            })
        }
        None => {
            println!(
                "rust-version {declared}: NOT BUILT: no {declared} toolchain is installed (active: rustc {active}; installed: {}). \
                 The dependencies' declared rust-versions fit; install it with `rustup toolchain install {declared}` to build with it.",
                if installed.is_empty() {
                    "rustup not found".to_owned()
                } else {
                    installed.join(", ")
                }
            );
            Ok(())
        }
    }
}

/// The packages the publishable crates build with: normal and build dependencies, transitively.
fn dependency_closure(ws: &Workspace) -> Vec<(String, Value)> {
    let nodes: Vec<&Value> = ws.metadata["resolve"]["nodes"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = ws
        .order
        .iter()
        .filter_map(|n| ws.member(n))
        .filter_map(|m| m.package["id"].as_str().map(str::to_owned))
        .collect();
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(node) = nodes.iter().find(|n| n["id"].as_str() == Some(id.as_str())) else {
            continue;
        };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let not_dev_only = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if let (true, Some(pkg)) = (not_dev_only, dep["pkg"].as_str()) {
                stack.push(pkg.to_owned());
            }
        }
    }
    ws.metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let id = p["id"].as_str()?;
            seen.contains(id).then(|| (id.to_owned(), p.clone()))
        })
        .collect()
}

pub fn semver_checks(
    ws: &Workspace,
    options: &Options,
    previous_tag: Option<&str>,
) -> Result<(), String> {
    let installed = Command::new(cargo())
        .args(["semver-checks", "--version"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(installed) = installed else {
        println!(
            "cargo-semver-checks is not installed: API compatibility NOT checked \
             (install it with `cargo install cargo-semver-checks --locked` before a real release)"
        );
        return Ok(());
    };
    println!("{}", String::from_utf8_lossy(&installed.stdout).trim());
    let Some(tag) = previous_tag else {
        println!("no previous release tag: nothing to compare with");
        return Ok(());
    };
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&ws.root)
        .args(["semver-checks", "check-release", "--baseline-rev", tag]);
    for name in &ws.order {
        cmd.args(["--package", name]);
    }
    if let (Some(version), Ok(previous)) = (
        &options.version,
        semver::Version::parse(tag.trim_start_matches('v')),
    ) {
        cmd.args(["--release-type", release_type(&previous, version)]);
    }
    match run_shown(&mut cmd) {
        Ok(()) => Ok(()),
        Err(e) if options.version.is_none() => {
            println!(
                "warning: {e}: the next release needs a bigger version bump than the manifest says"
            );
            Ok(())
        }
        Err(e) => Err(format!("the API changes need a bigger version bump: {e}")),
    }
}
