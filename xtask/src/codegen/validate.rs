//! `cargo xtask codegen --validate`: checks `api/vi.openapi.yaml` against the OpenAPI 3.1
//! schema with `openapi-spec-validator`, from `api/requirements.txt` (pinned) in
//! `target/api-venv` (shared with `cargo xtask api-fuzz`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::DOCUMENT;

/// Creates (or reuses) `target/api-venv` with the pinned tools; returns its interpreter.
fn api_venv(root: &Path) -> Result<PathBuf, String> {
    let venv = crate::target_dir(root).join("api-venv");
    println!("== Python tools ({}) ==", venv.display());
    crate::pyenv::prepare_pinned(
        &venv,
        &root.join("api").join("requirements.txt"),
        "the OpenAPI tools of api/requirements.txt",
    )
}

/// Validates the document (installing the tools when needed).
pub(crate) fn run(root: &Path) -> Result<(), String> {
    check(&api_venv(root)?, root)
}

/// Validates the document with the venv's `python`; fails with the validator's message.
fn check(python: &Path, root: &Path) -> Result<(), String> {
    let document = root.join(DOCUMENT);
    let output = Command::new(python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&document)
        .output()
        .map_err(|e| format!("cannot run openapi-spec-validator: {e}"))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        println!(
            "codegen --validate: {DOCUMENT} is valid OpenAPI 3.1 ({})",
            said.trim()
        );
        Ok(())
    } else {
        Err(format!(
            "{DOCUMENT} is not valid OpenAPI 3.1:\n{}",
            crate::pyenv::tail(said.as_bytes(), 40)
        ))
    }
}
