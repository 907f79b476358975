//! `cargo xtask release`: checks, packages, versions, tags and (on request) publishes the
//! workspace.
//!
//! * `cargo xtask release --dry-run [VERSION]` checks everything that can be checked without
//!   changing anything: metadata, the declared `rust-version`, API compatibility (when
//!   `cargo-semver-checks` is installed), the file list of every package, and a verified
//!   `cargo package` of every publishable crate in dependency order (one `.crate` each in
//!   `target/package/`). With a VERSION it also shows the manifest and CHANGELOG changes a
//!   release would make. CI runs it.
//! * `cargo xtask release VERSION [--publish]` does the same on a clean tree, then bumps the
//!   workspace version and the inter-crate requirements, moves the CHANGELOG's Unreleased
//!   section under VERSION and today's date, verifies the packages of the new version, makes
//!   one commit and an annotated tag `vVERSION`, builds the `vi` binary (`--release --locked`)
//!   and writes `target/dist/vVERSION/` with it, the `.crate` files and a `SHA256SUMS`
//!   manifest. `--publish` then runs `cargo publish` crate by crate in dependency order,
//!   waiting for each on the crates.io index; never in CI.

mod changelog;
mod checks;
mod dist;
mod manifest;
mod package;
mod publish;

use crate::{cargo, repo_root};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The crates published to crates.io. A new workspace member must be added here or to
/// [`PRIVATE`]: the release refuses a crate nobody decided about.
const PUBLISHABLE: &[&str] = &[
    "vi-core",
    "vi-emulator",
    "vi-async",
    "vi-blocking",
    "vi-cli",
];
/// Workspace members that must never be published (`publish = false`).
const PRIVATE: &[&str] = &["vi-testkit", "vi-examples", "xtask"];
/// The crate and binary shipped as a release artifact.
const BINARY: (&str, &str) = ("vi-cli", "vi");

const USAGE: &str = "usage: cargo xtask release --dry-run [VERSION]\n       cargo xtask release VERSION [--publish]";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    dry_run: bool,
    publish: bool,
    version: Option<semver::Version>,
}

/// Entry point of `cargo xtask release`.
pub fn main(args: &[String]) -> ExitCode {
    let options = match parse_args(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("release: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    match run(&options) {
        Ok(()) => {
            println!("\nrelease: ok ({} s)", started.elapsed().as_secs());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nrelease: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the arguments; `Ok(None)` for `--help`.
fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let mut dry_run = false;
    let mut publish = false;
    let mut version = None;
    for arg in args {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--publish" => publish = true,
            "-h" | "--help" => return Ok(None),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            v if version.is_none() => version = Some(parse_version(v)?),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    if dry_run && publish {
        return Err("--publish cannot be combined with --dry-run".to_owned());
    }
    if !dry_run && version.is_none() {
        return Err("give the VERSION to release (e.g. 0.2.0), or --dry-run".to_owned());
    }
    Ok(Some(Options {
        dry_run,
        publish,
        version,
    }))
}

/// A release version: `MAJOR.MINOR.PATCH[-PRE]`.
fn parse_version(text: &str) -> Result<semver::Version, String> {
    if let Some(rest) = text.strip_prefix(['v', 'V']) {
        return Err(format!(
            "VERSION is written without the tag's `v`: {rest} (the tag will be v{rest})"
        ));
    }
    let version = semver::Version::parse(text).map_err(|e| {
        format!("VERSION {text:?} is not a semantic version like 0.2.0 or 1.0.0-rc.1: {e}")
    })?;
    if !version.build.is_empty() {
        return Err(format!(
            "VERSION {text:?} has build metadata (+{}), which crates.io ignores: leave it out",
            version.build
        ));
    }
    Ok(version)
}

/// Whether we run in CI (the `CI` variable most CI systems set).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A workspace member, from `cargo metadata`.
struct Member {
    name: String,
    version: String,
    dir: PathBuf,
    package: Value,
}

/// The workspace as the release sees it.
struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    members: Vec<Member>,
    metadata: Value,
    /// The publishable crates in dependency order.
    order: Vec<String>,
}

impl Workspace {
    fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

fn step(name: &str) {
    println!("\n== release: {name} ==");
}

/// Runs a command with its output shown; an error names it.
fn run_shown(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}").replace('"', "");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// Runs a command and returns its standard output; an error carries its standard error.
fn output(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    output(Command::new("git").current_dir(root).args(args))
}

fn load_workspace(root: &Path) -> Result<Workspace, String> {
    let text = output(Command::new(cargo()).current_dir(root).args([
        "metadata",
        "--format-version",
        "1",
        "--locked",
    ]))?;
    let metadata: Value =
        serde_json::from_str(&text).map_err(|e| format!("cargo metadata: {e}"))?;
    let ids: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut members = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if !package["id"].as_str().is_some_and(|id| ids.contains(id)) {
            continue;
        }
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        members.push(Member {
            name: package["name"].as_str().unwrap_or_default().to_owned(),
            version: package["version"].as_str().unwrap_or_default().to_owned(),
            dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
            package: package.clone(),
        });
    }
    let target_dir = PathBuf::from(
        metadata["target_directory"]
            .as_str()
            .ok_or("cargo metadata gives no target_directory")?,
    );
    let publishable: Vec<&Value> = members
        .iter()
        .filter(|m| PUBLISHABLE.contains(&m.name.as_str()))
        .map(|m| &m.package)
        .collect();
    let order = checks::publish_order(&publishable)?;
    Ok(Workspace {
        root: root.to_path_buf(),
        target_dir,
        members,
        metadata,
        order,
    })
}

fn run(options: &Options) -> Result<(), String> {
    let root = repo_root();
    let mode = if options.dry_run {
        "dry run"
    } else {
        "release"
    };
    println!(
        "release: {mode}{} of {}",
        options
            .version
            .as_ref()
            .map(|v| format!(" of version {v}"))
            .unwrap_or_default(),
        root.display()
    );
    if options.publish && in_ci() {
        return Err("--publish is refused in CI (the CI variable is set): publishing is done by a person, from a clean clone".to_owned());
    }

    step("git");
    let dirty = git(&root, &["status", "--porcelain"])?;
    let head = git(&root, &["rev-parse", "--short", "HEAD"])?;
    println!("HEAD {}", head.trim());
    if dirty.trim().is_empty() {
        println!("working tree clean");
    } else if options.dry_run {
        let lines: Vec<&str> = dirty.lines().collect();
        println!(
            "working tree has {} uncommitted change(s) (allowed with --dry-run; a release refuses them):",
            lines.len()
        );
        for line in lines.iter().take(10) {
            println!("  {line}");
        }
    } else {
        return Err(format!(
            "the working tree is not clean; commit or stash first:\n{}",
            dirty.trim_end()
        ));
    }
    let previous_tag = latest_tag(&root);
    println!(
        "previous release tag: {}",
        previous_tag.as_deref().unwrap_or("none")
    );

    let ws = load_workspace(&root)?;
    let current = manifest::workspace_version(&read(&root.join("Cargo.toml"))?)?;
    println!("workspace version {current}");

    // A release whose tag exists at HEAD with the same version was made by an earlier run
    // (stopped while building or publishing): the rest can be done again.
    let mut resume = false;
    if let Some(version) = &options.version {
        step("version");
        resume = check_version(
            &ws,
            version,
            &current,
            previous_tag.as_deref(),
            options.dry_run,
        )?;
    }

    step("metadata");
    check_metadata(&ws)?;

    step("rust-version");
    check_rust_version(&ws)?;

    step("API compatibility (cargo semver-checks)");
    semver_checks(&ws, options, previous_tag.as_deref())?;

    step("CHANGELOG.md");
    let changelog_path = root.join("CHANGELOG.md");
    let changelog_text = read(&changelog_path)?;
    let repository = ws
        .member("vi-core")
        .and_then(|m| m.package["repository"].as_str())
        .unwrap_or("https://github.com/datature/vi-rs")
        .to_owned();
    let date = changelog::utc_date(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    let mut release_notes = String::new();
    let mut changed_files: Vec<PathBuf> = Vec::new();
    match (&options.version, resume) {
        (Some(version), false) => {
            let released =
                changelog::release(&changelog_text, &version.to_string(), &date, &repository)?;
            println!(
                "Unreleased ({} lines) moves under [{version}] - {date}",
                released.notes.lines().count()
            );
            release_notes = released.notes.clone();
            step("versioning");
            let edits = version_edits(&ws, version)?;
            if options.dry_run {
                println!("(dry run: nothing written)");
            } else {
                for (path, text) in &edits {
                    write(path, text)?;
                    changed_files.push(path.clone());
                }
                write(&changelog_path, &released.text)?;
                changed_files.push(changelog_path.clone());
                // The lockfile records the members' versions.
                run_shown(Command::new(cargo()).current_dir(&root).args([
                    "update",
                    "--workspace",
                    "--quiet",
                ]))
                .inspect_err(|_| restore(&root, &changed_files))?;
                changed_files.push(root.join("Cargo.lock"));
                println!("written: {}", relative_list(&root, &changed_files));
            }
        }
        (Some(version), true) => {
            println!("v{version} is already made at HEAD: CHANGELOG and versions are as released");
        }
        (None, _) => {
            let entries = changelog::unreleased_entries(&changelog_text)?;
            if entries == 0 {
                println!(
                    "warning: the Unreleased section lists no change: a release would be refused"
                );
            } else {
                println!("Unreleased lists {entries} line(s) of changes");
            }
        }
    }

    step("packages");
    let packaged = package_all(
        &ws,
        !dirty.trim().is_empty() || !changed_files.is_empty(),
        options.dry_run,
    );
    let crate_files = match packaged {
        Ok(files) => files,
        Err(e) => {
            if !changed_files.is_empty() {
                restore(&root, &changed_files);
                println!("the version bump is undone (files restored from git)");
            }
            return Err(e);
        }
    };

    if let (Some(version), false, false) = (&options.version, options.dry_run, resume) {
        step("commit and tag");
        commit_and_tag(&root, version, &changed_files, &release_notes)?;
    }
    // The packages were verified from the bumped but uncommitted tree; packaged again from
    // the tagged commit (same files, no build), their .cargo_vcs_info.json names that commit
    // as the ones `cargo publish` makes from it will, so the manifest's digests are of those.
    let crate_files = if changed_files.is_empty() {
        crate_files
    } else {
        step("packages of the tagged commit");
        cargo_package(&ws, false, false)?
    };

    step("vi binary and SHA256SUMS");
    let release_version = options
        .version
        .as_ref()
        .map_or_else(|| current.clone(), ToString::to_string);
    let dist_dir = if options.dry_run {
        ws.target_dir.join("dist").join("dry-run")
    } else {
        ws.target_dir
            .join("dist")
            .join(format!("v{release_version}"))
    };
    build_artifacts(
        &ws,
        &release_version,
        !options.dry_run,
        &crate_files,
        &dist_dir,
    )?;

    if options.publish {
        step("publish to crates.io");
        let version = release_version.as_str();
        let published = publish::publish_all(&root, &ws.order, version)?;
        println!(
            "published: {} (all of {} are on crates.io at {version})",
            publish::list_or_none(&published),
            ws.order.join(", ")
        );
    }

    if !options.dry_run {
        println!(
            "\nnext: push the commit and the tag (git push --follow-tags){}",
            if options.publish {
                String::new()
            } else {
                format!(", then publish: cargo xtask release {release_version} --publish")
            }
        );
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn relative_list(root: &Path, paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Puts files back as HEAD has them, in the index and the working tree (the tree was clean
/// before the release wrote them).
fn restore(root: &Path, paths: &[PathBuf]) {
    let mut cmd = Command::new("git");
    cmd.current_dir(root).args(["checkout", "HEAD", "--"]);
    for p in paths {
        cmd.arg(p);
    }
    if let Err(e) = output(&mut cmd) {
        eprintln!("could not restore the files: {e}");
    }
}

/// The newest `vX.Y.Z` tag reachable from HEAD.
fn latest_tag(root: &Path) -> Option<String> {
    git(
        root,
        &["describe", "--tags", "--abbrev=0", "--match", "v[0-9]*"],
    )
    .ok()
    .map(|t| t.trim().to_owned())
    .filter(|t| !t.is_empty())
}

/// Checks VERSION against the workspace and the tags; `Ok(true)` when the release was already
/// made at HEAD by an earlier run.
fn check_version(
    ws: &Workspace,
    version: &semver::Version,
    current: &str,
    previous_tag: Option<&str>,
    dry_run: bool,
) -> Result<bool, String> {
    let tag = format!("v{version}");
    let current = semver::Version::parse(current)
        .map_err(|e| format!("the workspace version {current:?} is not semantic: {e}"))?;
    let tag_commit = git(
        &ws.root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/tags/{tag}^{{commit}}"),
        ],
    )
    .ok();
    if let Some(tag_commit) = tag_commit {
        let head = git(&ws.root, &["rev-parse", "HEAD"])?;
        if tag_commit.trim() == head.trim() && &current == version && !dry_run {
            println!(
                "tag {tag} exists at HEAD with the workspace at {version}: resuming after the tag"
            );
            return Ok(true);
        }
        return Err(format!(
            "tag {tag} already exists: {version} was released; choose a newer version"
        ));
    }
    if let Some(previous) =
        previous_tag.and_then(|t| semver::Version::parse(t.trim_start_matches('v')).ok())
    {
        if version <= &previous {
            return Err(format!(
                "{version} is not newer than the last release {previous}"
            ));
        }
        println!(
            "{previous} -> {version} ({})",
            bump_kind(&previous, version)
        );
    }
    if version < &current {
        return Err(format!(
            "{version} is older than the workspace version {current}"
        ));
    }
    println!("tag {tag} is free; {current} -> {version}");
    Ok(false)
}

/// What kind of bump `from` → `to` is for Cargo: in 0.y.z a minor bump is a breaking one.
fn bump_kind(from: &semver::Version, to: &semver::Version) -> &'static str {
    if to.major != from.major || (from.major == 0 && to.minor != from.minor) {
        "breaking changes allowed"
    } else if from.major == 0 || to.minor != from.minor {
        "compatible additions allowed"
    } else {
        "compatible fixes only"
    }
}

/// The semver-checks release type of `from` → `to`.
fn release_type(from: &semver::Version, to: &semver::Version) -> &'static str {
    if to.major != from.major {
        "major"
    } else if to.minor != from.minor {
        "minor"
    } else {
        "patch"
    }
}

fn check_metadata(ws: &Workspace) -> Result<(), String> {
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

fn check_rust_version(ws: &Workspace) -> Result<(), String> {
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

fn semver_checks(
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

/// The new text of every manifest whose versions change.
fn version_edits(
    ws: &Workspace,
    version: &semver::Version,
) -> Result<Vec<(PathBuf, String)>, String> {
    let internal: Vec<&str> = ws.members.iter().map(|m| m.name.as_str()).collect();
    let mut manifests = vec![ws.root.join("Cargo.toml")];
    manifests.extend(ws.members.iter().map(|m| m.dir.join("Cargo.toml")));
    let mut edits = Vec::new();
    for path in manifests {
        let text = read(&path)?;
        let (new, changes) = manifest::bump(&text, &internal, version)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for change in &changes {
            println!(
                "{}: {change}",
                path.strip_prefix(&ws.root).unwrap_or(&path).display()
            );
        }
        if !changes.is_empty() {
            edits.push((path, new));
        }
    }
    Ok(edits)
}

/// Lists, checks and packages every publishable crate; returns the `.crate` files.
fn package_all(ws: &Workspace, dirty: bool, dry_run: bool) -> Result<Vec<PathBuf>, String> {
    let tracked: BTreeSet<String> = git(&ws.root, &["ls-files", "-z"])?
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let mut problems = Vec::new();
    // Versions may have been bumped on disk since `cargo metadata`: read them again.
    let version = manifest::workspace_version(&read(&ws.root.join("Cargo.toml"))?)?;
    for name in &ws.order {
        let Some(member) = ws.member(name) else {
            continue;
        };
        let mut cmd = Command::new(cargo());
        cmd.current_dir(&ws.root)
            .args(["package", "--list", "--locked", "--package", name]);
        if dirty {
            cmd.arg("--allow-dirty");
        }
        let listed: Vec<String> = output(&mut cmd)?.lines().map(str::to_owned).collect();
        let entries = package::inspect(&listed, &member.dir, &ws.root, &tracked);
        let verdict = package::judge(&entries, dry_run);
        println!(
            "{name} {version}: {} files, {}",
            entries.len(),
            package::human(verdict.total)
        );
        for entry in &entries {
            let size = match &entry.origin {
                package::Origin::Crate { size, .. } => package::human(*size),
                package::Origin::Generated => "(cargo)".to_owned(),
                package::Origin::Outside(_) => "(outside)".to_owned(),
            };
            println!("  {size:>10}  {}", entry.path);
        }
        for w in &verdict.warnings {
            println!("  warning: {w}");
        }
        problems.extend(verdict.errors.iter().map(|e| format!("{name}: {e}")));
    }
    if !problems.is_empty() {
        return Err(format!(
            "the packages are not right:\n  {}",
            problems.join("\n  ")
        ));
    }

    cargo_package(ws, dirty, true)
}

/// `cargo package` of every publishable crate (verified or not); returns the `.crate` files.
/// Removes the sources cargo unpacked from the local overlay registry of an earlier
/// `cargo package` at this version (under `$CARGO_HOME/registry/src/-<hash>/`): cargo never
/// unpacks a registry crate twice, so a second run at the same version would verify the
/// first run's sources. crates.io's own directory is left alone.
fn forget_unpacked_packages(ws: &Workspace, version: &str) -> Result<bool, String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(home) = home else {
        return Ok(false);
    };
    let Ok(registries) = std::fs::read_dir(home.join("registry").join("src")) else {
        return Ok(false);
    };
    let mut found = false;
    for registry in registries.flatten() {
        // Local registries get a directory named `-<hash>`; crates.io's is `index.…`.
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in &ws.order {
            let unpacked = registry.path().join(format!("{name}-{version}"));
            if unpacked.exists() {
                std::fs::remove_dir_all(&unpacked)
                    .map_err(|e| format!("cannot remove {}: {e}", unpacked.display()))?;
                found = true;
            }
        }
    }
    Ok(found)
}

/// `cargo clean` of the publishable crates only, in the shared target directory.
fn clean_publishable(ws: &Workspace) -> Result<(), String> {
    let mut clean = Command::new(cargo());
    clean
        .current_dir(&ws.root)
        .env("CARGO_TARGET_DIR", &ws.target_dir)
        .arg("clean");
    for name in &ws.order {
        clean.args(["--package", name]);
    }
    let cleaned = clean
        .status()
        .map_err(|e| format!("could not run cargo clean: {e}"))?;
    if !cleaned.success() {
        return Err(format!(
            "cargo clean of the publishable crates failed ({cleaned})"
        ));
    }
    Ok(())
}

fn cargo_package(ws: &Workspace, dirty: bool, verify: bool) -> Result<Vec<PathBuf>, String> {
    let version = manifest::workspace_version(&read(&ws.root.join("Cargo.toml"))?)?;
    // One verified `cargo package` of all of them: cargo packages them in dependency order
    // and builds each from its packaged sources, with its workspace dependencies resolved to
    // their freshly packaged versions (a local overlay registry). CARGO_TARGET_DIR makes all
    // of these builds share the workspace's target directory instead of one each under
    // target/package/, so dependencies already built for the tests are reused.
    println!(
        "\ncargo package ({}, dependency order: {})",
        if verify {
            "verified builds"
        } else {
            "not built again"
        },
        ws.order.join(", ")
    );
    // Packages of an earlier run at the same version (and their unpacked sources) would be
    // taken for this one's: start from an empty target/package.
    let stale = ws.target_dir.join("package");
    if stale.exists() {
        std::fs::remove_dir_all(&stale)
            .map_err(|e| format!("cannot clear {}: {e}", stale.display()))?;
    }
    // Cargo treats a registry crate as immutable: a build of `vi-core 0.1.0` from the
    // overlay registry of an earlier run would be reused for this run's different sources.
    // When an earlier run left packages behind, cleaning the publishable crates (only them;
    // their dependencies stay built) makes the verification build what is packaged now.
    // A first run (CI's fresh clone) has nothing to clean; packages that are not built
    // again need none of it.
    if verify && forget_unpacked_packages(ws, &version)? {
        clean_publishable(ws)?;
    }
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&ws.root)
        .env("CARGO_TARGET_DIR", &ws.target_dir)
        .args(["package", "--locked"]);
    if dirty {
        cmd.arg("--allow-dirty");
    }
    if !verify {
        cmd.arg("--no-verify");
    }
    for name in &ws.order {
        cmd.args(["--package", name]);
    }
    run_shown(&mut cmd)?;

    let mut files = Vec::new();
    for name in &ws.order {
        let file = ws
            .target_dir
            .join("package")
            .join(format!("{name}-{version}.crate"));
        let size = std::fs::metadata(&file)
            .map_err(|e| format!("{} was not written: {e}", file.display()))?
            .len();
        if size > package::MAX_CRATE_BYTES {
            return Err(format!(
                "{} is {} (crates.io takes at most {})",
                file.display(),
                package::human(size),
                package::human(package::MAX_CRATE_BYTES)
            ));
        }
        println!(
            "  {:>10}  {}",
            package::human(size),
            file.strip_prefix(&ws.root).unwrap_or(&file).display()
        );
        files.push(file);
    }
    Ok(files)
}

fn commit_and_tag(
    root: &Path,
    version: &semver::Version,
    files: &[PathBuf],
    notes: &str,
) -> Result<(), String> {
    let mut add = Command::new("git");
    add.current_dir(root).arg("add").arg("--");
    for f in files {
        add.arg(f);
    }
    let message = format!(
        "Release {version}\n\nEvery crate at {version}; CHANGELOG.md's Unreleased section moved under {version}."
    );
    let committed = output(&mut add).and_then(|_| {
        output(
            Command::new("git")
                .current_dir(root)
                .args(["commit", "--quiet", "-m", &message]),
        )
    });
    if let Err(e) = committed {
        restore(root, files);
        return Err(format!(
            "{e}\nnothing was committed; the version bump is undone"
        ));
    }
    let tag = format!("v{version}");
    let tag_message = format!("vi-rs {version}\n\n{notes}\n");
    output(Command::new("git").current_dir(root).args([
        "tag",
        "--annotate",
        &tag,
        "--cleanup=verbatim",
        "-m",
        &tag_message,
    ]))
    .map_err(|e| {
        format!(
            "{e}\nthe release commit is made but not tagged: tag it with `git tag -a {tag}` and run the command again to build the artifacts"
        )
    })?;
    let log = git(root, &["log", "-1", "--format=%h %s"])?;
    println!("commit {}", log.trim());
    println!("tag {tag} (annotated)");
    Ok(())
}

/// Builds the `vi` binary (`--release` for a release, the dev profile for a dry run, both
/// `--locked`), copies it and the `.crate` files to `dist_dir` and writes `SHA256SUMS`.
fn build_artifacts(
    ws: &Workspace,
    version: &str,
    release: bool,
    crates: &[PathBuf],
    dist_dir: &Path,
) -> Result<(), String> {
    let (package, bin) = BINARY;
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&ws.root)
        .args(["build", "--locked", "--package", package, "--bin", bin]);
    if release {
        cmd.arg("--release");
    }
    run_shown(&mut cmd)?;
    let rustc = output(Command::new("rustc").arg("-vV"))?;
    let host = rustc
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let exe = std::env::consts::EXE_SUFFIX;
    let built = ws
        .target_dir
        .join(if release { "release" } else { "debug" })
        .join(format!("{bin}{exe}"));
    if dist_dir.exists() {
        std::fs::remove_dir_all(dist_dir)
            .map_err(|e| format!("cannot clear {}: {e}", dist_dir.display()))?;
    }
    std::fs::create_dir_all(dist_dir)
        .map_err(|e| format!("cannot create {}: {e}", dist_dir.display()))?;
    let profile = if release { "" } else { "-debug" };
    let mut artifacts = vec![(built, format!("{bin}-{version}-{host}{profile}{exe}"))];
    for c in crates {
        let name = c
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        artifacts.push((c.clone(), name));
    }
    let mut sums = Vec::new();
    for (from, name) in &artifacts {
        let to = dist_dir.join(name);
        std::fs::copy(from, &to)
            .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
        let digest =
            dist::sha256_file(&to).map_err(|e| format!("cannot read {}: {e}", to.display()))?;
        sums.push((name.clone(), digest));
    }
    let manifest = dist::manifest(&sums);
    write(&dist_dir.join("SHA256SUMS"), &manifest)?;
    println!(
        "{}/SHA256SUMS{}:",
        dist_dir
            .strip_prefix(&ws.root)
            .unwrap_or(dist_dir)
            .display(),
        if release {
            ""
        } else {
            " (dry run: dev-profile binary)"
        }
    );
    print!("{manifest}");
    println!(
        "check with: (cd {} && sha256sum -c SHA256SUMS)",
        dist_dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments() {
        let o = parse_args(&args(&["--dry-run"])).unwrap().unwrap();
        assert!(o.dry_run && !o.publish && o.version.is_none());
        let o = parse_args(&args(&["0.2.0", "--publish"])).unwrap().unwrap();
        assert_eq!(o.version, Some(semver::Version::new(0, 2, 0)));
        assert!(o.publish && !o.dry_run);
        assert_eq!(parse_args(&args(&["--help"])), Ok(None));
        assert!(
            parse_args(&args(&[]))
                .unwrap_err()
                .contains("give the VERSION")
        );
        assert!(parse_args(&args(&["--dry-run", "--publish"])).is_err());
        assert!(
            parse_args(&args(&["0.2.0", "0.3.0"]))
                .unwrap_err()
                .contains("unexpected")
        );
        assert!(
            parse_args(&args(&["--force"]))
                .unwrap_err()
                .contains("unknown option")
        );
    }

    #[test]
    fn bad_versions_get_clear_errors() {
        assert!(
            parse_version("v0.2.0")
                .unwrap_err()
                .contains("without the tag's `v`")
        );
        assert!(
            parse_version("0.2")
                .unwrap_err()
                .contains("not a semantic version")
        );
        assert!(
            parse_version("banana")
                .unwrap_err()
                .contains("not a semantic version")
        );
        assert!(
            parse_version("1.0.0+build.5")
                .unwrap_err()
                .contains("build metadata")
        );
        assert_eq!(parse_version("1.0.0-rc.1").unwrap().pre.as_str(), "rc.1");
    }

    #[test]
    fn bump_kinds_follow_cargo_semver() {
        let v = |s| semver::Version::parse(s).unwrap();
        assert_eq!(release_type(&v("0.1.0"), &v("0.2.0")), "minor");
        assert_eq!(release_type(&v("1.2.3"), &v("2.0.0")), "major");
        assert_eq!(release_type(&v("1.2.3"), &v("1.2.4")), "patch");
        assert_eq!(
            bump_kind(&v("0.1.0"), &v("0.2.0")),
            "breaking changes allowed"
        );
        assert_eq!(
            bump_kind(&v("0.1.0"), &v("0.1.1")),
            "compatible additions allowed"
        );
        assert_eq!(bump_kind(&v("1.1.0"), &v("1.1.1")), "compatible fixes only");
        assert_eq!(
            bump_kind(&v("1.1.0"), &v("1.2.0")),
            "compatible additions allowed"
        );
    }
}
