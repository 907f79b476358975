//! Version bumps of the workspace manifests, edited with `toml_edit` so that comments, order
//! and layout stay as they are.

use semver::Version;
use toml_edit::{DocumentMut, Item, Value};

/// Sets `version` in a manifest: `[workspace.package] version`, `[package] version` when it is
/// written out (not inherited), and the `version` requirement of every dependency on a crate
/// of the workspace (`internal`) in `[workspace.dependencies]`, `[dependencies]`,
/// `[dev-dependencies]`, `[build-dependencies]` and their `[target.'…'.*]` forms.
///
/// Returns the new text and a line per change (empty when nothing changed).
///
/// # Errors
/// A message when the text is not TOML or a field to bump is not a string.
pub fn bump(
    text: &str,
    internal: &[&str],
    version: &Version,
) -> Result<(String, Vec<String>), String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("not a valid TOML manifest: {e}"))?;
    let new = version.to_string();
    let mut changes = Vec::new();

    if let Some(package) = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("package"))
        .and_then(Item::as_table_like_mut)
        && let Some(item) = package.get_mut("version")
    {
        set_string(item, &new, "[workspace.package] version", &mut changes)?;
    }
    if let Some(package) = doc.get_mut("package").and_then(Item::as_table_like_mut)
        && let Some(item) = package.get_mut("version")
        && !is_inherited(item)
    {
        set_string(item, &new, "[package] version", &mut changes)?;
    }
    if let Some(deps) = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
    {
        bump_dependencies(deps, "workspace.dependencies", internal, &new, &mut changes)?;
    }
    for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(deps) = doc.get_mut(kind) {
            bump_dependencies(deps, kind, internal, &new, &mut changes)?;
        }
    }
    if let Some(targets) = doc.get_mut("target").and_then(Item::as_table_like_mut) {
        for (cfg, target) in targets.iter_mut() {
            for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if let Some(deps) = target.get_mut(kind) {
                    let place = format!("target.{}.{kind}", cfg.get());
                    bump_dependencies(deps, &place, internal, &new, &mut changes)?;
                }
            }
        }
    }
    Ok((doc.to_string(), changes))
}

/// The `version` of `[workspace.package]`.
///
/// # Errors
/// A message when the text is not TOML or has no such string.
pub fn workspace_version(text: &str) -> Result<String, String> {
    let doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("not a valid TOML manifest: {e}"))?;
    doc.get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(Item::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "the root Cargo.toml has no [workspace.package] version".to_owned())
}

fn bump_dependencies(
    deps: &mut Item,
    place: &str,
    internal: &[&str],
    new: &str,
    changes: &mut Vec<String>,
) -> Result<(), String> {
    let Some(deps) = deps.as_table_like_mut() else {
        return Ok(());
    };
    for (key, dep) in deps.iter_mut() {
        // `package = "…"` renames: the crate is the package, not the key.
        let name = dep
            .get("package")
            .and_then(Item::as_str)
            .unwrap_or(key.get())
            .to_owned();
        if !internal.contains(&name.as_str()) {
            continue;
        }
        let what = format!("[{place}] {} version", key.get());
        if let Some(table) = dep.as_table_like_mut() {
            if let Some(item) = table.get_mut("version") {
                set_string(item, new, &what, changes)?;
            }
        } else if dep.is_str() {
            // `vi-core = "0.1.0"`: a bare requirement.
            set_string(dep, new, &what, changes)?;
        }
    }
    Ok(())
}

/// `version.workspace = true`.
fn is_inherited(item: &Item) -> bool {
    item.get("workspace").and_then(Item::as_bool) == Some(true)
}

/// Replaces a string value, keeping the comments and spacing around it.
fn set_string(
    item: &mut Item,
    new: &str,
    what: &str,
    changes: &mut Vec<String>,
) -> Result<(), String> {
    let Some(value) = item.as_value_mut() else {
        return Err(format!("{what} is not a string"));
    };
    let Some(old) = value.as_str().map(str::to_owned) else {
        return Err(format!("{what} is not a string"));
    };
    if old != new {
        let decor = value.decor().clone();
        *value = Value::from(new);
        *value.decor_mut() = decor;
        changes.push(format!("{what}: {old} -> {new}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = r#"[workspace]
members = ["crates/*"]

[workspace.package]
version = "0.1.0" # the one version of every crate
edition = "2024"

[workspace.dependencies]
vi-core = { path = "crates/vi-core", version = "0.1.0" }
vi-async = { path = "crates/vi-async", version = "0.1.0" }
# path only: not published, so no requirement
vi-testkit = { path = "crates/vi-testkit" }
serde = { version = "1.0", features = ["derive"] }
tokio = "1.47"
"#;

    const INTERNAL: &[&str] = &["vi-core", "vi-async", "vi-testkit", "vi-cli"];

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn root_manifest_bumps_the_workspace_version_and_internal_requirements_only() {
        let (text, changes) = bump(ROOT, INTERNAL, &v("0.2.0")).unwrap();
        assert_eq!(
            text,
            ROOT.replace(
                "version = \"0.1.0\" # the one",
                "version = \"0.2.0\" # the one"
            )
            .replace(
                "vi-core\", version = \"0.1.0\"",
                "vi-core\", version = \"0.2.0\""
            )
            .replace(
                "vi-async\", version = \"0.1.0\"",
                "vi-async\", version = \"0.2.0\""
            )
        );
        assert_eq!(
            changes,
            [
                "[workspace.package] version: 0.1.0 -> 0.2.0",
                "[workspace.dependencies] vi-core version: 0.1.0 -> 0.2.0",
                "[workspace.dependencies] vi-async version: 0.1.0 -> 0.2.0",
            ]
        );
        assert_eq!(workspace_version(&text).unwrap(), "0.2.0");
    }

    #[test]
    fn member_manifests_keep_inherited_fields_and_bump_written_out_requirements() {
        let member = r#"[package]
name = "vi-cli"
version.workspace = true

[dependencies]
vi-core.workspace = true
core = { package = "vi-core", version = "0.1.0", path = "../vi-core" }
serde.workspace = true

[dev-dependencies]
vi-testkit.workspace = true

[target.'cfg(unix)'.dependencies]
vi-async = "0.1.0"

[build-dependencies.vi-core]
path = "../vi-core"
version = "0.1.0"
"#;
        let (text, changes) = bump(member, INTERNAL, &v("0.2.0-rc.1")).unwrap();
        assert_eq!(
            text,
            member
                .replace(
                    "version = \"0.1.0\", path",
                    "version = \"0.2.0-rc.1\", path"
                )
                .replace("vi-async = \"0.1.0\"", "vi-async = \"0.2.0-rc.1\"")
                .replace(
                    "path = \"../vi-core\"\nversion = \"0.1.0\"",
                    "path = \"../vi-core\"\nversion = \"0.2.0-rc.1\""
                )
        );
        assert_eq!(changes.len(), 3, "{changes:?}");
        // Nothing to do the second time.
        let (again, changes) = bump(&text, INTERNAL, &v("0.2.0-rc.1")).unwrap();
        assert_eq!(again, text);
        assert!(changes.is_empty());
    }

    #[test]
    fn bad_manifests_are_errors_not_panics() {
        assert!(bump("[workspace", INTERNAL, &v("1.0.0")).is_err());
        let err = bump("[workspace.package]\nversion = 1\n", INTERNAL, &v("1.0.0")).unwrap_err();
        assert!(err.contains("not a string"), "{err}");
        assert!(workspace_version("[package]\nname = \"x\"\n").is_err());
    }
}
