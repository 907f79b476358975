//! Cancellation that really stops.
//!
//! A [`CancelToken`] is cheap to clone and can be triggered from any thread (a Ctrl-C
//! handler, a progress callback, another task). Long operations check it before starting
//! each new unit of work, wake up from waits when it fires, clean up what they opened on
//! the service (ingestion sessions), and return a report marked cancelled.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The token's state: the flag, and one waker per waiting [`Cancelled`] future, which
/// removes its own when dropped, so a token shared by 100,000 tasks, or reused across
/// calls, holds only the waiters that are still waiting.
#[derive(Default)]
struct Shared {
    cancelled: AtomicBool,
    next_waiter: AtomicU64,
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl Shared {
    fn wakers(&self) -> MutexGuard<'_, HashMap<u64, Waker>> {
        self.wakers.lock().unwrap_or_else(|e| e.into_inner())
    }
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
        let wakers = std::mem::take(&mut *self.shared.wakers());
        for waker in wakers.into_values() {
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
            waiter: None,
        }
    }

    /// How many [`Cancelled`] futures are registered and still waiting (for tests and
    /// diagnostics: it returns to zero once they complete or are dropped).
    pub fn waiters(&self) -> usize {
        self.shared.wakers().len()
    }
}

/// Completes when its [`CancelToken`] fires. Dropping it forgets its waker.
#[derive(Debug)]
pub struct Cancelled {
    token: CancelToken,
    /// This future's entry in the token's waker table, once it has waited.
    waiter: Option<u64>,
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            self.token.shared.wakers().remove(&waiter);
        }
    }
}

impl Future for Cancelled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        let shared = Arc::clone(&self.token.shared);
        let mut wakers = shared.wakers();
        // Check again under the lock: `cancel` may have run in between.
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        let waiter = *self
            .waiter
            .get_or_insert_with(|| shared.next_waiter.fetch_add(1, Ordering::Relaxed));
        match wakers.get_mut(&waiter) {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            Some(waker) => waker.clone_from(cx.waker()),
            None => {
                wakers.insert(waiter, cx.waker().clone());
            }
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
        assert_eq!(token.waiters(), 0);
    }

    #[test]
    fn waiters_forget_their_wakers_when_dropped() {
        let token = CancelToken::new();
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..3 {
            let mut waiting: Vec<Cancelled> = (0..1000).map(|_| token.cancelled()).collect();
            for future in &mut waiting {
                assert!(Pin::new(future).poll(&mut cx).is_pending());
            }
            assert_eq!(token.waiters(), 1000);
            drop(waiting);
            assert_eq!(
                token.waiters(),
                0,
                "a token reused across calls does not grow"
            );
        }
    }
}
