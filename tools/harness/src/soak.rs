//! `cargo xtask soak [--files N] [...]`: both facades move N files through a harsh
//! emulator (random faults, latency, a bandwidth limit, short URL lifetimes) and every
//! byte is checked.
//!
//! 1. Builds `vi-emulator` and `vi-harness` in release mode (`--debug`: debug, as CI
//!    builds one profile); the client halves run as `target/<profile>/vi-harness
//!    soak-client …`, each its own process, so each peak RSS is its own.
//! 2. Generates N distinct small PNG files in a fresh directory under `target/soak/`.
//! 3. Starts the emulator process (`--port 0`, its first line is
//!    `listening on http://HOST:PORT`) with the shaping and fault flags.
//! 4. Per facade (blocking, then async): creates a dataset, uploads the folder, and
//!    uploads again whatever a round reported failed (a user re-running the command),
//!    up to `--rounds`; then downloads the dataset, again in rounds. Every report
//!    must name every file (asset) exactly once.
//! 5. Compares every downloaded file with its original, byte for byte.
//! 6. Prints a table: time, emulator requests, storage retries (storage requests beyond
//!    one per file), random faults, files failed in the first round and in the end,
//!    the client's peak RSS, and the emulator's peak RSS; plus the reasons of the
//!    failures, which are the evidence for the SDK's behaviour under faults.
//!
//! The exit status is non-zero when a report misses or repeats a file, when a file
//! is still failed after the last round, or when any byte differs.

mod client;
mod download;
mod emulator;
mod files;
mod options;
mod phase;
mod table;
mod upload;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::procs::{RemoveOnDrop, current_rss_kib, peak_rss_kib};

pub use client::{CLIENT_USAGE, client_main};
use options::Options;
pub use options::{Args, USAGE};
use phase::Phase;

/// Runs `cargo xtask soak` with the arguments after `soak`.
pub fn main(args: Args) -> ExitCode {
    let options = match args.options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("soak: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("soak: FAILED (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("soak: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Options) -> Result<bool, String> {
    let root = crate::repo_root();
    let target = crate::target_dir(&root);
    let cargo = crate::cargo();
    let profile = if o.debug { "debug" } else { "release" };
    eprintln!("soak: building vi-emulator and vi-harness ({profile})…");
    let mut build = vec![
        "build",
        "--quiet",
        "-p",
        "vi-emulator",
        "--bin",
        "vi-emulator",
        "-p",
        "vi-harness",
        "--bin",
        "vi-harness",
    ];
    if !o.debug {
        build.push("--release");
    }
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(&build)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("the release build failed".into());
    }
    let emulator_bin = target.join(profile).join("vi-emulator");
    let client_bin = target.join(profile).join("vi-harness");

    // A fresh directory per run: one where many files were just deleted is slower to fill.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let work = target.join("soak").join(format!("run-{stamp}"));
    let files_dir = work.join("files");
    std::fs::create_dir_all(&files_dir).map_err(|e| format!("{}: {e}", files_dir.display()))?;
    let mut cleanup = RemoveOnDrop(Some(work.clone()));
    eprintln!("soak: generating {} files of {} KiB…", o.files, o.size_kib);
    let names = files::generate(&files_dir, o.files, o.size_kib)?;

    let emu = emulator::start_emulator(&emulator_bin, &work.join("emulator"), o)?;
    eprintln!("soak: emulator at {} (pid {})", emu.url, emu.child.0.id());
    let mut rows = Vec::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut ok = true;
    let total_start = Instant::now();
    for facade in &o.facades {
        let dataset = emulator::create_dataset(&emu, facade)?;
        eprintln!("soak: {facade}: dataset {dataset}");
        let phase = Phase {
            o,
            emu: &emu,
            bin: &client_bin,
            work: &work,
            facade,
            dataset: &dataset,
            files_dir: &files_dir,
        };
        let (row, good, not_uploaded) = upload::upload_phase(&phase, &names, &mut reasons)?;
        ok &= good;
        table::progress(&row, &emu);
        rows.push(row);
        // The dataset holds what was uploaded; that is what the download must bring.
        let uploaded: Vec<String> = names
            .iter()
            .filter(|n| not_uploaded.binary_search(n).is_err())
            .cloned()
            .collect();
        let (row, good) = download::download_phase(&phase, &uploaded, &mut reasons)?;
        ok &= good;
        table::progress(&row, &emu);
        rows.push(row);
    }
    let emulator_rss = peak_rss_kib(emu.child.0.id()).unwrap_or(0);
    let current_rss = current_rss_kib(emu.child.0.id()).unwrap_or(0);
    let mut out = table::render(o, &rows, &reasons, emulator_rss, current_rss, total_start);
    let _ = writeln!(out, "\nsoak: {}", if ok { "ok" } else { "FAILED" });
    if !ok {
        // The client reports (`<facade>-<op>-<round>.json`) explain what failed.
        let _ = writeln!(out, "soak: kept {} for inspection", work.display());
        cleanup.0 = None;
    }
    print!("{out}");
    let results = target.join("soak").join("results.md");
    let _ = std::fs::write(&results, &out);
    Ok(ok)
}
