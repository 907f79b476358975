//! What the release steps run: commands (shown, or with their output captured), git, and the
//! files the release reads, writes and puts back.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn step(name: &str) {
    println!("\n== release: {name} ==");
}

/// Runs a command with its output shown; an error names it.
pub fn run_shown(cmd: &mut Command) -> Result<(), String> {
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
pub fn output(cmd: &mut Command) -> Result<String, String> {
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

pub fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    output(Command::new("git").current_dir(root).args(args))
}

pub fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn relative_list(root: &Path, paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Puts files back as HEAD has them, in the index and the working tree (the tree was clean
/// before the release wrote them).
pub fn restore(root: &Path, paths: &[PathBuf]) {
    let mut cmd = Command::new("git");
    cmd.current_dir(root).args(["checkout", "HEAD", "--"]);
    for p in paths {
        cmd.arg(p);
    }
    if let Err(e) = output(&mut cmd) {
        eprintln!("could not restore the files: {e}");
    }
}
