//! The raw client's rows: `curl --parallel` on the same signed URLs the SDKs use.
//!
//! * Download: xtask lists the dataset with signed URLs through the API (vi-blocking,
//!   500 per page like SDK downloads) and curl GETs them.
//! * Upload: xtask declares the folder's files in one ingestion session
//!   (`CreateIngestionSession`, no CRC-32C declared), curl PUTs each file to its signed
//!   URL with the URL's headers, and xtask polls the session every 50 ms until every file
//!   is ingested (the SDK waits for ingestion too).
//!
//! The URLs go into a curl config file in a private directory under `target/`, removed
//! right after the run; no URL is ever printed. Each row's time counts the API calls and
//! the transfers, as an SDK call does both.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vi_blocking::runtime::block_on;
use vi_core::endpoints::{CreateIngestionSession, GetIngestionSession};
use vi_core::models::{AssetKind, AssetSpec, CreateIngestionSessionRequest, IngestionRequestSpec};
use vi_core::{DatasetId, IngestionSessionId, ListAssetsOptions};

use super::table::Row;
use crate::procs::{EmulatorProcess, RemoveOnDrop, wait_with_peak_rss};

/// Quotes a value for a curl config file.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What a raw transfer needs: an API client for the listing and the session, a scratch
/// directory for curl's config file, and curl's `--parallel-max`.
struct Curl<'a> {
    client: vi_blocking::Client,
    scratch: &'a Path,
    concurrency: usize,
}

/// Uploads `path` (a folder) into `dataset` (`op` = `upload`) or downloads `dataset` into
/// `path/DATASET` (`op` = `download`) with curl; `scratch` is a fresh directory for the
/// config file.
pub(super) fn transfer(
    emu: &EmulatorProcess,
    op: &str,
    dataset: &str,
    path: &Path,
    scratch: &Path,
    concurrency: usize,
) -> Result<Row, String> {
    let curl = Curl {
        client: vi_blocking::Client::from_config(super::client_config(emu)?)
            .map_err(|e| e.to_string())?,
        scratch,
        concurrency,
    };
    let dataset = DatasetId::new(dataset).map_err(|e| e.to_string())?;
    if op == "upload" {
        upload(&curl, &dataset, path)
    } else {
        download(&curl, &dataset, path)
    }
}

/// Runs `curl --parallel` on `config` (written to a file in `scratch`, removed after) and
/// returns curl's peak RSS, sampled while it runs ([`wait_with_peak_rss`]).
fn run_curl(config: &str, scratch: &Path, concurrency: usize) -> Result<Option<u64>, String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let _cleanup = RemoveOnDrop(Some(scratch.to_path_buf()));
    let file = scratch.join("transfers.curl");
    std::fs::write(&file, config).map_err(|e| format!("{}: {e}", file.display()))?;
    let errors_path = scratch.join("curl.stderr");
    let errors_file = std::fs::File::create(&errors_path)
        .map_err(|e| format!("{}: {e}", errors_path.display()))?;
    let mut child = Command::new("curl")
        .args(["--parallel", "--parallel-immediate", "--parallel-max"])
        .arg(concurrency.to_string())
        .arg("--config")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(errors_file))
        .spawn()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    let (status, peak) = wait_with_peak_rss(&mut child)?;
    if status.success() {
        return Ok(peak);
    }
    // Whatever looks like a URL is left out of curl's messages.
    let errors = std::fs::read_to_string(&errors_path).unwrap_or_default();
    let said: Vec<&str> = errors
        .split_whitespace()
        .filter(|w| !w.contains("://"))
        .collect();
    let said = said.join(" ");
    Err(format!(
        "curl failed ({status}): {}",
        said.chars().take(500).collect::<String>()
    ))
}

/// One curl config entry: the URL, its method and headers, and what to send or where to
/// write. Entries are joined with `next`, so that one transfer's options (which `next`
/// resets, `silent` included) do not leak into another.
fn entry(signed: &vi_core::models::SignedUrl, file: (&str, &Path)) -> String {
    let mut out = format!("url = {}\nfail\nsilent\nshow-error\n", quoted(&signed.url));
    if let Some(method) = &signed.method {
        let _ = writeln!(out, "request = {}", quoted(method));
    }
    for (name, value) in signed.headers.iter().flatten() {
        let _ = writeln!(out, "header = {}", quoted(&format!("{name}: {value}")));
    }
    let _ = writeln!(out, "{} = {}", file.0, quoted(&file.1.to_string_lossy()));
    out
}

/// The entries of one curl run, joined with `next`.
fn joined(entries: Vec<String>) -> String {
    entries.join("next\n")
}

/// Downloads every asset of `dataset` into `folder/DATASET` (where the SDKs put them) with
/// `curl --parallel --parallel-max concurrency`; `scratch` is a fresh directory for the
/// config file.
fn download(curl: &Curl, dataset: &DatasetId, folder: &Path) -> Result<Row, String> {
    let (client, scratch, concurrency) = (&curl.client, curl.scratch, curl.concurrency);
    let dir = folder.join(dataset.as_str());
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let start = Instant::now();
    // The pages the SDK's downloads ask for (the listing's own default is 10 per page).
    let options = ListAssetsOptions::new()
        .with_contents(true)
        .page_size(vi_core::download::DEFAULT_PAGE_SIZE);
    let mut entries = Vec::new();
    let listing = client
        .assets()
        .list(dataset, options)
        .map_err(|e| format!("curl: listing the assets: {e}"))?;
    for asset in listing {
        let asset = asset.map_err(|e| format!("curl: listing the assets: {e}"))?;
        let signed = asset
            .contents
            .and_then(|c| c.asset)
            .ok_or_else(|| format!("curl: asset {} has no signed URL", asset.asset_id))?;
        entries.push(entry(&signed, ("output", &dir.join(&asset.filename))));
    }
    let files = entries.len() as u64;
    let listed = start.elapsed().as_secs_f64();
    let peak = run_curl(&joined(entries), scratch, concurrency)?;
    let seconds = start.elapsed().as_secs_f64();
    let (mut saved, mut bytes) = (0u64, 0u64);
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let meta = entry
            .and_then(|e| e.metadata())
            .map_err(|e| e.to_string())?;
        saved += 1;
        bytes += meta.len();
    }
    eprintln!("bench: curl: listing took {listed:.2}s of {seconds:.2}s");
    Ok(Row {
        facade: "curl".to_owned(),
        op: "download".to_owned(),
        files,
        bytes,
        seconds,
        peak_rss_kib: peak,
        failed: files.saturating_sub(saved),
    })
}

/// Uploads every file of `folder` (PNGs) into `dataset` through one ingestion session,
/// curl doing the PUTs, and waits until the session has ingested them all.
fn upload(curl: &Curl, dataset: &DatasetId, folder: &Path) -> Result<Row, String> {
    let (client, scratch, concurrency) = (&curl.client, curl.scratch, curl.concurrency);
    let mut local = Vec::new();
    for item in std::fs::read_dir(folder).map_err(|e| format!("{}: {e}", folder.display()))? {
        let item = item.map_err(|e| e.to_string())?;
        let size = item.metadata().map_err(|e| e.to_string())?.len();
        local.push((item.file_name().to_string_lossy().into_owned(), size));
    }
    let start = Instant::now();
    let assets = local
        .iter()
        .map(|(name, size)| AssetSpec {
            filename: name.clone(),
            mime: "image/png".to_owned(),
            size: *size,
            kind: AssetKind::Image,
            ..AssetSpec::default()
        })
        .collect();
    let create = CreateIngestionSession {
        dataset: dataset.clone(),
        body: CreateIngestionSessionRequest {
            spec: IngestionRequestSpec {
                assets,
                ..IngestionRequestSpec::default()
            },
        },
    };
    let session = block_on(client.core().execute(&create))
        .map_err(|e| format!("curl: creating the ingestion session: {e}"))?;
    let entries = session
        .status
        .assets
        .iter()
        .flatten()
        .map(|t| {
            entry(
                &t.upload,
                ("upload-file", &folder.join(&t.metadata.filename)),
            )
        })
        .collect();
    let peak = run_curl(&joined(entries), scratch, concurrency)?;
    let poll = GetIngestionSession {
        dataset: dataset.clone(),
        session: IngestionSessionId::new(session.asset_ingestion_session_id)
            .map_err(|e| e.to_string())?,
    };
    let files = local.len() as u64;
    let count = loop {
        let state = block_on(client.core().execute(&poll))
            .map_err(|e| format!("curl: polling the ingestion session: {e}"))?;
        let count = state.status.progress_count;
        if count.succeeded + count.errored >= files {
            break count;
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err("curl: the ingestion session did not finish in 10 minutes".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Row {
        facade: "curl".to_owned(),
        op: "upload".to_owned(),
        files,
        bytes: local.iter().map(|(_, size)| size).sum(),
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_kib: peak,
        failed: files.saturating_sub(count.succeeded),
    })
}
