//! Random, reproducible faults (`--fault-rate`, `--fault-seed`) and request counters.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// One random fault, drawn per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RandomFault {
    /// Answer with this status (500, 502 or 503) without handling the request.
    Status(u16),
    /// Answer 429 with `Retry-After: 1` without handling the request.
    TooManyRequests,
    /// Read the request, then close the connection without any response.
    Reset,
    /// Handle the request, then send only part of the response body.
    Truncate,
    /// Handle the request, then send part of the response body and stall.
    Stall,
}

/// The seeded generator behind random faults. Requests draw in arrival order, so a
/// run with the same seed and the same request order sees the same faults.
pub(crate) struct Chaos {
    rate: f64,
    rng: Mutex<fastrand::Rng>,
}

impl Chaos {
    pub(crate) fn new(rate: f64, seed: u64) -> Chaos {
        let rate = if rate.is_finite() {
            rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Chaos {
            rate,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// Draws the fault of the next request, if any.
    pub(crate) fn draw(&self) -> Option<RandomFault> {
        if self.rate <= 0.0 {
            return None;
        }
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if rng.f64() >= self.rate {
            return None;
        }
        Some(match rng.u8(0..7) {
            0 => RandomFault::Status(500),
            1 => RandomFault::Status(502),
            2 => RandomFault::Status(503),
            3 => RandomFault::TooManyRequests,
            4 => RandomFault::Reset,
            5 => RandomFault::Truncate,
            _ => RandomFault::Stall,
        })
    }
}

/// Counters of what the server did, served at `GET /_emulator/stats` and by
/// [`Emulator::stats`](crate::Emulator::stats).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    api: AtomicU64,
    uploads: AtomicU64,
    downloads: AtomicU64,
    injected: AtomicU64,
    random: AtomicU64,
}

/// A snapshot of the emulator's request counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every request served (API and storage), faults included.
    pub requests: u64,
    /// Requests to the API.
    pub api_requests: u64,
    /// Signed upload requests (single PUTs and part PUTs).
    pub upload_requests: u64,
    /// Signed download requests.
    pub download_requests: u64,
    /// Requests hit by a targeted fault ([`Emulator::inject`](crate::Emulator::inject)).
    pub injected_faults: u64,
    /// Requests hit by a random fault (`fault_rate`).
    pub random_faults: u64,
}

impl Counters {
    pub(crate) fn count(&self, class: crate::fault::RequestClass) {
        use crate::fault::RequestClass;
        let counter = match class {
            RequestClass::Api => &self.api,
            RequestClass::Upload => &self.uploads,
            RequestClass::Download => &self.downloads,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn injected(&self) {
        self.injected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn random(&self) {
        self.random.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let api = self.api.load(Ordering::Relaxed);
        let uploads = self.uploads.load(Ordering::Relaxed);
        let downloads = self.downloads.load(Ordering::Relaxed);
        Stats {
            requests: api + uploads + downloads,
            api_requests: api,
            upload_requests: uploads,
            download_requests: downloads,
            injected_faults: self.injected.load(Ordering::Relaxed),
            random_faults: self.random.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let a = Chaos::new(0.3, 7);
        let b = Chaos::new(0.3, 7);
        let xs: Vec<_> = (0..500).map(|_| a.draw()).collect();
        let ys: Vec<_> = (0..500).map(|_| b.draw()).collect();
        assert_eq!(xs, ys);
        let hits = xs.iter().filter(|f| f.is_some()).count();
        assert!((100..200).contains(&hits), "{hits}");
        assert!(Chaos::new(0.0, 7).draw().is_none());
        assert!(Chaos::new(f64::NAN, 7).draw().is_none());
    }
}
