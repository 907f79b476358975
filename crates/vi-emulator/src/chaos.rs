//! Random, reproducible faults (`--fault-rate`, `--fault-seed`).

use std::sync::Mutex;

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
