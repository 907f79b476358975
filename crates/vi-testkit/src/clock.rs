//! Virtual time for `vi_core` flows: a [`Runtime`] whose `sleep` returns at once and records
//! the duration, and whose `now` advances by every recorded sleep. Retry schedules, polling
//! intervals and URL expiry can then be asserted exactly, without waiting.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use vi_core::runtime::{BoxFuture, Runtime};

/// A runtime with virtual time. Spawned futures run on their own OS thread (parked with a
/// small executor); blocking work runs inline on the caller's thread.
#[derive(Debug)]
pub struct VirtualClock {
    start: Instant,
    slept: Mutex<Vec<Duration>>,
}

impl VirtualClock {
    /// A clock starting now, with nothing slept.
    pub fn new() -> Self {
        VirtualClock {
            start: Instant::now(),
            slept: Mutex::new(Vec::new()),
        }
    }

    /// Every sleep asked for so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }

    /// The sum of every sleep so far: how far virtual time has advanced.
    pub fn elapsed(&self) -> Duration {
        self.slept.lock().unwrap().iter().sum()
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime for VirtualClock {
    fn spawn(&self, future: BoxFuture<'static, ()>) {
        std::thread::spawn(move || futures_executor::block_on(future));
    }

    fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
        work()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.slept.lock().unwrap().push(duration);
        Box::pin(async {})
    }

    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }
}
