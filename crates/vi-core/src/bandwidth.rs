//! A bandwidth limit: a token bucket every transfer it is given to draws from, uploads
//! and downloads alike.
//!
//! A [`BandwidthLimit`] is a shared handle: clones draw from the same bucket, so one
//! limit given to an upload and a download running at once caps their sum. The transports
//! ask it, through the file's [`Meter`](crate::transport::Meter), how long to wait after
//! each chunk of body bytes, and each waits its own way (the async one on its timer, the
//! blocking one by sleeping its thread), so no executor thread is ever blocked.
//!
//! The bucket keeps a *theoretical arrival time*: the instant at which every byte taken so
//! far would have moved at the rate. A chunk moves the time on by its size over the rate,
//! and the caller waits for whatever of it lies more than a quarter of a second ahead of
//! now (the burst allowance, so small chunks after a pause go at once). Over a whole
//! transfer the bytes therefore move at the rate, give or take that quarter second.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How far ahead of the rate a transfer may run: a quarter second of bytes.
const BURST: Duration = Duration::from_millis(250);

/// The pure arithmetic of the bucket: times are offsets from any fixed origin.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Bucket {
    /// Bytes per second.
    rate: f64,
    /// When every byte taken so far will have moved at the rate.
    due: Duration,
}

impl Bucket {
    pub(crate) fn new(bytes_per_second: u64) -> Self {
        Bucket {
            rate: bytes_per_second.max(1) as f64,
            due: Duration::ZERO,
        }
    }

    /// Takes `bytes` at `now`; returns how long the caller waits before moving more.
    pub(crate) fn take(&mut self, now: Duration, bytes: u64) -> Duration {
        let start = self.due.max(now);
        self.due = start + Duration::from_secs_f64(bytes as f64 / self.rate);
        self.due.saturating_sub(now + BURST)
    }
}

/// A cap on bytes per second, shared by every transfer it is given to (see the
/// [module docs](self)). Parse one from `10M`, `512K`, `2.5M` or a plain number of bytes
/// (`K`, `M`, `G` are powers of 1024, as in rclone; a trailing `B`, `iB` or `/s` is
/// allowed).
#[derive(Clone)]
pub struct BandwidthLimit(Arc<Shared>);

struct Shared {
    rate: u64,
    origin: Instant,
    bucket: Mutex<Bucket>,
}

impl BandwidthLimit {
    /// At most `bytes_per_second` (at least 1).
    pub fn new(bytes_per_second: u64) -> Self {
        BandwidthLimit(Arc::new(Shared {
            rate: bytes_per_second.max(1),
            origin: Instant::now(),
            bucket: Mutex::new(Bucket::new(bytes_per_second)),
        }))
    }

    /// The rate, in bytes per second.
    pub fn bytes_per_second(&self) -> u64 {
        self.0.rate
    }

    /// Takes `bytes` now; returns how long to wait before moving more.
    pub(crate) fn take(&self, bytes: u64) -> Duration {
        let now = self.0.origin.elapsed();
        let mut bucket = self.0.bucket.lock().unwrap_or_else(|e| e.into_inner());
        bucket.take(now, bytes)
    }
}

impl fmt::Debug for BandwidthLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BandwidthLimit({} B/s)", self.0.rate)
    }
}

impl FromStr for BandwidthLimit {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_rate(text).map(BandwidthLimit::new)
    }
}

/// Bytes per second from `10M`, `1.5G`, `512k`, `800KiB/s`, `2000`.
fn parse_rate(text: &str) -> Result<u64> {
    let bad = || {
        Error::invalid(
            "bandwidth limit",
            format!(
                "{text:?} is not a rate: give bytes per second such as 10M, 512K or 2000 (K, M, \
                 G are powers of 1024), above zero"
            ),
        )
    };
    let t = text.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], Some(c.to_ascii_uppercase())),
        _ => (t, None),
    };
    let scale: f64 = match unit {
        None => 1.0,
        Some('K') => 1024.0,
        Some('M') => 1024.0 * 1024.0,
        Some('G') => 1024.0 * 1024.0 * 1024.0,
        Some(_) => return Err(bad()),
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let bytes = value * scale;
    if !(1.0..=1e15).contains(&bytes) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn rates_parse() {
        for (text, bytes) in [
            ("2000", 2000),
            ("10M", 10 << 20),
            ("2m", 2 << 20),
            ("512K", 512 << 10),
            ("512KiB", 512 << 10),
            ("1.5M", 3 << 19),
            ("1G/s", 1 << 30),
            ("100B", 100),
        ] {
            assert_eq!(parse_rate(text).unwrap(), bytes, "{text}");
        }
        for bad in ["", "0", "-1M", "10X", "M", "fast", "0.1"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_small_chunk_goes_at_once_then_the_rate_holds() {
        let mut b = Bucket::new(1000);
        // 200 bytes at 1000 B/s: 0.2 s of bytes, inside the quarter second burst.
        assert_eq!(b.take(Duration::ZERO, 200), Duration::ZERO);
        // 300 more: due at 0.5 s, 0.25 s ahead of the burst: wait 0.25 s.
        assert_eq!(b.take(Duration::ZERO, 300), 250 * MS);
    }

    #[test]
    fn a_long_transfer_moves_at_the_rate() {
        // 40 MB in 64 KiB chunks at 2 MiB/s, the caller waiting as told: the whole takes
        // the bytes over the rate, less the burst allowance.
        let rate = 2u64 << 20;
        let mut b = Bucket::new(rate);
        let mut now = Duration::ZERO;
        let chunk = 64 << 10;
        let total = 40_000_000u64;
        let mut sent = 0;
        while sent < total {
            let n = chunk.min(total - sent);
            now += b.take(now, n);
            sent += n;
        }
        let ideal = total as f64 / rate as f64;
        let took = now.as_secs_f64();
        assert!(took <= ideal && took >= ideal - 0.26, "{took} vs {ideal}");
    }

    #[test]
    fn concurrent_takers_share_the_rate() {
        // Four transfers taking in turn at one instant queue behind each other.
        let mut b = Bucket::new(1000);
        let waits: Vec<Duration> = (0..4).map(|_| b.take(Duration::ZERO, 500)).collect();
        assert_eq!(waits, vec![250 * MS, 750 * MS, 1250 * MS, 1750 * MS]);
    }

    #[test]
    fn idle_time_is_not_saved_up_beyond_the_burst() {
        let mut b = Bucket::new(1000);
        assert_eq!(b.take(Duration::ZERO, 1000), 750 * MS);
        // A minute later, 1000 bytes again wait as if the bucket had just been made.
        let later = Duration::from_secs(60);
        assert_eq!(b.take(later, 1000), 750 * MS);
    }

    #[test]
    fn clones_share_one_bucket() {
        let a = BandwidthLimit::new(1000);
        let b = a.clone();
        a.take(1000);
        // The second taker waits for the first one's bytes too (1.75 s less the time between).
        assert!(b.take(1000) > Duration::from_millis(1000));
        assert_eq!(format!("{a:?}"), "BandwidthLimit(1000 B/s)");
    }
}
