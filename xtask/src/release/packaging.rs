//! `cargo package` of the publishable crates: each file list checked, then one verified
//! `cargo package` of all of them in dependency order, giving the `.crate` files.

use super::commands::{git, output, read, run_shown};
use super::workspace::Workspace;
use super::{manifest, package};
use crate::cargo;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// Lists, checks and packages every publishable crate; returns the `.crate` files.
pub fn package_all(ws: &Workspace, dirty: bool, dry_run: bool) -> Result<Vec<PathBuf>, String> {
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

/// `cargo package` of every publishable crate (verified or not); returns the `.crate` files.
pub fn cargo_package(ws: &Workspace, dirty: bool, verify: bool) -> Result<Vec<PathBuf>, String> {
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
