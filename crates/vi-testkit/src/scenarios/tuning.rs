//! Scenarios of how many transfers run at once ([`vi_core::tuning`]): on a link with
//! high latency the number grows past its start; a number the caller fixed is never
//! exceeded. The emulator's `peak_storage_in_flight` counter says how many signed-URL
//! requests it really handled at once.

use std::path::PathBuf;
use std::time::Duration;

use vi_core::DatasetId;
use vi_core::api::{DownloadOptions, UploadOptions};
use vi_emulator::EmulatorConfig;

use crate::TestEnv;
use crate::facade::{AssetOps, Facade, new_dataset};

/// The latency the emulator adds before every answer in these scenarios: a far-away
/// service, where small files are bound by round trips.
const LATENCY: Duration = Duration::from_millis(100);

/// An emulator that answers every request 100 ms late, like a distant service.
pub fn distant() -> TestEnv {
    TestEnv::with(EmulatorConfig {
        latency: LATENCY,
        ..EmulatorConfig::default()
    })
}

/// `count` small distinct images in a fresh folder.
fn images(env: &TestEnv, count: u32) -> PathBuf {
    let root = env.path("images");
    for i in 0..count {
        crate::write_file(&root.join(format!("t{i:04}.png")), &crate::png(4, 4, i));
    }
    root
}

/// Uploads `count` images with `options` into a new dataset; every file must arrive.
fn upload_all<F: Facade>(c: &F, env: &TestEnv, count: u32, options: UploadOptions) -> DatasetId {
    let ds = new_dataset(c, "tuning");
    let root = images(env, count);
    let report = c.assets().upload(&ds, root.as_path(), options).unwrap();
    assert_eq!(
        report.succeeded.len(),
        count as usize,
        "{}",
        report.summary()
    );
    ds
}

/// With the default options, an upload of many small files over a slow link runs more
/// transfers at once than it started with (before adaptive concurrency: never more).
pub fn uploads_run_more_transfers_at_once_on_a_slow_link<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let options = UploadOptions::new();
    let start = options.concurrency;
    assert!(options.max_concurrency > start);
    upload_all(&c, env, 300, options);
    let peak = env.emulator.stats().peak_storage_in_flight;
    assert!(
        peak > start as u64,
        "at most {peak} transfers ran at once; the limit never grew past its start of {start}"
    );
}

/// The same for a download of many small files.
pub fn downloads_run_more_transfers_at_once_on_a_slow_link<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = upload_all(&c, env, 300, UploadOptions::new().concurrency(4));
    let after_upload = env.emulator.stats().peak_storage_in_flight;
    assert!(
        after_upload <= 4,
        "a fixed limit of 4 ran {after_upload} at once"
    );
    let options = DownloadOptions::new();
    let start = options.concurrency;
    let out = env.path("out");
    let report = c.assets().download(&ds, &out, options).unwrap();
    assert_eq!(report.downloaded.len(), 300, "{}", report.summary());
    let peak = env.emulator.stats().peak_storage_in_flight;
    assert!(
        peak > start as u64,
        "at most {peak} downloads ran at once; the limit never grew past its start of {start}"
    );
}

/// A number of transfers the caller fixed is never exceeded, in uploads and downloads.
pub fn a_fixed_concurrency_is_never_exceeded<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = upload_all(&c, env, 60, UploadOptions::new().concurrency(3));
    let out = env.path("out");
    let report = c
        .assets()
        .download(&ds, &out, DownloadOptions::new().concurrency(3))
        .unwrap();
    assert_eq!(report.downloaded.len(), 60, "{}", report.summary());
    let peak = env.emulator.stats().peak_storage_in_flight;
    assert!(
        peak <= 3,
        "{peak} transfers ran at once with a fixed limit of 3"
    );
    assert!(peak >= 2, "the transfers did not overlap at all ({peak})");
}

/// A client keeps as many connections as it runs transfers at once: 600 uploads and 600
/// downloads 64 at a time open about 64 connections, not one per round. While the pool
/// kept the official client's 20 idle connections per host, the download closed
/// connections between rounds that the next round opened again: 203 (blocking) and 232
/// (async) in all here, each a TCP (and, on a real service, TLS) handshake before its
/// first byte.
pub fn connections_are_kept_across_rounds_of_transfers<F: Facade>(env: &TestEnv) {
    const AT_ONCE: usize = 64;
    const FILES: u32 = 600;
    let c = F::connect(env);
    let ds = upload_all(&c, env, FILES, UploadOptions::new().concurrency(AT_ONCE));
    let after_upload = env.emulator.stats();
    assert!(
        after_upload.peak_storage_in_flight > 20,
        "the transfers never ran more than 20 at once ({}), so the pool was not tried",
        after_upload.peak_storage_in_flight
    );
    let out = env.path("out");
    let report = c
        .assets()
        .download(&ds, &out, DownloadOptions::new().concurrency(AT_ONCE))
        .unwrap();
    assert_eq!(
        report.downloaded.len(),
        FILES as usize,
        "{}",
        report.summary()
    );
    let stats = env.emulator.stats();
    // The transfers, plus a few API calls that overlap them (session looks, listing).
    let bound = (AT_ONCE + 16) as u64;
    assert!(
        stats.connections <= bound,
        "{} connections for {} requests ({} after the upload): more than {bound}, so \
         connections were closed and opened again between rounds",
        stats.connections,
        stats.requests,
        after_upload.connections
    );
}
