//! The client half: one upload or download with one facade, run by the soak as its own
//! process (`vi-harness soak-client`, so each peak RSS is its own), and its JSON report.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::phase::Phase;
use crate::procs::peak_rss_kib;

/// Runs one client half of `phase` as its own process and returns its JSON report, which
/// it writes to `out`.
pub fn run_client(phase: &Phase, op: &str, path: &Path, out: &Path) -> Result<Value, String> {
    let Phase {
        o,
        emu,
        bin,
        facade,
        dataset,
        ..
    } = *phase;
    // `VI_SOAK_CLIENT_WRAPPER` (say `heaptrack` or `valgrind --tool=massif`) runs each
    // client half under a profiler; its peak RSS then includes the profiler's own.
    let wrapper = std::env::var("VI_SOAK_CLIENT_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let status = command
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

pub fn strings(v: &Value, key: &str) -> Vec<String> {
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
pub fn pairs(v: &Value, key: &str) -> Vec<(String, String)> {
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
pub fn reason_class(reason: &str) -> String {
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

/// The command line of `vi-harness soak-client`.
pub const CLIENT_USAGE: &str = "usage: vi-harness soak-client --facade blocking|async --op upload|download --dataset ID --path P --out FILE [--read-timeout-secs T]";

/// Runs `vi-harness soak-client --facade F --op upload|download --dataset ID --path P --out FILE
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
    if report.get("peakRssKib").is_none() {
        report["peakRssKib"] = json!(own_peak_rss_kib());
    }
    match std::fs::write(out, report.to_string()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak-client: cannot write {out}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// This process's peak RSS so far. Read as soon as the SDK's call returns, before the
/// report is turned into JSON: that copy of 100,000 names (a `serde_json::Value` tree of
/// about 40 MB) is the harness's, not the SDK's, and it had been counted in the peak.
fn own_peak_rss_kib() -> u64 {
    peak_rss_kib(std::process::id()).unwrap_or(0)
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

/// The upload report as JSON, with the peak RSS read before the JSON is built.
fn upload_json(r: &vi_blocking::UploadReport) -> Value {
    let peak = own_peak_rss_kib();
    json!({
        "peakRssKib": peak,
        "succeeded": r.succeeded.iter().map(|f| f.filename.clone()).collect::<Vec<_>>(),
        "processing": r.processing.iter().map(|f| f.filename.clone()).collect::<Vec<_>>(),
        "failed": r.failed.iter().map(|f| json!([f.filename, f.reason.to_string()])).collect::<Vec<_>>(),
        "skipped": r.skipped.iter().map(|f| json!([f.filename, f.reason.to_string()])).collect::<Vec<_>>(),
    })
}

/// The download report as JSON, with the peak RSS read before the JSON is built.
fn download_json(r: &vi_blocking::DownloadReport) -> Value {
    let peak = own_peak_rss_kib();
    json!({
        "peakRssKib": peak,
        "downloaded": r.downloaded.iter().map(|f| json!([f.asset.to_string(), f.filename, f.path.display().to_string()])).collect::<Vec<_>>(),
        "skipped": r.skipped.iter().map(|f| json!([f.asset.to_string(), f.filename, f.path.display().to_string()])).collect::<Vec<_>>(),
        "failed": r.failed.iter().map(|f| json!([f.asset.to_string(), f.reason.to_string()])).collect::<Vec<_>>(),
        "problems": r.problems,
    })
}
