//! Cancellation that really stops.
//!
//! A [`CancelToken`] is cheap to clone and can be triggered from any thread (a Ctrl-C
//! handler, a progress callback, another task). Long operations check it before starting
//! each new unit of work, wake up from waits when it fires, clean up what they opened on
//! the service (ingestion sessions), and return a report marked cancelled.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Shared {
    cancelled: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

/// Cancels a running upload or download when triggered.
#[derive(Clone, Default)]
pub struct CancelToken {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CancelToken {
    /// A token that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the token: operations using it stop starting new work and wind down.
    pub fn cancel(&self) {
        self.shared.cancelled.store(true, Ordering::SeqCst);
        let wakers =
            std::mem::take(&mut *self.shared.wakers.lock().unwrap_or_else(|e| e.into_inner()));
        for waker in wakers {
            waker.wake();
        }
    }

    /// True once [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// A future that completes when the token fires.
    pub fn cancelled(&self) -> Cancelled {
        Cancelled {
            token: self.clone(),
        }
    }
}

/// Completes when its [`CancelToken`] fires.
#[derive(Debug)]
pub struct Cancelled {
    token: CancelToken,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        let mut wakers = self
            .token
            .shared
            .wakers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Check again under the lock: `cancel` may have run in between.
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_for_every_clone_and_wakes_waiters() {
        let token = CancelToken::new();
        let other = token.clone();
        assert!(!other.is_cancelled());
        let waiter = std::thread::spawn(move || futures_executor::block_on(other.cancelled()));
        std::thread::sleep(std::time::Duration::from_millis(20));
        token.cancel();
        waiter.join().unwrap();
        assert!(token.is_cancelled());
        futures_executor::block_on(token.cancelled());
    }
}
