//! Python virtual environments under `target/` for the commands that drive Python tools
//! (`interop`: the official client; `codegen --validate` and `api-fuzz`: the OpenAPI
//! validator and Schemathesis; `bench`: the official client). Each installs a pinned
//! requirements file from PyPI once and reuses it; when PyPI cannot be reached the error
//! says so in plain words.
//!
//! xtask and vi-harness both compile this file (`#[path]` in `tools/harness/src/main.rs`):
//! xtask must not depend on the harness (it would build the SDK), and the harness should
//! not depend on xtask's code generator.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The last `lines` lines of a process's output.
pub(crate) fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Runs `python -c check` and tells whether it exited 0 (quietly).
fn passes(python: &Path, check: &str) -> bool {
    Command::new(python)
        .args(["-c", check])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Creates `venv` if needed and installs `requirements` unless `check` (Python code that
/// exits 0 when the pinned packages are there) already passes. `what` names the packages
/// in messages. Returns the environment's interpreter.
pub(crate) fn prepare(
    venv: &Path,
    requirements: &Path,
    check: &str,
    what: &str,
) -> Result<PathBuf, String> {
    let python = venv_python(venv);
    if !python.exists() {
        let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let output = Command::new(&base)
            .args(["-m", "venv"])
            .arg(venv)
            .output()
            .map_err(|e| {
                format!("cannot run {base} (set PYTHON to a Python 3.10+ interpreter): {e}")
            })?;
        if !output.status.success() {
            return Err(format!(
                "`{base} -m venv {}` failed:\n{}",
                venv.display(),
                tail(&output.stderr, 20)
            ));
        }
    }
    // Installed already (a previous run)? Then no registry access is needed.
    if passes(&python, check) {
        println!("   {what} already installed");
        return Ok(python);
    }
    println!("   pip install -r {}", requirements.display());
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "30",
            "--retries",
            "2",
            "-r",
        ])
        .arg(requirements)
        .output()
        .map_err(|e| format!("cannot run pip in {}: {e}", venv.display()))?;
    if !output.status.success() {
        return Err(format!(
            "could not install {what} from the package registry (PyPI): `pip install -r {}` \
             failed. This command needs it and cannot run without it; check that PyPI is \
             reachable (or set PIP_INDEX_URL to a mirror).\npip said:\n{}",
            requirements.display(),
            tail(&output.stderr, 20)
        ));
    }
    if !passes(&python, check) {
        return Err(format!(
            "pip succeeded but {what} is not importable at the pinned version in {}",
            venv.display()
        ));
    }
    Ok(python)
}

/// [`prepare`] for a requirements file of `name==version` lines: the check is that each
/// is installed at its version.
pub(crate) fn prepare_pinned(
    venv: &Path,
    requirements: &Path,
    what: &str,
) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let pins: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once("=="))
        .map(|(name, version)| format!("({name:?}, {version:?})"))
        .collect();
    let check = format!(
        "import sys\nfrom importlib.metadata import version\ntry:\n    sys.exit(0 if all(version(n) == v for n, v in [{}]) else 1)\nexcept Exception:\n    sys.exit(1)\n",
        pins.join(", ")
    );
    prepare(venv, requirements, &check, what)
}
