//! Upload scenarios that cancel: halfway through (the session is cancelled, finished files
//! stay), and before anything was sent.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`Facade`] (see [`crate::upload_cancel_tests!`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use vi_core::api::{CancelToken, ProgressEvent, UploadFailure, UploadOptions, UploadSources};

use super::uploads::listed;
use crate::TestEnv;
use crate::facade::{AssetOps, Facade, new_dataset};

/// Cancelling after four of ten files stops the upload and cancels the session: the
/// files the service had taken in before the cancel are reported succeeded and are
/// assets; every other file is reported cancelled and is not.
pub fn cancelling_halfway_stops_and_cancels_the_session<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = env.path("cancel");
    for i in 0..10 {
        crate::write_file(&root.join(format!("c{i:02}.png")), &crate::png(4, 4, i));
    }
    let token = CancelToken::new();
    let trigger = token.clone();
    let finished = Arc::new(AtomicUsize::new(0));
    let count = finished.clone();
    let options = UploadOptions::new()
        .concurrency(1)
        .cancel_token(token)
        .progress(move |e: &ProgressEvent<'_>| {
            if matches!(e, ProgressEvent::FileFinished { .. })
                && count.fetch_add(1, Ordering::SeqCst) + 1 == 4
            {
                trigger.cancel();
            }
        });
    let report = c.assets().upload(&ds, root.as_path(), options).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.total_files(), 10);
    assert_eq!(report.succeeded.len() + report.failed.len(), 10);
    assert!(
        report
            .failed
            .iter()
            .all(|f| f.reason == UploadFailure::Cancelled),
        "{}",
        report.summary()
    );
    let sent = finished.load(Ordering::SeqCst);
    assert!((4..10).contains(&sent), "stopped early: {sent}");
    assert!(report.succeeded.len() <= sent, "{}", report.summary());
    assert!(!report.failed.is_empty(), "{}", report.summary());
    let mut assets: Vec<String> = listed(&c, &ds).into_iter().map(|(n, _)| n).collect();
    let mut succeeded: Vec<String> = report
        .succeeded
        .iter()
        .map(|f| f.filename.clone())
        .collect();
    assets.sort();
    succeeded.sort();
    assert_eq!(
        assets, succeeded,
        "the report names exactly the assets that exist"
    );
    assert!(report.summary().contains("cancelled"));
}

/// A token cancelled before the upload opens no session and reports every input as
/// cancelled.
pub fn a_token_fired_before_the_upload_sends_nothing_and_loses_nothing<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "uploads");
    let root = env.path("early");
    for i in 0..6 {
        crate::write_file(&root.join(format!("e{i}.png")), &crate::png(4, 4, i));
    }
    let token = CancelToken::new();
    token.cancel();
    let sources = UploadSources::new()
        .path(&root)
        .bytes("mem.png", crate::png(3, 3, 9));
    let options = UploadOptions::new().cancel_token(token);
    let report = c.assets().upload(&ds, sources, options).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.total_files(), 7, "{}", report.summary());
    assert_eq!(report.failed.len(), 7);
    assert!(
        report
            .failed
            .iter()
            .all(|f| f.reason == UploadFailure::Cancelled)
    );
    assert!(report.sessions.is_empty(), "no session was opened");
    assert_eq!(report.bytes_uploaded, 0);
}
