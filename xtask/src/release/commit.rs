//! The release commit (manifests, `Cargo.lock`, CHANGELOG) and its annotated tag `vVERSION`.

use super::commands::{git, output, restore};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn commit_and_tag(
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
