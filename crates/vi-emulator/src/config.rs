//! Configuration of an emulator instance.

use std::path::PathBuf;
use std::time::Duration;

/// How an ingestion session ends when individual files fail (docs/protocol.md §6.9, §15 #7).
///
/// The real service's behaviour cannot be observed from a client, so both plausible
/// models are offered. In both models a `FailAfterOne` session stops accepting files
/// after its first per-file failure: every file still pending is marked errored
/// (`EUNKNOWN`), and `FailAfterAll` sessions process every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureModel {
    /// Model (a), the default: the session always ends `Finished`/`Reached`; per-file
    /// failures only show in `Error` events and `progressCount.errored`.
    /// `FailedReach` is reserved for whole-session faults (cancellation).
    #[default]
    ReachedWithErrors,
    /// Model (b): a `FailAfterOne` session ends `Finished`/`FailedReach` (reason
    /// `FileFailed`) as soon as one file has failed. `FailAfterAll` sessions still end
    /// `Reached` after every file was processed.
    FailedReachOnFirstError,
}

/// When the per-file checks of a single upload (S1) are reported (`--verdicts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdicts {
    /// The default: a size, CRC32C or decoding failure is the PUT's answer (400 with
    /// `fileError`) and shows in the session at once.
    #[default]
    Synchronous,
    /// Like the real storage: every complete PUT is answered 2xx and the file's
    /// failure only shows later, in the session (U2 `Error` events and
    /// `progressCount.errored`).
    Deferred,
}

/// A limit on ingestion-session creation (docs/protocol.md §10.5: the official client states 5
/// sessions per 5 minutes). Creations beyond `sessions` within any `window` (on the
/// virtual clock) are answered 429 with a `Retry-After` until the oldest one leaves
/// the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimit {
    /// Sessions allowed per window.
    pub sessions: u32,
    /// Length of the sliding window.
    pub window: Duration,
}

/// Settings of an [`Emulator`](crate::Emulator). Every field has a sensible default.
///
/// Its `Debug` never shows the secret key.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Interface to bind. Default `127.0.0.1`.
    pub host: String,
    /// Port to bind; `0` picks a free port. Default `0`.
    pub port: u16,
    /// Directory holding the persistent state and blobs. `None` uses a temporary
    /// directory that is deleted when the emulator is dropped.
    pub data_dir: Option<PathBuf>,
    /// Secret key clients must present. `None`: the one persisted in `data_dir`, or a
    /// freshly generated `dtvi_…` key of 103 characters.
    pub secret_key: Option<String>,
    /// Organization id clients must present. `None`: the persisted one, or a
    /// generated UUID-shaped id.
    pub organization_id: Option<String>,
    /// Lifetime of signed upload and download URLs. Default one hour.
    pub signed_url_ttl: Duration,
    /// When true (the default), an asset listing with `s=1000` returns every remaining
    /// asset in one page (docs/protocol.md §7.2, §13.6), because the Python SDK cannot follow
    /// `nextPage` for assets.
    pub single_page_at_max_size: bool,
    /// Terminal state of sessions with per-file failures (docs/protocol.md §6.9).
    pub failure_model: FailureModel,
    /// Idle time after which files of an open session that were never uploaded are
    /// failed with `ETIMEOUT`. Measured from the session's last upload activity, with
    /// the virtual clock. Default ten minutes.
    pub missing_file_timeout: Duration,
    /// Target part size of multipart uploads: `partCount = ceil(size / part size)`,
    /// clamped to 1..=10 000 (docs/protocol.md §15 #15). Default 64 MiB.
    pub multipart_part_size: u64,
    /// When set, one JSON line describing each request (route template, query keys,
    /// body key types, relevant header names; never secrets) is appended to this file.
    pub record_to: Option<PathBuf>,
    /// Origin used in signed URLs, e.g. `http://emulator:8080`. `None` uses the bound
    /// address (with an unspecified address such as `0.0.0.0` shown as `127.0.0.1`).
    pub public_url: Option<String>,
    /// Delay added before the response head of every request, API and storage alike
    /// (`--latency-ms`). Default zero.
    pub latency: Duration,
    /// Pace of each storage request body and response body, in bytes per second
    /// (`--bandwidth`); `None` (the default) is unlimited. HTTP/1.1 carries one
    /// request at a time, so this is also the rate of each connection.
    pub bandwidth: Option<u64>,
    /// Probability (0.0–1.0) that a request gets a random fault: 500, 502, 503, 429
    /// with `Retry-After`, a connection closed before the response, a truncated
    /// response body or a body that stalls (`--fault-rate`). Default 0.
    pub fault_rate: f64,
    /// Seed of the random faults (`--fault-seed`): the same seed and the same
    /// request order give the same faults. Default 0.
    pub fault_seed: u64,
    /// How long a stalling body (random fault) pauses before the connection is
    /// closed. Default 30 seconds.
    pub fault_stall: Duration,
    /// Status of a request to an expired signed URL (`--expired-status`): 403 (the
    /// default, S3 style) or 400 (GCS style).
    pub expired_status: u16,
    /// When per-file checks of single uploads are reported (`--verdicts`).
    pub verdicts: Verdicts,
    /// M2 part URLs ask for the response body (`responseBody: true`, `--part-response-body`):
    /// part PUTs answer with a small XML body and M3 must carry it, base64-encoded.
    pub part_response_body: bool,
    /// M3 rejects a missing or empty `ETag` (`--require-part-etag`), as S3-style
    /// stores refuse to complete a part without one. Default off: an empty ETag is
    /// accepted, which is what the Python SDK sends when the header is missing.
    pub require_part_etag: bool,
    /// Optional limit on ingestion-session creation (`--sessions-per-window`).
    pub session_limit: Option<SessionLimit>,
    /// How long a client may take to send a request head (`--header-timeout-secs`,
    /// default 30 s): a client that trickles its headers is disconnected, as a real
    /// front end would.
    pub header_timeout: Duration,
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "dtvi_…(redacted)"),
            )
            .field("organization_id", &self.organization_id)
            .field("signed_url_ttl", &self.signed_url_ttl)
            .field("single_page_at_max_size", &self.single_page_at_max_size)
            .field("failure_model", &self.failure_model)
            .field("missing_file_timeout", &self.missing_file_timeout)
            .field("multipart_part_size", &self.multipart_part_size)
            .field("record_to", &self.record_to)
            .field("public_url", &self.public_url)
            .field("latency", &self.latency)
            .field("bandwidth", &self.bandwidth)
            .field("fault_rate", &self.fault_rate)
            .field("fault_seed", &self.fault_seed)
            .field("fault_stall", &self.fault_stall)
            .field("expired_status", &self.expired_status)
            .field("verdicts", &self.verdicts)
            .field("part_response_body", &self.part_response_body)
            .field("require_part_etag", &self.require_part_etag)
            .field("session_limit", &self.session_limit)
            .field("header_timeout", &self.header_timeout)
            .finish()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            host: "127.0.0.1".to_owned(),
            port: 0,
            data_dir: None,
            secret_key: None,
            organization_id: None,
            signed_url_ttl: Duration::from_secs(3600),
            single_page_at_max_size: true,
            failure_model: FailureModel::default(),
            missing_file_timeout: Duration::from_secs(600),
            multipart_part_size: 64 * 1024 * 1024,
            record_to: None,
            public_url: None,
            latency: Duration::ZERO,
            bandwidth: None,
            fault_rate: 0.0,
            fault_seed: 0,
            fault_stall: Duration::from_secs(30),
            expired_status: 403,
            verdicts: Verdicts::Synchronous,
            part_response_body: false,
            require_part_etag: false,
            session_limit: None,
            header_timeout: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret_key() {
        let key = format!("dtvi_{}", "s".repeat(98));
        let config = EmulatorConfig {
            secret_key: Some(key.clone()),
            ..EmulatorConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains(&key[5..21]), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
