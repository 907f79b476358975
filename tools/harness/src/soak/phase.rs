//! One phase of the soak, the upload or the download of one facade: what it works with,
//! its rounds of the client half, and the numbers of its row in the results.

use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use super::client::run_client;
use super::emulator::{counter, stats};
use super::options::Options;
use super::table::PhaseRow;
use crate::procs::EmulatorProcess;

/// What the phases of one facade work with.
pub struct Phase<'a> {
    pub o: &'a Options,
    pub emu: &'a EmulatorProcess,
    /// The `xtask` binary, whose `soak-client` runs each round.
    pub bin: &'a Path,
    /// The run's directory: client reports, retry folders, downloads.
    pub work: &'a Path,
    pub facade: &'a str,
    pub dataset: &'a str,
    /// The generated files, the originals.
    pub files_dir: &'a Path,
}

/// A phase under way: its rounds so far, the files left after the first, the client's
/// peak RSS, and the clock and the emulator's counters at its start.
pub struct Rounds<'a> {
    phase: &'a Phase<'a>,
    op: &'static str,
    before: Value,
    start: Instant,
    done: u32,
    failed_first: usize,
    rss: u64,
}

impl<'a> Rounds<'a> {
    /// Starts the phase `op` (`upload` or `download`).
    pub fn start(phase: &'a Phase<'a>, op: &'static str) -> Result<Self, String> {
        Ok(Rounds {
            phase,
            op,
            before: stats(phase.emu)?,
            start: Instant::now(),
            done: 0,
            failed_first: 0,
            rss: 0,
        })
    }

    /// Whether `--rounds` allows another round.
    pub fn another(&self) -> bool {
        self.done < self.phase.o.rounds
    }

    /// Rounds run so far.
    pub fn done(&self) -> u32 {
        self.done
    }

    /// Runs the next round's client half on `path` and returns its report (kept as
    /// `<facade>-<op>-<round>.json`).
    pub fn run_round(&mut self, path: &Path) -> Result<Value, String> {
        self.done += 1;
        let out = self.phase.work.join(format!(
            "{}-{}-{}.json",
            self.phase.facade, self.op, self.done
        ));
        let report = run_client(self.phase, self.op, path, &out)?;
        self.rss = self.rss.max(report["peakRssKib"].as_u64().unwrap_or(0));
        Ok(report)
    }

    /// Notes the files the round just run leaves to do: after the first round, the
    /// table's "failed in round 1".
    pub fn left(&mut self, files: usize) {
        if self.done == 1 {
            self.failed_first = files;
        }
    }

    /// The phase's row: `files` in all, `failed_last` still failed; `storage` is the
    /// emulator's counter of the phase's storage requests (beyond one per file, retries).
    pub fn row(self, files: usize, failed_last: usize, storage: &str) -> Result<PhaseRow, String> {
        let after = stats(self.phase.emu)?;
        let delta = |key: &str| counter(&after, key) - counter(&self.before, key);
        Ok(PhaseRow {
            facade: self.phase.facade.to_owned(),
            phase: self.op,
            files,
            rounds: self.done,
            failed_first: self.failed_first,
            failed_last,
            seconds: self.start.elapsed().as_secs_f64(),
            requests: delta("requests"),
            storage_retries: delta(storage).saturating_sub(files as u64),
            faults: delta("randomFaults"),
            client_rss_kib: self.rss,
        })
    }
}
