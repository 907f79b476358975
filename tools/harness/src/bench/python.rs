//! The official Python client's rows: vi-sdk (pinned) from the interop virtual
//! environment, driven by `official_client.py` (next to this file) as a child process.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::table::Row;
use super::{Want, run_driver};
use crate::interop::venv::{VI_SDK_VERSION, prepare_venv};
use crate::procs::EmulatorProcess;

/// The interpreter of `target/interop-venv` with vi-sdk installed, or `None` when the
/// Python column is off or (unless asked for with `--python`) cannot be prepared; then
/// a plain message says why.
pub(super) fn prepare(want: Want, root: &Path, target: &Path) -> Result<Option<PathBuf>, String> {
    if want == Want::No {
        return Ok(None);
    }
    eprintln!("bench: preparing the official Python client (vi-sdk {VI_SDK_VERSION})…");
    match prepare_venv(
        &target.join("interop-venv"),
        &root.join("interop").join("requirements.txt"),
    ) {
        Ok(python) => Ok(Some(python)),
        Err(e) if want == Want::Auto => {
            eprintln!(
                "bench: skipping the Python column: the official client could not be \
                 installed (is PyPI reachable?):\n{e}"
            );
            Ok(None)
        }
        Err(e) => Err(format!("--python: {e}")),
    }
}

/// Uploads `folder` into `dataset` (`op` = `upload`) or downloads `dataset` into
/// `path/DATASET` (`op` = `download`) with the official client.
pub(super) fn transfer(
    python: &Path,
    emu: &EmulatorProcess,
    op: &str,
    dataset: &str,
    path: &Path,
) -> Result<Row, String> {
    let script = crate::repo_root()
        .join("tools")
        .join("harness")
        .join("src")
        .join("bench")
        .join("official_client.py");
    let mut command = Command::new(python);
    command.arg(&script).args([op, dataset]).arg(path);
    run_driver(command, emu, &format!("python {op}"))
}
