//! The blocking facade keeps pace with the async one where waiting inline would show:
//! at 300 ms of latency a download's count and first page go out together in both, so
//! the first transfer starts after about one round trip, not two.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vi_core::api::{DownloadOptions, ProgressEvent};
use vi_emulator::EmulatorConfig;
use vi_testkit::TestEnv;
use vi_testkit::facade::{AssetOps, AsyncFacade, BlockingFacade, Facade, new_dataset};

/// How long a download takes from its call to its first `FileStarted`.
fn first_transfer<F: Facade>(env: &TestEnv, dataset: &vi_core::DatasetId, out: &str) -> Duration {
    let c = F::connect(env);
    let first = Arc::new(Mutex::new(None));
    let f = first.clone();
    let started = Instant::now();
    let options = DownloadOptions::new()
        .page_size(20)
        .progress(move |e: &ProgressEvent<'_>| {
            if matches!(e, ProgressEvent::FileStarted { .. }) {
                f.lock().unwrap().get_or_insert_with(Instant::now);
            }
        });
    let report = c
        .assets()
        .download(dataset, &env.path(out), options)
        .unwrap();
    assert_eq!(report.downloaded.len(), 20, "{}", report.summary());
    let at = first.lock().unwrap().expect("a transfer started");
    at.saturating_duration_since(started)
}

#[test]
fn the_first_transfer_starts_as_early_on_the_blocking_facade_as_on_the_async_one() {
    let env = TestEnv::with(EmulatorConfig {
        latency: Duration::from_millis(300),
        ..EmulatorConfig::default()
    });
    let files: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("f{i:02}.png"), vi_testkit::png(3, 3, i)))
        .collect();
    let seeder = AsyncFacade::connect(&env);
    let dataset = new_dataset(&seeder, "parity");
    seeder
        .wait(vi_testkit::seed_assets(seeder.core(), &dataset, &files))
        .unwrap();
    let asynchronous = first_transfer::<AsyncFacade>(&env, &dataset, "async");
    let blocking = first_transfer::<BlockingFacade>(&env, &dataset, "blocking");
    assert!(
        blocking.as_secs_f64() <= 1.3 * asynchronous.as_secs_f64(),
        "first transfer: blocking {blocking:?}, async {asynchronous:?}"
    );
}
