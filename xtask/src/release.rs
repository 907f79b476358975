//! `cargo xtask release`: the checks before a release, then cargo's and cargo-release's
//! own machinery. Nothing here bumps, edits, tags or uploads by itself.
//!
//! * `--dry-run` (CI): the metadata crates.io shows, the declared `rust-version` (built
//!   with that toolchain when it is installed), `cargo semver-checks` against the last
//!   `v*` tag, and `cargo publish --workspace --dry-run`: every publishable crate
//!   packaged and built from its package, in dependency order, the `.crate` files left
//!   in `target/package/tmp-crate/`. With a VERSION, also cargo-release's own dry run of
//!   that version.
//! * `VERSION`: the same checks, then `cargo release VERSION --execute`: version bump,
//!   CHANGELOG, one commit, the tag `vVERSION` and `cargo publish` crate by crate, as
//!   `release.toml` configures (pushing is left to the person). Refused in CI.
//!
//! cargo-semver-checks and cargo-release are installed (`cargo install --locked`) by the
//! step that needs them when they are missing. The API check needs a baseline: until the
//! first release is tagged there is none, and the step says so and is skipped (crates.io
//! is not used as the baseline: the tag is what a release produces, and a dry run should
//! not depend on what someone else published under the same name).

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use serde_json::Value;

use crate::{cargo, repo_root, target_dir};

pub const USAGE: &str =
    "usage: cargo xtask release --dry-run [VERSION]\n       cargo xtask release VERSION";

/// crates.io refuses packages larger than this.
const MAX_CRATE_BYTES: u64 = 10 * 1024 * 1024;

/// The options of `cargo xtask release`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Check and package everything, changing nothing.
    #[arg(long)]
    dry_run: bool,
    /// The version to release, e.g. 0.2.0 (optional with --dry-run).
    #[arg(value_parser = parse_version, required_unless_present = "dry_run")]
    version: Option<semver::Version>,
}

fn parse_version(text: &str) -> Result<semver::Version, String> {
    if text.starts_with(['v', 'V']) {
        return Err(format!("VERSION is written without the tag's `v`: {text}"));
    }
    semver::Version::parse(text).map_err(|e| format!("{text:?} is not a version like 0.2.0: {e}"))
}

/// Entry point of `cargo xtask release`.
pub fn main(options: &Options) -> ExitCode {
    match run(options) {
        Ok(()) => {
            println!("\nrelease: ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nrelease: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn step(name: &str) {
    println!("\n== release: {name} ==");
}

/// Runs `command` with its output shown; an error names it.
fn run_shown(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}").replace('"', "");
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{shown} failed ({status})")),
        Err(e) => Err(format!("cannot run {shown}: {e}")),
    }
}

/// The standard output of `command`, or `None` when it cannot run or fails.
fn output(command: &mut Command) -> Option<String> {
    let out = command.stdin(Stdio::null()).stderr(Stdio::null()).output();
    out.ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn git(args: &[&str]) -> Option<String> {
    output(Command::new("git").current_dir(repo_root()).args(args))
}

/// Installs the cargo subcommand `sub` from the crate `krate` unless it runs already.
fn ensure_tool(sub: &str, krate: &str) -> Result<(), String> {
    if let Some(version) = output(cargo().args([sub, "--version"])) {
        println!("{version}");
        return Ok(());
    }
    println!("{krate} is not installed: cargo install --locked {krate}");
    // In a temporary target directory, not the workspace's.
    run_shown(
        cargo()
            .env_remove("CARGO_TARGET_DIR")
            .args(["install", "--locked", krate]),
    )
}

fn run(options: &Options) -> Result<(), String> {
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    if !options.dry_run && in_ci {
        return Err("a release is made by a person, not CI (CI is set): use --dry-run".into());
    }
    step("git");
    let dirty = git(&["status", "--porcelain"]).unwrap_or_default();
    println!(
        "HEAD {}",
        git(&["rev-parse", "--short", "HEAD"]).unwrap_or_default()
    );
    if !dirty.is_empty() {
        if !options.dry_run {
            return Err(format!("the working tree is not clean:\n{dirty}"));
        }
        println!("uncommitted changes (allowed in a dry run):\n{dirty}");
    }
    let tag = git(&["describe", "--tags", "--abbrev=0", "--match", "v[0-9]*"]);
    println!("last release tag: {}", tag.as_deref().unwrap_or("none"));

    let metadata = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    let metadata: Value = serde_json::from_slice(&metadata.stdout)
        .map_err(|e| format!("cargo metadata did not answer JSON: {e}"))?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    // `publish = false` reads as an empty list of registries.
    let (public, private): (Vec<&Value>, Vec<&Value>) = packages
        .iter()
        .partition(|p| p["publish"].as_array().is_none_or(|r| !r.is_empty()));
    let names: Vec<&str> = public.iter().filter_map(|p| p["name"].as_str()).collect();

    step("metadata");
    check_metadata(&public, &private)?;
    step("rust-version");
    rust_version(&public, &names)?;
    step("API compatibility (cargo semver-checks)");
    semver_checks(tag.as_deref(), options, &names)?;
    step("packages (cargo publish --workspace --dry-run)");
    let version = public
        .first()
        .and_then(|p| p["version"].as_str())
        .unwrap_or_default();
    package(&names, version, !dirty.is_empty())?;

    if let Some(version) = &options.version {
        step("cargo-release (release.toml)");
        ensure_tool("release", "cargo-release@1.1.6")?;
        let mut release = cargo();
        release.args(["release", &version.to_string()]);
        if options.dry_run {
            // Its dry run cannot verify a crate whose workspace dependencies are not on
            // crates.io yet; the packages step above verified them already.
            release.arg("--no-publish");
        } else {
            release.arg("--execute");
        }
        run_shown(&mut release)?;
    }
    Ok(())
}

/// What crates.io shows of each publishable crate; the others must stay out of releases.
fn check_metadata(public: &[&Value], private: &[&Value]) -> Result<(), String> {
    let root_license = std::fs::read(repo_root().join("LICENSE")).ok();
    let mut problems = Vec::new();
    for p in public {
        let name = p["name"].as_str().unwrap_or("?");
        for field in [
            "description",
            "license",
            "repository",
            "readme",
            "keywords",
            "categories",
        ] {
            let v = &p[field];
            if v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty) {
                problems.push(format!("{name}: no `{field}`"));
            }
        }
        let dir = p["manifest_path"]
            .as_str()
            .map(Path::new)
            .and_then(Path::parent);
        let license = dir.and_then(|d| std::fs::read(d.join("LICENSE")).ok());
        if license.is_none() || license != root_license {
            problems.push(format!("{name}: LICENSE missing or not the repository's"));
        }
        println!(
            "{name} {}: publishable",
            p["version"].as_str().unwrap_or("?")
        );
    }
    for p in private {
        let name = p["name"].as_str().unwrap_or("?");
        if p["metadata"]["release"]["release"].as_bool() == Some(false) {
            println!("{name}: publish = false, release = false");
        } else {
            problems.push(format!(
                "{name}: publish = false but no `[package.metadata.release] release = false`: cargo-release would still bump and tag it"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("incomplete metadata:\n  {}", problems.join("\n  ")))
    }
}

/// Builds the publishable crates with the toolchain of their `rust-version` when rustup
/// has it; otherwise says plainly that it was not checked.
fn rust_version(public: &[&Value], names: &[&str]) -> Result<(), String> {
    let declared = public.first().and_then(|p| p["rust_version"].as_str());
    let Some(declared) = declared else {
        return Err("the publishable crates declare no rust-version".into());
    };
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    let installed = toolchains
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .find(|t| t.starts_with(&format!("{declared}-")) || t.starts_with(&format!("{declared}.")));
    let Some(toolchain) = installed else {
        println!(
            "rust-version {declared}: NOT BUILT (no such toolchain; `rustup toolchain install {declared}` to check it)"
        );
        return Ok(());
    };
    let mut build = Command::new("rustup");
    build
        .current_dir(repo_root())
        .args(["run", toolchain, "cargo", "check", "--locked"])
        .env(
            "CARGO_TARGET_DIR",
            target_dir(&repo_root()).join("rust-version"),
        );
    for name in names {
        build.args(["--package", name]);
    }
    run_shown(&mut build)
}

/// `cargo semver-checks` of the publishable crates against the last release tag; in a
/// dry run a finding is a warning (the bump is decided when VERSION is given).
fn semver_checks(tag: Option<&str>, options: &Options, names: &[&str]) -> Result<(), String> {
    let Some(tag) = tag else {
        println!(
            "SKIPPED: no release tag v* yet, so no released API to compare with (the first release sets the baseline)"
        );
        return Ok(());
    };
    ensure_tool("semver-checks", "cargo-semver-checks")?;
    let mut check = cargo();
    check.args(["semver-checks", "check-release", "--baseline-rev", tag]);
    for name in names {
        check.args(["--package", name]);
    }
    let previous = semver::Version::parse(tag.trim_start_matches('v')).ok();
    if let (Some(next), Some(previous)) = (&options.version, previous) {
        check.args(["--release-type", release_type(&previous, next)]);
    }
    match run_shown(&mut check) {
        Err(e) if options.version.is_none() => {
            println!("warning: {e}: the next release needs a bigger bump than a patch");
            Ok(())
        }
        result => result,
    }
}

/// The kind of change `previous` → `next` allows under Cargo's rules, where the first
/// non-zero component is the breaking one.
fn release_type(previous: &semver::Version, next: &semver::Version) -> &'static str {
    let (p, n) = (previous, next);
    if n.major != p.major || (n.major == 0 && n.minor != p.minor) {
        "major"
    } else if n.minor != p.minor || (n.major == 0 && n.patch != p.patch) {
        "minor"
    } else {
        "patch"
    }
}

/// `cargo publish --workspace --dry-run`, after clearing what an earlier run left: cargo
/// keeps the sources it unpacked from its overlay registry and the builds of them, keyed
/// by name and version only, so a second run at the same version would verify the first
/// run's sources.
fn package(names: &[&str], version: &str, dirty: bool) -> Result<(), String> {
    let target = target_dir(&repo_root());
    let _ = std::fs::remove_dir_all(target.join("package"));
    let home = std::env::var_os("CARGO_HOME")
        .map(Into::into)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let mut stale = false;
    let registries = home.and_then(|h| std::fs::read_dir(h.join("registry").join("src")).ok());
    // Local registries' folders are named `-<hash>`; crates.io's is left alone.
    for registry in registries.into_iter().flatten().flatten() {
        if registry.file_name().to_string_lossy().starts_with('-') {
            for name in names {
                stale |= std::fs::remove_dir_all(registry.path().join(format!("{name}-{version}")))
                    .is_ok();
            }
        }
    }
    if stale {
        let mut clean = cargo();
        clean.arg("clean");
        for name in names {
            clean.args(["--package", name]);
        }
        run_shown(&mut clean)?;
    }
    let mut publish = cargo();
    publish.args(["publish", "--workspace", "--dry-run", "--locked"]);
    if dirty {
        publish.arg("--allow-dirty");
    }
    run_shown(&mut publish)?;
    // `cargo publish` leaves the packages it would upload in `package/tmp-crate`.
    for name in names {
        let file = target
            .join("package")
            .join("tmp-crate")
            .join(format!("{name}-{version}.crate"));
        let size = std::fs::metadata(&file)
            .map_err(|e| format!("{} was not written: {e}", file.display()))?
            .len();
        println!("{:>8.1} KiB  {}", size as f64 / 1024.0, file.display());
        if size > MAX_CRATE_BYTES {
            return Err(format!(
                "{} is larger than crates.io accepts (10 MiB)",
                file.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_types_follow_cargo() {
        let v = |s| semver::Version::parse(s).unwrap();
        assert_eq!(release_type(&v("0.1.0"), &v("0.2.0")), "major");
        assert_eq!(release_type(&v("0.1.0"), &v("0.1.1")), "minor");
        assert_eq!(release_type(&v("1.2.3"), &v("1.3.0")), "minor");
        assert_eq!(release_type(&v("1.2.3"), &v("1.2.4")), "patch");
        assert_eq!(release_type(&v("1.2.3"), &v("2.0.0")), "major");
        assert!(parse_version("v0.2.0").is_err());
        assert!(parse_version("0.2").is_err());
    }
}
