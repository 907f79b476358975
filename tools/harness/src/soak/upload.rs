//! The upload phase of one facade: the folder uploaded, then in rounds whatever a round
//! reported failed; every report must name every file exactly once.

use std::collections::{BTreeMap, BTreeSet};

use super::client::{pairs, reason_class, strings};
use super::phase::{Phase, Rounds};
use super::table::PhaseRow;

/// Uploads `names` in rounds; returns the phase's row, whether every report accounted for
/// every file once, and the files still not uploaded (sorted).
pub fn upload_phase(
    p: &Phase,
    names: &[String],
    reasons: &mut BTreeMap<String, u64>,
) -> Result<(PhaseRow, bool, Vec<String>), String> {
    let Phase {
        facade,
        work,
        files_dir,
        ..
    } = *p;
    let mut run = Rounds::start(p, "upload")?;
    let mut ok = true;
    let mut pending: Vec<String> = names.to_vec();
    let mut input = files_dir.to_path_buf();
    while !pending.is_empty() && run.another() {
        let report = run.run_round(&input)?;
        let rounds = run.done();
        let expected: BTreeSet<&str> = pending.iter().map(String::as_str).collect();
        let next: Vec<String> = if let Some(error) = report["error"].as_str() {
            *reasons
                .entry(format!("upload call error: {}", reason_class(error)))
                .or_default() += 1;
            eprintln!("soak: {facade} upload round {rounds}: the call failed: {error}");
            pending.clone()
        } else {
            let succeeded = strings(&report, "succeeded");
            let processing = strings(&report, "processing");
            let failed = pairs(&report, "failed");
            let skipped = pairs(&report, "skipped");
            let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
            for n in succeeded
                .iter()
                .chain(&processing)
                .chain(failed.iter().map(|(n, _)| n))
                .chain(skipped.iter().map(|(n, _)| n))
            {
                *seen.entry(n.as_str()).or_default() += 1;
            }
            let twice: Vec<&&str> = seen
                .iter()
                .filter(|(_, c)| **c > 1)
                .map(|(n, _)| n)
                .collect();
            let missing: Vec<&&str> = expected
                .iter()
                .filter(|n| !seen.contains_key(**n))
                .collect();
            let extra: Vec<&&str> = seen.keys().filter(|n| !expected.contains(**n)).collect();
            if !twice.is_empty() || !missing.is_empty() || !extra.is_empty() {
                ok = false;
                eprintln!(
                    "soak: {facade} upload round {rounds}: the report does not account for every file once: {} twice, {} missing, {} unexpected (e.g. {:?} {:?} {:?})",
                    twice.len(),
                    missing.len(),
                    extra.len(),
                    twice.first(),
                    missing.first(),
                    extra.first()
                );
            }
            for (_, reason) in failed.iter().chain(&skipped) {
                *reasons
                    .entry(format!("upload: {}", reason_class(reason)))
                    .or_default() += 1;
            }
            let mut again: Vec<String> = failed.into_iter().map(|(n, _)| n).collect();
            again.extend(skipped.into_iter().map(|(n, _)| n));
            again.extend(processing);
            again.extend(missing.into_iter().map(|n| (**n).to_owned()));
            again.sort();
            again.dedup();
            again
        };
        run.left(next.len());
        eprintln!(
            "soak: {facade} upload round {rounds}: {} of {} files to do again",
            next.len(),
            pending.len()
        );
        pending = next;
        if !pending.is_empty() {
            // The next round uploads only these files: hard links in a fresh folder.
            input = work.join(format!("{facade}-retry-{rounds}"));
            std::fs::create_dir_all(&input).map_err(|e| e.to_string())?;
            for name in &pending {
                std::fs::hard_link(files_dir.join(name), input.join(name))
                    .map_err(|e| format!("link {name}: {e}"))?;
            }
        }
    }
    if !pending.is_empty() {
        ok = false;
        eprintln!(
            "soak: {facade}: {} files still not uploaded after {} rounds",
            pending.len(),
            run.done()
        );
    }
    let row = run.row(names.len(), pending.len(), "uploadRequests")?;
    Ok((row, ok, pending))
}
