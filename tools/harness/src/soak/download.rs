//! The download phase of one facade: the dataset downloaded in rounds, every asset named
//! once per report, and every file compared byte for byte with its original.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::client::{pairs, reason_class, strings};
use super::phase::{Phase, Rounds};
use super::table::PhaseRow;

/// Downloads the dataset (which holds `names`) in rounds and compares every file with its
/// original; returns the phase's row and whether every report and every byte was right.
pub fn download_phase(
    p: &Phase,
    names: &[String],
    reasons: &mut BTreeMap<String, u64>,
) -> Result<(PhaseRow, bool), String> {
    let Phase {
        facade,
        work,
        files_dir,
        ..
    } = *p;
    let mut run = Rounds::start(p, "download")?;
    let dir = work.join(format!("{facade}-download"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut ok = true;
    let mut paths: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut failed_now = names.len();
    while failed_now > 0 && run.another() {
        let report = run.run_round(&dir)?;
        let rounds = run.done();
        if let Some(error) = report["error"].as_str() {
            *reasons
                .entry(format!("download call error: {}", reason_class(error)))
                .or_default() += 1;
            eprintln!("soak: {facade} download round {rounds}: the call failed: {error}");
            run.left(names.len());
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
        run.left(failed_now);
        eprintln!("soak: {facade} download round {rounds}: {failed_now} assets to do again");
    }
    if failed_now > 0 {
        ok = false;
        eprintln!(
            "soak: {facade}: {failed_now} assets still not downloaded after {} rounds",
            run.done()
        );
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
    let row = run.row(names.len(), failed_now, "downloadRequests")?;
    Ok((row, ok))
}
