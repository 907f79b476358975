//! `cargo xtask interop`: wire compatibility with the official Python client.
//!
//! 1. Creates `target/interop-venv` and installs `interop/requirements.txt` (vi-sdk, pinned)
//!    from PyPI. When that fails the run fails and says so: it never passes silently.
//! 2. Writes the sample images (`official_client.py make-samples`).
//! 3. Starts a recording vi-emulator (in-process) and runs `interop/official_client.py`
//!    against it; then a second recording emulator for our SDK's run of the same
//!    operations (`xtask interop-rust`, see `interop_rust.rs`).
//! 4. Compares the two recordings per operation (method + route template + query keys):
//!    request counts, response statuses, query value classes, JSON body keys and value
//!    types (recursively) and headers. Differences fail unless `interop/allowlist.json`
//!    lists them with a reason. Signed-URL requests must carry no credentials and API
//!    requests must carry both, on both sides (not allow-listable).
//! 5. Prints a table and exits 0 only when both scenarios passed and no difference is
//!    left unexplained.
//!
//! Everything it writes is under `target/` (`target/interop/` holds the recordings, the
//! scenario outputs and the work directories of the last run).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vi_emulator::{Emulator, EmulatorConfig};

/// The most a scenario may take (the official client polls sessions without a timeout).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(240);
/// The vi-sdk version the specification describes.
const VI_SDK_VERSION: &str = "0.1.0b7";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

/// Entry point of `cargo xtask interop`.
pub fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("\ninterop: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Entry point of `xtask interop-rust SAMPLES WORK` (run by `interop` as a child process).
pub fn rust_scenario(args: &[String]) -> ExitCode {
    let [samples, work] = args else {
        eprintln!("usage: xtask interop-rust SAMPLES_DIR WORK_DIR");
        return ExitCode::from(2);
    };
    match crate::interop_rust::run(Path::new(samples), Path::new(work)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("our SDK scenario FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let started = Instant::now();
    let root = repo_root();
    let interop_dir = root.join("interop");
    let target = target_dir(&root);
    let venv = target.join("interop-venv");
    let out = target.join("interop");
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| format!("cannot clean {}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let allow = Allowlist::load(&interop_dir.join("allowlist.json"))?;

    println!("== interop: Python environment ({}) ==", venv.display());
    let t = Instant::now();
    let python = prepare_venv(&venv, &interop_dir.join("requirements.txt"))?;
    println!("   ready in {:.1}s", t.elapsed().as_secs_f64());

    let script = interop_dir.join("official_client.py");
    let samples = out.join("samples");
    let status = Command::new(&python)
        .arg(&script)
        .arg("make-samples")
        .arg(&samples)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!(
            "{} make-samples failed ({status})",
            script.display()
        ));
    }

    println!("\n== interop: official client (vi-sdk {VI_SDK_VERSION}) against vi-emulator ==");
    let official_rec = out.join("official.jsonl");
    let t = Instant::now();
    let official_ok = with_emulator(&official_rec, |emulator| {
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .arg("run")
            .arg(&samples)
            .arg(out.join("official-work"));
        run_scenario(cmd, emulator, &out, "official")
    })?;
    let official_time = t.elapsed();

    println!("\n== interop: our SDK (vi-blocking) against vi-emulator ==");
    let ours_rec = out.join("ours.jsonl");
    let t = Instant::now();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let ours_ok = with_emulator(&ours_rec, |emulator| {
        let mut cmd = Command::new(&exe);
        cmd.arg("interop-rust")
            .arg(&samples)
            .arg(out.join("ours-work"));
        run_scenario(cmd, emulator, &out, "ours")
    })?;
    let ours_time = t.elapsed();

    println!(
        "\n== interop: requests compared (recordings in {}) ==",
        out.display()
    );
    let official = load_recording(&official_rec)?;
    let ours = load_recording(&ours_rec)?;
    let comparison = compare(&official, &ours, &allow);
    comparison.print();

    let unused: Vec<&Allowed> = allow
        .entries
        .iter()
        .enumerate()
        .filter(|(i, _)| !comparison.used.contains(i))
        .map(|(_, e)| e)
        .collect();
    if !unused.is_empty() {
        println!("\nallow-list entries not needed in this run:");
        for e in unused {
            println!("  - {} {}: {}", e.operation, e.difference, e.reason);
        }
    }

    println!(
        "\ninterop: official scenario {} ({:.1}s), our scenario {} ({:.1}s), {} unexplained difference(s); total {:.1}s",
        if official_ok { "passed" } else { "FAILED" },
        official_time.as_secs_f64(),
        if ours_ok { "passed" } else { "FAILED" },
        ours_time.as_secs_f64(),
        comparison.unexplained,
        started.elapsed().as_secs_f64()
    );
    let pass = official_ok && ours_ok && comparison.unexplained == 0;
    println!("interop: {}", if pass { "PASS" } else { "FAIL" });
    Ok(pass)
}

// ---------------------------------------------------------------------------------------
// Python environment
// ---------------------------------------------------------------------------------------

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Creates the virtual environment if needed and installs the pinned official client.
fn prepare_venv(venv: &Path, requirements: &Path) -> Result<PathBuf, String> {
    let python = venv_python(venv);
    if !python.exists() {
        let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let output = Command::new(&base)
            .args(["-m", "venv"])
            .arg(venv)
            .output()
            .map_err(|e| {
                format!("cannot run {base} (set PYTHON to a Python 3.10+ interpreter): {e}")
            })?;
        if !output.status.success() {
            return Err(format!(
                "`{base} -m venv {}` failed:\n{}",
                venv.display(),
                tail(&output.stderr, 20)
            ));
        }
    }
    // Installed already (a previous run)? Then no registry access is needed.
    let check =
        format!("import sys, vi; sys.exit(0 if vi.__version__ == '{VI_SDK_VERSION}' else 1)");
    let installed = Command::new(&python)
        .args(["-c", &check])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        println!("   vi-sdk {VI_SDK_VERSION} already installed");
        return Ok(python);
    }
    println!("   pip install -r {}", requirements.display());
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "30",
            "--retries",
            "2",
            "-r",
        ])
        .arg(requirements)
        .output()
        .map_err(|e| format!("cannot run pip in {}: {e}", venv.display()))?;
    if !output.status.success() {
        return Err(format!(
            "could not install vi-sdk=={VI_SDK_VERSION} from the package registry (PyPI): \
             `pip install -r {}` failed. The harness needs the official client and cannot \
             run without it; check that PyPI is reachable (or set PIP_INDEX_URL to a mirror).\n\
             pip said:\n{}",
            requirements.display(),
            tail(&output.stderr, 20)
        ));
    }
    let ok = Command::new(&python)
        .args(["-c", &check])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err(format!(
            "pip succeeded but `import vi` does not give vi-sdk {VI_SDK_VERSION}"
        ));
    }
    Ok(python)
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

fn with_emulator(
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
fn run_scenario(
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

// ---------------------------------------------------------------------------------------
// Recordings
// ---------------------------------------------------------------------------------------

/// One recorded request, as vi-emulator writes it (`record.rs`).
#[derive(Debug, Clone)]
struct Request {
    method: String,
    route: String,
    /// Query key -> value class (`int`, `y`, `token`, …).
    query: BTreeMap<String, String>,
    /// The JSON shape of the body (`None`: no body).
    body: Option<Value>,
    /// Header name -> summarised value.
    headers: BTreeMap<String, String>,
    status: u64,
}

fn load_recording(path: &Path) -> Result<Vec<Request>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "the emulator wrote no recording at {} ({e}); the harness needs \
             EmulatorConfig::record_to to append one JSON line per request",
            path.display()
        )
    })?;
    let mut requests = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: Value = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not JSON: {e}", path.display(), n + 1))?;
        let field = |name: &str| {
            value.get(name).ok_or_else(|| {
                format!(
                    "{}:{}: the emulator's recording lacks the field {name:?} \
                     (needed: method, route, query, body, headers, status)",
                    path.display(),
                    n + 1
                )
            })
        };
        let strings = |v: &Value, name: &str| -> Result<BTreeMap<String, String>, String> {
            v.as_object()
                .ok_or_else(|| format!("{}:{}: {name:?} is not an object", path.display(), n + 1))
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                            )
                        })
                        .collect()
                })
        };
        let body = field("body")?;
        requests.push(Request {
            method: field("method")?.as_str().unwrap_or_default().to_owned(),
            route: field("route")?.as_str().unwrap_or_default().to_owned(),
            query: strings(field("query")?, "query")?,
            body: if body.is_null() {
                None
            } else {
                Some(body.clone())
            },
            headers: strings(field("headers")?, "headers")?,
            status: field("status")?.as_u64().unwrap_or_default(),
        });
    }
    if requests.is_empty() {
        return Err(format!(
            "the recording {} is empty: the emulator recorded no request",
            path.display()
        ));
    }
    Ok(requests)
}

/// The spec's name of a route (§2.2), for the table.
fn spec_id(method: &str, route: &str) -> &'static str {
    const DS: &str = "/workspaces/{org}/datasets/{dsc}";
    const SRC: &str = "/workspaces/{org}/datasets/{dsc}/assetSources/{src}";
    let Some(rest) = route.strip_prefix(DS) else {
        return match (method, route) {
            ("GET", "/workspaces/{org}/datasets") => "D1",
            ("POST", "/workspaces/{org}/datasets") => "D2",
            ("GET", "/workspaces/{org}/simpleDatasets") => "D7",
            ("PUT", r) if r.starts_with("/_storage/upload/") => "S1",
            ("PUT", r) if r.starts_with("/_storage/part/") => "S2",
            ("GET", r) if r.starts_with("/_storage/download/") => "S3",
            _ => "?",
        };
    };
    if let Some(tail) = route.strip_prefix(SRC) {
        return match (method, tail) {
            ("POST", "/assetIngestionSessions") => "U1",
            ("GET", "/assetIngestionSessions/{sessionId}") => "U2",
            ("POST", "/assetIngestionSessions/{sessionId}:cancel") => "U3",
            ("GET", "/assetIngestionSessions") => "U4",
            ("POST", "/multipartUploads") => "M1",
            ("POST", "/multipartUploads/{mpId}/parts/{partNumber}") => "M2",
            ("POST", "/multipartUploads/{mpId}/parts/{partNumber}/completion") => "M3",
            ("POST", "/multipartUploads/{mpId}/completion") => "M4",
            ("DELETE", "/multipartUploads/{mpId}") => "M5",
            _ => "?",
        };
    }
    match (method, rest) {
        ("GET", "") => "D3",
        ("DELETE", "") => "D4",
        ("GET", "/deleteOperation") => "D5",
        ("PATCH", "") => "D6",
        ("GET", "/assets") => "A1",
        ("GET", "/assets:count") => "A2",
        ("GET", "/assets/{asset}") => "A3",
        ("DELETE", "/assets/{asset}") => "A4",
        ("POST", "/assets/{asset}/name") => "A5",
        ("POST", "/assetFiles/{filename}/name") => "A6",
        _ => "?",
    }
}

/// An operation: method + route template + the set of query keys sent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct OpKey {
    method: String,
    route: String,
    query: String,
}

impl OpKey {
    fn of(r: &Request) -> OpKey {
        OpKey {
            method: r.method.clone(),
            route: r.route.clone(),
            query: r.query.keys().cloned().collect::<Vec<_>>().join("&"),
        }
    }

    fn id(&self) -> &'static str {
        spec_id(&self.method, &self.route)
    }

    fn label(&self) -> String {
        let route = self
            .route
            .strip_prefix("/workspaces/{org}")
            .unwrap_or(&self.route);
        let route = if let Some(rest) = route.strip_prefix("/datasets/{dsc}/assetSources/{src}") {
            format!("{{src}}{rest}")
        } else if let Some(rest) = route
            .strip_prefix("/datasets/{dsc}")
            .filter(|r| !r.is_empty())
        {
            format!("{{dsc}}{rest}")
        } else {
            route.to_owned()
        };
        let query = if self.query.is_empty() {
            String::new()
        } else {
            format!(" ?{}", self.query)
        };
        format!("{} {} {route}{query}", self.id(), self.method)
    }

    fn pick<'a>(&self, requests: &'a [Request]) -> Vec<&'a Request> {
        requests.iter().filter(|r| &OpKey::of(r) == self).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Allow-list
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Allowed {
    /// Glob (`*`) over the operation's spec id (`A1`, `U2`, `S*`, `*`).
    operation: String,
    /// Glob over the query keys of the operation (`p&s`); `*` or absent: any.
    query: String,
    /// Glob over the difference (`count`, `only-ours`, `header:User-Agent`, `body:a.b`, …).
    difference: String,
    /// Globs over the values shown for each side (`*` or absent: any).
    official: String,
    ours: String,
    reason: String,
}

#[derive(Debug, Default)]
struct Allowlist {
    entries: Vec<Allowed>,
}

impl Allowlist {
    fn load(path: &Path) -> Result<Allowlist, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the allow-list {}: {e}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
        let mut entries = Vec::new();
        for (i, entry) in value
            .get("allow")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{}: expected an \"allow\" array", path.display()))?
            .iter()
            .enumerate()
        {
            let get = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_owned);
            let (Some(operation), Some(difference), Some(reason)) =
                (get("operation"), get("difference"), get("reason"))
            else {
                return Err(format!(
                    "{}: allow[{i}] needs \"operation\", \"difference\" and \"reason\"",
                    path.display()
                ));
            };
            if reason.trim().is_empty() {
                return Err(format!(
                    "{}: allow[{i}] has an empty reason",
                    path.display()
                ));
            }
            entries.push(Allowed {
                operation,
                query: get("query").unwrap_or_else(|| "*".to_owned()),
                difference,
                official: get("official").unwrap_or_else(|| "*".to_owned()),
                ours: get("ours").unwrap_or_else(|| "*".to_owned()),
                reason,
            });
        }
        Ok(Allowlist { entries })
    }

    fn find(&self, op: &OpKey, difference: &str, official: &str, ours: &str) -> Option<usize> {
        self.entries.iter().position(|e| {
            glob(&e.operation, op.id())
                && glob(&e.query, &op.query)
                && glob(&e.difference, difference)
                && glob(&e.official, official)
                && glob(&e.ours, ours)
        })
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

// ---------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------

/// Flattens a body shape into path -> type (`object`, `array`, `string`, `int`, …).
fn flatten(shape: &Value, path: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    let mut add = |t: &str| {
        out.entry(path.to_owned()).or_default().insert(t.to_owned());
    };
    match shape {
        Value::Object(map) => {
            add("object");
            for (k, v) in map {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, &sub, out);
            }
        }
        Value::Array(items) => {
            add("array");
            for item in items {
                flatten(item, &format!("{path}[]"), out);
            }
        }
        Value::String(t) => add(t),
        other => add(&other.to_string()),
    }
}

/// Everything compared for one side of one operation.
#[derive(Debug, Default)]
struct Side {
    count: usize,
    statuses: BTreeSet<u64>,
    query: BTreeMap<String, BTreeSet<String>>,
    body: BTreeMap<String, BTreeSet<String>>,
    headers: BTreeMap<String, BTreeSet<String>>,
}

const ABSENT: &str = "<absent>";

impl Side {
    fn build(requests: &[&Request], header_names: &BTreeSet<String>) -> Side {
        let mut side = Side {
            count: requests.len(),
            ..Side::default()
        };
        for r in requests {
            side.statuses.insert(r.status);
            for (k, class) in &r.query {
                side.query
                    .entry(k.clone())
                    .or_default()
                    .insert(class.clone());
            }
            match &r.body {
                None => {
                    side.body
                        .entry("(body)".into())
                        .or_default()
                        .insert("none".into());
                }
                Some(shape) => {
                    let mut flat = BTreeMap::new();
                    flatten(shape, "", &mut flat);
                    for (path, types) in flat {
                        let path = if path.is_empty() {
                            "(body)".to_owned()
                        } else {
                            path
                        };
                        side.body.entry(path).or_default().extend(types);
                    }
                }
            }
            for name in header_names {
                let value = r.headers.get(name).map_or(ABSENT, String::as_str);
                side.headers
                    .entry(name.clone())
                    .or_default()
                    .insert(value.to_owned());
            }
        }
        side
    }

    fn summary(&self) -> String {
        if self.count == 0 {
            return "-".into();
        }
        let statuses: Vec<String> = self.statuses.iter().map(u64::to_string).collect();
        format!("{}× {}", self.count, statuses.join("/"))
    }
}

fn show(set: Option<&BTreeSet<String>>) -> String {
    match set {
        None => ABSENT.to_owned(),
        Some(s) => s.iter().cloned().collect::<Vec<_>>().join(" | "),
    }
}

/// Allowed differences of one kind: how many operations, the values on each side.
type Group = (usize, BTreeSet<String>, BTreeSet<String>);

/// One difference found in one operation.
#[derive(Debug)]
struct Difference {
    what: String,
    official: String,
    ours: String,
    allowed: Option<usize>,
}

#[derive(Debug)]
struct Row {
    op: OpKey,
    official: String,
    ours: String,
    differences: Vec<Difference>,
}

#[derive(Debug, Default)]
struct Comparison {
    rows: Vec<Row>,
    /// Rule violations that no allow-list entry can excuse.
    rules: Vec<String>,
    unexplained: usize,
    used: BTreeSet<usize>,
    reasons: Vec<String>,
}

/// The fixed rules of spec §1.3/§1.4, checked on every request of a recording.
fn check_rules(side: &str, requests: &[Request], out: &mut Vec<String>) {
    for (i, r) in requests.iter().enumerate() {
        let at = format!("{side} request #{} ({} {})", i + 1, r.method, r.route);
        if r.route.starts_with("/_storage/") {
            for h in ["Authorization", "Organization-Id"] {
                if r.headers.contains_key(h) {
                    out.push(format!("{at}: a signed-URL request carries {h}"));
                }
            }
        } else {
            if !r
                .headers
                .get("Authorization")
                .is_some_and(|v| v.starts_with("Bearer "))
            {
                out.push(format!("{at}: no `Authorization: Bearer …`"));
            }
            if !r.headers.contains_key("Organization-Id") {
                out.push(format!("{at}: no Organization-Id"));
            }
        }
        if r.route == "unmatched" || r.route == "fault" {
            out.push(format!(
                "{at}: the emulator matched no route (status {})",
                r.status
            ));
        }
    }
}

fn compare(official: &[Request], ours: &[Request], allow: &Allowlist) -> Comparison {
    let mut comparison = Comparison::default();
    check_rules("official", official, &mut comparison.rules);
    check_rules("ours", ours, &mut comparison.rules);

    // Operations in the order the official client first sent them, then ours.
    let mut order: Vec<OpKey> = Vec::new();
    for r in official.iter().chain(ours) {
        let key = OpKey::of(r);
        if !order.contains(&key) {
            order.push(key);
        }
    }
    for op in order {
        let (off_reqs, our_reqs) = (op.pick(official), op.pick(ours));
        let header_names: BTreeSet<String> = off_reqs
            .iter()
            .chain(&our_reqs)
            .flat_map(|r| r.headers.keys().cloned())
            .collect();
        let off = Side::build(&off_reqs, &header_names);
        let our = Side::build(&our_reqs, &header_names);
        let mut diffs: Vec<(String, String, String)> = Vec::new();
        if off.count == 0 || our.count == 0 {
            let what = if off.count == 0 {
                "only-ours"
            } else {
                "only-official"
            };
            diffs.push((what.into(), off.summary(), our.summary()));
        } else {
            if off.count != our.count {
                diffs.push(("count".into(), off.count.to_string(), our.count.to_string()));
            }
            if off.statuses != our.statuses {
                diffs.push(("status".into(), off.summary(), our.summary()));
            }
            let mut push_maps =
                |prefix: &str,
                 a: &BTreeMap<String, BTreeSet<String>>,
                 b: &BTreeMap<String, BTreeSet<String>>| {
                    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                    for k in keys {
                        if a.get(k) != b.get(k) {
                            diffs.push((format!("{prefix}:{k}"), show(a.get(k)), show(b.get(k))));
                        }
                    }
                };
            push_maps("query", &off.query, &our.query);
            push_maps("body", &off.body, &our.body);
            push_maps("header", &off.headers, &our.headers);
        }
        let mut differences = Vec::new();
        for (what, o, u) in diffs {
            let allowed = allow.find(&op, &what, &o, &u);
            match allowed {
                Some(i) => {
                    comparison.used.insert(i);
                }
                None => comparison.unexplained += 1,
            }
            differences.push(Difference {
                what,
                official: o,
                ours: u,
                allowed,
            });
        }
        comparison.rows.push(Row {
            official: off.summary(),
            ours: our.summary(),
            op,
            differences,
        });
    }
    comparison.unexplained += comparison.rules.len();
    comparison.reasons = allow.entries.iter().map(|e| e.reason.clone()).collect();
    comparison
}

impl Comparison {
    fn status_of(&self, row: &Row) -> String {
        if row.differences.is_empty() {
            return "same".into();
        }
        if row.differences.iter().any(|d| d.allowed.is_none()) {
            let what: Vec<&str> = row
                .differences
                .iter()
                .filter(|d| d.allowed.is_none())
                .map(|d| d.what.as_str())
                .collect();
            return format!("DIFFERENT: {}", what.join(", "));
        }
        let refs: BTreeSet<usize> = row.differences.iter().filter_map(|d| d.allowed).collect();
        let refs: Vec<String> = refs.iter().map(|i| (i + 1).to_string()).collect();
        let what: Vec<&str> = row
            .differences
            .iter()
            .map(|d| d.what.strip_prefix("header:").unwrap_or(&d.what))
            .collect();
        format!("allowed: {} [{}]", what.join(", "), refs.join(","))
    }

    fn print(&self) {
        let labels: Vec<String> = self.rows.iter().map(|r| r.op.label()).collect();
        let w = labels.iter().map(String::len).max().unwrap_or(9).max(9);
        println!(
            "{:<w$}  {:<12}  {:<12}  status",
            "operation", "official", "ours"
        );
        println!("{}", "-".repeat(w + 2 + 12 + 2 + 12 + 2 + 30));
        for (row, label) in self.rows.iter().zip(&labels) {
            println!(
                "{label:<w$}  {:<12}  {:<12}  {}",
                row.official,
                row.ours,
                self.status_of(row)
            );
        }
        // Unexplained differences in full; allowed ones grouped by kind.
        let mut details = Vec::new();
        let mut grouped: BTreeMap<(usize, String), Group> = BTreeMap::new();
        for (row, label) in self.rows.iter().zip(&labels) {
            for d in &row.differences {
                match d.allowed {
                    Some(i) => {
                        let g = grouped.entry((i, d.what.clone())).or_default();
                        g.0 += 1;
                        g.1.insert(d.official.clone());
                        g.2.insert(d.ours.clone());
                    }
                    None => details.push(format!(
                        "  {label}: {}: official {} / ours {}",
                        d.what, d.official, d.ours
                    )),
                }
            }
        }
        if !details.is_empty() {
            println!("\nDIFFERENT (not in the allow-list):");
            for d in details {
                println!("{d}");
            }
        }
        let cited: BTreeSet<usize> = grouped.keys().map(|(i, _)| *i).collect();
        if !grouped.is_empty() {
            println!("\nallowed differences:");
            for ((i, what), (n, official, ours)) in &grouped {
                let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(" ; ");
                println!(
                    "  [{}] {what} in {n} operation(s): official {} / ours {}",
                    i + 1,
                    join(official),
                    join(ours)
                );
            }
        }
        if !cited.is_empty() {
            println!("\nallowed because (interop/allowlist.json):");
            for i in cited {
                println!("  [{}] {}", i + 1, self.reasons[i]);
            }
        }
        if !self.rules.is_empty() {
            println!("\nrule violations (spec §1.3/§1.4; cannot be allow-listed):");
            for r in &self.rules {
                println!("  DIFFERENT: {r}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches() {
        assert!(glob("*", "anything"));
        assert!(glob("header:*", "header:User-Agent"));
        assert!(glob("S*", "S3"));
        assert!(!glob("S*", "A1"));
        assert!(glob("p&*", "p&s"));
        assert!(glob("", ""));
        assert!(!glob("", "x"));
    }
    fn request(method: &str, route: &str, query: &[(&str, &str)], body: Option<Value>) -> Request {
        let mut headers = BTreeMap::new();
        if !route.starts_with("/_storage/") {
            headers.insert("Authorization".to_owned(), "Bearer <redacted>".to_owned());
            headers.insert("Organization-Id".to_owned(), "<present>".to_owned());
            headers.insert("Content-Type".to_owned(), "application/json".to_owned());
        }
        Request {
            method: method.to_owned(),
            route: route.to_owned(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body,
            headers,
            status: 200,
        }
    }

    const A1: &str = "/workspaces/{org}/datasets/{dsc}/assets";
    const U1: &str = "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions";

    fn differences(c: &Comparison) -> Vec<String> {
        c.rows
            .iter()
            .flat_map(|r| {
                r.differences
                    .iter()
                    .map(move |d| format!("{} {}", r.op.id(), d.what))
            })
            .collect()
    }

    #[test]
    fn identical_recordings_have_no_difference() {
        let rs = vec![
            request("GET", A1, &[("s", "int")], None),
            request(
                "POST",
                U1,
                &[],
                Some(serde_json::json!({"spec": {"assets": [{"size": "int"}]}})),
            ),
        ];
        let c = compare(&rs, &rs, &Allowlist::default());
        assert_eq!(c.unexplained, 0, "{:?}", differences(&c));
        assert!(c.rules.is_empty());
    }

    #[test]
    fn body_query_header_and_count_differences_are_found() {
        let official = vec![
            request("GET", A1, &[("s", "int"), ("contents", "y")], None),
            request(
                "POST",
                U1,
                &[],
                Some(
                    serde_json::json!({"spec": {"assets": [{"size": "int", "crc32c": "int", "customMetadata": "null"}]}}),
                ),
            ),
        ];
        let mut ours = vec![
            request("GET", A1, &[("s", "string"), ("contents", "y")], None),
            request(
                "POST",
                U1,
                &[],
                Some(serde_json::json!({"spec": {"assets": [{"size": "float", "crc32c": "int"}]}})),
            ),
            request("GET", A1, &[("s", "string"), ("contents", "y")], None),
        ];
        ours[1]
            .headers
            .insert("Content-Type".to_owned(), "text/plain".to_owned());
        let c = compare(&official, &ours, &Allowlist::default());
        let found = differences(&c);
        for expected in [
            "A1 count",
            "A1 query:s",
            "U1 body:spec.assets[].size",
            "U1 body:spec.assets[].customMetadata",
            "U1 header:Content-Type",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{expected} not in {found:?}"
            );
        }
        assert_eq!(c.unexplained, found.len());
    }

    #[test]
    fn one_sided_operations_and_allow_list() {
        let official = vec![request("GET", A1, &[("s", "int")], None)];
        let ours = vec![
            request("GET", A1, &[("s", "int")], None),
            request("GET", A1, &[("p", "token"), ("s", "int")], None),
        ];
        let c = compare(&official, &ours, &Allowlist::default());
        assert_eq!(differences(&c), ["A1 only-ours"]);
        let allow = Allowlist {
            entries: vec![Allowed {
                operation: "A1".into(),
                query: "*p*".into(),
                difference: "only-ours".into(),
                official: "*".into(),
                ours: "*".into(),
                reason: "we follow tokens".into(),
            }],
        };
        let c = compare(&official, &ours, &allow);
        assert_eq!(c.unexplained, 0);
        assert!(c.used.contains(&0));
    }

    #[test]
    fn credentials_on_signed_urls_break_a_rule() {
        let mut put = request(
            "PUT",
            "/_storage/upload/{ingestionId}/{filename}",
            &[],
            None,
        );
        put.headers
            .insert("Authorization".to_owned(), "Bearer <redacted>".to_owned());
        let c = compare(&[put.clone()], &[put], &Allowlist::default());
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.unexplained, 2);
    }

    #[test]
    fn spec_ids() {
        assert_eq!(spec_id("GET", A1), "A1");
        assert_eq!(spec_id("POST", U1), "U1");
        assert_eq!(spec_id("GET", "/workspaces/{org}/datasets/{dsc}"), "D3");
        assert_eq!(
            spec_id("GET", "/_storage/download/{dsc}/{assetId}/{filename}"),
            "S3"
        );
    }

    #[test]
    fn the_allow_list_parses() {
        let path = repo_root().join("interop").join("allowlist.json");
        let allow = Allowlist::load(&path).expect("allow-list");
        assert!(!allow.entries.is_empty());
    }
}
