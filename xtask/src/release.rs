//! `cargo xtask release`: checks, packages, versions, tags and (on request) publishes the
//! workspace.
//!
//! * `cargo xtask release --dry-run [VERSION]` checks everything that can be checked without
//!   changing anything: metadata, the declared `rust-version`, API compatibility (when
//!   `cargo-semver-checks` is installed), the file list of every package, and a verified
//!   `cargo package` of every publishable crate in dependency order (one `.crate` each in
//!   `target/package/`). With a VERSION it also shows the manifest and CHANGELOG changes a
//!   release would make. CI runs it.
//! * `cargo xtask release VERSION [--publish]` does the same on a clean tree, then bumps the
//!   workspace version and the inter-crate requirements, moves the CHANGELOG's Unreleased
//!   section under VERSION and today's date, verifies the packages of the new version, makes
//!   one commit and an annotated tag `vVERSION`, builds the `dtvi` binary (`--release --locked`)
//!   and writes `target/dist/vVERSION/` with it, the `.crate` files and a `SHA256SUMS`
//!   manifest. `--publish` then runs `cargo publish` crate by crate in dependency order,
//!   waiting for each on the crates.io index; never in CI.

mod artifacts;
mod changelog;
mod checks;
mod commands;
mod commit;
mod dist;
mod manifest;
mod options;
mod package;
mod packaging;
mod preflight;
mod publish;
mod run;
mod version;
mod workspace;

pub use options::Options;
pub(crate) use options::USAGE;
use std::process::ExitCode;
use std::time::Instant;

/// The crates published to crates.io. A new workspace member must be added here or to
/// [`PRIVATE`]: the release refuses a crate nobody decided about.
const PUBLISHABLE: &[&str] = &[
    "vi-core",
    "vi-emulator",
    "vi-async",
    "vi-blocking",
    "vi-cli",
];
/// Workspace members that must never be published (`publish = false`).
const PRIVATE: &[&str] = &["vi-testkit", "vi-examples", "xtask"];
/// The crate and binary shipped as a release artifact.
const BINARY: (&str, &str) = ("vi-cli", "dtvi");

/// Entry point of `cargo xtask release`.
pub fn main(options: &Options) -> ExitCode {
    let started = Instant::now();
    match run::run(options) {
        Ok(()) => {
            println!("\nrelease: ok ({} s)", started.elapsed().as_secs());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nrelease: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
