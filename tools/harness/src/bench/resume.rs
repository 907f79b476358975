//! `cargo xtask bench --resume`: what `dtvi assets upload --skip-existing` costs when it
//! resumes an upload of N files of which P% are already in the dataset, against a full
//! re-upload of the same N files (time, requests, peak memory).
//!
//! One emulator process (release build, the shaping flags given, a request log with
//! `--record-to`) and one folder of N generated PNGs (as the transfer cases generate
//! them); then each phase is one `dtvi --json assets upload` child process of the release
//! `dtvi` binary, the emulator's endpoint and credentials in its environment:
//!
//! 1. **seed**: the first P% of the files by sorted name (hard links in a subfolder) into
//!    a fresh dataset A, which must then hold exactly those;
//! 2. **dry run**: `--skip-existing --dry-run` of all N files against A: the listing and
//!    the comparison alone, nothing sent;
//! 3. **resume**: `--skip-existing` of all N files into A;
//! 4. **full re-upload**: all N files into a fresh dataset B.
//!
//! Per phase: the child's wall seconds and peak RSS (sampled), its requests as the
//! difference of `GET /_emulator/stats` before and after (API and storage) and per route
//! from the request log, and from the CLI's JSON report the files sent, skipped as
//! already present, bytes and assets listed. Afterwards A and B must each hold exactly
//! the N files (N assets, N distinct names, each local name with its size), and the
//! reports must add up (the resume sends exactly the missing files, one storage request
//! each); anything else fails the run.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vi_core::DatasetId;
use vi_core::ListAssetsOptions;
use vi_core::endpoints::MAX_PAGE_SIZE;

use super::check::{FileSum, list_files};
use super::{Case, Options, append_report, build_release, create_dataset, generate, work_dir};
use crate::procs::{EmulatorProcess, peak_rss_kib, start_emulator, wait_with_peak_rss};

/// The route of the asset listing (A1) in the emulator's request log.
const LIST_ROUTE: &str = "GET /workspaces/{org}/datasets/{dsc}/assets";
/// Files at or above the emulator's default multipart part size (64 MiB) take more than
/// one storage request each.
const SINGLE_PUT_LIMIT_KIB: u32 = 64 * 1024;

/// Requests the emulator served, from `GET /_emulator/stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Requests {
    api: u64,
    /// Signed upload requests (PUTs of files and parts).
    uploads: u64,
    /// Signed download requests.
    downloads: u64,
}

impl Requests {
    fn storage(&self) -> u64 {
        self.uploads + self.downloads
    }

    fn total(&self) -> u64 {
        self.api + self.storage()
    }

    fn since(&self, before: &Requests) -> Requests {
        Requests {
            api: self.api.saturating_sub(before.api),
            uploads: self.uploads.saturating_sub(before.uploads),
            downloads: self.downloads.saturating_sub(before.downloads),
        }
    }
}

/// `GET /_emulator/stats` (not counted by the emulator itself).
fn stats(emu: &EmulatorProcess) -> Result<Requests, String> {
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    let text = agent
        .get(format!("{}/_emulator/stats", emu.url))
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .map_err(|e| format!("GET /_emulator/stats: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("stats: {e}: {text:?}"))?;
    let counter = |key: &str| v[key].as_u64().ok_or(format!("stats: no {key}: {text:?}"));
    Ok(Requests {
        api: counter("apiRequests")?,
        uploads: counter("uploadRequests")?,
        downloads: counter("downloadRequests")?,
    })
}

/// Requests per `METHOD route` in lines of the emulator's request log.
fn count_routes(lines: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut routes = BTreeMap::new();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("request log: {e}: {line}"))?;
        let field = |k: &str| v[k].as_str().unwrap_or("?").to_owned();
        *routes
            .entry(format!("{} {}", field("method"), field("route")))
            .or_insert(0) += 1;
    }
    Ok(routes)
}

/// The emulator's request log (`--record-to`), read phase by phase. The emulator writes a
/// request's line before its response, so once a client has its answers, their lines
/// are there.
struct RouteLog {
    path: PathBuf,
    /// Bytes already read or skipped.
    offset: usize,
}

impl RouteLog {
    /// The complete lines written since the last call, counted per route.
    fn take(&mut self) -> Result<BTreeMap<String, u64>, String> {
        let data = match std::fs::read(&self.path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("{}: {e}", self.path.display())),
        };
        let new = data.get(self.offset..).unwrap_or_default();
        let end = new.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        self.offset += end;
        count_routes(&String::from_utf8_lossy(&new[..end]))
    }
}

/// One measured `dtvi assets upload`.
#[derive(Clone, Debug, Default)]
struct Phase {
    name: &'static str,
    /// The arguments after `dtvi --json assets upload`, datasets and folders named.
    call: String,
    /// Files the CLI considered.
    files: u64,
    /// Files sent (ingested or still processing).
    sent: u64,
    /// Files a dry run would send.
    planned: u64,
    /// Files skipped because the dataset holds them.
    present: u64,
    /// Files skipped or failed for any other reason.
    other: u64,
    bytes: u64,
    /// Assets the skip-existing listing returned.
    listed: Option<u64>,
    sessions: u64,
    seconds: f64,
    peak_rss_kib: Option<u64>,
    requests: Requests,
    routes: BTreeMap<String, u64>,
}

impl Phase {
    /// Reads the CLI's `--json` upload report.
    fn read_report(&mut self, v: &Value) -> Result<(), String> {
        let count = |k: &str| {
            v[k].as_array()
                .map(|a| a.len() as u64)
                .ok_or(format!("{}: the report has no {k}", self.name))
        };
        let number = |k: &str| {
            v[k].as_u64()
                .ok_or(format!("{}: the report has no {k}", self.name))
        };
        self.files = number("total_files")?;
        self.sent = count("succeeded")? + count("processing")?;
        self.planned = count("planned")?;
        self.present = number("already_present")?;
        self.other = (count("skipped")? + count("failed")?).saturating_sub(self.present);
        self.bytes = number("bytes")?;
        self.listed = v["assets_listed"].as_u64();
        self.sessions = count("session_ids")?;
        Ok(())
    }

    /// Requests to one route.
    fn route(&self, route: &str) -> u64 {
        self.routes.get(route).copied().unwrap_or(0)
    }
}

/// Runs the phases: the `dtvi` binary against one emulator, with the log of its requests.
struct Meter<'a> {
    cli: PathBuf,
    emu: &'a EmulatorProcess,
    log: RouteLog,
    work: &'a Path,
    concurrency: Option<usize>,
}

impl Meter<'_> {
    /// `dtvi --json assets upload --dataset DATASET DIR EXTRA…` as its own process, measured.
    fn phase(
        &mut self,
        name: &'static str,
        (dataset, label): (&str, &str),
        dir: &Path,
        extra: &[&str],
    ) -> Result<Phase, String> {
        let folder = dir
            .file_name()
            .map_or_else(String::new, |f| format!("{}/", f.to_string_lossy()));
        let call = format!("--dataset {label} {folder} {}", extra.join(" "));
        eprintln!("bench: {name}: dtvi assets upload {}…", call.trim_end());
        let out_path = self.work.join(format!("{}.json", name.replace(' ', "-")));
        let out =
            std::fs::File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
        let mut command = Command::new(&self.cli);
        command
            .args(["--json", "assets", "upload", "--dataset", dataset])
            .arg(dir)
            .args(extra);
        if let Some(c) = self.concurrency {
            command.args(["--concurrency", &c.to_string()]);
        }
        command
            .env("DATATURE_VI_API_ENDPOINT", &self.emu.url)
            .env("DATATURE_VI_SECRET_KEY", &self.emu.key)
            .env("DATATURE_VI_ORGANIZATION_ID", &self.emu.org)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::inherit());
        // Whatever came before (dataset creation, checks) is not this phase's.
        self.log.take()?;
        let before = stats(self.emu)?;
        let start = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.cli.display()))?;
        let (status, peak_rss_kib) = wait_with_peak_rss(&mut child)?;
        let seconds = start.elapsed().as_secs_f64();
        let requests = stats(self.emu)?.since(&before);
        let routes = self.log.take()?;
        let text = std::fs::read_to_string(&out_path)
            .map_err(|e| format!("{}: {e}", out_path.display()))?;
        if !status.success() {
            // The work directory goes at the end: the start of the report is the clue.
            return Err(format!(
                "{name}: dtvi assets upload exited with {status}; its report begins {:?}",
                text.chars().take(600).collect::<String>()
            ));
        }
        let report: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{name}: the CLI's JSON report: {e}"))?;
        let mut phase = Phase {
            name,
            call: call.trim_end().to_owned(),
            seconds,
            peak_rss_kib,
            requests,
            routes,
            ..Phase::default()
        };
        phase.read_report(&report)?;
        eprintln!(
            "bench: {name}: {:.2} s, {} sent, {} skipped as present, {} requests",
            phase.seconds,
            phase.sent,
            phase.present,
            phase.requests.total()
        );
        Ok(phase)
    }
}

/// Files already in the dataset for `percent` of `files` (rounded down).
fn present_count(files: u32, percent: u32) -> usize {
    (u64::from(files) * u64::from(percent.min(100)) / 100) as usize
}

/// Hard-links (or copies, where links are refused) `files` of `from` into a new `to`.
fn link_files(from: &Path, to: &Path, files: &[FileSum]) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for (name, ..) in files {
        let (src, dst) = (from.join(name), to.join(name));
        if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", dst.display()))?;
        }
    }
    Ok(())
}

/// Fails unless `dataset` holds exactly `expected`: as many assets, each name once, each
/// with its file's size.
fn check_dataset(
    client: &vi_blocking::Client,
    (dataset, label): (&str, &str),
    expected: &[FileSum],
) -> Result<(), String> {
    let id = DatasetId::new(dataset).map_err(|e| e.to_string())?;
    let options = ListAssetsOptions::new().page_size(MAX_PAGE_SIZE);
    let mut held: HashMap<String, Vec<u64>> = HashMap::new();
    let mut assets = 0usize;
    for asset in client
        .assets()
        .list(&id, options)
        .map_err(|e| format!("listing dataset {label}: {e}"))?
    {
        let asset = asset.map_err(|e| format!("listing dataset {label}: {e}"))?;
        assets += 1;
        held.entry(asset.filename)
            .or_default()
            .push(asset.metadata.file_size);
    }
    let mut twice: Vec<&String> = held
        .iter()
        .filter(|(_, sizes)| sizes.len() > 1)
        .map(|(name, _)| name)
        .collect();
    twice.sort();
    let mut wrong: Vec<&str> = expected
        .iter()
        .filter(|(name, size, _)| held.get(name).is_none_or(|s| !s.contains(size)))
        .map(|(name, ..)| name.as_str())
        .collect();
    wrong.sort_unstable();
    if assets != expected.len() || !twice.is_empty() || !wrong.is_empty() {
        return Err(format!(
            "dataset {label} holds {assets} assets under {} distinct names, expected {} files \
             once each: {} names more than once (first: {:?}), {} files missing or of \
             another size (first: {:?})",
            held.len(),
            expected.len(),
            twice.len(),
            twice.first(),
            wrong.len(),
            wrong.first()
        ));
    }
    eprintln!(
        "bench: dataset {label} holds the {} files, each once",
        expected.len()
    );
    Ok(())
}

/// What each phase's report and requests must say; the first mismatch is the error.
fn check_phases(
    phases: &[Phase],
    files: u64,
    present: u64,
    single_puts: bool,
) -> Result<(), String> {
    let missing = files - present;
    for p in phases {
        // (what, measured, expected)
        let mut expect = vec![
            (
                "files considered",
                p.files,
                if p.name == "seed" { present } else { files },
            ),
            ("files skipped or failed for another reason", p.other, 0),
            ("signed download requests", p.requests.downloads, 0),
        ];
        let (sent, skipped, planned) = match p.name {
            "seed" => (present, 0, 0),
            "dry run" => (0, present, missing),
            "resume" => (missing, present, 0),
            _ => (files, 0, 0),
        };
        expect.extend([
            ("files sent", p.sent, sent),
            ("files skipped as already present", p.present, skipped),
            ("files planned", p.planned, planned),
        ]);
        if p.name == "dry run" || p.name == "resume" {
            expect.push(("assets listed", p.listed.unwrap_or(0), present));
        }
        if single_puts {
            expect.push(("storage upload requests", p.requests.uploads, sent));
        }
        for (what, got, want) in expect {
            if got != want {
                return Err(format!("{}: {what}: {got}, expected {want}", p.name));
            }
        }
    }
    Ok(())
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// `a / b` as a ratio cell.
fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "—".to_owned()
    }
}

/// The markdown section: the phases, the resume-against-full ratios, the listing, and the
/// requests per route.
fn render(title: &str, phases: &[Phase], emulator_rss_kib: Option<u64>) -> String {
    let mut out = format!(
        "## {title}\n\n\
         | phase | `dtvi assets upload` | files | sent | skipped as present | MB sent | \
         assets listed | sessions | seconds | API requests | storage requests | all requests | \
         peak RSS MiB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for p in phases {
        let sent = if p.planned > 0 {
            format!("0 ({} planned)", p.planned)
        } else {
            p.sent.to_string()
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {sent} | {} | {:.1} | {} | {} | {:.2} | {} | {} | {} | {} |",
            p.name,
            p.call,
            p.files,
            p.present,
            p.bytes as f64 / 1e6,
            p.listed.map_or_else(|| "—".to_owned(), |l| l.to_string()),
            p.sessions,
            p.seconds,
            p.requests.api,
            p.requests.storage(),
            p.requests.total(),
            mib(p.peak_rss_kib),
        );
    }
    let _ = writeln!(
        out,
        "| emulator (whole run) | | | | | | | | | | | | {} |\n",
        mib(emulator_rss_kib)
    );
    let find = |name: &str| phases.iter().find(|p| p.name == name);
    if let (Some(r), Some(f)) = (find("resume"), find("full re-upload")) {
        let _ = writeln!(
            out,
            "- Resume / full re-upload: time {} ({:.2} s against {:.2} s), all requests {} \
             ({} against {}), API requests {} ({} against {}), storage requests {} ({} \
             against {}), peak RSS {} ({} MiB against {} MiB).",
            ratio(r.seconds, f.seconds),
            r.seconds,
            f.seconds,
            ratio(r.requests.total() as f64, f.requests.total() as f64),
            r.requests.total(),
            f.requests.total(),
            ratio(r.requests.api as f64, f.requests.api as f64),
            r.requests.api,
            f.requests.api,
            ratio(r.requests.storage() as f64, f.requests.storage() as f64),
            r.requests.storage(),
            f.requests.storage(),
            ratio(
                r.peak_rss_kib.unwrap_or(0) as f64,
                f.peak_rss_kib.unwrap_or(0) as f64
            ),
            mib(r.peak_rss_kib),
            mib(f.peak_rss_kib),
        );
        let listed = r.listed.unwrap_or(0);
        let needed = listed.div_ceil(u64::from(MAX_PAGE_SIZE)).max(1);
        let _ = writeln!(
            out,
            "- The resume's listing: list requests: {} for {listed} assets (pages of at most \
             {MAX_PAGE_SIZE} would take {needed}); the dry run (scan, CRC-32C, listing and \
             comparison, nothing sent) took {:.2} s, {} of the resume's time.",
            r.route(LIST_ROUTE),
            find("dry run").map_or(0.0, |d| d.seconds),
            find("dry run").map_or_else(|| "—".to_owned(), |d| ratio(d.seconds, r.seconds)),
        );
    }
    let mut routes: Vec<&String> = phases.iter().flat_map(|p| p.routes.keys()).collect();
    routes.sort();
    routes.dedup();
    let _ = write!(
        out,
        "\nRequests per route (emulator request log):\n\n| route |"
    );
    for p in phases {
        let _ = write!(out, " {} |", p.name);
    }
    let _ = write!(out, "\n|---|{}\n", "---:|".repeat(phases.len()));
    for route in routes {
        let _ = write!(out, "| `{route}` |");
        for p in phases {
            let _ = write!(out, " {} |", p.route(route));
        }
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// Runs `cargo xtask bench --resume`.
pub(super) fn run(options: &Options, raw_args: &[String]) -> Result<(), String> {
    let root = crate::repo_root();
    let target = crate::target_dir(&root);
    build_release(&root, &["-p", "vi-cli", "--bin", "dtvi"])?;
    let release = target.join("release");
    let (work, _cleanup) = work_dir(&target)?;
    let case = Case {
        files: options.files,
        size_kib: options.size_kib,
        latency_ms: options.latency_ms,
        bandwidth: options.bandwidth,
    };
    let present = present_count(case.files, options.present_percent);
    let title = format!(
        "Resuming an upload: {}, {present} ({}%) already in the dataset",
        case.title(),
        options.present_percent
    );
    eprintln!("\nbench: {title}");

    let all = work.join("all");
    generate(
        &release.join("examples").join("bench_transfer"),
        &all,
        case.files,
        case.size_kib,
    )?;
    let sums = list_files(&all)?;
    let seed = work.join("seed");
    link_files(&all, &seed, &sums[..present])?;

    let log = work.join("requests.jsonl");
    let mut emulator_args = case.emulator_args();
    emulator_args.extend(["--record-to".to_owned(), log.display().to_string()]);
    let emu = start_emulator(
        &release.join("vi-emulator"),
        &work.join("emulator"),
        &emulator_args,
    )?;
    eprintln!("bench: emulator (pid {}) at {}", emu.pid(), emu.url);
    let client =
        vi_blocking::Client::from_config(super::client_config(&emu)?).map_err(|e| e.to_string())?;
    let a = create_dataset(&client, "resume A")?;
    let b = create_dataset(&client, "resume B")?;
    let (a, b) = ((a.as_str(), "A"), (b.as_str(), "B"));
    let mut meter = Meter {
        cli: release.join("dtvi"),
        emu: &emu,
        log: RouteLog {
            path: log,
            offset: 0,
        },
        work: &work,
        concurrency: options.concurrency,
    };

    let mut phases = Vec::new();
    if present > 0 {
        phases.push(meter.phase("seed", a, &seed, &[])?);
    }
    check_dataset(&client, a, &sums[..present])?;
    phases.push(meter.phase("dry run", a, &all, &["--skip-existing", "--dry-run"])?);
    phases.push(meter.phase("resume", a, &all, &["--skip-existing"])?);
    phases.push(meter.phase("full re-upload", b, &all, &[])?);
    check_dataset(&client, a, &sums)?;
    check_dataset(&client, b, &sums)?;
    check_phases(
        &phases,
        u64::from(case.files),
        present as u64,
        case.size_kib < SINGLE_PUT_LIMIT_KIB,
    )?;

    let emulator_rss = peak_rss_kib(emu.pid());
    drop(emu);
    let section = render(&title, &phases, emulator_rss);
    println!("\n{section}");
    append_report(
        &target,
        "Resumed-upload benchmark",
        raw_args,
        &format!(
            "Client: the `dtvi` CLI (release build), one process per phase, concurrency {}.\n\n{section}",
            options
                .concurrency
                .map_or_else(|| "SDK default".to_owned(), |c| c.to_string())
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_files_round_down() {
        assert_eq!(present_count(20_000, 50), 10_000);
        assert_eq!(present_count(3, 50), 1);
        assert_eq!(present_count(7, 0), 0);
        assert_eq!(present_count(7, 100), 7);
    }

    #[test]
    fn routes_are_counted_per_method_and_template() {
        let log = r#"{"method":"GET","route":"/workspaces/{org}/datasets/{dsc}/assets","status":200}
{"method":"PUT","route":"/_storage/upload/{ingestionId}/{filename}"}

{"method":"GET","route":"/workspaces/{org}/datasets/{dsc}/assets"}
"#;
        let routes = count_routes(log).unwrap();
        assert_eq!(routes.get(LIST_ROUTE), Some(&2));
        assert_eq!(routes.len(), 2);
        assert!(count_routes("not json").is_err());
    }

    fn phase(name: &'static str, sent: u64, present: u64, planned: u64) -> Phase {
        Phase {
            name,
            files: sent + present + planned,
            sent,
            present,
            planned,
            listed: Some(5),
            requests: Requests {
                api: 3,
                uploads: sent,
                downloads: 0,
            },
            ..Phase::default()
        }
    }

    #[test]
    fn phases_must_add_up() {
        let good = [
            phase("seed", 5, 0, 0),
            phase("dry run", 0, 5, 5),
            phase("resume", 5, 5, 0),
            phase("full re-upload", 10, 0, 0),
        ];
        check_phases(&good, 10, 5, true).unwrap();
        // A skipped file sent anyway.
        let mut bad = good.clone();
        bad[2].requests.uploads = 6;
        let e = check_phases(&bad, 10, 5, true).unwrap_err();
        assert!(e.contains("resume: storage upload requests: 6"), "{e}");
        assert!(check_phases(&bad, 10, 5, false).is_ok());
        let text = render("t", &good, None);
        assert!(
            text.contains("| dry run | `` | 10 | 0 (5 planned) | 5 |"),
            "{text}"
        );
        assert!(text.contains("Resume / full re-upload: time —"), "{text}");
    }
}
