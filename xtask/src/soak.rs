//! `cargo xtask soak [--files N] [...]`: both facades move N files through a harsh
//! emulator (random faults, latency, a bandwidth limit, short URL lifetimes) and every
//! byte is checked.
//!
//! 1. Builds `vi-emulator` and `xtask` in release mode (`--debug`: debug, as CI builds
//!    one profile), the client halves run as `target/<profile>/xtask soak-client …`,
//!    each its own process, so each peak RSS is its own.
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::procs::{EmulatorProcess, RemoveOnDrop, current_rss_kib, peak_rss_kib, status_kib};

/// The soak's options, with their defaults.
#[derive(Debug, Clone)]
struct Options {
    files: u32,
    size_kib: u32,
    fault_rate: f64,
    fault_seed: u64,
    latency_ms: u64,
    bandwidth: u64,
    url_ttl_secs: u64,
    expired_status: u16,
    stall_ms: u64,
    read_timeout_secs: u64,
    rounds: u32,
    facades: Vec<String>,
    deferred: bool,
    /// Use debug builds (CI builds one profile only).
    debug: bool,
    /// Transfers at once per client (`None`: the SDK's default).
    concurrency: Option<u64>,
    /// The emulator's `--missing-file-timeout-secs`: idle time after which the files
    /// of a session that never arrived fail with ETIMEOUT.
    missing_file_timeout_secs: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            files: 20_000,
            size_kib: 2,
            fault_rate: 0.2,
            fault_seed: 1,
            latency_ms: 20,
            bandwidth: 1_000_000,
            url_ttl_secs: 60,
            expired_status: 403,
            stall_ms: 10_000,
            read_timeout_secs: 5,
            rounds: 3,
            facades: vec!["blocking".into(), "async".into()],
            deferred: false,
            debug: false,
            concurrency: None,
            missing_file_timeout_secs: 600,
        }
    }
}

fn usage() -> &'static str {
    "usage: cargo xtask soak [--files N (20000)] [--size-kib K (2)] [--fault-rate P (0.2)]\n\
     \x20      [--fault-seed S (1)] [--latency-ms MS (20)] [--bandwidth BYTES_PER_SEC (1000000)]\n\
     \x20      [--url-ttl-secs T (60)] [--expired-status 403|400] [--stall-ms MS (10000)]\n\
     \x20      [--read-timeout-secs T (5)] [--rounds R (3)] [--facades blocking,async]\n\
     \x20      [--verdicts sync|deferred] [--concurrency C]\n\
     \x20      [--missing-file-timeout-secs T (600)] [--debug]"
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--debug" {
            o.debug = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} {v:?}: expected a number"))
        };
        match flag.as_str() {
            "--files" => o.files = u32::try_from(num(value)?.max(1)).unwrap_or(u32::MAX),
            "--size-kib" => o.size_kib = u32::try_from(num(value)?.max(1)).unwrap_or(1024),
            "--fault-rate" => {
                o.fault_rate = value
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| format!("--fault-rate {value:?}: expected 0 to 1"))?;
            }
            "--fault-seed" => o.fault_seed = num(value)?,
            "--latency-ms" => o.latency_ms = num(value)?,
            "--bandwidth" => o.bandwidth = num(value)?.max(1),
            "--url-ttl-secs" => o.url_ttl_secs = num(value)?,
            "--expired-status" => {
                o.expired_status = match value.as_str() {
                    "403" => 403,
                    "400" => 400,
                    _ => return Err("--expired-status: 403 or 400".into()),
                }
            }
            "--stall-ms" => o.stall_ms = num(value)?,
            "--read-timeout-secs" => o.read_timeout_secs = num(value)?.max(1),
            "--rounds" => o.rounds = u32::try_from(num(value)?.max(1)).unwrap_or(1),
            "--facades" => {
                o.facades = value.split(',').map(str::to_owned).collect();
                if o.facades.iter().any(|f| f != "blocking" && f != "async") {
                    return Err("--facades: blocking, async or both".into());
                }
            }
            "--verdicts" => o.deferred = value == "deferred",
            "--concurrency" => o.concurrency = Some(num(value)?.max(1)),
            "--missing-file-timeout-secs" => o.missing_file_timeout_secs = num(value)?.max(1),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok(o)
}

/// Runs `cargo xtask soak` with the arguments after `soak`.
pub fn main(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("soak: {e}\n\n{}", usage());
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

/// One phase (upload or download of one facade) of the table.
struct PhaseRow {
    facade: String,
    phase: &'static str,
    files: usize,
    rounds: u32,
    failed_first: usize,
    failed_last: usize,
    seconds: f64,
    requests: u64,
    storage_retries: u64,
    faults: u64,
    client_rss_kib: u64,
}

fn run(o: &Options) -> Result<bool, String> {
    let root = crate::repo_root();
    let target = crate::target_dir(&root);
    let cargo = crate::cargo();
    let profile = if o.debug { "debug" } else { "release" };
    eprintln!("soak: building vi-emulator and xtask ({profile})…");
    let mut build = vec![
        "build",
        "--quiet",
        "-p",
        "vi-emulator",
        "--bin",
        "vi-emulator",
        "-p",
        "xtask",
        "--bin",
        "xtask",
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
    let client_bin = target.join(profile).join("xtask");

    // A fresh directory per run (DESIGN.md §8).
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let work = target.join("soak").join(format!("run-{stamp}"));
    let files_dir = work.join("files");
    std::fs::create_dir_all(&files_dir).map_err(|e| format!("{}: {e}", files_dir.display()))?;
    let mut cleanup = RemoveOnDrop(Some(work.clone()));
    eprintln!("soak: generating {} files of {} KiB…", o.files, o.size_kib);
    let names = generate(&files_dir, o.files, o.size_kib)?;

    let emu = start_emulator(&emulator_bin, &work.join("emulator"), o)?;
    eprintln!("soak: emulator at {} (pid {})", emu.url, emu.child.0.id());
    let mut rows = Vec::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut ok = true;
    let total_start = Instant::now();
    for facade in &o.facades {
        let dataset = create_dataset(&emu, facade)?;
        eprintln!("soak: {facade}: dataset {dataset}");
        let (row, good, not_uploaded) = upload_phase(
            o,
            &emu,
            &client_bin,
            &work,
            facade,
            &dataset,
            &files_dir,
            &names,
            &mut reasons,
        )?;
        ok &= good;
        progress(&row, &emu);
        rows.push(row);
        // The dataset holds what was uploaded; that is what the download must bring.
        let uploaded: Vec<String> = names
            .iter()
            .filter(|n| not_uploaded.binary_search(n).is_err())
            .cloned()
            .collect();
        let (row, good) = download_phase(
            o,
            &emu,
            &client_bin,
            &work,
            facade,
            &dataset,
            &files_dir,
            &uploaded,
            &mut reasons,
        )?;
        ok &= good;
        progress(&row, &emu);
        rows.push(row);
    }
    let emulator_rss = peak_rss_kib(emu.child.0.id()).unwrap_or(0);
    let current_rss = current_rss_kib(emu.child.0.id()).unwrap_or(0);
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
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {} | {} | {} | {:.1} |",
            r.facade,
            r.phase,
            r.files,
            r.rounds,
            r.failed_first,
            r.failed_last,
            r.seconds,
            r.requests,
            r.storage_retries,
            r.faults,
            r.client_rss_kib as f64 / 1024.0
        );
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

/// One finished phase, printed at once (a long soak shows its numbers as it goes).
fn progress(r: &PhaseRow, emu: &EmulatorProcess) {
    eprintln!(
        "soak: {} {} done: {} files, {} rounds, {} failed in round 1, {} at the end, {:.1} s, {} requests, {} storage retries, {} faults, client peak {:.1} MiB, emulator peak {:.1} MiB",
        r.facade,
        r.phase,
        r.files,
        r.rounds,
        r.failed_first,
        r.failed_last,
        r.seconds,
        r.requests,
        r.storage_retries,
        r.faults,
        r.client_rss_kib as f64 / 1024.0,
        peak_rss_kib(emu.child.0.id()).unwrap_or(0) as f64 / 1024.0
    );
}

fn start_emulator(bin: &Path, data: &Path, o: &Options) -> Result<EmulatorProcess, String> {
    let mut args: Vec<String> = vec![
        "--fault-rate".into(),
        o.fault_rate.to_string(),
        "--fault-seed".into(),
        o.fault_seed.to_string(),
        "--latency-ms".into(),
        o.latency_ms.to_string(),
        "--bandwidth".into(),
        o.bandwidth.to_string(),
        "--signed-url-ttl-secs".into(),
        o.url_ttl_secs.to_string(),
        "--expired-status".into(),
        o.expired_status.to_string(),
        "--fault-stall-ms".into(),
        o.stall_ms.to_string(),
        // Files whose uploads the client gave up on fail after this idle time, which
        // also ends the client's wait for their session.
        "--missing-file-timeout-secs".into(),
        o.missing_file_timeout_secs.to_string(),
    ];
    if o.deferred {
        args.extend(["--verdicts".into(), "deferred".into()]);
    }
    crate::procs::start_emulator(bin, data, &args)
}

fn client_config(
    emu: &EmulatorProcess,
    read_timeout: Duration,
) -> Result<vi_blocking::Config, String> {
    vi_core::ConfigBuilder::default()
        .endpoint(emu.url.clone())
        .secret_key(emu.key.clone())
        .organization_id(emu.org.clone())
        .read_timeout(read_timeout)
        .build()
        .map_err(|e| e.to_string())
}

/// Creates the facade's dataset; a POST that meets a random fault is not retried by
/// the SDK (spec §10.1), so the soak tries a few times.
fn create_dataset(emu: &EmulatorProcess, facade: &str) -> Result<String, String> {
    let client = vi_blocking::Client::from_config(client_config(emu, Duration::from_secs(5))?)
        .map_err(|e| e.to_string())?;
    let mut last = String::new();
    for _ in 0..20 {
        match client.datasets().create(format!("soak {facade}").as_str()) {
            Ok(ds) => return ds.id().map(|id| id.to_string()).map_err(|e| e.to_string()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("cannot create a dataset: {last}"))
}

/// `GET /_emulator/stats` over a plain socket.
fn stats(emu: &EmulatorProcess) -> Result<Value, String> {
    let addr = emu.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /_emulator/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).map_err(|e| format!("stats: {e}: {body:?}"))
}

fn counter(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// Runs one client half as its own process and returns its JSON report.
#[allow(clippy::too_many_arguments)]
fn run_client(
    bin: &Path,
    emu: &EmulatorProcess,
    o: &Options,
    facade: &str,
    op: &str,
    dataset: &str,
    path: &Path,
    out: &Path,
) -> Result<Value, String> {
    let status = Command::new(bin)
        .args([
            "soak-client",
            "--facade",
            facade,
            "--op",
            op,
            "--dataset",
            dataset,
            "--path",
            &path.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--read-timeout-secs",
            &o.read_timeout_secs.to_string(),
        ])
        .args(
            o.concurrency
                .map(|c| vec!["--concurrency".to_owned(), c.to_string()])
                .unwrap_or_default(),
        )
        .env("DATATURE_VI_API_ENDPOINT", &emu.url)
        .env("DATATURE_VI_SECRET_KEY", &emu.key)
        .env("DATATURE_VI_ORGANIZATION_ID", &emu.org)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run the client: {e}"))?;
    let text = std::fs::read_to_string(out)
        .map_err(|e| format!("the {facade} {op} client left no report ({status}): {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("bad client report: {e}"))
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `[[name, reason], …]` of a report list.
fn pairs(v: &Value, key: &str) -> Vec<(String, String)> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x[0].as_str().unwrap_or("").to_owned(),
                        x[1].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A failure reason without what varies from file to file (names, numbers).
fn reason_class(reason: &str) -> String {
    let mut out = String::new();
    let mut last_digit = false;
    for c in reason.chars().take(140) {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn upload_phase(
    o: &Options,
    emu: &EmulatorProcess,
    bin: &Path,
    work: &Path,
    facade: &str,
    dataset: &str,
    files_dir: &Path,
    names: &[String],
    reasons: &mut BTreeMap<String, u64>,
) -> Result<(PhaseRow, bool, Vec<String>), String> {
    let before = stats(emu)?;
    let start = Instant::now();
    let mut ok = true;
    let mut pending: Vec<String> = names.to_vec();
    let mut input = files_dir.to_path_buf();
    let mut failed_first = 0;
    let mut rss = 0;
    let mut rounds = 0;
    while !pending.is_empty() && rounds < o.rounds {
        rounds += 1;
        let report = run_client(
            bin,
            emu,
            o,
            facade,
            "upload",
            dataset,
            &input,
            &work.join(format!("{facade}-upload-{rounds}.json")),
        )?;
        rss = rss.max(report["peakRssKib"].as_u64().unwrap_or(0));
        let expected: BTreeSet<&str> = pending.iter().map(String::as_str).collect();
        let next: Vec<String> = if let Some(error) = report["error"].as_str() {
            *reasons
                .entry(format!("upload call error: {}", reason_class(error)))
                .or_default() += 1;
            eprintln!("soak: {facade} upload round {rounds}: the call failed: {error}");
            pending.clone()
        } else {
            let succeeded = strings(&report, "succeeded");
            let processing = strings(&report, "processing");
            let failed = pairs(&report, "failed");
            let skipped = pairs(&report, "skipped");
            let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
            for n in succeeded
                .iter()
                .chain(&processing)
                .chain(failed.iter().map(|(n, _)| n))
                .chain(skipped.iter().map(|(n, _)| n))
            {
                *seen.entry(n.as_str()).or_default() += 1;
            }
            let twice: Vec<&&str> = seen
                .iter()
                .filter(|(_, c)| **c > 1)
                .map(|(n, _)| n)
                .collect();
            let missing: Vec<&&str> = expected
                .iter()
                .filter(|n| !seen.contains_key(**n))
                .collect();
            let extra: Vec<&&str> = seen.keys().filter(|n| !expected.contains(**n)).collect();
            if !twice.is_empty() || !missing.is_empty() || !extra.is_empty() {
                ok = false;
                eprintln!(
                    "soak: {facade} upload round {rounds}: the report does not account for every file once: {} twice, {} missing, {} unexpected (e.g. {:?} {:?} {:?})",
                    twice.len(),
                    missing.len(),
                    extra.len(),
                    twice.first(),
                    missing.first(),
                    extra.first()
                );
            }
            for (_, reason) in failed.iter().chain(&skipped) {
                *reasons
                    .entry(format!("upload: {}", reason_class(reason)))
                    .or_default() += 1;
            }
            let mut again: Vec<String> = failed.into_iter().map(|(n, _)| n).collect();
            again.extend(skipped.into_iter().map(|(n, _)| n));
            again.extend(processing);
            again.extend(missing.into_iter().map(|n| (**n).to_owned()));
            again.sort();
            again.dedup();
            again
        };
        if rounds == 1 {
            failed_first = next.len();
        }
        eprintln!(
            "soak: {facade} upload round {rounds}: {} of {} files to do again",
            next.len(),
            pending.len()
        );
        pending = next;
        if !pending.is_empty() {
            // The next round uploads only these files: hard links in a fresh folder.
            input = work.join(format!("{facade}-retry-{rounds}"));
            std::fs::create_dir_all(&input).map_err(|e| e.to_string())?;
            for name in &pending {
                std::fs::hard_link(files_dir.join(name), input.join(name))
                    .map_err(|e| format!("link {name}: {e}"))?;
            }
        }
    }
    if !pending.is_empty() {
        ok = false;
        eprintln!(
            "soak: {facade}: {} files still not uploaded after {rounds} rounds",
            pending.len()
        );
    }
    let after = stats(emu)?;
    let uploads = counter(&after, "uploadRequests") - counter(&before, "uploadRequests");
    Ok((
        PhaseRow {
            facade: facade.to_owned(),
            phase: "upload",
            files: names.len(),
            rounds,
            failed_first,
            failed_last: pending.len(),
            seconds: start.elapsed().as_secs_f64(),
            requests: counter(&after, "requests") - counter(&before, "requests"),
            storage_retries: uploads.saturating_sub(names.len() as u64),
            faults: counter(&after, "randomFaults") - counter(&before, "randomFaults"),
            client_rss_kib: rss,
        },
        ok,
        pending,
    ))
}

#[allow(clippy::too_many_arguments)]
fn download_phase(
    o: &Options,
    emu: &EmulatorProcess,
    bin: &Path,
    work: &Path,
    facade: &str,
    dataset: &str,
    files_dir: &Path,
    names: &[String],
    reasons: &mut BTreeMap<String, u64>,
) -> Result<(PhaseRow, bool), String> {
    let before = stats(emu)?;
    let start = Instant::now();
    let dir = work.join(format!("{facade}-download"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut ok = true;
    let mut paths: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut failed_first = 0;
    let mut failed_now = names.len();
    let mut rss = 0;
    let mut rounds = 0;
    while failed_now > 0 && rounds < o.rounds {
        rounds += 1;
        let report = run_client(
            bin,
            emu,
            o,
            facade,
            "download",
            dataset,
            &dir,
            &work.join(format!("{facade}-download-{rounds}.json")),
        )?;
        rss = rss.max(report["peakRssKib"].as_u64().unwrap_or(0));
        if let Some(error) = report["error"].as_str() {
            *reasons
                .entry(format!("download call error: {}", reason_class(error)))
                .or_default() += 1;
            eprintln!("soak: {facade} download round {rounds}: the call failed: {error}");
            if rounds == 1 {
                failed_first = names.len();
            }
            continue;
        }
        // Every asset once: `[asset, filename, path]` entries and `[asset, reason]`.
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        let mut failed = 0;
        for key in ["downloaded", "skipped"] {
            for entry in report[key].as_array().into_iter().flatten() {
                let asset = entry[0].as_str().unwrap_or("").to_owned();
                *seen.entry(asset).or_default() += 1;
                paths.insert(
                    entry[1].as_str().unwrap_or("").to_owned(),
                    PathBuf::from(entry[2].as_str().unwrap_or("")),
                );
            }
        }
        for (asset, reason) in pairs(&report, "failed") {
            *seen.entry(asset).or_default() += 1;
            *reasons
                .entry(format!("download: {}", reason_class(&reason)))
                .or_default() += 1;
            failed += 1;
        }
        for problem in strings(&report, "problems") {
            *reasons
                .entry(format!("download problem: {}", reason_class(&problem)))
                .or_default() += 1;
        }
        let twice = seen.values().filter(|c| **c > 1).count();
        if twice > 0 || seen.len() != names.len() {
            ok = false;
            eprintln!(
                "soak: {facade} download round {rounds}: the report names {} assets ({} twice) for {} files",
                seen.len(),
                twice,
                names.len()
            );
        }
        failed_now = failed + names.len().saturating_sub(seen.len());
        if rounds == 1 {
            failed_first = failed_now;
        }
        eprintln!("soak: {facade} download round {rounds}: {failed_now} assets to do again");
    }
    if failed_now > 0 {
        ok = false;
        eprintln!("soak: {facade}: {failed_now} assets still not downloaded after {rounds} rounds");
    }
    // Byte-for-byte comparison of every file.
    let mut differing = 0;
    let mut absent = 0;
    for name in names {
        let Some(path) = paths.get(name) else {
            absent += 1;
            continue;
        };
        let original = std::fs::read(files_dir.join(name)).map_err(|e| e.to_string())?;
        match std::fs::read(path) {
            Ok(copy) if copy == original => {}
            Ok(_) => differing += 1,
            Err(_) => absent += 1,
        }
    }
    if differing > 0 || absent > 0 {
        ok = false;
        eprintln!(
            "soak: {facade}: {differing} downloaded files differ from their originals, {absent} are absent"
        );
    } else {
        eprintln!("soak: {facade}: all {} files identical", names.len());
    }
    let after = stats(emu)?;
    let downloads = counter(&after, "downloadRequests") - counter(&before, "downloadRequests");
    Ok((
        PhaseRow {
            facade: facade.to_owned(),
            phase: "download",
            files: names.len(),
            rounds,
            failed_first,
            failed_last: failed_now,
            seconds: start.elapsed().as_secs_f64(),
            requests: counter(&after, "requests") - counter(&before, "requests"),
            storage_retries: downloads.saturating_sub(names.len() as u64),
            faults: counter(&after, "randomFaults") - counter(&before, "randomFaults"),
            client_rss_kib: rss,
        },
        ok,
    ))
}

/// Writes `count` distinct PNG files of about `size_kib` KiB: a valid signature and
/// header (what ingestion reads) followed by an ancillary chunk of noise.
fn generate(dir: &Path, count: u32, size_kib: u32) -> Result<Vec<String>, String> {
    let mut names = Vec::with_capacity(count as usize);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let payload = (size_kib as usize * 1024).saturating_sub(64).max(16);
    for i in 0..count {
        let name = format!("soak-{i:06}.png");
        let mut png = Vec::with_capacity(payload + 64);
        png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&(8 + i % 64).to_be_bytes());
        ihdr.extend_from_slice(&(8 + i / 64 % 64).to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        let mut noise = Vec::with_capacity(payload);
        while noise.len() < payload {
            // xorshift64*: distinct, incompressible bytes.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            noise.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        noise.truncate(payload);
        chunk(&mut png, b"soAk", &noise);
        chunk(&mut png, b"IEND", &[]);
        std::fs::write(dir.join(&name), &png).map_err(|e| format!("{name}: {e}"))?;
        names.push(name);
    }
    Ok(names)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = 0xFFFF_FFFFu32;
    for &b in kind.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_be_bytes());
}

// ---------------------------------------------------------------------------------
// The client half: `xtask soak-client`, one upload or download with one facade.

/// Runs `xtask soak-client --facade F --op upload|download --dataset ID --path P --out FILE
/// [--read-timeout-secs T]` and writes a JSON report to FILE (also when the call fails).
pub fn client_main(args: &[String]) -> ExitCode {
    let mut map: BTreeMap<&str, &str> = BTreeMap::new();
    let mut it = args.iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        map.insert(k.trim_start_matches("--"), v.as_str());
    }
    let (Some(facade), Some(op), Some(dataset), Some(path), Some(out)) = (
        map.get("facade"),
        map.get("op"),
        map.get("dataset"),
        map.get("path"),
        map.get("out"),
    ) else {
        eprintln!("soak-client: --facade, --op, --dataset, --path and --out are required");
        return ExitCode::from(2);
    };
    let timeout = map
        .get("read-timeout-secs")
        .and_then(|t| t.parse().ok())
        .unwrap_or(5u64);
    let concurrency: Option<usize> = map.get("concurrency").and_then(|c| c.parse().ok());
    let start = Instant::now();
    let mut report = match client_run(facade, op, dataset, Path::new(path), timeout, concurrency) {
        Ok(v) => v,
        Err(e) => json!({"error": e}),
    };
    report["seconds"] = json!(start.elapsed().as_secs_f64());
    report["peakRssKib"] = json!(status_kib("self", "VmHWM:").unwrap_or(0));
    match std::fs::write(out, report.to_string()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak-client: cannot write {out}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn client_run(
    facade: &str,
    op: &str,
    dataset: &str,
    path: &Path,
    timeout: u64,
    concurrency: Option<usize>,
) -> Result<Value, String> {
    let upload_options = || match concurrency {
        Some(c) => vi_blocking::UploadOptions::new().concurrency(c),
        None => vi_blocking::UploadOptions::new(),
    };
    let download_options = || match concurrency {
        Some(c) => vi_blocking::DownloadOptions::new().concurrency(c),
        None => vi_blocking::DownloadOptions::new(),
    };
    let config = vi_core::ConfigBuilder::default()
        .read_timeout(Duration::from_secs(timeout))
        .build()
        .map_err(|e| e.to_string())?;
    let dataset = vi_core::DatasetId::new(dataset).map_err(|e| e.to_string())?;
    match (facade, op) {
        ("blocking", "upload") => {
            let client = vi_blocking::Client::from_config(config).map_err(|e| e.to_string())?;
            let report = client
                .assets()
                .upload(&dataset, path, upload_options())
                .map_err(|e| e.to_string())?;
            Ok(upload_json(&report))
        }
        ("blocking", "download") => {
            let client = vi_blocking::Client::from_config(config).map_err(|e| e.to_string())?;
            let report = client
                .assets()
                .download(&dataset, path, download_options())
                .map_err(|e| e.to_string())?;
            Ok(download_json(&report))
        }
        ("async", op) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let client = vi_async::Client::from_config(config).map_err(|e| e.to_string())?;
                if op == "upload" {
                    let report = client
                        .assets()
                        .upload(&dataset, path, upload_options())
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(upload_json(&report))
                } else {
                    let report = client
                        .assets()
                        .download(&dataset, path, download_options())
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(download_json(&report))
                }
            })
        }
        _ => Err(format!("unknown facade/op {facade}/{op}")),
    }
}

fn upload_json(r: &vi_blocking::UploadReport) -> Value {
    json!({
        "succeeded": r.succeeded.iter().map(|f| f.filename.clone()).collect::<Vec<_>>(),
        "processing": r.processing.iter().map(|f| f.filename.clone()).collect::<Vec<_>>(),
        "failed": r.failed.iter().map(|f| json!([f.filename, f.reason.to_string()])).collect::<Vec<_>>(),
        "skipped": r.skipped.iter().map(|f| json!([f.filename, f.reason.to_string()])).collect::<Vec<_>>(),
    })
}

fn download_json(r: &vi_blocking::DownloadReport) -> Value {
    json!({
        "downloaded": r.downloaded.iter().map(|f| json!([f.asset.to_string(), f.filename, f.path.display().to_string()])).collect::<Vec<_>>(),
        "skipped": r.skipped.iter().map(|f| json!([f.asset.to_string(), f.filename, f.path.display().to_string()])).collect::<Vec<_>>(),
        "failed": r.failed.iter().map(|f| json!([f.asset.to_string(), f.reason.to_string()])).collect::<Vec<_>>(),
        "problems": r.problems,
    })
}
