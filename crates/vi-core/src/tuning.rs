//! How many transfers run at once: a limit that starts at the configured number and
//! grows while the transfers' throughput grows with it.
//!
//! On a link with high latency, small files are bound by round trips, not bandwidth: each
//! transfer waits most of its time, so twice the transfers move twice the files per
//! second, up to what the link, the storage or the machine can take. A fixed default has
//! to be cautious for the slow link and then wastes the fast one. The [`Tuner`] climbs
//! instead, in the manner of AzCopy's automatic concurrency: it measures the rate over a
//! window of completions, doubles the limit while the rate rises by at least a fifth
//! (quadruples it while the rate grows nearly as much as the limit), steps back to the
//! previous limit when it does not, holds there for a while and then probes again. A throttling answer (429 or 503 that outlasted the retries;
//! the upload engine reports them, the download engine does not yet) halves the limit at once.
//!
//! Windows end after as many completions as the limit (50 ms at least), or, for downloads,
//! every 200 ms from the bytes the transports count on the call's [`Meter`] as they land:
//! a 2 MiB file on a slow connection takes seconds, and waiting for completions made each
//! doubling cost as much. Uploads are not metered (see `upload::run::tasks`): the bytes a
//! transport has read into a socket's send buffer are not the bytes that crossed the link.
//! The engine's coordinator asks the driver to wake it every [`TICK`] while transfers run,
//! and shows the tuner the meter then.
//!
//! A window only counts when the limit was reached in it: when the engine cannot keep
//! that many transfers busy (a short queue, sessions being created), the rate says
//! nothing about the limit. Nothing here reads a clock: the engine passes the instants,
//! so the unit tests run on made-up time.

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::transport::Meter;

/// The default ceiling of automatic concurrency: high enough to keep a 50 ms link busy
/// with small files (measured on 2 cores: 1,000 uploads of 8 KiB at 50 ms take 0.72 s at
/// 128 at once, 1.17 s at 64), low enough that a blocking caller's worker threads and the
/// I/O buffers stay small (128 × 256 KiB at most in flight, and only for large files).
pub const DEFAULT_MAX_CONCURRENCY: usize = 128;

/// The rise in rate that justifies a higher limit (a fifth more).
const GAIN: f64 = 1.2;

/// The shortest window: rates over less are noise.
const MIN_WINDOW: Duration = Duration::from_millis(50);

/// A window also ends after this long when the transports' [`Meter`] saw bytes move in
/// it: transfers of large files finish rarely, so their rate is read from the bytes they
/// move, not from completions.
const BYTES_WINDOW: Duration = Duration::from_millis(200);

/// A window also ends after this long if at least one transfer finished (transfers whose
/// bytes no meter counts: in-memory bodies, multipart uploads).
const MAX_WINDOW: Duration = Duration::from_secs(5);

/// How often an engine shows the tuner the meter ([`Tuner::tick`]) while transfers run
/// and the limit may still move.
pub const TICK: Duration = Duration::from_millis(100);

/// Windows spent at a limit that stopped paying before probing higher again.
const HOLD_WINDOWS: u32 = 8;

/// The service or the storage asked to slow down: 429 Too Many Requests or 503 Service
/// Unavailable (after the retries, which honour `Retry-After`).
pub fn is_throttling(error: &Error) -> bool {
    matches!(error.status().map(|s| s.as_u16()), Some(429 | 503))
}

/// A measured rate: files and bytes per second.
#[derive(Debug, Clone, Copy)]
struct Rate {
    files: f64,
    bytes: f64,
}

impl Rate {
    /// How much faster `self` is than `before`: the larger of the two ratios, so that a
    /// window of small files and one of large files compare on what they are bound by.
    fn gain_over(self, before: Rate) -> f64 {
        let ratio = |now: f64, then: f64| if then > 0.0 { now / then } else { 1.0 };
        ratio(self.files, before.files).max(ratio(self.bytes, before.bytes))
    }
}

/// Where the climb is.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Doubling while it pays; `before` is the limit before the last step and its rate.
    Climbing { before: Option<(usize, Rate)> },
    /// Staying at the limit for this many more windows.
    Holding { windows: u32 },
}

/// The adaptive limit of one upload or download call. Fixed when `start == ceiling`.
#[derive(Debug)]
pub struct Tuner {
    limit: usize,
    floor: usize,
    ceiling: usize,
    phase: Phase,
    window_start: Option<Instant>,
    files: u64,
    bytes: u64,
    saturated: bool,
    /// Counted by the transports as body bytes move.
    meter: Meter,
    /// The meter's total when the window started.
    metered_at_start: u64,
    /// Started at the ceiling: the limit never moves.
    fixed: bool,
}

impl Tuner {
    /// A limit starting at `start` (at least 1) that may grow to `ceiling` (at least
    /// `start`; equal means fixed) and never falls below `min(start, 2)`.
    pub fn new(start: usize, ceiling: usize) -> Self {
        let start = start.max(1);
        Tuner {
            limit: start,
            floor: start.min(2),
            ceiling: ceiling.max(start),
            phase: Phase::Climbing { before: None },
            window_start: None,
            files: 0,
            bytes: 0,
            saturated: false,
            meter: Meter::new(),
            metered_at_start: 0,
            fixed: ceiling <= start,
        }
    }

    /// The meter this tuner reads: to be given to the transports with every
    /// [`FileSlice`](crate::transport::FileSlice) and
    /// [`DownloadTarget`](crate::transport::DownloadTarget) of the call.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Whether the limit can move at all (it is not fixed), so the engine should
    /// [`tick`](Self::tick) while transfers run.
    pub fn adaptive(&self) -> bool {
        !self.fixed
    }

    /// Transfers allowed at once now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A transfer started, and `in_flight` now run (this one included).
    pub fn started(&mut self, now: Instant, in_flight: usize) {
        self.window_start.get_or_insert(now);
        if in_flight >= self.limit {
            self.saturated = true;
        }
    }

    /// A transfer of `bytes` finished well.
    pub fn finished(&mut self, now: Instant, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
        self.look(now);
    }

    /// Time passed with transfers running: reads the meter, which may end a window.
    pub fn tick(&mut self, now: Instant) {
        self.look(now);
    }

    /// Ends the window and judges its rate once it has seen enough.
    fn look(&mut self, now: Instant) {
        let Some(start) = self.window_start else {
            return;
        };
        let elapsed = now.saturating_duration_since(start);
        let metered = self.meter.total().saturating_sub(self.metered_at_start);
        let enough_files = self.files >= self.limit as u64 && elapsed >= MIN_WINDOW;
        let enough_bytes = metered > 0 && elapsed >= BYTES_WINDOW;
        let long = self.files > 0 && elapsed >= MAX_WINDOW;
        if enough_files || enough_bytes || long {
            // The bytes that moved in the window, where a meter counted them; else the
            // sizes of the files that finished in it.
            let bytes = if metered > 0 { metered } else { self.bytes };
            let rate = Rate {
                files: self.files as f64 / elapsed.as_secs_f64(),
                bytes: bytes as f64 / elapsed.as_secs_f64(),
            };
            let saturated = self.saturated;
            self.new_window(now);
            if saturated {
                self.judge(rate);
            }
        }
    }

    /// The storage or the service asked to slow down (429 or 503 that outlasted the
    /// retries): halve the limit and hold it.
    pub fn throttled(&mut self, now: Instant) {
        self.hold_at(
            (self.limit / 2).max(self.floor),
            "throttled: fewer transfers at once",
        );
        self.new_window(now);
    }

    fn new_window(&mut self, now: Instant) {
        self.window_start = Some(now);
        self.files = 0;
        self.bytes = 0;
        self.saturated = false;
        self.metered_at_start = self.meter.total();
    }

    /// Moves the limit after a window measured at it.
    fn judge(&mut self, rate: Rate) {
        tracing::trace!(
            limit = self.limit,
            files_per_s = rate.files,
            bytes_per_s = rate.bytes,
            "rate measured"
        );
        match self.phase {
            Phase::Holding { windows } if windows > 1 => {
                self.phase = Phase::Holding {
                    windows: windows - 1,
                };
            }
            Phase::Climbing {
                before: Some((lower, then)),
            } if rate.gain_over(then) < GAIN => {
                // More transfers did not pay: back to the lower limit, which moved about
                // as much with fewer connections, and stay a while.
                self.hold_at(lower, "more transfers did not pay; stepping back");
            }
            // The first window, a hold that ended, or a step that paid: one step higher,
            // to be compared with what this limit gives. A step that multiplied the rate
            // nearly as much as the limit (nine tenths of it) shows the link far from
            // full: the next step is four times, not two (on a 50 ms link that is one
            // window of about 60 ms less between 8 and 128).
            _ => {
                let factor = match self.phase {
                    Phase::Climbing {
                        before: Some((lower, then)),
                    } if rate.gain_over(then) >= 0.9 * self.limit as f64 / lower as f64 => 4,
                    _ => 2,
                };
                self.phase = Phase::Climbing {
                    before: Some((self.limit, rate)),
                };
                let higher = (self.limit * factor).min(self.ceiling);
                if higher == self.limit {
                    // At the ceiling: nothing to probe.
                    self.hold_at(higher, "");
                } else {
                    tracing::debug!(from = self.limit, to = higher, "more transfers at once");
                    self.limit = higher;
                }
            }
        }
    }

    /// Sets the limit to `limit` and keeps it for [`HOLD_WINDOWS`] windows.
    fn hold_at(&mut self, limit: usize, why: &'static str) {
        if limit != self.limit {
            tracing::debug!(from = self.limit, to = limit, "{why}");
        }
        self.limit = limit;
        self.phase = Phase::Holding {
            windows: HOLD_WINDOWS,
        };
    }
}

/// When a coordinator next shows its [`Tuner`] the meter: every [`TICK`] while
/// transfers run and the limit can move, never otherwise. The coordinator asks the driver
/// to wake it at [`Ticks::next`].
#[derive(Debug, Default)]
pub(crate) struct Ticks {
    next: Option<Instant>,
}

impl Ticks {
    /// Ticks `tuner` when one is due at `now`; `running` says whether transfers run.
    pub(crate) fn advance(&mut self, tuner: &mut Tuner, now: Instant, running: bool) {
        if !running || !tuner.adaptive() {
            self.next = None;
            return;
        }
        match self.next {
            Some(at) if now >= at => {
                tuner.tick(now);
                self.next = Some(now + TICK);
            }
            None => self.next = Some(now + TICK),
            Some(_) => {}
        }
    }

    /// The instant of the next tick, if one is due at all.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.next
    }
}

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up link: each transfer takes `latency` plus its bytes at `per_connection`
    /// bytes per second, and the whole link carries at most `total` bytes per second.
    /// Runs `files` transfers of `size` bytes under the tuner and returns the limits it
    /// chose over time and the total time.
    fn simulate(
        tuner: &mut Tuner,
        files: usize,
        size: u64,
        latency: Duration,
        per_connection: f64,
        total: f64,
    ) -> (Vec<usize>, Duration) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut running: Vec<Instant> = Vec::new();
        let mut left = files;
        let mut limits = Vec::new();
        while left > 0 || !running.is_empty() {
            while left > 0 && running.len() < tuner.limit() {
                // With n transfers sharing the link, each gets min(per_connection, total/n).
                let n = (running.len() + 1) as f64;
                let speed = per_connection.min(total / n);
                let took = latency + Duration::from_secs_f64(size as f64 / speed);
                running.push(now + took);
                left -= 1;
                tuner.started(now, running.len());
            }
            running.sort();
            now = running.remove(0);
            tuner.finished(now, size);
            if limits.last() != Some(&tuner.limit()) {
                limits.push(tuner.limit());
            }
        }
        (limits, now - t0)
    }

    /// 2,000 files of 8 KiB over a link with 50 ms of latency and 2 MB/s per
    /// connection, no overall limit: bound by round trips.
    fn small_files_far_away(start: usize, ceiling: usize) -> (Vec<usize>, Duration) {
        let mut t = Tuner::new(start, ceiling);
        let latency = Duration::from_millis(50);
        simulate(&mut t, 2000, 8192, latency, 2e6, f64::INFINITY)
    }

    /// Like [`simulate`], in steps of 10 ms, with the transfers' bytes counted on the
    /// tuner's meter as they move and a tick every [`TICK`] when `metered`; returns the
    /// limit after about one second and the total time.
    fn simulate_metered(
        tuner: &mut Tuner,
        files: usize,
        size: u64,
        latency: Duration,
        per_connection: f64,
        metered: bool,
    ) -> (usize, Duration) {
        let step = Duration::from_millis(10);
        let t0 = Instant::now();
        let mut now = t0;
        // (time left before the first byte, bytes left)
        let mut running: Vec<(Duration, f64)> = Vec::new();
        let mut left = files;
        let mut after_a_second = None;
        let mut steps = 0u64;
        while left > 0 || !running.is_empty() {
            while left > 0 && running.len() < tuner.limit() {
                running.push((latency, size as f64));
                left -= 1;
                tuner.started(now, running.len());
            }
            now += step;
            steps += 1;
            let mut finished = 0;
            for (wait, bytes) in running.iter_mut() {
                if *wait > Duration::ZERO {
                    *wait = wait.saturating_sub(step);
                    continue;
                }
                let moved = bytes.min(per_connection * step.as_secs_f64());
                *bytes -= moved;
                if metered {
                    tuner.meter().add(moved as u64);
                }
                if *bytes <= 0.0 {
                    finished += 1;
                }
            }
            running.retain(|(_, bytes)| *bytes > 0.0);
            for _ in 0..finished {
                tuner.finished(now, size);
            }
            if metered && steps % 10 == 0 {
                tuner.tick(now);
            }
            if after_a_second.is_none() && now - t0 >= Duration::from_secs(1) {
                after_a_second = Some(tuner.limit());
            }
        }
        (after_a_second.unwrap_or(tuner.limit()), now - t0)
    }

    #[test]
    fn large_files_climb_on_metered_bytes_before_any_finishes() {
        // 2 MiB at 2 MB/s per connection: a file takes over a second, so without the
        // meter the limit cannot move before then.
        let run = |metered| {
            let mut t = Tuner::new(8, 128);
            let latency = Duration::from_millis(50);
            simulate_metered(&mut t, 100, 2 << 20, latency, 2e6, metered)
        };
        let (limit_metered, took_metered) = run(true);
        let (limit_unmetered, took_unmetered) = run(false);
        assert_eq!(limit_unmetered, 8);
        assert!(limit_metered >= 64, "{limit_metered} after a second");
        assert!(
            took_metered * 2 < took_unmetered,
            "{took_metered:?} vs {took_unmetered:?}"
        );
    }

    #[test]
    fn a_fixed_limit_never_moves() {
        assert_eq!(small_files_far_away(8, 8).0, vec![8]);
    }

    #[test]
    fn latency_bound_small_files_climb_to_the_ceiling() {
        let (limits, took) = small_files_far_away(8, 64);
        // 16 moved twice as many files as 8: far from full, so four times next.
        assert_eq!(limits, vec![8, 16, 64]);
        let (_, slow) = small_files_far_away(8, 8);
        assert!(took * 3 < slow, "{took:?} vs {slow:?}");
    }

    #[test]
    fn a_saturated_link_keeps_the_limit_that_fills_it() {
        // 8 transfers at 1 MB/s each fill a 10 MB/s link: 16 gain little, so the tuner
        // goes back to 8, or to 16 at most when the link's last bit of room shows.
        let mut t = Tuner::new(8, 64);
        let (limits, _) = simulate(&mut t, 3000, 1 << 20, Duration::from_millis(20), 1e6, 10e6);
        assert!(t.limit() <= 16, "{limits:?}");
        assert!(!limits.contains(&64), "{limits:?}");
    }

    #[test]
    fn throttling_halves_and_holds() {
        let mut t = Tuner::new(8, 64);
        let now = Instant::now();
        t.limit = 32;
        t.throttled(now);
        assert_eq!(t.limit(), 16);
        t.throttled(now);
        t.throttled(now);
        t.throttled(now);
        t.throttled(now);
        assert_eq!(t.limit(), 2, "never below the floor");
        let mut one = Tuner::new(1, 64);
        one.throttled(now);
        assert_eq!(one.limit(), 1);
    }

    #[test]
    fn a_window_where_the_limit_was_not_reached_says_nothing() {
        let mut t = Tuner::new(8, 64);
        let t0 = Instant::now();
        for i in 0..100u32 {
            let now = t0 + Duration::from_millis(u64::from(i) * 10);
            t.started(now, 3);
            t.finished(now + Duration::from_millis(5), 100);
        }
        assert_eq!(t.limit(), 8);
    }

    #[test]
    fn the_start_is_at_least_one_and_the_ceiling_at_least_the_start() {
        let t = Tuner::new(0, 0);
        assert_eq!(t.limit(), 1);
        let t = Tuner::new(16, 4);
        assert_eq!(t.limit(), 16);
    }
}
