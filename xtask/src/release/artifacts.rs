//! The release artifacts in `target/dist/`: the `dtvi` binary and the `.crate` files, with
//! their `SHA256SUMS` manifest.

use super::commands::{output, run_shown, write};
use super::workspace::Workspace;
use super::{BINARY, dist};
use crate::cargo;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the `dtvi` binary (`--release` for a release, the dev profile for a dry run, both
/// `--locked`), copies it and the `.crate` files to `dist_dir` and writes `SHA256SUMS`.
pub fn build_artifacts(
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
