//! The raw client's row: `curl --parallel` on the dataset's signed download URLs.
//!
//! The URLs come from listing the dataset with contents through the API (vi-blocking);
//! they go into a curl config file in a private directory under `target/`, which is
//! removed right after the run. No URL is ever printed. The row's time counts the
//! listing and the transfers, as an SDK download does both. Raw uploads are not measured
//! (they would need an ingestion session's signed PUT URLs and headers by hand).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vi_core::{DatasetId, ListAssetsOptions};

use super::table::Row;
use crate::procs::{EmulatorProcess, RemoveOnDrop, peak_rss_kib};

/// Quotes a value for a curl config file.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Downloads every asset of `dataset` into `dir` with `curl --parallel --parallel-max
/// concurrency`; `scratch` is a fresh directory for the config file.
pub(super) fn download(
    emu: &EmulatorProcess,
    dataset: &str,
    dir: &Path,
    scratch: &Path,
    concurrency: usize,
) -> Result<Row, String> {
    let client =
        vi_blocking::Client::from_config(super::client_config(emu)?).map_err(|e| e.to_string())?;
    let dataset = DatasetId::new(dataset).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let _cleanup = RemoveOnDrop(Some(scratch.to_path_buf()));

    let start = Instant::now();
    // The pages the SDK's downloads ask for (the listing's own default is 10 per page).
    let options = ListAssetsOptions {
        contents: true,
        page_size: vi_core::download::DEFAULT_PAGE_SIZE,
        ..ListAssetsOptions::default()
    };
    let mut config = String::new();
    let mut files = 0u64;
    let listing = client
        .assets()
        .list(&dataset, options)
        .map_err(|e| format!("curl: listing the assets: {e}"))?;
    for asset in listing {
        let asset = asset.map_err(|e| format!("curl: listing the assets: {e}"))?;
        let signed = asset
            .contents
            .and_then(|c| c.asset)
            .ok_or_else(|| format!("curl: asset {} has no signed URL", asset.asset_id))?;
        if signed.headers.as_ref().is_some_and(|h| !h.is_empty()) {
            return Err(
                "curl: the signed URLs need headers; the raw client does not send them".into(),
            );
        }
        let out = dir.join(&asset.filename);
        let _ = writeln!(
            config,
            "url = {}\noutput = {}",
            quoted(&signed.url),
            quoted(&out.to_string_lossy())
        );
        files += 1;
    }
    let listed = start.elapsed().as_secs_f64();
    let file = scratch.join("downloads.curl");
    std::fs::write(&file, config).map_err(|e| format!("{}: {e}", file.display()))?;

    let errors_path = scratch.join("curl.stderr");
    let errors_file = std::fs::File::create(&errors_path)
        .map_err(|e| format!("{}: {e}", errors_path.display()))?;
    let mut child = Command::new("curl")
        .args(["--parallel", "--parallel-immediate", "--parallel-max"])
        .arg(concurrency.to_string())
        .args(["--fail", "--silent", "--show-error", "--config"])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(errors_file))
        .spawn()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    // curl's peak RSS, sampled while it runs (VmHWM only grows; its last value before
    // the exit is the peak up to then).
    let mut peak = None;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        peak = peak_rss_kib(child.id()).or(peak);
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    if !status.success() {
        // Whatever looks like a URL is left out of curl's messages.
        let errors = std::fs::read_to_string(&errors_path).unwrap_or_default();
        let said: Vec<&str> = errors
            .split_whitespace()
            .filter(|w| !w.contains("://"))
            .collect();
        let said = said.join(" ");
        return Err(format!(
            "curl failed ({status}): {}",
            said.chars().take(500).collect::<String>()
        ));
    }
    let (mut saved, mut bytes) = (0u64, 0u64);
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
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
