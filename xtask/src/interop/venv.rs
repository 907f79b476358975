//! The Python environment of `cargo xtask interop`: `target/interop-venv` with the pinned
//! official client (vi-sdk) installed from PyPI, reused when already installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::tail;

/// The vi-sdk version the specification describes.
pub(super) const VI_SDK_VERSION: &str = "0.1.0b7";

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Creates the virtual environment if needed and installs the pinned official client.
pub(super) fn prepare_venv(venv: &Path, requirements: &Path) -> Result<PathBuf, String> {
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
    let check =
        format!("import sys, vi; sys.exit(0 if vi.__version__ == '{VI_SDK_VERSION}' else 1)");
    let installed = Command::new(&python)
        .args(["-c", &check])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        println!("   vi-sdk {VI_SDK_VERSION} already installed");
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
            "could not install vi-sdk=={VI_SDK_VERSION} from the package registry (PyPI): \
             `pip install -r {}` failed. The harness needs the official client and cannot \
             run without it; check that PyPI is reachable (or set PIP_INDEX_URL to a mirror).\n\
             pip said:\n{}",
            requirements.display(),
            tail(&output.stderr, 20)
        ));
    }
    let ok = Command::new(&python)
        .args(["-c", &check])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err(format!(
            "pip succeeded but `import vi` does not give vi-sdk {VI_SDK_VERSION}"
        ));
    }
    Ok(python)
}
