//! `vi-emulator`: a local, faithful server of the Datature Vi asset and dataset API
//! (the wire protocol of `docs/protocol.md` and `api/`), for SDK tests, demos and offline CI.
//!
//! It is an independent implementation of the specification (it does not depend on
//! the SDK crates), so a misunderstanding in the SDK is not mirrored here.
//!
//! ```no_run
//! let emulator = vi_emulator::Emulator::start()?;
//! println!("{} {} {}", emulator.url(), emulator.secret_key(), emulator.organization_id());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The server runs on its own OS thread with its own tokio runtime, so blocking tests
//! never nest runtimes. Dropping the [`Emulator`] stops it.
//!
//! # What is served
//!
//! * The API at the origin root: datasets D1–D7, assets A1–A6, ingestion sessions
//!   U1–U4 and multipart uploads M1–M5 (docs/protocol.md §2.2), with `Authorization: Bearer <key>`
//!   and `Organization-Id` checked on every call (401), and a path `{org}` different
//!   from the header's rejected with 403 (docs/protocol.md §15 #21). Errors are
//!   `{"message", "error", "statusCode"}` with the codes of docs/protocol.md §9.2.
//! * "Cloud storage" on the same origin, behind HMAC-SHA256-signed URLs:
//!   * S1 upload: `PUT {origin}/_storage/upload/{ingestionId}/{filename}?expires=<ms>&signature=<hex>`
//!   * S2 part upload: `PUT {origin}/_storage/part/{multipartUploadId}/{partNumber}?expires=<ms>&signature=<hex>`
//!   * S3 download: `GET {origin}/_storage/download/{org}_{ds}/{assetId}/{filename}?expires=<ms>&signature=<hex>`
//!
//!   Path segments are percent-encoded (a `/` in a name becomes `%2F`), so a download
//!   URL ends with `/<percent-encoded filename>?…` (docs/protocol.md §7). The signature covers the
//!   method, the decoded resource and the expiry; a tampered URL or one past its
//!   expiry on the virtual clock ([`Emulator::advance_clock`]) gets 403.
//!
//! # Filter language (`filter` of A1/A2; docs/protocol.md §15 #3)
//!
//! The real syntax is undocumented; the emulator implements a small documented subset.
//! A filter is one or more clauses `OPERAND OP OPERAND` joined by `and` (any case) or
//! `&&`. An operand is a field, a number (`42`, `1.5`, `1e3`) or a quoted string
//! (`"cat.png"` or `'cat.png'`, backslash escapes). Fields: `filename`, `assetId`,
//! `metadata.mimeType` (strings) and `metadata.fileSize`, `metadata.width`,
//! `metadata.height`, `metadata.frames` (numbers). Operators: `==`, `!=`, `<`, `<=`,
//! `>`, `>=`. Both sides must have the same type; field-to-field comparisons such as
//! `metadata.width == metadata.height` are allowed. An empty filter matches everything;
//! anything unparseable (including the Python `repr` of a dict) is a 400 whose message
//! names the problem.
//!
//! `metadataQuery` (docs/protocol.md §15 #4): clauses `key == value` or `key != value` on the
//! asset's `metadata.customMetadata`, joined by `and`/`&&`; the key is a bare word or
//! a quoted string, the value a quoted string, a number or `true`/`false`. With
//! `strictQuery=y` values must be equal including JSON type and case; otherwise
//! strings compare case-insensitively and values by their text form. `ruleQuery` is
//! accepted and ignored; `pageAfter=y` is accepted and has no effect.
//!
//! # A real network, at scale
//!
//! [`EmulatorConfig`] (and the binary's flags) can add latency, pace storage bodies to
//! a bandwidth, inject seeded random faults (5xx, 429, closed connections, truncated
//! and stalled bodies), answer expired URLs with 400 instead of 403, defer per-file
//! verdicts to the session, ask for part reply bodies, refuse empty part ETags and
//! limit session creation per window. `GET /_emulator/stats` and [`Emulator::stats`]
//! count requests. The state lives in SQLite (`state.db` under the data directory, in
//! memory without one): assets are listed, sorted and counted from indexes with
//! keyset pages, and every change is one transaction. See `docs/emulator.md`.
//!
//! # Modelling choices (where the specification leaves room)
//!
//! * Ids: short dataset and asset ids are 10 lowercase alphanumerics (never `_`);
//!   sessions `sess-…`, ingestion ids `ingest-…`, multipart uploads `mpu-…`.
//! * Query strings are strict: unknown keys, repeated keys and malformed values
//!   (e.g. `contents=true`; flags are `y` only, count's `strictQuery` is `y`/`n`) are
//!   a 400 naming the key. `s` must be 1–1000 (docs/protocol.md §15 #28). Page tokens are opaque
//!   base64url tokens bound (by an HMAC) to a fingerprint of the dataset, sort and
//!   filters and to their position: for assets the sort key of the last asset of the
//!   previous page (keyset paging), for datasets and sessions an offset; unknown,
//!   tampered or mismatched tokens are a 400.
//!   With [`EmulatorConfig::single_page_at_max_size`], `s=1000` returns every
//!   remaining asset in one page (docs/protocol.md §13.6).
//! * Sorting: `default` is upload order; ties break on `assetId`; `o` accepts
//!   `asc`/`desc`/`a`/`d`, absence is ascending (docs/protocol.md §15 #2).
//! * Request bodies are strict: unknown keys, missing required keys and wrong types
//!   are a 400 naming the field (`unknown field "nmae"`, `"status" must be an integer`).
//! * Upload declarations (U1): a filename declared twice in one session is a 400
//!   (clients resolve duplicates before U1, docs/protocol.md §15 #10); `kind` must agree with the
//!   MIME's top-level type; `crc32c` must fit a signed 32-bit integer. Both keep
//!   spellings are accepted, `KeepLinkedResources` is emitted (docs/protocol.md §15 #1).
//! * S1 uploads must send exactly the `Content-Type` listed in `upload.headers` (403
//!   otherwise, as for a signed header) and a `Content-Length` (chunked → 411, spec
//!   §15 #14). A length different from the declared size fails the file with
//!   `EBADSIZE`, a CRC32C mismatch (signed comparison) or an unreadable image header
//!   with `ECORRUPT`; the reply is a 400 carrying `fileError`. A failed file is final:
//!   later PUTs for it get the same 400 and `fileError` (so retries see one consistent
//!   answer). A file is ingested (becomes an asset, counted in
//!   `progressCount.succeeded`) the moment it is received; a later PUT of the same
//!   bytes is answered 200 (an idempotent retry, nothing ingested again) and different
//!   bytes 409. Uploads into a cancelled session: 409.
//! * A session finishes as soon as no declared file is pending. Files that never
//!   arrive fail with `ETIMEOUT` once the session has been idle for
//!   [`EmulatorConfig::missing_file_timeout`] (checked lazily, on the virtual clock).
//!   Terminal state per [`FailureModel`] (docs/protocol.md §6.9): with `FailAfterOne`, the first
//!   failure marks every still-pending file `EUNKNOWN`. Files already received stay
//!   assets (also under model (b)); a cancelled session (U3 → `Finished`/`FailedReach`,
//!   reason `Cancelled`) creates no asset from a file not yet received and refuses later
//!   uploads with 409 (docs/protocol.md §15 #27 says "creates no assets"; here files received
//!   before the cancel were already ingested and stay). Cancelling a finished session
//!   returns it unchanged.
//! * The filename is the per-dataset asset key: an upload of an existing filename
//!   replaces the bytes, keeps the asset id and bumps its generation;
//!   `RemoveLinkedResource` resets custom metadata unless the new declaration has some.
//! * Multipart: `partCount = ceil(size / part size)` clamped to 1..=10 000; each part
//!   must have the exact floor/remainder length (400 otherwise); M3 must name the
//!   part's ETag (or an empty one); M4 needs every part uploaded and registered, then
//!   checks the assembled file like an S1 upload but answers 200 even when the file
//!   fails (the failure shows in the session). A new M1 for a file supersedes an
//!   unfinished earlier one; M1 after an abort is accepted.
//! * Per-session events: one `Progress` event (opaque counters) then `Error` events
//!   in the order they happened; conditions newest first. Videos are stored with
//!   width/height 0 (containers are not parsed). Asset `status` is `none`,
//!   `visibility` `visible`, `contentsFrom` `upload`; the thumbnail URL is the asset's.
//! * Deleting a dataset is immediate; `deleteOperation` then answers with every
//!   condition `Reached`; a second DELETE is a 404.
//! * The HMAC key is random (`fastrand`, not cryptographically strong: this is a test
//!   server) and persisted with the state.

mod api;
mod app;
mod archive;
mod body;
mod chaos;
mod config;
mod error;
mod fault;
mod filter;
mod ids;
mod legacy;
mod query;
mod record;
mod render;
mod server;
mod shaping;
mod state;
mod stats;
mod storage;
mod store;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use config::{EmulatorConfig, FailureModel, SessionLimit, Verdicts};
pub use fault::{Fault, FaultKind, FaultTarget};
pub use stats::Stats;

use crate::app::App;
use crate::state::State;

/// A running emulator. Stops (and joins its server thread) on [`Emulator::shutdown`]
/// or when dropped.
pub struct Emulator {
    app: Arc<App>,
    url: String,
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    // Dropped after the server thread has been joined (field order matters only for
    // clarity: `Drop` joins the thread first).
    _temp_dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("url", &self.url)
            .field("organization_id", &self.app.organization_id)
            .field("data_dir", &self.app.data_dir)
            .finish_non_exhaustive()
    }
}

fn origin_of(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => "127.0.0.1".to_owned(),
            SocketAddr::V6(_) => "[::1]".to_owned(),
        }
    } else {
        match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    format!("http://{ip}:{}", addr.port())
}

impl Emulator {
    /// Starts an emulator with the default configuration: 127.0.0.1 on a free port, a
    /// temporary data directory, generated credentials.
    ///
    /// # Errors
    /// When the port cannot be bound or the runtime cannot be created.
    pub fn start() -> std::io::Result<Emulator> {
        Self::start_with(EmulatorConfig::default())
    }

    /// Starts an emulator and returns once it is listening.
    ///
    /// Credentials come from the configuration, else from the state persisted in
    /// `data_dir`, else they are generated. Environment variables are not read.
    ///
    /// # Errors
    /// When the data directory or its state cannot be used, the address cannot be
    /// bound, or the runtime cannot be created.
    pub fn start_with(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let (data_dir, temp_dir, persist) = match &config.data_dir {
            Some(dir) => (dir.clone(), None, true),
            None => {
                let temp = tempfile::Builder::new().prefix("vi-emulator-").tempdir()?;
                (temp.path().to_path_buf(), Some(temp), false)
            }
        };
        for sub in ["blobs", "parts", app::TMP_DIR] {
            std::fs::create_dir_all(data_dir.join(sub))?;
        }
        // Leftovers of interrupted uploads, in a folder whose name is the emulator's own:
        // a data directory that already had a `tmp` of the user's keeps it untouched.
        if let Ok(entries) = std::fs::read_dir(data_dir.join(app::TMP_DIR)) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let mut state = State::open(persist.then_some(data_dir.as_path()))?;
        state.touch_meta();
        if let Some(key) = &config.secret_key {
            state.secret_key = key.clone();
        } else if state.secret_key.is_empty() {
            state.secret_key = ids::secret_key();
        }
        if let Some(org) = &config.organization_id {
            state.organization_id = org.clone();
        } else if state.organization_id.is_empty() {
            state.organization_id = ids::organization_id();
        }
        let signing_key = match hex::decode(&state.signing_key) {
            Ok(k) if !k.is_empty() => k,
            _ => {
                let k = ids::signing_key();
                state.signing_key = hex::encode(&k);
                k
            }
        };
        let recorder = match &config.record_to {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
            None => None,
        };
        let listener = TcpListener::bind((config.host.as_str(), config.port))?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let url = match &config.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => origin_of(local_addr),
        };
        let app = Arc::new(App::new(
            config,
            url.clone(),
            data_dir,
            state,
            signing_key,
            recorder,
        ));
        // Credentials are written now (the guard commits when dropped).
        drop(app.state());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vi-emulator")
            .enable_all()
            .build()?;
        let (stop, stop_rx) = watch::channel(false);
        let server_app = Arc::clone(&app);
        let thread = std::thread::Builder::new()
            .name("vi-emulator".into())
            .spawn(move || {
                runtime.block_on(server::run(server_app, listener, stop_rx));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Emulator {
            app,
            url,
            local_addr,
            stop,
            thread: Some(thread),
            _temp_dir: temp_dir,
        })
    }

    /// Base URL of the API, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The secret key clients must send as `Authorization: Bearer <key>`.
    pub fn secret_key(&self) -> &str {
        &self.app.secret_key
    }

    /// The organization id clients must send as `Organization-Id` and use in paths.
    pub fn organization_id(&self) -> &str {
        &self.app.organization_id
    }

    /// Directory holding the state and blobs.
    pub fn data_dir(&self) -> &Path {
        &self.app.data_dir
    }

    /// Moves the virtual clock forward: signed URLs expire and missing-file timeouts
    /// elapse without waiting. Timestamps in responses follow the virtual clock.
    pub fn advance_clock(&self, by: Duration) {
        self.app
            .advance_clock(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
    }

    /// Queues a fault for the next matching requests (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.app.faults().push(fault);
    }

    /// Creates a dataset named `name` with `count` generated assets, for
    /// measurements and load tests: `seed-<n>.jpg` (n in upload order), image/jpeg,
    /// 1000 bytes each, all served from one shared blob of zeros (so deleting one of
    /// them breaks the others' downloads). Written in one transaction. Returns the
    /// composite dataset id `{org}_{ds}`.
    ///
    /// # Errors
    /// When the blob or the database cannot be written.
    pub fn seed_assets(&self, name: &str, count: u64) -> std::io::Result<String> {
        let bytes = vec![0u8; 1000];
        let blob = ids::token();
        std::fs::write(self.app.blob_path(&blob), &bytes)?;
        let crc = crc32c::crc32c(&bytes);
        let now = self.app.now_ms();
        let mut state = self.app.state();
        let owner = state.organization_id.clone();
        let id = state
            .seed_dataset(&owner, name, count, now, (&blob, 1000, crc))
            .map_err(|e| std::io::Error::other(format!("cannot seed assets: {e}")))?;
        Ok(format!("{}_{id}", self.app.organization_id))
    }

    /// Replaces the archive of an export with `bytes` (a test serving a hostile or
    /// corrupt archive through the normal signed URL).
    ///
    /// # Errors
    /// When the export does not exist or the blob cannot be written.
    pub fn replace_export_archive(&self, export_id: &str, bytes: &[u8]) -> std::io::Result<()> {
        let blob = ids::token();
        std::fs::write(self.app.blob_path(&blob), bytes)?;
        let mut state = self.app.state();
        let export = state
            .export_mut(export_id)
            .ok_or_else(|| std::io::Error::other(format!("no export {export_id}")))?;
        export.blob = blob;
        export.size = bytes.len() as u64;
        export.crc = crc32c::crc32c(bytes);
        Ok(())
    }

    /// Makes an export fail: its next poll shows `Finished` as `FailedReach` with this
    /// reason and message, and no download URL.
    ///
    /// # Errors
    /// When the export does not exist.
    pub fn fail_export(&self, export_id: &str, reason: &str, message: &str) -> std::io::Result<()> {
        let now = self.app.now_ms();
        let mut state = self.app.state();
        let export = state
            .export_mut(export_id)
            .ok_or_else(|| std::io::Error::other(format!("no export {export_id}")))?;
        export.failure = Some((reason.to_owned(), message.to_owned()));
        export.finished = Some(now);
        Ok(())
    }

    /// Request counters so far (also served as JSON at `GET /_emulator/stats`).
    pub fn stats(&self) -> Stats {
        self.app.counters.snapshot()
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        *self.app.faults() = fault::FaultQueue::default();
    }

    /// Stops the server, persists the state and joins the server thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Every change is committed when made; nothing is pending here.
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_and_join();
        }
    }
}
