//! The soak's results: one row per phase (upload or download of one facade), printed as
//! each phase ends and as a Markdown table at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use super::options::Options;
use crate::procs::{EmulatorProcess, peak_rss_kib};

/// One phase (upload or download of one facade) of the table.
pub struct PhaseRow {
    pub facade: String,
    pub phase: &'static str,
    pub files: usize,
    pub rounds: u32,
    pub failed_first: usize,
    pub failed_last: usize,
    pub seconds: f64,
    pub requests: u64,
    pub storage_retries: u64,
    pub faults: u64,
    pub client_rss_kib: u64,
}

impl PhaseRow {
    /// The row's numbers as the table and the progress lines show them, in the table's
    /// order.
    fn cells(&self) -> [String; 11] {
        [
            self.facade.clone(),
            self.phase.to_owned(),
            self.files.to_string(),
            self.rounds.to_string(),
            self.failed_first.to_string(),
            self.failed_last.to_string(),
            format!("{:.1}", self.seconds),
            self.requests.to_string(),
            self.storage_retries.to_string(),
            self.faults.to_string(),
            format!("{:.1}", self.client_rss_kib as f64 / 1024.0),
        ]
    }
}

/// One finished phase, printed at once (a long soak shows its numbers as it goes).
pub fn progress(r: &PhaseRow, emu: &EmulatorProcess) {
    let [
        facade,
        phase,
        files,
        rounds,
        failed_first,
        failed_last,
        seconds,
        requests,
        storage_retries,
        faults,
        client_mib,
    ] = r.cells();
    eprintln!(
        "soak: {facade} {phase} done: {files} files, {rounds} rounds, {failed_first} failed in round 1, {failed_last} at the end, {seconds} s, {requests} requests, {storage_retries} storage retries, {faults} faults, client peak {client_mib} MiB, emulator peak {:.1} MiB",
        peak_rss_kib(emu.child.0.id()).unwrap_or(0) as f64 / 1024.0
    );
}

/// The results as Markdown: the settings, the table of phases, the emulator's memory, the
/// total time, and the most frequent failure reasons.
pub fn render(
    o: &Options,
    rows: &[PhaseRow],
    reasons: &BTreeMap<String, u64>,
    emulator_rss: u64,
    current_rss: u64,
    total_start: Instant,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nsoak: {} files of {} KiB, fault rate {}, seed {}, latency {} ms, bandwidth {} B/s per connection, URL lifetime {} s, expired URLs {}, stall {} ms, client read timeout {} s, {}\n",
        o.files,
        o.size_kib,
        o.fault_rate,
        o.fault_seed,
        o.latency_ms,
        o.bandwidth,
        o.url_ttl_secs,
        o.expired_status,
        o.stall_ms,
        o.read_timeout_secs,
        if o.deferred {
            "deferred verdicts"
        } else {
            "synchronous verdicts"
        }
    );
    let _ = writeln!(
        out,
        "| facade | phase | files | rounds | failed in round 1 | failed at the end | time (s) | requests | storage retries | random faults | client peak RSS (MiB) |"
    );
    let _ = writeln!(
        out,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(out, "| {} |", r.cells().join(" | "));
    }
    let _ = writeln!(
        out,
        "\nemulator peak RSS {:.1} MiB (now {:.1} MiB); total time {:.1} s",
        emulator_rss as f64 / 1024.0,
        current_rss as f64 / 1024.0,
        total_start.elapsed().as_secs_f64()
    );
    if !reasons.is_empty() {
        let _ = writeln!(out, "\nfailure reasons (all rounds, both facades):");
        let mut by_count: Vec<(&String, &u64)> = reasons.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1));
        for (reason, n) in by_count.iter().take(12) {
            let _ = writeln!(out, "  {n:>7}  {reason}");
        }
    }
    out
}
