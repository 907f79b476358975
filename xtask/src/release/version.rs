//! The release's VERSION: checked against the workspace and the tags, the kind of bump it
//! is, and the new text of every manifest it changes.

use super::commands::{git, read};
use super::manifest;
use super::workspace::Workspace;
use std::path::{Path, PathBuf};

/// The newest `vX.Y.Z` tag reachable from HEAD.
pub fn latest_tag(root: &Path) -> Option<String> {
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
pub fn check_version(
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
pub fn bump_kind(from: &semver::Version, to: &semver::Version) -> &'static str {
    if to.major != from.major || (from.major == 0 && to.minor != from.minor) {
        "breaking changes allowed"
    } else if from.major == 0 || to.minor != from.minor {
        "compatible additions allowed"
    } else {
        "compatible fixes only"
    }
}

/// The semver-checks release type of `from` → `to`.
pub fn release_type(from: &semver::Version, to: &semver::Version) -> &'static str {
    if to.major != from.major {
        "major"
    } else if to.minor != from.minor {
        "minor"
    } else {
        "patch"
    }
}

/// The new text of every manifest whose versions change.
pub fn version_edits(
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

#[cfg(test)]
mod tests {
    use super::*;

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
