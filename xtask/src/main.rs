//! Project automation, run as `cargo xtask <command>`.
//!
//! Commands:
//! * `deps-guard`: fails when the layering of DESIGN.md is broken: `vi-core` must not
//!   depend on tokio, reqwest, ureq or hyper, and `vi-blocking` must not depend on tokio,
//!   reqwest or hyper (normal dependencies, whole tree).
//! * `interop`: wire compatibility with the official Python client: runs the same scenario
//!   with vi-sdk (from PyPI, in `target/interop-venv`) and with our SDK against recording
//!   emulators and compares the requests (see `interop/README.md`).
//! * `codegen [--check | --validate]`: vi-core's wire models and endpoint table from the
//!   OpenAPI document `api/vi.openapi.yaml` (see `codegen/mod.rs`).
//! * `api-fuzz [--max-examples N] [--max-time SECS]`: Schemathesis against a local
//!   emulator from the document (see `api_fuzz.rs`).
//! * `bench [--files N] [--size-kib K] [--concurrency C] [--latency-ms MS] [--bandwidth B]
//!   [--python|--no-python] [--raw|--no-raw] [--suite]`: upload/download speed and peak RSS
//!   of both facades, the official Python client and curl against a local emulator process,
//!   on loopback or a shaped link (see `docs/benchmarks.md` and `docs/bench.md`).
//!   `bench --resume [--files N] [--present-percent P] [--size-kib K] [--concurrency C]
//!   [--latency-ms MS] [--bandwidth B]`: `dtvi assets upload --skip-existing` of N files
//!   (default 20,000) of which P% (default 50) are already in the dataset, against a full
//!   re-upload: time, requests per route and peak RSS (see `docs/bench.md`).
//! * `release --dry-run [VERSION]` / `release VERSION [--publish]`: release checks, verified
//!   packages of every publishable crate, version bump, CHANGELOG, commit and tag, the `dtvi`
//!   binary with a SHA-256 manifest, and publishing (see `release.rs` and the README).
//! * `soak [--files N] [...]`: both facades move N files (default 20,000) through an
//!   emulator process with random faults, latency, a bandwidth limit and short URL
//!   lifetimes; every report must account for every file once and every byte is
//!   compared (see `docs/emulator.md`).

mod api_fuzz;
mod bench;
mod codegen;
mod interop;
mod interop_rust;
mod procs;
mod pyenv;
mod release;
mod soak;

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

/// The cargo that runs xtask (`CARGO`), else `cargo` from the path.
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Crates that must not appear in a package's normal dependency tree.
const RULES: &[(&str, &[&str])] = &[
    ("vi-core", &["tokio", "reqwest", "ureq", "hyper"]),
    ("vi-blocking", &["tokio", "reqwest", "hyper"]),
];

/// `cargo xtask`: every command and its options (the two internal ones, run as child
/// processes by `soak` and `interop`, take their arguments as they are).
#[derive(clap::Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Project automation for vi-rs."
)]
enum Xtask {
    /// Check that vi-core and vi-blocking keep their dependency layering.
    DepsGuard,
    /// Run the official Python client and our SDK against recording emulators and compare
    /// their requests.
    Interop,
    /// Write vi-core's wire models and endpoint table from api/vi.openapi.yaml (--check:
    /// fail when the checked-in files differ; --validate: check the document is valid
    /// OpenAPI 3.1).
    Codegen(codegen::Options),
    /// Schemathesis (pinned, from PyPI) against a local emulator from api/vi.openapi.yaml.
    ApiFuzz(api_fuzz::Options),
    /// Upload/download speed and peak RSS: both facades, the official Python client and
    /// curl, on loopback or a shaped link (--suite: the issue-11 matrix; --resume: `dtvi
    /// assets upload --skip-existing` with half the files present against a full
    /// re-upload).
    #[command(after_help = bench::USAGE)]
    Bench(bench::Args),
    /// Release checks and verified packages (--dry-run), or bump, CHANGELOG, commit, tag
    /// vVERSION, dtvi binary + SHA256SUMS, and publish to crates.io.
    #[command(after_help = release::USAGE)]
    Release(release::Options),
    /// Move many files through a faulty, slow emulator with both facades and check every
    /// byte.
    Soak(soak::Args),
    /// Internal: one client half of `soak`, run by it as a child process.
    #[command(hide = true, after_help = soak::CLIENT_USAGE)]
    SoakClient(Rest),
    /// Internal: our SDK's half of `interop`, run by it as a child process.
    #[command(
        hide = true,
        after_help = "Usage: xtask interop-rust SAMPLES_DIR WORK_DIR"
    )]
    InteropRust(Rest),
}

/// The arguments after `command` on the command line, as given (the bench report quotes
/// them).
fn args_after(command: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let start = args
        .iter()
        .position(|a| a == command)
        .map_or(args.len(), |i| i + 1);
    args[start..].to_vec()
}

/// The arguments of an internal command, parsed by the command.
#[derive(clap::Args)]
struct Rest {
    /// Its arguments (see below).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "OPTIONS"
    )]
    args: Vec<String>,
}

fn main() -> ExitCode {
    use clap::Parser as _;
    match Xtask::parse() {
        Xtask::DepsGuard => deps_guard(),
        Xtask::Interop => interop::main(),
        Xtask::Codegen(options) => codegen::main(&options),
        Xtask::ApiFuzz(options) => api_fuzz::main(&options),
        Xtask::Bench(args) => bench::main(args, &args_after("bench")),
        Xtask::Release(options) => release::main(&options),
        Xtask::Soak(args) => soak::main(args),
        Xtask::SoakClient(rest) => soak::client_main(&rest.args),
        Xtask::InteropRust(rest) => interop::rust_scenario(&rest.args),
    }
}

/// The names of every package in `package`'s normal dependency tree.
fn dependency_names(package: &str) -> Result<Vec<String>, String> {
    let output = Command::new(cargo())
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
                        "deps-guard: {package} depends on {} (normal dependencies); DESIGN.md forbids it. \
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
