//! Configuration of an emulator instance.

use std::path::PathBuf;
use std::time::Duration;

/// How an ingestion session ends when individual files fail (spec §6.9, §15 #7).
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

/// Settings of an [`Emulator`](crate::Emulator). Every field has a sensible default.
#[derive(Debug, Clone)]
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
    /// asset in one page (spec §7.2, §13.6), because the Python SDK cannot follow
    /// `nextPage` for assets.
    pub single_page_at_max_size: bool,
    /// Terminal state of sessions with per-file failures (spec §6.9).
    pub failure_model: FailureModel,
    /// Idle time after which files of an open session that were never uploaded are
    /// failed with `ETIMEOUT`. Measured from the session's last upload activity, with
    /// the virtual clock. Default ten minutes.
    pub missing_file_timeout: Duration,
    /// Target part size of multipart uploads: `partCount = ceil(size / part size)`,
    /// clamped to 1..=10 000 (spec §15 #15). Default 64 MiB.
    pub multipart_part_size: u64,
    /// When set, one JSON line describing each request (route template, query keys,
    /// body key types, relevant header names; never secrets) is appended to this file.
    pub record_to: Option<PathBuf>,
    /// Origin used in signed URLs, e.g. `http://emulator:8080`. `None` uses the bound
    /// address (with an unspecified address such as `0.0.0.0` shown as `127.0.0.1`).
    pub public_url: Option<String>,
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
        }
    }
}
