//! Request counters, served at `GET /_emulator/stats`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters of what the server did, served at `GET /_emulator/stats` and by
/// [`Emulator::stats`](crate::Emulator::stats).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    api: AtomicU64,
    uploads: AtomicU64,
    downloads: AtomicU64,
    injected: AtomicU64,
    random: AtomicU64,
    expired: AtomicU64,
    storage_in_flight: AtomicU64,
    peak_storage_in_flight: AtomicU64,
    connections: AtomicU64,
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
    /// Signed-URL requests refused because their URL had expired (`signed_url_ttl`).
    pub expired_urls: u64,
    /// The most signed-URL (storage) requests handled at once, each from its arrival to
    /// its answer's head (the added latency included, a download body's streaming not):
    /// how many transfers a client really ran at once.
    pub peak_storage_in_flight: u64,
    /// TCP connections accepted: with a client that keeps its connections, about as many
    /// as it ran requests at once, however many requests it sent.
    pub connections: u64,
}

/// One storage request being handled; counted out when dropped.
pub(crate) struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.storage_in_flight.fetch_sub(1, Ordering::Relaxed);
    }
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

    /// A storage request arrived; it counts as in flight until the guard is dropped.
    pub(crate) fn storage_request(&self) -> InFlight<'_> {
        let now = self.storage_in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_storage_in_flight
            .fetch_max(now, Ordering::Relaxed);
        InFlight(self)
    }

    pub(crate) fn connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn injected(&self) {
        self.injected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn random(&self) {
        self.random.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn expired(&self) {
        self.expired.fetch_add(1, Ordering::Relaxed);
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
            expired_urls: self.expired.load(Ordering::Relaxed),
            peak_storage_in_flight: self.peak_storage_in_flight.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }
}
