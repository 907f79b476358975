//! `cargo xtask bench [--files N] [--size-kib K] [--concurrency C]`: upload and download
//! throughput and peak memory of both facades against a local `vi-emulator` process.
//!
//! 1. Builds `vi-emulator` and the `bench_transfer` example in release mode.
//! 2. Starts the emulator as its own process (fresh data directory, generated credentials).
//! 3. Generates N distinct PNGs of about K KiB in a fresh directory (DESIGN.md §8: never
//!    reuse a directory where many files were just deleted).
//! 4. For each facade (blocking, then async): creates a dataset, runs `bench_transfer` once
//!    to upload the folder and once to download it into a fresh directory, each as its own
//!    child process so that its peak RSS is its own.
//! 5. Checks every downloaded file against its original (size and hash).
//! 6. Prints a markdown table and writes it, with the machine and the command, to
//!    `target/bench/results.md`.
//!
//! The emulator is killed at the end, on errors too.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use vi_core::ConfigBuilder;

/// The benchmark's options.
struct Options {
    files: u32,
    size_kib: u32,
    concurrency: Option<usize>,
}

/// One `bench_transfer` result line.
struct Row {
    facade: String,
    op: String,
    files: u64,
    bytes: u64,
    seconds: f64,
    peak_rss_kib: Option<u64>,
    failed: u64,
}

/// Runs `cargo xtask bench` with the arguments after `bench`.
pub fn main(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match run(&options, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> &'static str {
    "usage: cargo xtask bench [--files N (2000)] [--size-kib K (8)] [--concurrency C (SDK default)]"
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        files: 2000,
        size_kib: 8,
        concurrency: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag} {v:?}: expected a positive number"))
        };
        match flag.as_str() {
            "--files" => options.files = number(value)? as u32,
            "--size-kib" => options.size_kib = number(value)? as u32,
            "--concurrency" => options.concurrency = Some(number(value)? as usize),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok(options)
}

/// Kills and reaps a child process when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes a directory tree when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(options: &Options, raw_args: &[String]) -> Result<(), String> {
    let root = crate::repo_root();
    let target = crate::target_dir(&root);

    // 1. Release build.
    let cargo = crate::cargo();
    eprintln!("bench: building vi-emulator and bench_transfer (release)…");
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "vi-emulator",
            "--bin",
            "vi-emulator",
            "-p",
            "vi-examples",
            "--example",
            "bench_transfer",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --release failed ({status})"));
    }
    let emulator_bin = target.join("release").join("vi-emulator");
    let driver = target
        .join("release")
        .join("examples")
        .join("bench_transfer");

    // Fresh working directories, removed at the end.
    let work = std::env::temp_dir().join(format!("vi-bench-{}-{}", std::process::id(), nanos()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let _cleanup = RemoveOnDrop(work.clone());
    eprintln!("bench: working in {}", work.display());

    // 2. The emulator, as its own process.
    let mut rng = Rng::new();
    let secret_key = format!("dtvi_{}", rng.alnum(98));
    let organization_id = rng.uuid();
    let mut child = Command::new(&emulator_bin)
        .args(["--port", "0", "--data-dir"])
        .arg(work.join("emulator"))
        .args([
            "--secret-key",
            &secret_key,
            "--organization-id",
            &organization_id,
        ])
        .env_remove("DATATURE_VI_SECRET_KEY")
        .env_remove("DATATURE_VI_ORGANIZATION_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", emulator_bin.display()))?;
    let stdout = child.stdout.take().ok_or("emulator has no stdout")?;
    let emulator = KillOnDrop(child);
    let emulator_pid = emulator.0.id();
    let mut lines = BufReader::new(stdout);
    let mut first = String::new();
    lines
        .read_line(&mut first)
        .map_err(|e| format!("reading the emulator's first line: {e}"))?;
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line from the emulator: {first:?}"))?
        .to_owned();
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while lines.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    eprintln!("bench: emulator (pid {emulator_pid}) at {url}");

    // 3. The images.
    let images = work.join("images");
    eprintln!(
        "bench: generating {} PNGs of about {} KiB…",
        options.files, options.size_kib
    );
    let output = Command::new(&driver)
        .arg("--generate")
        .arg(&images)
        .arg(options.files.to_string())
        .args(["--size-kib", &options.size_kib.to_string()])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", driver.display()))?;
    if !output.status.success() {
        return Err(format!(
            "generating images failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let originals = list_files(&images)?;

    // 4. Both facades.
    let config = ConfigBuilder::new()
        .endpoint(url.as_str())
        .secret_key(secret_key.as_str())
        .organization_id(organization_id.as_str())
        .build_with_env(&|_| None)
        .map_err(|e| format!("client configuration: {e}"))?;
    let client = vi_blocking::Client::from_config(config).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for facade in ["blocking", "async"] {
        let dataset = client
            .datasets()
            .create(format!("bench {facade} {}", options.files))
            .and_then(|d| d.id())
            .map_err(|e| format!("creating the {facade} dataset: {e}"))?;
        let downloads = work.join(format!("downloads-{facade}"));
        for (op, path) in [("upload", &images), ("download", &downloads)] {
            eprintln!("bench: {facade} {op}…");
            let mut command = Command::new(&driver);
            command
                .args([
                    "--facade",
                    facade,
                    "--op",
                    op,
                    "--dataset",
                    dataset.as_str(),
                ])
                .arg("--path")
                .arg(path)
                .env("DATATURE_VI_API_ENDPOINT", &url)
                .env("DATATURE_VI_SECRET_KEY", &secret_key)
                .env("DATATURE_VI_ORGANIZATION_ID", &organization_id)
                .stderr(Stdio::inherit());
            if let Some(c) = options.concurrency {
                command.args(["--concurrency", &c.to_string()]);
            }
            let output = command
                .output()
                .map_err(|e| format!("cannot run {}: {e}", driver.display()))?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            let row = stdout
                .lines()
                .rev()
                .find(|l| l.starts_with('{'))
                .ok_or_else(|| format!("{facade} {op}: no result line ({})", output.status))
                .and_then(|l| parse_row(l).map_err(|e| format!("{facade} {op}: {e}: {l}")))?;
            if !output.status.success() || row.failed != 0 || row.files != u64::from(options.files)
            {
                return Err(format!(
                    "{facade} {op}: {} of {} files failed (expected {} files; exit {})",
                    row.failed, row.files, options.files, output.status
                ));
            }
            rows.push(row);
        }
        // 5. Byte-identical downloads.
        verify(&originals, &downloads.join(dataset.as_str()))
            .map_err(|e| format!("{facade} download does not match the originals: {e}"))?;
        eprintln!(
            "bench: {facade}: {} downloaded files match the originals",
            originals.len()
        );
    }
    let emulator_rss = peak_rss_kib(emulator_pid);
    drop(emulator);

    // 6. Report.
    let table = table(&rows, emulator_rss);
    println!("\n{table}");
    let mut command = String::from("cargo xtask bench");
    for a in raw_args {
        command.push(' ');
        command.push_str(a);
    }
    let report = format!(
        "# Transfer benchmark\n\n\
         Command: `{command}` ({} files of about {} KiB, concurrency {})\n\n\
         {}\n\n{table}\n",
        options.files,
        options.size_kib,
        options
            .concurrency
            .map_or_else(|| "SDK default".to_owned(), |c| c.to_string()),
        machine_info()
    );
    let out_dir = target.join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join("results.md");
    std::fs::write(&out, report).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("bench: wrote {}", out.display());
    Ok(())
}

fn parse_row(line: &str) -> Result<Row, String> {
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

fn table(rows: &[Row], emulator_rss_kib: Option<u64>) -> String {
    let mib = |b: f64| b / (1024.0 * 1024.0);
    let rss = |k: Option<u64>| {
        k.map_or_else(|| "n/a".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
    };
    let mut out = String::from(
        "| facade | op | files | MiB | seconds | files/s | MiB/s | peak RSS MiB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let s = r.seconds.max(1e-9);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.2} | {:.0} | {:.1} | {} |",
            r.facade,
            r.op,
            r.files,
            mib(r.bytes as f64),
            r.seconds,
            r.files as f64 / s,
            mib(r.bytes as f64) / s,
            rss(r.peak_rss_kib)
        );
    }
    let _ = write!(
        out,
        "| emulator (whole run) | serve | | | | | | {} |",
        rss(emulator_rss_kib)
    );
    out
}

/// Every file directly in `dir`, sorted, with its size and hash.
fn list_files(dir: &Path) -> Result<Vec<(String, u64, u64)>, String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let data = std::fs::read(entry.path()).map_err(|e| format!("{name}: {e}"))?;
        files.push((name, data.len() as u64, fnv1a(&data)));
    }
    files.sort();
    Ok(files)
}

fn verify(originals: &[(String, u64, u64)], dir: &Path) -> Result<(), String> {
    let copies = list_files(dir)?;
    if copies.len() != originals.len() {
        return Err(format!(
            "{} files in {}, expected {}",
            copies.len(),
            dir.display(),
            originals.len()
        ));
    }
    let bad: Vec<&str> = originals
        .iter()
        .zip(&copies)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.as_str())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} files differ in name, size or hash (first: {})",
            bad.len(),
            bad[0]
        ))
    }
}

/// FNV-1a, 64 bits: enough to catch a corrupted copy.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `VmHWM` of a process, in KiB (Linux).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
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

fn machine_info() -> String {
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

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A small xorshift generator for credentials (not cryptographic; the emulator is local).
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        Rng((nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn alnum(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| CHARS[(self.next() % CHARS.len() as u64) as usize] as char)
            .collect()
    }

    fn uuid(&mut self) -> String {
        let hex = format!("{:016x}{:016x}", self.next(), self.next());
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }
}
