//! Shared server state: configuration, virtual clock, data, faults, signing.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::chaos::Chaos;
use crate::config::EmulatorConfig;
use crate::fault::{FaultKind, FaultQueue, RequestClass};
use crate::state::State;
use crate::stats::Counters;

type HmacSha256 = Hmac<Sha256>;

/// The locked state; dropping it commits what changed.
pub(crate) struct StateGuard<'a>(MutexGuard<'a, State>);

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.0
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        self.0.commit();
    }
}

/// Everything a request handler needs.
pub(crate) struct App {
    pub(crate) config: EmulatorConfig,
    /// `http://host:port`, no trailing slash: the origin of signed URLs.
    pub(crate) origin: String,
    pub(crate) data_dir: PathBuf,
    pub(crate) secret_key: String,
    pub(crate) organization_id: String,
    pub(crate) user: String,
    signing_key: Vec<u8>,
    clock_offset_ms: AtomicI64,
    state: Mutex<State>,
    faults: Mutex<FaultQueue>,
    pub(crate) recorder: Option<Mutex<std::fs::File>>,
    /// Random faults (`fault_rate`, `fault_seed`).
    pub(crate) chaos: Chaos,
    /// Requests served, per class.
    pub(crate) counters: Counters,
    /// Creation instants (virtual ms) of the sessions inside the current limit window.
    session_window: Mutex<VecDeque<i64>>,
    /// Annotation-file declarations still to be answered with a swapped name
    /// (`FaultKind::SwapUploadName`).
    pub(crate) swapped_names: AtomicU32,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: EmulatorConfig,
        origin: String,
        data_dir: PathBuf,
        state: State,
        signing_key: Vec<u8>,
        recorder: Option<std::fs::File>,
    ) -> App {
        let chaos = Chaos::new(config.fault_rate, config.fault_seed);
        App {
            chaos,
            secret_key: state.secret_key.clone(),
            organization_id: state.organization_id.clone(),
            user: "emulator-user".to_owned(),
            config,
            origin,
            data_dir,
            signing_key,
            clock_offset_ms: AtomicI64::new(0),
            state: Mutex::new(state),
            faults: Mutex::new(FaultQueue::default()),
            recorder: recorder.map(Mutex::new),
            counters: Counters::default(),
            session_window: Mutex::new(VecDeque::new()),
            swapped_names: AtomicU32::new(0),
        }
    }

    /// Current virtual time in milliseconds since the Unix epoch.
    pub(crate) fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        real.saturating_add(self.clock_offset_ms.load(Ordering::SeqCst))
    }

    pub(crate) fn advance_clock(&self, by_ms: i64) {
        self.clock_offset_ms.fetch_add(by_ms, Ordering::SeqCst);
    }

    /// The state, locked. Everything changed while the guard is held is written to
    /// the database in one transaction when it is dropped.
    pub(crate) fn state(&self) -> StateGuard<'_> {
        StateGuard(lock(&self.state))
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.faults)
    }

    pub(crate) fn take_fault(
        &self,
        class: RequestClass,
        method: &str,
        path: &str,
    ) -> Option<FaultKind> {
        self.faults().take(class, method, path)
    }

    pub(crate) fn blob_path(&self, blob: &str) -> PathBuf {
        self.data_dir.join("blobs").join(blob)
    }

    pub(crate) fn tmp_path(&self) -> PathBuf {
        self.data_dir.join(TMP_DIR).join(crate::ids::token())
    }

    pub(crate) fn part_dir(&self, multipart: &str) -> PathBuf {
        self.data_dir.join("parts").join(multipart)
    }

    /// Deletes blob files no longer referenced.
    pub(crate) async fn delete_blobs(&self, garbage: Vec<String>) {
        for blob in garbage {
            let _ = tokio::fs::remove_file(self.blob_path(&blob)).await;
        }
    }

    fn mac(&self, parts: &[&str], expires: i64) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.signing_key).ok()?;
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac.update(expires.to_string().as_bytes());
        Some(mac)
    }

    /// Hex HMAC-SHA256 over the logical resource (`parts`) and the expiry.
    pub(crate) fn sign(&self, parts: &[&str], expires: i64) -> String {
        self.mac(parts, expires)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Constant-time check of a hex signature made by [`App::sign`].
    pub(crate) fn verify(&self, parts: &[&str], expires: i64, signature_hex: &str) -> bool {
        let Ok(signature) = hex::decode(signature_hex) else {
            return false;
        };
        self.mac(parts, expires)
            .is_some_and(|m| m.verify_slice(&signature).is_ok())
    }

    /// Expiry instant (ms) of a URL signed now.
    pub(crate) fn url_expiry(&self) -> i64 {
        let ttl = i64::try_from(self.config.signed_url_ttl.as_millis()).unwrap_or(i64::MAX);
        self.now_ms().saturating_add(ttl)
    }
}

impl App {
    /// Spec §10.5: takes one session-creation slot, or returns how many seconds to
    /// wait (for `Retry-After`) when the window is full.
    pub(crate) fn take_session_slot(&self) -> Result<(), u32> {
        let Some(limit) = self.config.session_limit else {
            return Ok(());
        };
        let now = self.now_ms();
        let window = i64::try_from(limit.window.as_millis()).unwrap_or(i64::MAX);
        let mut slots = lock(&self.session_window);
        while slots
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= window)
        {
            slots.pop_front();
        }
        if slots.len() < limit.sessions as usize {
            slots.push_back(now);
            return Ok(());
        }
        let oldest = slots.front().copied().unwrap_or(now);
        let wait_ms = oldest.saturating_add(window).saturating_sub(now).max(1);
        Err(u32::try_from((wait_ms + 999) / 1000).unwrap_or(u32::MAX))
    }
}

/// The folder under the data directory for bodies still being received; emptied at start.
pub(crate) const TMP_DIR: &str = ".vi-emulator-tmp";
