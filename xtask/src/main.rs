//! Project automation, run as `cargo xtask <command>`: thin glue over cargo and the
//! tools below. Commands that drive the SDK or the emulator (`bench`, `soak`, `interop`,
//! `api-fuzz`) live in the unpublished `vi-harness` crate (`tools/harness`); xtask runs
//! them with `cargo run -p vi-harness`, so its own commands never build the SDK.
//!
//! Commands (`cargo xtask COMMAND --help` for the options of each):
//! * `deps-guard`: fails when the layering of ARCHITECTURE.md is broken: `vi-core` must not
//!   depend on tokio, reqwest, ureq or hyper, and `vi-blocking` must not depend on tokio,
//!   reqwest or hyper (normal dependencies, whole tree).
//! * `codegen [--check | --validate]`: vi-core's wire models and endpoint table from the
//!   OpenAPI document `api/vi.openapi.yaml` (see `codegen/mod.rs`).
//! * `release --dry-run` / `release VERSION`: checks, `cargo semver-checks` and verified
//!   packages of every publishable crate; a release is cargo-release's, configured in
//!   `release.toml` (see `release.rs` and the README).
//! * `bench`, `soak`, `interop`, `api-fuzz`: forwarded to vi-harness (see
//!   `tools/harness/src/main.rs`).

mod codegen;
mod pyenv;
mod release;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The repository's root: the folder above `xtask/`.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The target directory builds of `root` go to: `CARGO_TARGET_DIR` (relative to `root`
/// when relative), else `root/target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

/// A `cargo` command in the repository's root: the cargo that runs xtask (`CARGO`), else
/// `cargo` from the path, without the variables `cargo run` gave xtask's own package
/// (build scripts that watch them, ring's among them, would otherwise rebuild after
/// every plain `cargo build`, and the other way round).
pub(crate) fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    command.current_dir(repo_root());
    command
}

/// Crates that must not appear in a package's normal dependency tree.
const RULES: &[(&str, &[&str])] = &[
    ("vi-core", &["tokio", "reqwest", "ureq", "hyper"]),
    ("vi-blocking", &["tokio", "reqwest", "hyper"]),
];

/// `cargo xtask`: every command and its options.
#[derive(clap::Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Project automation for vi-rs."
)]
enum Xtask {
    /// Check that vi-core and vi-blocking keep their dependency layering.
    DepsGuard,
    /// Write vi-core's wire models and endpoint table from api/vi.openapi.yaml (--check:
    /// fail when the checked-in files differ; --validate: check the document is valid
    /// OpenAPI 3.1).
    Codegen(codegen::Options),
    /// Release checks, `cargo semver-checks` and verified packages of every publishable
    /// crate (--dry-run), or a release by cargo-release (release.toml).
    #[command(after_help = release::USAGE)]
    Release(release::Options),
    /// Schemathesis (pinned, from PyPI) against a local emulator (runs vi-harness).
    #[command(disable_help_flag = true)]
    ApiFuzz(Forward),
    /// Upload/download speed and peak RSS against the official Python client and curl
    /// (runs vi-harness).
    #[command(disable_help_flag = true)]
    Bench(Forward),
    /// Run the official Python client and our SDK against recording emulators and compare
    /// their requests (runs vi-harness).
    #[command(disable_help_flag = true)]
    Interop(Forward),
    /// Move many files through a faulty, slow emulator with both facades and check every
    /// byte (runs vi-harness).
    #[command(disable_help_flag = true)]
    Soak(Forward),
}

/// The arguments of a command vi-harness runs, `--help` included, passed on as given.
#[derive(clap::Args)]
struct Forward {
    /// The command's options (`--help` lists them).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "OPTIONS"
    )]
    args: Vec<String>,
}

/// Runs `cargo run -p vi-harness -- COMMAND ARGS…` and exits as it does.
fn harness(command: &str, args: &[String]) -> ExitCode {
    let status = cargo()
        .args(["run", "--quiet", "--package", "vi-harness", "--", command])
        .args(args)
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1))),
        Err(e) => {
            eprintln!("xtask: cannot run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    use clap::Parser as _;
    match Xtask::parse() {
        Xtask::DepsGuard => deps_guard(),
        Xtask::Codegen(options) => codegen::main(&options),
        Xtask::Release(options) => release::main(&options),
        Xtask::ApiFuzz(f) => harness("api-fuzz", &f.args),
        Xtask::Bench(f) => harness("bench", &f.args),
        Xtask::Interop(f) => harness("interop", &f.args),
        Xtask::Soak(f) => harness("soak", &f.args),
    }
}

/// The names of every package in `package`'s normal dependency tree.
fn dependency_names(package: &str) -> Result<Vec<String>, String> {
    let output = cargo()
        .args([
            "tree",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--package",
            package,
        ])
        .output()
        .map_err(|e| format!("could not run cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {package} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

fn deps_guard() -> ExitCode {
    let mut broken = false;
    for (package, banned) in RULES {
        match dependency_names(package) {
            Ok(names) => {
                let found: Vec<&str> = banned
                    .iter()
                    .copied()
                    .filter(|b| names.iter().any(|n| n == b))
                    .collect();
                if found.is_empty() {
                    println!(
                        "deps-guard: {package} ok ({} crates in its tree)",
                        names.len()
                    );
                } else {
                    broken = true;
                    eprintln!(
                        "deps-guard: {package} depends on {} (normal dependencies); ARCHITECTURE.md forbids it. \
                         Run `cargo tree -p {package} -e normal -i {}` to see the path.",
                        found.join(", "),
                        found[0]
                    );
                }
            }
            Err(e) => {
                broken = true;
                eprintln!("deps-guard: {e}");
            }
        }
    }
    if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
