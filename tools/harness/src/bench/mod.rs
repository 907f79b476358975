//! `cargo xtask bench`: upload and download speed and peak memory of both facades, the
//! official Python client and a raw client (curl), on the same files, against a local
//! `vi-emulator` process on loopback or on a shaped link.
//!
//! 1. Builds `vi-emulator` and the `bench_transfer` example in release mode, and prepares
//!    the official client (vi-sdk, pinned) in `target/interop-venv` as `cargo xtask
//!    interop` does ([`python`]).
//! 2. Generates N distinct PNGs of about K KiB in a fresh directory under `target/bench/`
//!    (a directory where many files were just deleted lists and fills slower); every
//!    case with the same N and K uses the same files.
//! 3. Per case: starts an emulator process (fresh data directory, generated credentials,
//!    `--latency-ms` and `--bandwidth` when shaped), then per client a fresh dataset:
//!    blocking and async through `bench_transfer`, Python through `official_client.py`,
//!    each upload and download its own child process so that its peak RSS is its own;
//!    curl uploads and downloads its own dataset on the same signed URLs ([`raw`]).
//! 4. Checks every downloaded file of every client against its original ([`check`]).
//! 5. Prints one markdown table per case with the ratios ([`table`]) and appends them,
//!    with the command and the machine, to `target/bench/results.md`.
//!
//! `--suite` runs the matrix of issue 11: {1,000 images of 8 KiB, 100 images of 2 MiB} ×
//! {loopback, shaped: 50 ms before every response head and 2,000,000 B/s per connection}.
//! `--resume` measures something else: `dtvi assets upload --skip-existing` resuming an
//! upload of N files of which P% are already in the dataset, against a full re-upload
//! (time, requests per route, peak RSS; [`resume`]).
//! Emulators are killed and the work directory removed at the end, on errors too.

mod check;
mod python;
mod raw;
mod resume;
mod table;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::procs::{EmulatorProcess, RemoveOnDrop, peak_rss_kib, start_emulator};
use check::{FileSum, list_files, verify};
use table::{Row, parse_row};

/// The shaped link of `--suite`: latency before every response head, in milliseconds.
const SHAPED_LATENCY_MS: u64 = 50;
/// The shaped link of `--suite`: bytes per second per connection (storage bodies).
const SHAPED_BANDWIDTH: u64 = 2_000_000;

/// Whether an optional client (Python, curl) runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// When it can: a plain message and no column when it cannot.
    Auto,
    /// Asked for: the run fails when it cannot.
    Yes,
    /// Left out.
    No,
}

/// The benchmark's options.
#[derive(Debug)]
struct Options {
    files: u32,
    size_kib: u32,
    concurrency: Option<usize>,
    latency_ms: u64,
    bandwidth: Option<u64>,
    python: Want,
    raw: Want,
    suite: bool,
    /// `--resume`: the skip-existing measurement instead of the transfer cases.
    resume: bool,
    /// `--present-percent`: with `--resume`, the share of the files already in the dataset.
    present_percent: u32,
}

/// One measured setting: the files and the link.
#[derive(Clone, Debug, PartialEq)]
struct Case {
    files: u32,
    size_kib: u32,
    latency_ms: u64,
    bandwidth: Option<u64>,
}

impl Case {
    fn shaped(&self) -> bool {
        self.latency_ms > 0 || self.bandwidth.is_some()
    }

    /// The emulator's shaping flags for this case.
    fn emulator_args(&self) -> Vec<String> {
        let mut args = vec!["--latency-ms".to_owned(), self.latency_ms.to_string()];
        if let Some(b) = self.bandwidth {
            args.extend(["--bandwidth".to_owned(), b.to_string()]);
        }
        args
    }

    fn title(&self) -> String {
        let size = if self.size_kib.is_multiple_of(1024) {
            format!("{} MiB", self.size_kib / 1024)
        } else {
            format!("{} KiB", self.size_kib)
        };
        let link = if self.shaped() {
            let bandwidth = self
                .bandwidth
                .map_or_else(|| "unlimited".to_owned(), |b| format!("{b} B/s"));
            format!(
                "shaped: latency {} ms, bandwidth {bandwidth} per connection",
                self.latency_ms
            )
        } else {
            "loopback".to_owned()
        };
        format!("{} images of {size}, {link}", self.files)
    }
}

/// Runs `cargo xtask bench`; `raw_args` (the arguments after `bench`) go into the report.
pub fn main(args: Args, raw_args: &[String]) -> ExitCode {
    let options = match args.resolve() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = if options.resume {
        resume::run(&options, raw_args)
    } else {
        run(&options, raw_args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line of `cargo xtask bench`.
pub(crate) const USAGE: &str = "usage: cargo xtask bench [--files N (2000)] [--size-kib K (8)] [--concurrency C (SDK default)]\n\
     \x20                        [--latency-ms MS (0)] [--bandwidth BYTES_PER_SEC (unlimited)]\n\
     \x20                        [--python | --no-python] [--raw | --no-raw] [--suite]\n\
     \x20      cargo xtask bench --resume [--files N (20000)] [--present-percent P (50)] [--size-kib K (2)]\n\
     \x20                        [--concurrency C] [--latency-ms MS] [--bandwidth BYTES_PER_SEC]\n\
     --python/--raw: require the official client / curl (default: include when available)\n\
     --suite: {1000 × 8 KiB, 100 × 2 MiB} × {loopback, latency 50 ms + 2000000 B/s}\n\
     --resume: `dtvi assets upload --skip-existing` of N files, P% already in the dataset, against a full re-upload";

/// The options of `cargo xtask bench` as given; [`Args::resolve`] applies the defaults
/// (which depend on `--resume`) and the rules between them.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files per case (default 2000; 20000 with --resume).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    files: Option<u32>,
    /// Size of each file in KiB (default 8; 2 with --resume).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    size_kib: Option<u32>,
    /// Transfers at once (default: the SDK's).
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: Option<u64>,
    /// Latency before every response head, in ms.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Bandwidth per connection, in bytes per second (default unlimited).
    #[arg(long, value_name = "BYTES_PER_SEC", value_parser = clap::value_parser!(u64).range(1..))]
    bandwidth: Option<u64>,
    /// Require the official Python client (default: include it when available).
    #[arg(long, overrides_with = "no_python")]
    python: bool,
    /// Leave the official Python client out.
    #[arg(long, overrides_with = "python")]
    no_python: bool,
    /// Require curl (default: include it when available).
    #[arg(long, overrides_with = "no_raw")]
    raw: bool,
    /// Leave curl out.
    #[arg(long, overrides_with = "raw")]
    no_raw: bool,
    /// The issue-11 matrix: {1000 x 8 KiB, 100 x 2 MiB} x {loopback, shaped}.
    #[arg(long)]
    suite: bool,
    /// Measure `dtvi assets upload --skip-existing` resuming instead.
    #[arg(long)]
    resume: bool,
    /// With --resume: the share of the files already in the dataset, 0 to 100 (default 50).
    #[arg(long, value_name = "P")]
    present_percent: Option<u64>,
}

impl Args {
    /// The options with their defaults, or why they do not go together.
    fn resolve(self) -> Result<Options, String> {
        let want = |yes: bool, no: bool| match (yes, no) {
            (true, _) => Want::Yes,
            (_, true) => Want::No,
            _ => Want::Auto,
        };
        let (default_files, default_size) = if self.resume { (20_000, 2) } else { (2000, 8) };
        let mut options = Options {
            files: self.files.unwrap_or(default_files),
            size_kib: self.size_kib.unwrap_or(default_size),
            concurrency: self
                .concurrency
                .map(|c| usize::try_from(c).unwrap_or(usize::MAX)),
            latency_ms: self.latency_ms,
            bandwidth: self.bandwidth,
            python: want(self.python, self.no_python),
            raw: want(self.raw, self.no_raw),
            suite: self.suite,
            resume: self.resume,
            present_percent: 50,
        };
        if options.resume {
            if options.suite || options.python != Want::Auto || options.raw != Want::Auto {
                return Err(
                    "--resume measures the dtvi CLI alone: no --suite, --python or --raw with it"
                        .into(),
                );
            }
            options.present_percent = match self.present_percent {
                Some(p) if p > 100 => {
                    return Err(format!("--present-percent {p}: expected 0 to 100"));
                }
                Some(p) => p as u32,
                None => 50,
            };
        } else if self.present_percent.is_some() {
            return Err("--present-percent only goes with --resume".into());
        }
        Ok(options)
    }
}

/// The cases to run: the issue's matrix with `--suite`, else the one the flags describe.
fn cases(o: &Options) -> Vec<Case> {
    if !o.suite {
        return vec![Case {
            files: o.files,
            size_kib: o.size_kib,
            latency_ms: o.latency_ms,
            bandwidth: o.bandwidth,
        }];
    }
    let mut all = Vec::new();
    for (files, size_kib) in [(1000, 8), (100, 2048)] {
        for (latency_ms, bandwidth) in [(0, None), (SHAPED_LATENCY_MS, Some(SHAPED_BANDWIDTH))] {
            all.push(Case {
                files,
                size_kib,
                latency_ms,
                bandwidth,
            });
        }
    }
    all
}

/// What every case needs: the binaries, the optional clients and the work directory.
struct Setup {
    emulator_bin: PathBuf,
    driver: PathBuf,
    python: Option<PathBuf>,
    curl: bool,
    work: PathBuf,
    concurrency: Option<usize>,
}

fn run(options: &Options, raw_args: &[String]) -> Result<(), String> {
    let root = crate::repo_root();
    let target = crate::target_dir(&root);

    build_release(&root, &[])?;
    let python = python::prepare(options.python, &root, &target)?;
    let curl = match (options.raw, table::curl_version()) {
        (Want::No, _) => None,
        (_, Some(version)) => Some(version),
        (Want::Yes, None) => return Err("--raw: curl cannot be run (is it installed?)".into()),
        (Want::Auto, None) => {
            eprintln!("bench: curl is not installed: no raw-client (curl) column");
            None
        }
    };

    let (work, _cleanup) = work_dir(&target)?;
    let release = target.join("release");
    let setup = Setup {
        emulator_bin: release.join("vi-emulator"),
        driver: release.join("examples").join("bench_transfer"),
        python,
        curl: curl.is_some(),
        work,
        concurrency: options.concurrency,
    };

    let mut sections = Vec::new();
    let mut image_sets: Vec<((u32, u32), PathBuf, Vec<FileSum>)> = Vec::new();
    for (i, case) in cases(options).iter().enumerate() {
        let key = (case.files, case.size_kib);
        if !image_sets.iter().any(|(k, ..)| *k == key) {
            let dir = setup
                .work
                .join(format!("images-{}x{}k", case.files, case.size_kib));
            generate(&setup.driver, &dir, case.files, case.size_kib)?;
            let sums = list_files(&dir)?;
            image_sets.push((key, dir, sums));
        }
        let (_, images, originals) = image_sets
            .iter()
            .find(|(k, ..)| *k == key)
            .ok_or("no images")?;
        eprintln!("\nbench: case {}: {}", i + 1, case.title());
        let section = run_case(&setup, case, i, images, originals)?;
        println!("\n{section}");
        sections.push(section);
    }

    let clients = format!(
        "Clients: vi-blocking and vi-async (`bench_transfer`, concurrency {}); {}; {}.",
        options
            .concurrency
            .map_or_else(|| "SDK default".to_owned(), |c| c.to_string()),
        if setup.python.is_some() {
            format!(
                "official Python client vi-sdk {}",
                crate::interop::venv::VI_SDK_VERSION
            )
        } else {
            "no Python client".to_owned()
        },
        curl.map_or_else(
            || "no raw client".to_owned(),
            |v| format!("raw client `curl --parallel` ({v})")
        )
    );
    append_report(
        &target,
        "Transfer benchmark",
        raw_args,
        &format!("{clients}\n\n{}", sections.join("\n\n")),
    )
}

/// Builds `vi-emulator`, the `bench_transfer` example (which generates the images) and
/// the `extra` packages or targets (`-p NAME --bin NAME` …) in release mode.
fn build_release(root: &Path, extra: &[&str]) -> Result<(), String> {
    eprintln!(
        "bench: building vi-emulator, bench_transfer {}(release)…",
        extra.join(" ")
    );
    let mut command = Command::new(crate::cargo());
    // `cargo run` gives xtask the variables of its own package (`CARGO_MANIFEST_DIR`, …);
    // build scripts that watch them (ring's watches `CARGO_MANIFEST_DIR`) would make this
    // build redo most of the tree after every plain `cargo build`, and the other way round.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    let status = command
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "vi-emulator",
            "--bin",
            "vi-emulator",
        ])
        .args(["-p", "vi-examples", "--example", "bench_transfer"])
        .args(extra)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --release failed ({status})"));
    }
    Ok(())
}

/// A fresh work directory under `target/bench/`, removed when the guard is dropped.
fn work_dir(target: &Path) -> Result<(PathBuf, RemoveOnDrop), String> {
    let work = target
        .join("bench")
        .join(format!("work-{}-{}", std::process::id(), nanos()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    eprintln!("bench: working in {}", work.display());
    Ok((work.clone(), RemoveOnDrop(Some(work))))
}

/// Appends a report (`# title`, the command, the machine line, then `body`) to
/// `target/bench/results.md`.
fn append_report(
    target: &Path,
    title: &str,
    raw_args: &[String],
    body: &str,
) -> Result<(), String> {
    let mut command = String::from("cargo xtask bench");
    for a in raw_args {
        command.push(' ');
        command.push_str(a);
    }
    let report = format!(
        "# {title}\n\nCommand: `{command}`\n\n{}\n\n{body}\n\n",
        table::machine_info(),
    );
    let out = target.join("bench").join("results.md");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    std::io::Write::write_all(&mut file, report.as_bytes())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("bench: appended to {}", out.display());
    Ok(())
}

/// Writes the case's PNGs with `bench_transfer --generate`.
fn generate(driver: &Path, dir: &Path, files: u32, size_kib: u32) -> Result<(), String> {
    eprintln!("bench: generating {files} PNGs of about {size_kib} KiB…");
    let output = Command::new(driver)
        .arg("--generate")
        .arg(dir)
        .arg(files.to_string())
        .args(["--size-kib", &size_kib.to_string()])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", driver.display()))?;
    if !output.status.success() {
        return Err(format!(
            "generating images failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// The SDK configuration for the emulator (nothing read from the environment).
fn client_config(emu: &EmulatorProcess) -> Result<vi_core::Config, String> {
    vi_core::ConfigBuilder::new()
        .endpoint(emu.url.as_str())
        .secret_key(emu.key.as_str())
        .organization_id(emu.org.as_str())
        .build_with_env(&|_| None)
        .map_err(|e| format!("client configuration: {e}"))
}

/// Creates a dataset and returns its id.
fn create_dataset(client: &vi_blocking::Client, name: &str) -> Result<String, String> {
    client
        .datasets()
        .create(name)
        .and_then(|d| d.id())
        .map(|id| id.to_string())
        .map_err(|e| format!("creating the dataset {name:?}: {e}"))
}

/// Runs one driver process (`bench_transfer` or the Python script) against the emulator
/// and reads its result line; fails when it fails or reports failed files.
fn run_driver(mut command: Command, emu: &EmulatorProcess, label: &str) -> Result<Row, String> {
    eprintln!("bench: {label}…");
    let output = command
        .env("DATATURE_VI_API_ENDPOINT", &emu.url)
        .env("DATATURE_VI_SECRET_KEY", &emu.key)
        .env("DATATURE_VI_ORGANIZATION_ID", &emu.org)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{label}: cannot run the driver: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("{label}: no result line ({})", output.status))
        .and_then(|l| parse_row(l).map_err(|e| format!("{label}: {e}: {l}")))?;
    if !output.status.success() || row.failed != 0 {
        return Err(format!(
            "{label}: {} of {} files failed (exit {})",
            row.failed, row.files, output.status
        ));
    }
    Ok(row)
}

/// Where a case's emulator keeps its data: in memory (`/dev/shm`) when the system has it.
/// The emulator stands in for a remote service, whose disk is not the clients'; on this
/// machine's disk its thousands of file creations per case contended with the clients'
/// own (ext4 inode allocation, seen in `perf`) and made the case's timings swing by half.
/// The clients' files (originals and downloads) stay on disk.
fn emulator_data_dir(case_dir: &Path, index: usize) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join(format!(
            "vi-bench-{}-case-{}",
            std::process::id(),
            index + 1
        ))
    } else {
        case_dir.join("emulator")
    }
}

/// One case: a fresh emulator, every client's upload and download, every download
/// checked. Returns the case's markdown section.
fn run_case(
    setup: &Setup,
    case: &Case,
    index: usize,
    images: &Path,
    originals: &[FileSum],
) -> Result<String, String> {
    let dir = setup.work.join(format!("case-{}", index + 1));
    let _cleanup = RemoveOnDrop(Some(dir.clone()));
    let data = emulator_data_dir(&dir, index);
    let _data_cleanup = RemoveOnDrop(Some(data.clone()));
    let emu = start_emulator(&setup.emulator_bin, &data, &case.emulator_args())?;
    eprintln!("bench: emulator (pid {}) at {}", emu.pid(), emu.url);
    let client =
        vi_blocking::Client::from_config(client_config(&emu)?).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut clients = vec!["blocking", "async"];
    if setup.python.is_some() {
        clients.push("python");
    }
    if setup.curl {
        clients.push("curl");
    }
    let concurrency = setup
        .concurrency
        .unwrap_or_else(vi_core::download::default_concurrency);
    for facade in clients {
        let dataset = create_dataset(&client, &format!("bench {facade} {}", case.files))?;
        let downloads = dir.join(format!("downloads-{facade}"));
        for (op, path) in [("upload", images), ("download", downloads.as_path())] {
            let row = match (facade, &setup.python) {
                ("python", Some(python)) => python::transfer(python, &emu, op, &dataset, path)?,
                ("curl", _) => {
                    eprintln!("bench: curl {op}…");
                    let scratch = dir.join("curl-config");
                    raw::transfer(&emu, op, &dataset, path, &scratch, concurrency)?
                }
                _ => {
                    let mut command = Command::new(&setup.driver);
                    command
                        .args(["--facade", facade, "--op", op, "--dataset", &dataset])
                        .arg("--path")
                        .arg(path);
                    if let Some(c) = setup.concurrency {
                        command.args(["--concurrency", &c.to_string()]);
                    }
                    run_driver(command, &emu, &format!("{facade} {op}"))?
                }
            };
            if row.files != u64::from(case.files) || row.failed != 0 {
                return Err(format!(
                    "{facade} {op}: {} files, {} failed, expected {} files",
                    row.files, row.failed, case.files
                ));
            }
            rows.push(row);
        }
        checked(originals, &downloads.join(&dataset), facade)?;
    }
    let emulator_rss = peak_rss_kib(emu.pid());
    drop(emu);
    Ok(format!(
        "## {}\n\n{}\n\n{}",
        case.title(),
        table::table(&rows, emulator_rss),
        table::goals(&rows, case.shaped())
    )
    .trim_end()
    .to_owned())
}

/// Checks one client's downloads against the originals, then removes them (disk space).
fn checked(originals: &[FileSum], dir: &Path, client: &str) -> Result<(), String> {
    verify(originals, dir)
        .map_err(|e| format!("{client} download does not match the originals: {e}"))?;
    eprintln!(
        "bench: {client}: {} downloaded files match the originals",
        originals.len()
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The options `cargo xtask bench ARGS` resolves to.
    fn parse(list: &[String]) -> Result<Options, String> {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Bench {
            #[command(flatten)]
            args: Args,
        }
        Bench::try_parse_from(std::iter::once("bench".to_owned()).chain(list.iter().cloned()))
            .map_err(|e| e.to_string())?
            .args
            .resolve()
    }

    #[test]
    fn default_is_one_loopback_case() {
        let o = parse(&[]).unwrap();
        assert_eq!((o.python, o.raw), (Want::Auto, Want::Auto));
        let c = cases(&o);
        assert_eq!(c.len(), 1);
        assert!(!c[0].shaped());
    }

    #[test]
    fn suite_is_the_issue_matrix() {
        let o = parse(&args(&["--suite", "--no-python"])).unwrap();
        assert_eq!(o.python, Want::No);
        let c = cases(&o);
        assert_eq!(c.len(), 4);
        assert_eq!(c.iter().filter(|c| c.shaped()).count(), 2);
        assert_eq!(c[1].bandwidth, Some(SHAPED_BANDWIDTH));
        assert_eq!((c[2].files, c[2].size_kib), (100, 2048));
    }

    #[test]
    fn shaping_flags() {
        let o = parse(&args(&[
            "--latency-ms",
            "0",
            "--bandwidth",
            "1000",
            "--raw",
        ]))
        .unwrap();
        assert_eq!(
            (o.latency_ms, o.bandwidth, o.raw),
            (0, Some(1000), Want::Yes)
        );
        assert!(parse(&args(&["--bandwidth", "0"])).is_err());
        assert!(parse(&args(&["--latency-ms"])).is_err());
    }

    #[test]
    fn resume_has_its_own_defaults() {
        let o = parse(&args(&["--resume"])).unwrap();
        assert!(o.resume);
        assert_eq!((o.files, o.size_kib, o.present_percent), (20_000, 2, 50));
        // The transfer cases keep theirs.
        let o = parse(&[]).unwrap();
        assert!(!o.resume);
        assert_eq!((o.files, o.size_kib), (2000, 8));
    }

    #[test]
    fn resume_flags_in_any_order() {
        let o = parse(&args(&[
            "--files",
            "300",
            "--present-percent",
            "0",
            "--resume",
            "--size-kib",
            "16",
            "--latency-ms",
            "20",
            "--bandwidth",
            "500000",
            "--concurrency",
            "4",
        ]))
        .unwrap();
        assert_eq!((o.files, o.size_kib, o.present_percent), (300, 16, 0));
        assert_eq!(
            (o.latency_ms, o.bandwidth, o.concurrency),
            (20, Some(500_000), Some(4))
        );
        let o = parse(&args(&["--resume", "--present-percent", "100"])).unwrap();
        assert_eq!(o.present_percent, 100);
    }

    #[test]
    fn resume_refuses_what_does_not_fit() {
        for bad in [
            &["--resume", "--present-percent", "101"][..],
            &["--resume", "--present-percent", "half"],
            &["--resume", "--present-percent"],
            &["--present-percent", "50"],
            &["--resume", "--suite"],
            &["--resume", "--python"],
            &["--resume", "--no-raw"],
            &["--resume", "--files", "0"],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
