//! Upload scenarios where the service judges the files: bodies found corrupt, sessions that
//! end `FailedReach`, and files the service gave up on. The report names exactly the
//! assets that exist.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`Facade`] (see [`crate::upload_verdict_tests!`]).

use vi_core::api::{UploadFailure, UploadOptions};
use vi_emulator::{EmulatorConfig, FailureModel, Verdicts};

use super::uploads::{listed, small_pngs};
use crate::facade::{AssetOps, Facade, new_dataset};
use crate::{Fault, FaultKind, FaultTarget, TestEnv};

/// Lets the next `untouched` uploads through, then has the storage find the one after
/// them corrupt (`ECORRUPT`).
fn corrupt_upload_after(env: &TestEnv, untouched: u32) {
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Delay(std::time::Duration::ZERO),
        times: untouched,
    });
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::CorruptUploadCheck,
        times: 1,
    });
}

/// Under failure model (b) a `FailAfterOne` session ends `FailedReach` once a file
/// fails; the files the service had already taken in (and counted succeeded) are
/// reported succeeded, and exactly those are assets. The others are reported with the
/// service's reasons.
pub fn files_taken_in_before_a_failed_reach_are_reported_succeeded<F: Facade>(_: &TestEnv) {
    let env = &TestEnv::with(EmulatorConfig {
        failure_model: FailureModel::FailedReachOnFirstError,
        ..EmulatorConfig::default()
    });
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = small_pngs(env, "reach", "r", 4);
    // The first two uploads go through untouched, the third is found corrupt.
    corrupt_upload_after(env, 2);
    let options = UploadOptions::new().concurrency(1);
    let report = c.assets().upload(&ds, root.as_path(), options).unwrap();
    assert_eq!(report.sessions.len(), 1);
    assert!(
        report.sessions[0].failure().is_some(),
        "the session ended FailedReach"
    );
    let mut succeeded: Vec<String> = report
        .succeeded
        .iter()
        .map(|f| f.filename.clone())
        .collect();
    succeeded.sort();
    assert_eq!(succeeded, ["r0.png", "r1.png"], "{}", report.summary());
    assert_eq!(report.failed.len(), 2, "{}", report.summary());
    for f in &report.failed {
        assert!(
            matches!(f.reason, UploadFailure::Rejected { .. }),
            "{}: {:?}",
            f.filename,
            f.reason
        );
    }
    let names: Vec<String> = listed(&c, &ds).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names, succeeded,
        "the report names exactly the assets that exist"
    );
}

/// Under `FailAfterOne` (the default) the service gives up on the rest of a session once
/// a file fails. The engine looks at the session after such a failure and does not send
/// the files it gave up on; each is reported with the service's reason (`EUNKNOWN`).
pub fn files_the_service_gave_up_on_are_not_sent<F: Facade>(env: &TestEnv) {
    let (puts, unknown) = second_file_corrupt::<F>(env, 8);
    // g0, g1, and at most the one transfer started while the session was being looked at.
    assert!(puts <= 3, "{puts} PUTs for 8 files");
    assert_eq!(unknown, 6);
}

/// Uploads `count` small files one at a time, the second found corrupt, under
/// FailAfterOne; checks that only the first succeeded and returns the PUTs made and the
/// files reported with the service's `EUNKNOWN`.
fn second_file_corrupt<F: Facade>(env: &TestEnv, count: u32) -> (u64, usize) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = small_pngs(env, "given-up", "g", count);
    // g0 goes through, g1 is found corrupt.
    corrupt_upload_after(env, 1);
    let before = env.emulator.stats();
    let report = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new().concurrency(1))
        .unwrap();
    let puts = env.emulator.stats().upload_requests - before.upload_requests;
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(
        report.failed.len(),
        count as usize - 1,
        "{}",
        report.summary()
    );
    let unknown = report
        .failed
        .iter()
        .filter(|f| matches!(&f.reason, UploadFailure::Rejected { code } if code.as_str() == "EUNKNOWN"))
        .count();
    (puts, unknown)
}

/// With verdicts deferred to the session (every complete PUT answered 2xx, as from a
/// storage that checks later), a file's failure under FailAfterOne shows only in the
/// session: the engine looks at it every two seconds while sending, and stops sending
/// the files the service gave up on (before: all 40 were sent).
pub fn deferred_verdicts_are_looked_for_while_sending<F: Facade>(_: &TestEnv) {
    let env = &TestEnv::with(EmulatorConfig {
        verdicts: Verdicts::Deferred,
        latency: std::time::Duration::from_millis(150),
        ..EmulatorConfig::default()
    });
    let (puts, unknown) = second_file_corrupt::<F>(env, 40);
    // 40 PUTs take at least 6 s here; a look every 2 s stops them well before.
    assert!(puts < 30, "{puts} PUTs for 40 files");
    assert!(unknown >= 10, "{unknown} files reported EUNKNOWN");
}

/// A body the service finds corrupt is reported failed (ECORRUPT) and creates no asset.
pub fn a_corrupted_body_is_rejected_by_the_service<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let path = env.path("bad.png");
    crate::write_file(&path, &crate::png(8, 8, 7));
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::CorruptUploadCheck,
        times: 1,
    });
    let report = c
        .assets()
        .upload(&ds, path.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), 0, "{}", report.summary());
    assert_eq!(report.failed.len(), 1);
    let reason = report.failed[0].reason.to_string();
    assert!(
        reason.contains("ECORRUPT") || reason.contains("400"),
        "{reason}"
    );
    assert!(listed(&c, &ds).is_empty());
}
