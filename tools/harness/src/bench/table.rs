//! The benchmark's results: one row per client and operation, the markdown table of a
//! case with its ratios, and the machine line of the report.

use std::fmt::Write as _;
use std::process::Command;

/// One measured transfer: a client (`blocking`, `async`, `python`, `curl`) moving a
/// case's files one way.
#[derive(Clone, Debug)]
pub(super) struct Row {
    /// The client.
    pub(super) facade: String,
    /// `upload` or `download`.
    pub(super) op: String,
    /// Files the transfer was asked to move.
    pub(super) files: u64,
    /// Bytes moved.
    pub(super) bytes: u64,
    /// Wall-clock seconds of the transfer.
    pub(super) seconds: f64,
    /// The client process's peak resident set size, when measurable.
    pub(super) peak_rss_kib: Option<u64>,
    /// Files that did not make it.
    pub(super) failed: u64,
}

/// Reads one JSON result line of `bench_transfer` or of the Python driver (same shape).
pub(super) fn parse_row(line: &str) -> Result<Row, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let text = |k: &str| v[k].as_str().map(str::to_owned).ok_or(format!("no {k}"));
    let number = |k: &str| v[k].as_u64().ok_or(format!("no {k}"));
    Ok(Row {
        facade: text("facade")?,
        op: text("op")?,
        files: number("files")?,
        bytes: number("bytes")?,
        seconds: v["seconds"].as_f64().ok_or("no seconds")?,
        peak_rss_kib: v["peak_rss_kib"].as_u64(),
        failed: number("failed")?,
    })
}

/// The seconds of `facade`'s `op`, when it ran.
fn seconds_of(rows: &[Row], facade: &str, op: &str) -> Option<f64> {
    rows.iter()
        .find(|r| r.facade == facade && r.op == op)
        .map(|r| r.seconds.max(1e-9))
}

/// `reference / seconds` as a ratio cell (`—` when there is no reference).
fn ratio(reference: Option<f64>, seconds: f64, rust_row: bool) -> String {
    match reference {
        Some(r) if rust_row => format!("{:.2}×", r / seconds.max(1e-9)),
        _ => "—".to_owned(),
    }
}

/// The markdown table of one case: per row seconds, files/s, MB/s (10^6 bytes), peak RSS,
/// and for the Rust facades the speed-up over the Python client (its seconds over
/// theirs) and the rate relative to the raw client (curl's seconds over theirs; 1.00×
/// means as fast as curl).
pub(super) fn table(rows: &[Row], emulator_rss_kib: Option<u64>) -> String {
    let rss = |k: Option<u64>| {
        k.map_or_else(|| "n/a".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
    };
    let mut out = String::from(
        "| client | op | files | MB | seconds | files/s | MB/s | peak RSS MiB | Rust/Python speed-up | Rust/raw rate |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let s = r.seconds.max(1e-9);
        let mb = r.bytes as f64 / 1e6;
        let rust = r.facade == "blocking" || r.facade == "async";
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.2} | {:.0} | {:.1} | {} | {} | {} |",
            r.facade,
            r.op,
            r.files,
            mb,
            r.seconds,
            r.files as f64 / s,
            mb / s,
            rss(r.peak_rss_kib),
            ratio(seconds_of(rows, "python", &r.op), s, rust),
            ratio(seconds_of(rows, "curl", &r.op), s, rust),
        );
    }
    let _ = write!(
        out,
        "| emulator (whole case) | serve | | | | | | {} | | |",
        rss(emulator_rss_kib)
    );
    out
}

/// The issue's goals, checked against one case's rows: on a shaped link uploads at least
/// 10× and downloads at least 5× the Python client's speed; on loopback downloads at
/// least 90% of the raw client's rate. One line per goal that this case can check.
pub(super) fn goals(rows: &[Row], shaped: bool) -> String {
    let mut out = String::new();
    let checks: &[(&str, &str, f64, &str)] = if shaped {
        &[
            ("upload", "python", 10.0, "uploads ≥ 10× the Python client"),
            (
                "download",
                "python",
                5.0,
                "downloads ≥ 5× the Python client",
            ),
        ]
    } else {
        &[("download", "curl", 0.9, "downloads ≥ 90% of curl's rate")]
    };
    for (op, reference, goal, name) in checks {
        let Some(base) = seconds_of(rows, reference, op) else {
            continue;
        };
        let parts: Vec<String> = ["blocking", "async"]
            .iter()
            .filter_map(|f| {
                let r = base / seconds_of(rows, f, op)?;
                let verdict = if r >= *goal { "met" } else { "NOT met" };
                Some(format!("{f} {r:.2}× ({verdict})"))
            })
            .collect();
        let _ = writeln!(out, "- Goal: {name}: {}", parts.join(", "));
    }
    out
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `curl X.Y.Z` from `curl --version`, or `None` when curl cannot be run.
pub(super) fn curl_version() -> Option<String> {
    let v = command_line("curl", &["--version"]);
    (v != "unknown").then(|| v.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
}

/// One line naming the machine: cores, CPU, memory, rustc, kernel and the date.
pub(super) fn machine_info() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |k| format!("{:.1} GiB", k as f64 / 1048576.0),
        );
    format!(
        "Machine: `nproc` = {}, {cpu}, {memory} RAM; {}; {}; date {}",
        command_line("nproc", &[]),
        command_line("rustc", &["--version"]),
        command_line("uname", &["-sr"]),
        command_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(facade: &str, op: &str, seconds: f64) -> Row {
        Row {
            facade: facade.to_owned(),
            op: op.to_owned(),
            files: 10,
            bytes: 1_000_000,
            seconds,
            peak_rss_kib: Some(2048),
            failed: 0,
        }
    }

    #[test]
    fn ratios_are_reference_seconds_over_rust_seconds() {
        let rows = [
            row("blocking", "download", 1.0),
            row("python", "download", 4.0),
            row("curl", "download", 0.9),
            row("curl", "upload", 2.0),
        ];
        let t = table(&rows, None);
        let blocking = t.lines().find(|l| l.starts_with("| blocking")).unwrap();
        assert!(blocking.ends_with("| 4.00× | 0.90× |"), "{blocking}");
        let python = t.lines().find(|l| l.starts_with("| python")).unwrap();
        assert!(python.ends_with("| — | — |"), "{python}");
        assert!(goals(&rows, false).contains("blocking 0.90× (met)"));
        assert!(goals(&rows, true).contains("blocking 4.00× (NOT met)"));
    }

    #[test]
    fn parses_a_driver_line() {
        let r = parse_row(
            r#"{"facade":"python","op":"upload","files":3,"bytes":30,"seconds":0.5,"peak_rss_kib":null,"succeeded":3,"failed":0}"#,
        )
        .unwrap();
        assert_eq!(
            (r.facade.as_str(), r.files, r.peak_rss_kib),
            ("python", 3, None)
        );
    }
}
