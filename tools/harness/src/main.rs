//! The harnesses that drive the SDK and emulator processes, run by `cargo xtask` as
//! `cargo run -p vi-harness -- COMMAND …` (see `xtask/src/main.rs`): a separate,
//! unpublished workspace member, so that xtask's other commands (codegen, release,
//! deps-guard) never build the SDK.
//!
//! * `bench`: upload/download speed and peak RSS against the official Python client and
//!   curl (see `docs/bench.md`).
//! * `soak`: many files through a faulty, slow emulator with both facades, every byte
//!   checked (see `docs/emulator.md`).
//! * `interop`: wire compatibility with the official Python client (see
//!   `interop/README.md`).
//! * `api-fuzz`: Schemathesis against the emulator (see `docs/api-fuzz.md`).

mod api_fuzz;
mod bench;
mod interop;
mod interop_rust;
mod procs;
#[path = "../../../xtask/src/pyenv.rs"]
mod pyenv;
mod soak;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The repository's root: two folders above this crate.
pub(crate) fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The target directory builds of `root` go to: `CARGO_TARGET_DIR` (relative to `root`
/// when relative), else `root/target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The cargo that runs the harness (`CARGO`), else `cargo` from the path.
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// `vi-harness`: the commands `cargo xtask` forwards, and the two internal ones that
/// `soak` and `interop` run as child processes.
#[derive(clap::Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "The SDK harnesses of vi-rs (run through cargo xtask)."
)]
enum Harness {
    /// Schemathesis (pinned, from PyPI) against a local emulator from api/vi.openapi.yaml.
    ApiFuzz(api_fuzz::Options),
    /// Upload/download speed and peak RSS: both facades, the official Python client and
    /// curl, on loopback or a shaped link (--suite: the issue-11 matrix; --resume: `dtvi
    /// assets upload --skip-existing` with half the files present against a full
    /// re-upload).
    #[command(after_help = bench::USAGE)]
    Bench(bench::Args),
    /// Run the official Python client and our SDK against recording emulators and compare
    /// their requests.
    Interop,
    /// Move many files through a faulty, slow emulator with both facades and check every
    /// byte.
    Soak(soak::Args),
    /// Internal: one client half of `soak`, run by it as a child process.
    #[command(hide = true, after_help = soak::CLIENT_USAGE)]
    SoakClient(Rest),
    /// Internal: our SDK's half of `interop`, run by it as a child process.
    #[command(
        hide = true,
        after_help = "Usage: vi-harness interop-rust SAMPLES_DIR WORK_DIR"
    )]
    InteropRust(Rest),
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

fn main() -> ExitCode {
    use clap::Parser as _;
    match Harness::parse() {
        Harness::ApiFuzz(options) => api_fuzz::main(&options),
        Harness::Bench(args) => bench::main(args, &args_after("bench")),
        Harness::Interop => interop::main(),
        Harness::Soak(args) => soak::main(args),
        Harness::SoakClient(rest) => soak::client_main(&rest.args),
        Harness::InteropRust(rest) => interop::rust_scenario(&rest.args),
    }
}

#[cfg(test)]
mod tests {
    use super::Harness;
    use clap::Parser as _;

    /// What `vi-harness ARGS` would print and its exit status, without running a command.
    fn parse(args: &[&str]) -> (i32, String) {
        match Harness::try_parse_from(std::iter::once("vi-harness").chain(args.iter().copied())) {
            Ok(_) => (0, String::new()),
            Err(e) => (e.exit_code(), e.render().to_string()),
        }
    }

    /// Every command (the ones `cargo xtask` forwards and the two internal ones) answers
    /// `--help` with its usage and exit 0; an option clap refuses is a usage error (2).
    /// (Combinations a command checks itself, such as `bench --resume --suite`, are
    /// tested with the command.)
    #[test]
    fn every_command_answers_help() {
        let public = ["api-fuzz", "bench", "interop", "soak"];
        let (code, top) = parse(&["--help"]);
        assert_eq!(code, 0);
        for command in public {
            assert!(top.contains(command), "{command} missing from:\n{top}");
        }
        for command in public.into_iter().chain(["soak-client", "interop-rust"]) {
            for help in ["--help", "-h"] {
                let (code, text) = parse(&[command, help]);
                assert_eq!(code, 0, "{command} {help}: {text}");
                assert!(text.contains("Usage"), "{command} {help}: {text}");
            }
        }
        assert!(parse(&["bench", "--help"]).1.contains("--present-percent"));
        assert_eq!(parse(&["bench", "--files", "10", "--help"]).0, 0);
        for bad in [
            &["bench", "--latency-ms"][..],
            &["soak", "--expired-status", "401"],
            &["api-fuzz", "--max-examples", "many"],
        ] {
            let (code, text) = parse(bad);
            assert_eq!(code, 2, "{bad:?}: {text}");
            assert!(text.contains("error"), "{bad:?}: {text}");
        }
    }
}
