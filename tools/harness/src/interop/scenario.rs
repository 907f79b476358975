//! Running one scenario of `cargo xtask interop`: a recording vi-emulator, the scenario
//! as a child process with the emulator's credentials and a time limit, and its output.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vi_emulator::{Emulator, EmulatorConfig};

use crate::pyenv::tail;

/// The most a scenario may take (the official client polls sessions without a timeout).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(240);

/// Runs `body` against a fresh vi-emulator that records every request to `record_to`.
pub(super) fn with_emulator(
    record_to: &Path,
    body: impl FnOnce(&Emulator) -> Result<bool, String>,
) -> Result<bool, String> {
    // Recording is configured through the library (`record_to`); the emulator binary
    // offers the same as `--record-to`.
    let emulator = Emulator::start_with(EmulatorConfig {
        record_to: Some(record_to.to_path_buf()),
        ..EmulatorConfig::default()
    })
    .map_err(|e| format!("cannot start vi-emulator: {e}"))?;
    let result = body(&emulator);
    emulator.shutdown();
    result
}

/// Runs one scenario with the emulator's credentials; prints its output; false on failure.
pub(super) fn run_scenario(
    mut cmd: Command,
    emulator: &Emulator,
    out: &Path,
    name: &str,
) -> Result<bool, String> {
    let stdout_path = out.join(format!("{name}.stdout.txt"));
    let stderr_path = out.join(format!("{name}.stderr.txt"));
    let stdout = File::create(&stdout_path).map_err(|e| e.to_string())?;
    let stderr = File::create(&stderr_path).map_err(|e| e.to_string())?;
    cmd.env("DATATURE_VI_API_ENDPOINT", emulator.url())
        .env("DATATURE_VI_SECRET_KEY", emulator.secret_key())
        .env("DATATURE_VI_ORGANIZATION_ID", emulator.organization_id())
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the {name} scenario: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if started.elapsed() > SCENARIO_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let printed = std::fs::read(&stdout_path).unwrap_or_default();
    for line in String::from_utf8_lossy(&printed).lines() {
        let line = line.trim_end();
        if !line.trim().is_empty() {
            println!("   {line}");
        }
    }
    let ok = status.is_some_and(|s| s.success());
    if !ok {
        let errors = std::fs::read(&stderr_path).unwrap_or_default();
        for line in tail(&errors, 60).lines().filter(|l| !l.trim().is_empty()) {
            eprintln!("   ! {line}");
        }
        match status {
            None => eprintln!(
                "   the {name} scenario did not finish within {}s and was stopped",
                SCENARIO_TIMEOUT.as_secs()
            ),
            Some(s) => eprintln!("   the {name} scenario failed ({s})"),
        }
    }
    Ok(ok)
}
