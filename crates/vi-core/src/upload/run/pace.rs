//! Upload steps 4–5: when a session's upload URLs stop being usable, how many files the
//! next session should carry, and what to do with a file whose transfer failed.
//!
//! A session hands out one signed URL per file at creation, and each URL works only
//! until its `expiry`. A session opened long before its files can be sent (a large
//! batch behind a slow uplink, or short-lived URLs) would see its last URLs expire
//! unused. So the engine opens a session only when the transfers already queued are
//! about to run out, sizes it by the pace measured so far and the URLs' lifetime, never
//! starts a PUT on a URL past its (local) deadline, and moves such a file, or one whose
//! URL the storage refused, into a fresh session instead of trying the dead URL again.

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::models::{IngestionSession, SignedUrl};

/// How many times one file may be moved to a fresh session or sent again after its
/// retries ran out, before it is reported failed.
pub(super) const MAX_SECOND_CHANCES: u8 = 3;

/// The longest safety margin kept before a URL's expiry: a PUT must reach the storage
/// before the URL expires, so one is not started in the last moments of its lifetime.
const MAX_MARGIN: Duration = Duration::from_secs(5);

/// What to do with a file whose transfer ended in an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// The URL is dead (expired, or its signature refused): a fresh session.
    Resign,
    /// A transient failure outlasted the retries: try once more later, on the same URL
    /// while it lasts.
    Resend,
    /// The failure is the file's own: report it.
    Fail,
}

/// Decides what follows a failed PUT. `expired` is true when the URL's local deadline
/// had passed when the answer came.
pub(super) fn after_failure(error: &Error, expired: bool) -> Next {
    match error.status().map(|s| s.as_u16()) {
        // S3-style stores answer an expired or bad signature 403; such a URL never works
        // again.
        Some(403) => Next::Resign,
        // GCS-style stores answer an expired URL 400; a 400 before the deadline is the
        // service's verdict on the file (wrong size, corrupt) and stands.
        Some(400) if expired => Next::Resign,
        Some(408 | 429) => Next::Resend,
        Some(s) if s >= 500 => Next::Resend,
        Some(_) => Next::Fail,
        // Network trouble, once the retries gave up on it.
        None if error.last().is_retryable() => Next::Resend,
        None => Next::Fail,
    }
}

/// The local instant after which `url` is not used: the session's creation was asked
/// for at `requested`, so the URL lives at least `expiry − timeCreated` from then (both
/// on the service's clock, so a skewed local clock does not matter), minus a margin of a
/// quarter of the lifetime, at most [`MAX_MARGIN`] (a PUT started just before the
/// deadline may wait for a connection, a file read or a busy machine before it reaches
/// the storage).
/// `None` when the session does not say (then only the storage's answer tells).
pub(super) fn deadline(
    requested: Instant,
    session: &IngestionSession,
    url: &SignedUrl,
) -> Option<Instant> {
    let created = session.metadata.time_created.as_millis();
    let lifetime = url.expiry.as_millis().checked_sub(created)?;
    if created <= 0 || lifetime <= 0 {
        return None;
    }
    let lifetime = Duration::from_millis(lifetime.unsigned_abs());
    let margin = (lifetime / 4).min(MAX_MARGIN);
    requested.checked_add(lifetime - margin)
}

/// The measured pace of the transfers, for sizing sessions.
#[derive(Debug, Default)]
pub(super) struct Pace {
    /// When the first transfer started.
    started: Option<Instant>,
    /// Transfers finished (successfully) since.
    finished: u64,
    /// The shortest usable URL lifetime seen so far.
    lifetime: Option<Duration>,
}

impl Pace {
    /// Notes that a transfer is starting.
    pub(super) fn start(&mut self, now: Instant) {
        self.started.get_or_insert(now);
    }

    /// Notes a finished transfer.
    pub(super) fn finish(&mut self) {
        self.finished += 1;
    }

    /// Notes the usable lifetime of a new session's URLs.
    pub(super) fn lifetime(&mut self, requested: Instant, deadline: Option<Instant>) {
        if let Some(d) = deadline {
            let lifetime = d.saturating_duration_since(requested);
            self.lifetime = Some(self.lifetime.map_or(lifetime, |l| l.min(lifetime)));
        }
    }

    /// How many files the next session should carry: as many as the transfers measured
    /// so far get through in half the URLs' lifetime, at least one per worker, at most
    /// `configured`. Until both the pace and the lifetime are known, `configured`.
    pub(super) fn batch_size(&self, now: Instant, configured: usize, workers: usize) -> usize {
        let (Some(started), Some(lifetime)) = (self.started, self.lifetime) else {
            return configured;
        };
        let elapsed = now.saturating_duration_since(started).as_secs_f64();
        if self.finished < workers as u64 || elapsed <= 0.0 {
            return configured;
        }
        let rate = self.finished as f64 / elapsed;
        let fits = (rate * lifetime.as_secs_f64() / 2.0).floor();
        // `as` saturates for floats out of range.
        (fits as usize).clamp(workers.min(configured).max(1), configured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Timestamp;

    fn session_created_at(ms: i64) -> IngestionSession {
        let mut s: IngestionSession = serde_json::from_value(serde_json::json!({
            "datasetId": "w_d", "assetIngestionSessionId": "s", "ingestionId": "i",
            "spec": {"kind": "Upload", "failureMode": "FailAfterOne", "onAssetOverwritten": "RemoveLinkedResource"},
            "status": {"conditions": [], "events": [], "progressCount": {"total": 0, "succeeded": 0, "errored": 0}}
        }))
        .unwrap();
        s.metadata.time_created = Timestamp::from_millis(ms);
        s
    }

    fn url_expiring_at(ms: i64) -> SignedUrl {
        SignedUrl {
            url: "https://storage.example/u?sig=x".into(),
            expiry: Timestamp::from_millis(ms),
            headers: None,
            method: None,
        }
    }

    #[test]
    fn a_deadline_comes_from_the_service_clock_with_a_margin() {
        let now = Instant::now();
        let s = session_created_at(1_000_000);
        // 3 s of lifetime: a quarter as margin.
        let d = deadline(now, &s, &url_expiring_at(1_003_000)).unwrap();
        assert_eq!(d - now, Duration::from_millis(2_250));
        // An hour: the margin is capped.
        let d = deadline(now, &s, &url_expiring_at(1_000_000 + 3_600_000)).unwrap();
        assert_eq!(d - now, Duration::from_secs(3_595));
        // Nonsense from the service: no deadline, rather than every URL dead.
        assert!(deadline(now, &s, &url_expiring_at(999_000)).is_none());
        assert!(deadline(now, &session_created_at(0), &url_expiring_at(5)).is_none());
    }

    #[test]
    fn sessions_are_sized_by_pace_and_lifetime() {
        let t0 = Instant::now();
        let mut pace = Pace::default();
        assert_eq!(pace.batch_size(t0, 5000, 8), 5000, "nothing known yet");
        pace.start(t0);
        pace.lifetime(t0, Some(t0 + Duration::from_secs(10)));
        for _ in 0..400 {
            pace.finish();
        }
        // 100 files/s, 10 s URLs: 500 files fit in half the lifetime.
        assert_eq!(pace.batch_size(t0 + Duration::from_secs(4), 5000, 8), 500);
        // Never fewer than one per worker, never more than configured.
        pace.lifetime(t0, Some(t0 + Duration::from_millis(10)));
        assert_eq!(pace.batch_size(t0 + Duration::from_secs(4), 5000, 8), 8);
        assert_eq!(pace.batch_size(t0 + Duration::from_secs(4), 4, 8), 4);
    }
}
