//! A transfer benchmark driver: runs one upload or download with one facade and prints one
//! JSON line with the wall time of the SDK call and the process's peak RSS.
//!
//! `cargo xtask bench` runs it as a child process per operation, so every measurement has
//! its own peak RSS. By hand:
//!
//! ```text
//! bench_transfer --facade async|blocking --op upload|download --dataset ID --path DIR [--concurrency N]
//! bench_transfer --generate DIR N [--size-kib K]     # N distinct PNGs of about K KiB
//! ```
//!
//! The operations read `DATATURE_VI_API_ENDPOINT`, `DATATURE_VI_SECRET_KEY` and
//! `DATATURE_VI_ORGANIZATION_ID`. `upload` sends the folder `DIR`; `download` writes into
//! `DIR/<dataset id>/`. The output line is
//! `{"facade":..,"op":..,"files":..,"bytes":..,"seconds":..,"peak_rss_kib":..,"succeeded":..,"failed":..}`
//! where `peak_rss_kib` is `VmHWM` from `/proc/self/status` (`null` off Linux).
//!
//! Without arguments (as CI runs every example) it starts the embedded emulator (unless
//! `DATATURE_VI_SECRET_KEY` is set), uploads and downloads 20 small images with both
//! facades, checks the downloads byte for byte and prints the same lines. The peak RSS there
//! includes the in-process emulator. Exits non-zero when any file failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use vi_core::{Config, ConfigBuilder, DatasetId};

/// One operation's outcome, printed as a JSON line.
struct Measurement {
    facade: &'static str,
    op: &'static str,
    files: usize,
    bytes: u64,
    seconds: f64,
    succeeded: usize,
    failed: usize,
}

impl Measurement {
    fn print(&self) {
        let rss = peak_rss_kib().map_or_else(|| "null".to_owned(), |k| k.to_string());
        println!(
            "{{\"facade\":\"{}\",\"op\":\"{}\",\"files\":{},\"bytes\":{},\"seconds\":{:.6},\"peak_rss_kib\":{},\"succeeded\":{},\"failed\":{}}}",
            self.facade,
            self.op,
            self.files,
            self.bytes,
            self.seconds,
            rss,
            self.succeeded,
            self.failed
        );
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Facade {
    Async,
    Blocking,
}

impl Facade {
    fn name(self) -> &'static str {
        match self {
            Facade::Async => "async",
            Facade::Blocking => "blocking",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Upload,
    Download,
}

struct Args {
    facade: Facade,
    op: Op,
    dataset: DatasetId,
    path: PathBuf,
    concurrency: Option<usize>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.is_empty() {
        demo()
    } else if args[0] == "--generate" {
        generate_command(&args[1..])
    } else {
        parse_args(&args).and_then(|a| measure_from_env(&a))
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("bench_transfer: some files failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bench_transfer: {e}");
            ExitCode::from(2)
        }
    }
}

fn usage() -> &'static str {
    "usage: bench_transfer --facade async|blocking --op upload|download --dataset ID --path DIR [--concurrency N]\n       bench_transfer --generate DIR N [--size-kib K]\n       bench_transfer            (demo against the embedded emulator)"
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut facade = None;
    let mut op = None;
    let mut dataset = None;
    let mut path = None;
    let mut concurrency = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        match flag.as_str() {
            "--facade" => {
                facade = Some(match value.as_str() {
                    "async" => Facade::Async,
                    "blocking" => Facade::Blocking,
                    other => return Err(format!("unknown facade {other:?}\n{}", usage())),
                });
            }
            "--op" => {
                op = Some(match value.as_str() {
                    "upload" => Op::Upload,
                    "download" => Op::Download,
                    other => return Err(format!("unknown op {other:?}\n{}", usage())),
                });
            }
            "--dataset" => {
                dataset = Some(DatasetId::new(value.as_str()).map_err(|e| e.to_string())?);
            }
            "--path" => path = Some(PathBuf::from(value)),
            "--concurrency" => {
                let n: usize = value
                    .parse()
                    .map_err(|_| format!("--concurrency {value:?} is not a number"))?;
                concurrency = Some(n.max(1));
            }
            other => return Err(format!("unknown flag {other:?}\n{}", usage())),
        }
    }
    let missing = |what: &str| format!("{what} is required\n{}", usage());
    Ok(Args {
        facade: facade.ok_or_else(|| missing("--facade"))?,
        op: op.ok_or_else(|| missing("--op"))?,
        dataset: dataset.ok_or_else(|| missing("--dataset"))?,
        path: path.ok_or_else(|| missing("--path"))?,
        concurrency,
    })
}

fn measure_from_env(args: &Args) -> Result<bool, String> {
    let config = ConfigBuilder::default()
        .build()
        .map_err(|e| e.to_string())?;
    let m = run(config, args)?;
    m.print();
    Ok(m.failed == 0)
}

/// Runs one operation with one facade; only the SDK call is timed.
fn run(config: Config, args: &Args) -> Result<Measurement, String> {
    match args.facade {
        Facade::Blocking => run_blocking(config, args),
        Facade::Async => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
            runtime.block_on(run_async(config, args))
        }
    }
}

fn upload_options(args: &Args) -> vi_core::upload::UploadOptions {
    let options = vi_core::upload::UploadOptions::new();
    match args.concurrency {
        Some(n) => options.concurrency(n),
        None => options,
    }
}

fn download_options(args: &Args) -> vi_core::download::DownloadOptions {
    let options = vi_core::download::DownloadOptions::new();
    match args.concurrency {
        Some(n) => options.concurrency(n),
        None => options,
    }
}

fn run_blocking(config: Config, args: &Args) -> Result<Measurement, String> {
    let client = vi_blocking::Client::from_config(config).map_err(|e| e.to_string())?;
    let assets = client.assets();
    match args.op {
        Op::Upload => {
            let options = upload_options(args);
            let start = Instant::now();
            let report = assets
                .upload(&args.dataset, args.path.as_path(), options)
                .map_err(|e| e.to_string())?;
            let seconds = start.elapsed().as_secs_f64();
            Ok(upload_measurement(Facade::Blocking, &report, seconds))
        }
        Op::Download => {
            let options = download_options(args);
            let start = Instant::now();
            let report = assets
                .download(&args.dataset, &args.path, options)
                .map_err(|e| e.to_string())?;
            let seconds = start.elapsed().as_secs_f64();
            Ok(download_measurement(Facade::Blocking, &report, seconds))
        }
    }
}

async fn run_async(config: Config, args: &Args) -> Result<Measurement, String> {
    let client = vi_async::Client::from_config(config).map_err(|e| e.to_string())?;
    let assets = client.assets();
    match args.op {
        Op::Upload => {
            let options = upload_options(args);
            let start = Instant::now();
            let report = assets
                .upload(&args.dataset, args.path.as_path(), options)
                .await
                .map_err(|e| e.to_string())?;
            let seconds = start.elapsed().as_secs_f64();
            Ok(upload_measurement(Facade::Async, &report, seconds))
        }
        Op::Download => {
            let options = download_options(args);
            let start = Instant::now();
            let report = assets
                .download(&args.dataset, &args.path, options)
                .await
                .map_err(|e| e.to_string())?;
            let seconds = start.elapsed().as_secs_f64();
            Ok(download_measurement(Facade::Async, &report, seconds))
        }
    }
}

fn upload_measurement(
    facade: Facade,
    report: &vi_core::upload::UploadReport,
    seconds: f64,
) -> Measurement {
    let files = report.total_files();
    for f in report.failed.iter().take(5) {
        eprintln!("upload failed: {}: {}", f.filename, f.reason);
    }
    for f in report.skipped.iter().take(5) {
        eprintln!("upload skipped: {}: {}", f.filename, f.reason);
    }
    Measurement {
        facade: facade.name(),
        op: "upload",
        files,
        bytes: report.bytes_uploaded,
        seconds,
        succeeded: report.succeeded.len(),
        failed: files - report.succeeded.len(),
    }
}

fn download_measurement(
    facade: Facade,
    report: &vi_core::download::DownloadReport,
    seconds: f64,
) -> Measurement {
    let files = report.total();
    for f in report.failed.iter().take(5) {
        eprintln!(
            "download failed: {}: {}",
            f.filename.as_deref().unwrap_or(f.asset.as_str()),
            f.reason
        );
    }
    Measurement {
        facade: facade.name(),
        op: "download",
        files,
        bytes: report.bytes_downloaded,
        seconds,
        succeeded: report.downloaded.len(),
        failed: files - report.downloaded.len(),
    }
}

/// `VmHWM` (peak resident set size) of this process in KiB, on Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn generate_command(args: &[String]) -> Result<bool, String> {
    let (dir, count) = match args {
        [dir, count, ..] => (
            PathBuf::from(dir),
            count
                .parse::<u32>()
                .map_err(|_| format!("--generate: {count:?} is not a count"))?,
        ),
        _ => return Err(usage().to_owned()),
    };
    let size_kib = match &args[2..] {
        [] => 8,
        [flag, k] if flag == "--size-kib" => k
            .parse::<u32>()
            .map_err(|_| format!("--size-kib {k:?} is not a number"))?,
        _ => return Err(usage().to_owned()),
    };
    let bytes = generate(&dir, count, size_kib)?;
    println!("{{\"generated\":{count},\"bytes\":{bytes}}}");
    Ok(true)
}

/// Writes `count` distinct, valid PNGs of about `size_kib` KiB each (incompressible noise)
/// into `dir`, named `img_000000.png`…; returns the total size.
fn generate(dir: &Path, count: u32, size_kib: u32) -> Result<u64, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Noise does not compress: the file is about 3 × side² bytes plus a few dozen.
    let side = (((u64::from(size_kib.max(1)) * 1024) / 3) as f64)
        .sqrt()
        .max(1.0) as u32;
    let mut total = 0;
    for i in 0..count {
        let data = vi_testkit::noisy_png(side, side, u64::from(i));
        let path = dir.join(format!("img_{i:06}.png"));
        std::fs::write(&path, &data).map_err(|e| format!("{}: {e}", path.display()))?;
        total += data.len() as u64;
    }
    Ok(total)
}

/// The no-argument mode: a quick round trip with both facades against the embedded
/// emulator (or the configured service).
fn demo() -> Result<bool, String> {
    let (config, _emulator) = vi_examples::setup().map_err(|e| e.to_string())?;
    let work = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let images = work.path().join("images");
    generate(&images, 20, 8)?;
    let mut ok = true;
    for facade in [Facade::Blocking, Facade::Async] {
        let dataset = vi_blocking::Client::from_config(config.clone())
            .and_then(|c| {
                c.datasets()
                    .create(format!("bench_transfer demo ({})", facade.name()))
            })
            .and_then(|d| d.id())
            .map_err(|e| e.to_string())?;
        let downloads = work.path().join(format!("downloads-{}", facade.name()));
        for (op, path) in [(Op::Upload, &images), (Op::Download, &downloads)] {
            let args = Args {
                facade,
                op,
                dataset: dataset.clone(),
                path: path.clone(),
                concurrency: None,
            };
            let m = run(config.clone(), &args)?;
            m.print();
            ok &= m.failed == 0 && m.files == 20;
        }
        let mismatched = compare_dirs(&images, &downloads.join(dataset.as_str()))?;
        if mismatched > 0 {
            eprintln!(
                "{}: {mismatched} downloaded files differ from the originals",
                facade.name()
            );
            ok = false;
        }
    }
    Ok(ok)
}

/// How many files of `originals` are missing from `copies` or differ from them.
fn compare_dirs(originals: &Path, copies: &Path) -> Result<usize, String> {
    let entries =
        std::fs::read_dir(originals).map_err(|e| format!("{}: {e}", originals.display()))?;
    let mut mismatched = 0;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let original = std::fs::read(entry.path()).map_err(|e| e.to_string())?;
        match std::fs::read(copies.join(entry.file_name())) {
            Ok(copy) if copy == original => {}
            _ => mismatched += 1,
        }
    }
    Ok(mismatched)
}
