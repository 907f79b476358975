//! Scenarios of the transfer coordinator and its driver: tasks the runtime loses, a
//! cancel in the middle of a large body, byte progress, and preparation that runs ahead
//! of the transfers.
//!
//! Each scenario is a plain function over an emulator environment, run by both facades
//! through [`Facade`] (see [`crate::coordinator_tests!`]).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vi_core::api::{
    CancelToken, DownloadFailure, DownloadOptions, ProgressEvent, UploadFailure, UploadOptions,
    UploadSources,
};
use vi_core::outcome::FileOutcome;
use vi_core::runtime::{BoxFuture, Runtime};
use vi_core::{Core, DatasetId};
use vi_emulator::{Emulator, EmulatorConfig};

use super::uploads::{listed, small_pngs};
use crate::TestEnv;
use crate::facade::{AssetOps, Facade, new_dataset};

thread_local! {
    /// Set by [`Lossy::sleep`] on the thread that asked for a sleep, cleared by the next
    /// [`Lossy::spawn`] on it: the driver asks for its timer's sleep and spawns the timer
    /// task right after, on its own thread.
    static ASKED_FOR_SLEEP: Cell<bool> = const { Cell::new(false) };
}

/// Which tasks a [`Lossy`] runtime drops.
#[derive(Clone, Copy, Debug)]
pub enum Lose {
    /// Every `n`-th task that is not a timer (a transfer, a page, a preparation...).
    EveryNthWork(usize),
    /// Every timer task (a spawn that follows a sleep on the caller's thread).
    EveryTimer,
}

/// A runtime that forwards to a facade's own and drops some tasks unstarted, as a runtime
/// does when it cannot start a thread or is shutting down.
pub struct Lossy {
    inner: Arc<dyn Runtime>,
    lose: Lose,
    /// The thread the operation is driven from (the test's): only its spawns are judged.
    driver: std::thread::ThreadId,
    work: AtomicUsize,
    /// How many tasks were dropped.
    pub lost: AtomicUsize,
}

impl Lossy {
    /// Wraps `inner`, judging the spawns of the calling thread.
    pub fn new(inner: Arc<dyn Runtime>, lose: Lose) -> Self {
        Lossy {
            inner,
            lose,
            driver: std::thread::current().id(),
            work: AtomicUsize::new(0),
            lost: AtomicUsize::new(0),
        }
    }
}

impl Runtime for Lossy {
    fn spawn(&self, future: BoxFuture<'static, ()>) {
        let here = std::thread::current().id() == self.driver;
        let timer = here && ASKED_FOR_SLEEP.with(|s| s.replace(false));
        let drop_it = here
            && match self.lose {
                Lose::EveryTimer => timer,
                Lose::EveryNthWork(n) => {
                    !timer && (self.work.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(n)
                }
            };
        if drop_it {
            self.lost.fetch_add(1, Ordering::SeqCst);
            drop(future);
        } else {
            self.inner.spawn(future);
        }
    }

    fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
        self.inner.spawn_blocking(work);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        if std::thread::current().id() == self.driver {
            ASKED_FOR_SLEEP.with(|s| s.set(true));
        }
        self.inner.sleep(duration)
    }

    fn now(&self) -> Instant {
        self.inner.now()
    }
}

/// A runtime that forwards to a facade's own and makes every piece of blocking work (a
/// file's preparation) take `delay` longer, as a slow disk would.
struct SlowDisk {
    inner: Arc<dyn Runtime>,
    delay: Duration,
}

impl Runtime for SlowDisk {
    fn spawn(&self, future: BoxFuture<'static, ()>) {
        self.inner.spawn(future);
    }

    fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
        let delay = self.delay;
        self.inner.spawn_blocking(Box::new(move || {
            std::thread::sleep(delay);
            work();
        }));
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.inner.sleep(duration)
    }

    fn now(&self) -> Instant {
        self.inner.now()
    }
}

/// The facade's engine with its runtime wrapped in a [`Lossy`] one.
fn lossy_core<F: Facade>(c: &F, lose: Lose) -> (Core, Arc<Lossy>) {
    let lossy = Arc::new(Lossy::new(c.core().runtime().clone(), lose));
    let core = Core::new(
        c.core().config().clone(),
        c.core().transport().clone(),
        lossy.clone(),
    );
    (core, lossy)
}

/// True for the reason the engines give a file whose task the runtime dropped.
fn lost_reason(text: &str) -> bool {
    text.contains("dropped by the runtime")
}

/// Forty assets downloaded through a runtime that drops every fifth task that is not a
/// timer: every asset is in exactly one list of the report, and those whose task was
/// dropped are failed with a reason that says so (before: a dropped task was ignored and
/// its asset missing from the report, which came back `Ok` with 39 of 40).
pub fn a_lost_download_task_fails_its_asset_with_a_reason<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "lost");
    let root = small_pngs(env, "lost-src", "l", 40);
    let up = c
        .assets()
        .upload(&ds, root.as_path(), UploadOptions::new())
        .unwrap();
    assert_eq!(up.succeeded.len(), 40, "{}", up.summary());
    let (core, lossy) = lossy_core(&c, Lose::EveryNthWork(5));
    let out = env.path("lost-out");
    let report = c
        .wait(core.download(&ds, &out, DownloadOptions::new().concurrency(4)))
        .unwrap();
    assert!(lossy.lost.load(Ordering::SeqCst) > 0);
    let mut seen: Vec<String> = (report.downloaded.iter().map(|d| d.asset.to_string()))
        .chain(report.skipped.iter().map(|s| s.asset.to_string()))
        .chain(report.failed.iter().map(|f| f.asset.to_string()))
        .collect();
    seen.sort();
    let unique = {
        let mut u = seen.clone();
        u.dedup();
        u
    };
    assert_eq!(
        seen,
        unique,
        "an asset is in two lists: {}",
        report.summary()
    );
    assert_eq!(seen.len(), 40, "{}", report.summary());
    assert!(!report.failed.is_empty(), "{}", report.summary());
    for f in &report.failed {
        assert!(
            lost_reason(&f.reason.to_string()),
            "{:?}: {}",
            f.filename,
            f.reason
        );
    }
    assert!(!report.is_success());
}

/// Forty files uploaded through a runtime that drops every fifth task that is not a timer
/// (preparations, the session creation, transfers): every file ends in exactly one bucket,
/// the lost ones failed with a reason that says so, and the dataset holds exactly the
/// files reported succeeded.
pub fn a_lost_upload_task_fails_its_file_with_a_reason<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "lost");
    let root = small_pngs(env, "lost-up", "u", 40);
    let (core, lossy) = lossy_core(&c, Lose::EveryNthWork(5));
    let report = c
        .wait(core.upload(
            &ds,
            UploadSources::new().path(&root),
            UploadOptions::new().concurrency(4),
        ))
        .unwrap();
    assert!(lossy.lost.load(Ordering::SeqCst) > 0);
    assert_eq!(report.total_files(), 40, "{}", report.summary());
    assert_eq!(
        report.succeeded.len() + report.failed.len() + report.skipped.len(),
        40,
        "{}",
        report.summary()
    );
    assert!(!report.failed.is_empty(), "{}", report.summary());
    for f in &report.failed {
        assert!(
            lost_reason(&f.reason.to_string()),
            "{}: {}",
            f.filename,
            f.reason
        );
    }
    let mut names: Vec<String> = listed(&c, &ds).into_iter().map(|(n, _)| n).collect();
    names.sort();
    let mut succeeded: Vec<String> = report
        .succeeded
        .iter()
        .map(|f| f.filename.clone())
        .collect();
    succeeded.sort();
    assert_eq!(names, succeeded);
}

/// A runtime that drops every timer task costs nothing: the timers only wake the
/// coordinator early, so every file still arrives in both directions (before, a lost
/// timer left the download loop counting one transfer too few: it stopped with one still
/// in flight and left its asset out of the report).
pub fn lost_timer_tasks_lose_no_file<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "timers");
    let root = small_pngs(env, "timers-src", "t", 40);
    let (core, lossy) = lossy_core(&c, Lose::EveryTimer);
    let up = c
        .wait(core.upload(&ds, UploadSources::new().path(&root), UploadOptions::new()))
        .unwrap();
    assert_eq!(up.succeeded.len(), 40, "{}", up.summary());
    let out = env.path("timers-out");
    let down = c
        .wait(core.download(&ds, &out, DownloadOptions::new()))
        .unwrap();
    assert_eq!(down.downloaded.len(), 40, "{}", down.summary());
    assert!(
        down.failed.is_empty() && down.problems.is_empty(),
        "{}",
        down.summary()
    );
    assert!(
        lossy.lost.load(Ordering::SeqCst) > 0,
        "no timer was dropped"
    );
}

/// A PNG of `size` bytes: a valid 4 × 4 image followed by zeros (a sparse file, so the
/// test costs no disk), which the sniffing accepts.
fn large_png(path: &Path, size: u64) {
    crate::write_file(path, &crate::png(4, 4, 7));
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(size))
        .expect("grow the fixture");
}

/// The size of the large-file scenarios' file.
const LARGE: u64 = 256 << 20;

/// How fast the emulator moves each body in the large-file scenarios (bytes per second).
const SLOW: u64 = 1_000_000;

/// The byte counts a file's progress reported, and when the cancel fired.
type Watched = (Arc<Mutex<Vec<u64>>>, Arc<Mutex<Option<Instant>>>);

/// Records the byte progress of one file and fires `cancel` once `after` bytes moved.
fn progress_then_cancel(
    cancel: CancelToken,
    after: u64,
) -> (impl Fn(&ProgressEvent<'_>) + Send + Sync + 'static, Watched) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fired = Arc::new(Mutex::new(None));
    let (s, f) = (seen.clone(), fired.clone());
    let callback = move |e: &ProgressEvent<'_>| {
        if let ProgressEvent::FileProgress { bytes, .. } = e {
            s.lock().unwrap().push(*bytes);
            if *bytes >= after && !cancel.is_cancelled() {
                *f.lock().unwrap() = Some(Instant::now());
                cancel.cancel();
            }
        }
    };
    (callback, (seen, fired))
}

/// Asserts the byte progress grew and the call returned soon after the cancel.
fn check_stopped(seen: &Mutex<Vec<u64>>, fired: &Mutex<Option<Instant>>, returned: Instant) {
    let seen = seen.lock().unwrap();
    assert!(
        seen.len() >= 2,
        "byte progress during one large transfer: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let fired = fired.lock().unwrap().expect("the cancel fired");
    let took = returned.saturating_duration_since(fired);
    assert!(
        took < Duration::from_secs(3),
        "the call returned {took:?} after the cancel"
    );
}

/// A 256 MiB upload over a 1 MB/s link is cancelled once 3 MB have gone out: byte
/// progress arrived during the transfer, the call returns within 3 s of the cancel, and
/// the file is reported cancelled, not sent (before: the transfer ran to its end, about
/// four minutes, before the call returned).
pub fn a_cancel_stops_a_large_upload_in_flight<F: Facade>(_: &TestEnv) {
    let env = &TestEnv::with(EmulatorConfig {
        bandwidth: Some(SLOW),
        ..EmulatorConfig::default()
    });
    let c = F::connect(env);
    let ds = new_dataset(&c, "large");
    let file = env.path("large/big.png");
    large_png(&file, LARGE);
    let cancel = CancelToken::new();
    let (progress, (seen, fired)) = progress_then_cancel(cancel.clone(), 3_000_000);
    let options = UploadOptions::new().cancel_token(cancel).progress(progress);
    let report = c.assets().upload(&ds, file.as_path(), options).unwrap();
    check_stopped(&seen, &fired, Instant::now());
    assert!(report.cancelled);
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    assert_eq!(report.failed[0].reason, UploadFailure::Cancelled);
    assert!(listed(&c, &ds).is_empty());
}

/// Starts an emulator on `data_dir` (state kept across restarts) with `bandwidth`.
fn emulator_on(data_dir: &Path, bandwidth: Option<u64>) -> Emulator {
    Emulator::start_with(EmulatorConfig {
        data_dir: Some(data_dir.to_path_buf()),
        bandwidth,
        ..EmulatorConfig::default()
    })
    .expect("start the emulator")
}

/// The client config for `emulator`.
fn config_for(emulator: &Emulator) -> vi_core::Config {
    vi_core::ConfigBuilder::default()
        .endpoint(emulator.url())
        .secret_key(emulator.secret_key())
        .organization_id(emulator.organization_id())
        .retry_policy(crate::fast_retries())
        .build_with_env(&|_| None)
        .expect("the emulator's configuration is valid")
}

/// A 256 MiB download over a 1 MB/s link is cancelled once 3 MB have landed: byte
/// progress arrived, the call returns within 3 s of the cancel, the asset is reported
/// cancelled, its partial file is kept, and a rerun (on an unshaped link) continues it
/// into a file byte-identical to the upload.
pub fn a_cancel_stops_a_large_download_and_a_rerun_resumes_it<F: Facade>(env: &TestEnv) {
    let data = env.path("large-state");
    let file = env.path("large-src/big.png");
    large_png(&file, LARGE);
    let dataset: DatasetId = {
        let emulator = emulator_on(&data, None);
        let c = F::from_config(config_for(&emulator)).unwrap();
        let ds = new_dataset(&c, "large");
        let up = c
            .assets()
            .upload(&ds, file.as_path(), UploadOptions::new())
            .unwrap();
        assert_eq!(up.succeeded.len(), 1, "{}", up.summary());
        emulator.shutdown();
        ds
    };
    let out: PathBuf = env.path("large-out");
    {
        let emulator = emulator_on(&data, Some(SLOW));
        let c = F::from_config(config_for(&emulator)).unwrap();
        let cancel = CancelToken::new();
        let (progress, (seen, fired)) = progress_then_cancel(cancel.clone(), 3_000_000);
        let options = DownloadOptions::new()
            .cancel_token(cancel)
            .progress(progress);
        let report = c.assets().download(&dataset, &out, options).unwrap();
        check_stopped(&seen, &fired, Instant::now());
        assert!(report.cancelled);
        assert_eq!(report.failed.len(), 1, "{}", report.summary());
        assert_eq!(report.failed[0].reason, DownloadFailure::Cancelled);
        assert!(!out.join(dataset.as_str()).join("big.png").exists());
        emulator.shutdown();
    }
    let emulator = emulator_on(&data, None);
    let c = F::from_config(config_for(&emulator)).unwrap();
    let report = c
        .assets()
        .download(&dataset, &out, DownloadOptions::new())
        .unwrap();
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert!(
        report.downloaded[0].resumed,
        "the partial file was continued"
    );
    let landed = out.join(dataset.as_str()).join("big.png");
    assert!(
        same_bytes(&landed, &file),
        "the resumed file differs from the upload"
    );
}

/// True when both files hold the same bytes (compared in chunks: they are large).
fn same_bytes(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (Ok(mut a), Ok(mut b)) = (std::fs::File::open(a), std::fs::File::open(b)) else {
        return false;
    };
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap_or(0);
        let mut m = 0;
        while m < n {
            match b.read(&mut y[m..n]) {
                Ok(0) | Err(_) => return false,
                Ok(k) => m += k,
            }
        }
        if n == 0 {
            return b.read(&mut y).unwrap_or(1) == 0;
        }
        if x[..n] != y[..n] {
            return false;
        }
    }
}

/// A folder of 2,000 files in sessions of 500 on a slow disk (each file takes 2 ms more
/// to examine): the first transfer starts before the last file is examined (the upload's
/// `Planned` event, sent once every file is examined, comes after the first
/// `FileStarted`). Before, every file was sized, sniffed and hashed before the first
/// session was asked for.
pub fn the_first_transfer_starts_before_the_last_file_is_prepared<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "pipelined");
    let root = env.path("pipelined");
    let bytes = crate::png(2, 2, 3);
    for i in 0..2000 {
        crate::write_file(&root.join(format!("p{i:04}.png")), &bytes);
    }
    let slow = SlowDisk {
        inner: c.core().runtime().clone(),
        delay: Duration::from_millis(2),
    };
    let core = Core::new(
        c.core().config().clone(),
        c.core().transport().clone(),
        Arc::new(slow),
    );
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    let options =
        UploadOptions::new()
            .batch_size(500)
            .progress(move |e: &ProgressEvent<'_>| match e {
                ProgressEvent::FileStarted { .. } => o.lock().unwrap().push("started"),
                ProgressEvent::Planned { .. } => o.lock().unwrap().push("planned"),
                _ => {}
            });
    let report = c
        .wait(core.upload(&ds, UploadSources::new().path(&root), options))
        .unwrap();
    assert_eq!(report.succeeded.len(), 2000, "{}", report.summary());
    let order = order.lock().unwrap();
    let first_start = order.iter().position(|e| *e == "started").unwrap();
    let planned = order.iter().position(|e| *e == "planned").unwrap();
    assert!(
        first_start < planned,
        "the first PUT waited for every file to be prepared"
    );
}

/// The names an outcome sink was given, by kind of outcome.
fn outcome_name(outcome: &FileOutcome<'_>) -> (&'static str, String) {
    match outcome {
        FileOutcome::Uploaded(f) => ("uploaded", f.filename.clone()),
        FileOutcome::Processing(f) => ("processing", f.filename.clone()),
        FileOutcome::UploadFailed(f) => ("failed", f.filename.clone()),
        FileOutcome::UploadSkipped(f) => ("skipped", f.filename.clone()),
        FileOutcome::Downloaded(f) => ("downloaded", f.filename.clone()),
        FileOutcome::DownloadSkipped(f) => ("skipped", f.filename.clone()),
        FileOutcome::DownloadFailed(f) => ("failed", f.filename.clone().unwrap_or_default()),
        _ => ("other", String::new()),
    }
}

/// With an outcome sink, every file's outcome reaches it exactly once, in both
/// directions, and the report keeps counts (and any failure) instead of a list of every
/// file: the shape that keeps a million-file job's memory flat.
pub fn outcomes_stream_to_a_sink_and_the_report_keeps_counts<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "outcomes");
    let root = small_pngs(env, "outcomes-src", "o", 30);
    crate::write_file(&root.join("empty.png"), b"");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let options = UploadOptions::new()
        .outcomes(move |o: &FileOutcome<'_>| s.lock().unwrap().push(outcome_name(o)));
    let report = c.assets().upload(&ds, root.as_path(), options).unwrap();
    assert_eq!(report.counts.succeeded, 30, "{}", report.summary());
    assert_eq!(report.counts.skipped, 1);
    assert_eq!(report.total_files(), 31);
    assert!(
        report.succeeded.is_empty(),
        "listed although a sink was given"
    );
    let mut up = std::mem::take(&mut *seen.lock().unwrap());
    up.sort();
    assert_eq!(up.len(), 31, "{up:?}");
    up.dedup_by(|a, b| a.1 == b.1);
    assert_eq!(up.len(), 31, "a file recorded twice");
    assert_eq!(up.iter().filter(|o| o.0 == "uploaded").count(), 30);

    let s = seen.clone();
    let options = DownloadOptions::new()
        .outcomes(move |o: &FileOutcome<'_>| s.lock().unwrap().push(outcome_name(o)));
    let out = env.path("outcomes-out");
    let report = c.assets().download(&ds, &out, options).unwrap();
    assert_eq!(report.counts.succeeded, 30, "{}", report.summary());
    assert!(
        report.downloaded.is_empty(),
        "listed although a sink was given"
    );
    let mut down = std::mem::take(&mut *seen.lock().unwrap());
    down.sort();
    down.dedup();
    assert_eq!(down.len(), 30, "{down:?}");
    assert!(down.iter().all(|o| o.0 == "downloaded"));
}
