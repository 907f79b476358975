//! The workspace as the release sees it, from `cargo metadata`: its members and the
//! publishable crates in dependency order.

use super::commands::output;
use super::{PUBLISHABLE, checks};
use crate::cargo;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A workspace member, from `cargo metadata`.
pub struct Member {
    pub name: String,
    pub version: String,
    pub dir: PathBuf,
    pub package: Value,
}

/// The workspace as the release sees it.
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    pub members: Vec<Member>,
    pub metadata: Value,
    /// The publishable crates in dependency order.
    pub order: Vec<String>,
}

impl Workspace {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

pub fn load_workspace(root: &Path) -> Result<Workspace, String> {
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
