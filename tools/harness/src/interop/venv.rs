//! The Python environment of `cargo xtask interop`: `target/interop-venv` with the pinned
//! official client (vi-sdk) installed from PyPI, reused when already installed.

use std::path::{Path, PathBuf};

/// The vi-sdk version the specification describes.
pub(crate) const VI_SDK_VERSION: &str = "0.1.0b7";

/// Creates the virtual environment if needed and installs the pinned official client.
pub(crate) fn prepare_venv(venv: &Path, requirements: &Path) -> Result<PathBuf, String> {
    let check =
        format!("import sys, vi; sys.exit(0 if vi.__version__ == '{VI_SDK_VERSION}' else 1)");
    crate::pyenv::prepare(
        venv,
        requirements,
        &check,
        &format!("vi-sdk=={VI_SDK_VERSION}"),
    )
}
