//! `cargo xtask interop`: wire compatibility with the official Python client.
//!
//! 1. Creates `target/interop-venv` and installs `interop/requirements.txt` (vi-sdk, pinned)
//!    from PyPI. When that fails the run fails and says so: it never passes silently.
//! 2. Writes the sample images (`official_client.py make-samples`).
//! 3. Starts a recording vi-emulator (in-process) and runs `interop/official_client.py`
//!    against it; then a second recording emulator for our SDK's run of the same
//!    operations (`vi-harness interop-rust`, see `interop_rust.rs`).
//! 4. Compares the two recordings per operation (method + route template + query keys):
//!    request counts, response statuses, query value classes, JSON body keys and value
//!    types (recursively) and headers. Differences fail unless `interop/allowlist.json`
//!    lists them with a reason. Signed-URL requests must carry no credentials and API
//!    requests must carry both, on both sides (not allow-listable).
//! 5. Prints a table and exits 0 only when both scenarios passed and no difference is
//!    left unexplained.
//!
//! Everything it writes is under `target/` (`target/interop/` holds the recordings, the
//! scenario outputs and the work directories of the last run).
//!
//! The harness, by job: [`venv`] (the Python environment), [`scenario`] (running one
//! scenario against a recording emulator), [`recording`] (reading the recordings, naming
//! operations), [`allowlist`] (`interop/allowlist.json`), [`compare`](mod@compare) (the
//! comparison and the fixed rules) and [`report`] (the table). This file holds the two
//! entry points and the run that ties them together.

mod allowlist;
mod compare;
mod recording;
mod report;
mod scenario;
pub(crate) mod venv;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::{repo_root, target_dir};
use allowlist::{Allowed, Allowlist};
use compare::compare;
use recording::load_recording;
use scenario::{run_scenario, with_emulator};
use venv::{VI_SDK_VERSION, prepare_venv};

/// Entry point of `cargo xtask interop`.
pub fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("\ninterop: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Entry point of `vi-harness interop-rust SAMPLES WORK` (run by `interop` as a child process).
pub fn rust_scenario(args: &[String]) -> ExitCode {
    let [samples, work] = args else {
        eprintln!("usage: vi-harness interop-rust SAMPLES_DIR WORK_DIR");
        return ExitCode::from(2);
    };
    match crate::interop_rust::run(Path::new(samples), Path::new(work)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("our SDK scenario FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let started = Instant::now();
    let root = repo_root();
    let interop_dir = root.join("interop");
    let target = target_dir(&root);
    let venv = target.join("interop-venv");
    let out = target.join("interop");
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| format!("cannot clean {}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let allow = Allowlist::load(&interop_dir.join("allowlist.json"))?;

    println!("== interop: Python environment ({}) ==", venv.display());
    let t = Instant::now();
    let python = prepare_venv(&venv, &interop_dir.join("requirements.txt"))?;
    println!("   ready in {:.1}s", t.elapsed().as_secs_f64());

    let script = interop_dir.join("official_client.py");
    let samples = out.join("samples");
    let status = Command::new(&python)
        .arg(&script)
        .arg("make-samples")
        .arg(&samples)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!(
            "{} make-samples failed ({status})",
            script.display()
        ));
    }

    println!("\n== interop: official client (vi-sdk {VI_SDK_VERSION}) against vi-emulator ==");
    let official_rec = out.join("official.jsonl");
    let t = Instant::now();
    let official_ok = with_emulator(&official_rec, |emulator| {
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .arg("run")
            .arg(&samples)
            .arg(out.join("official-work"));
        run_scenario(cmd, emulator, &out, "official")
    })?;
    let official_time = t.elapsed();

    println!("\n== interop: our SDK (vi-blocking) against vi-emulator ==");
    let ours_rec = out.join("ours.jsonl");
    let t = Instant::now();
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the vi-harness binary: {e}"))?;
    let ours_ok = with_emulator(&ours_rec, |emulator| {
        let mut cmd = Command::new(&exe);
        cmd.arg("interop-rust")
            .arg(&samples)
            .arg(out.join("ours-work"));
        run_scenario(cmd, emulator, &out, "ours")
    })?;
    let ours_time = t.elapsed();

    println!(
        "\n== interop: requests compared (recordings in {}) ==",
        out.display()
    );
    let official = load_recording(&official_rec)?;
    let ours = load_recording(&ours_rec)?;
    let comparison = compare(&official, &ours, &allow);
    comparison.print();

    let unused: Vec<&Allowed> = allow
        .entries
        .iter()
        .enumerate()
        .filter(|(i, _)| !comparison.used.contains(i))
        .map(|(_, e)| e)
        .collect();
    if !unused.is_empty() {
        println!("\nallow-list entries not needed in this run:");
        for e in unused {
            println!("  - {} {}: {}", e.operation, e.difference, e.reason);
        }
    }

    println!(
        "\ninterop: official scenario {} ({:.1}s), our scenario {} ({:.1}s), {} unexplained difference(s); total {:.1}s",
        if official_ok { "passed" } else { "FAILED" },
        official_time.as_secs_f64(),
        if ours_ok { "passed" } else { "FAILED" },
        ours_time.as_secs_f64(),
        comparison.unexplained,
        started.elapsed().as_secs_f64()
    );
    let pass = official_ok && ours_ok && comparison.unexplained == 0;
    println!("interop: {}", if pass { "PASS" } else { "FAIL" });
    Ok(pass)
}
