//! Upload scenarios where URLs, PUTs or session creations fail: retries, second chances,
//! files moved to a fresh session, and URLs that expire while files wait.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`Facade`] (see [`crate::upload_retry_tests!`]).

use vi_core::api::{UploadFailure, UploadFailureMode, UploadOptions};
use vi_emulator::EmulatorConfig;

use super::uploads::{fetch, listed, small_pngs};
use crate::facade::{AssetOps, Facade, new_dataset};
use crate::{Fault, FaultKind, FaultTarget, TestEnv, status_fault};

/// Uploads one file after `fault`, expects it to arrive through a second session (its
/// first URL given up), and returns how many PUTs it took.
fn arrives_through_a_fresh_session<F: Facade>(c: &F, env: &TestEnv, fault: Fault) -> u64 {
    let ds = new_dataset(c, "uploads");
    let bytes = crate::png(6, 6, 9);
    let path = env.path("moved.png");
    crate::write_file(&path, &bytes);
    env.emulator.inject(fault);
    let before = env.emulator.stats();
    let report = c
        .assets()
        .upload(&ds, path.as_path(), UploadOptions::new())
        .unwrap();
    let after = env.emulator.stats();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.sessions.len(), 2, "a second session for the file");
    assert_ne!(
        report.succeeded[0].session,
        report.sessions[0].id().unwrap()
    );
    assert_eq!(
        after.expired_urls, before.expired_urls,
        "a PUT reached an expired URL"
    );
    assert_eq!(fetch(env, c, &ds, "moved.png"), bytes);
    after.upload_requests - before.upload_requests
}

/// A PUT whose URL the storage refuses (403, as for an expired or bad signature) is not
/// tried again on that URL: the file moves to a fresh session and arrives.
pub fn a_refused_upload_url_moves_the_file_to_a_fresh_session<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let puts = arrives_through_a_fresh_session(&c, env, status_fault(FaultTarget::Upload, 403, 1));
    assert_eq!(puts, 2, "one PUT per URL");
}

/// A retry that would start after the URL's expiry (here a 503 asking to wait 3 s on a
/// URL that lives 2 s) is not sent to the dead URL: the file moves to a fresh session.
pub fn a_retry_never_reaches_an_expired_url<F: Facade>(_: &TestEnv) {
    let env = &TestEnv::with(EmulatorConfig {
        signed_url_ttl: std::time::Duration::from_secs(2),
        ..EmulatorConfig::default()
    });
    // Retry-After is honoured up to `max_delay`.
    let patient = crate::fast_retries().with_max_delay(std::time::Duration::from_secs(5));
    let config = env.config_builder().retry_policy(patient);
    let c = F::from_config(config.build_with_env(&|_| None).unwrap()).unwrap();
    let late = Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Status {
            status: 503,
            retry_after: Some(3),
        },
        times: 1,
    };
    assert_eq!(arrives_through_a_fresh_session(&c, env, late), 2);
}

/// 12,000 files and upload URLs that live 3 seconds: sessions are opened as their files
/// can start and sized to what goes through while their URLs live; a file whose URL ran
/// out moves to a fresh session. Every file arrives, and no PUT reaches the storage with
/// an expired URL. (Before: 5 sessions of 5000 URLs at once, and a crawl of PUTs on dead
/// URLs after the first few thousand files.)
pub fn twelve_thousand_files_with_three_second_urls<F: Facade>(_: &TestEnv) {
    const FILES: usize = 12_000;
    let env = &TestEnv::with(EmulatorConfig {
        signed_url_ttl: std::time::Duration::from_secs(3),
        ..EmulatorConfig::default()
    });
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = env.path("twelve");
    let bytes = crate::png(2, 2, 1);
    for i in 0..FILES {
        crate::write_file(&root.join(format!("t{i:05}.png")), &bytes);
    }
    let report = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), FILES, "{}", report.summary());
    assert_eq!(report.total_files(), FILES);
    assert_eq!(
        env.emulator.stats().expired_urls,
        0,
        "a PUT reached an expired URL"
    );
    assert_eq!(listed(&c, &ds).len(), FILES);
}

/// A session creation (a POST, not repeated on a 5xx by the API's retries) that fails
/// twice is asked for again and the file arrives, its own second chances untouched (the
/// 100,000-file soak lost 8 files when failed creations used them up); five failures in
/// a row fail the files with the reason.
pub fn a_session_creation_that_fails_is_asked_for_again<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = small_pngs(env, "create", "c", 3);
    let creation = |times| Fault {
        target: FaultTarget::ApiMatching {
            method: Some("POST".into()),
            path_contains: Some("assetIngestionSessions".into()),
        },
        kind: FaultKind::Status {
            status: 500,
            retry_after: None,
        },
        times,
    };
    env.emulator.inject(creation(2));
    // Then every PUT of the first three rounds fails: the file still has its three
    // second chances, so the fourth round gets it through.
    env.emulator
        .inject(status_fault(FaultTarget::Upload, 500, 12));
    let one = root.join("c0.png");
    let report = c
        .assets()
        .upload(&ds, one.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.sessions.len(), 1);

    env.emulator.inject(creation(5));
    let report = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.failed.len(), 3, "{}", report.summary());
    assert!(
        report
            .failed
            .iter()
            .all(|f| matches!(f.reason, UploadFailure::SessionNotCreated { .. })),
        "{}",
        report.summary()
    );
}

/// A signed PUT answered 503 twice is retried and the file arrives intact.
pub fn a_put_that_fails_twice_with_503_then_succeeds<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let bytes = crate::png(8, 8, 5);
    let path = env.path("retry.png");
    crate::write_file(&path, &bytes);
    env.emulator
        .inject(status_fault(FaultTarget::Upload, 503, 2));
    let report = c
        .assets()
        .upload(&ds, path.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(fetch(env, &c, &ds, "retry.png"), bytes);
}

/// A PUT failing for good (500 on its 4 attempts, and again on each of its 3 second
/// chances) fails that file only, with a reason that names the status and no signed URL.
pub fn a_put_failing_for_good_fails_that_file_only<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    crate::write_file(&env.path("two/a.png"), &crate::png(8, 8, 1));
    crate::write_file(&env.path("two/b.png"), &crate::png(8, 8, 2));
    // a.png (sent first) goes through untouched; every attempt at b.png fails.
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Delay(std::time::Duration::ZERO),
        times: 1,
    });
    env.emulator
        .inject(status_fault(FaultTarget::Upload, 500, 16));
    let options = UploadOptions::new()
        .concurrency(1)
        .failure_mode(UploadFailureMode::FailAfterAll);
    let report = c.assets().upload(&ds, env.path("two"), options).unwrap();
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!(report.failed[0].filename, "b.png");
    assert!(
        matches!(
            report.failed[0].reason,
            UploadFailure::Transfer {
                status: Some(500),
                ..
            }
        ),
        "{:?}",
        report.failed[0].reason
    );
    assert!(
        !report.failed[0].reason.to_string().contains("signature"),
        "no signed URL in reasons"
    );
    // The file the service took in is an asset when the call returns, although its
    // session still waits for the file that never arrived.
    let names: Vec<String> = listed(&c, &ds).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec![report.succeeded[0].filename.clone()]);
}
