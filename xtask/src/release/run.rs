//! One run of `cargo xtask release`, dry or real, step by step: git, version, checks,
//! CHANGELOG and version bump, packages, commit and tag, artifacts, and publishing.

use super::artifacts::build_artifacts;
use super::commands::{git, read, relative_list, restore, run_shown, step, write};
use super::commit::commit_and_tag;
use super::options::{Options, in_ci};
use super::packaging::{cargo_package, package_all};
use super::preflight::{check_metadata, check_rust_version, semver_checks};
use super::version::{check_version, latest_tag, version_edits};
use super::workspace::load_workspace;
use super::{changelog, manifest, publish};
use crate::{cargo, repo_root};
use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(options: &Options) -> Result<(), String> {
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

    step("dtvi binary and SHA256SUMS");
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
