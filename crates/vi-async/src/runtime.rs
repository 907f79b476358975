//! The [`Runtime`] on tokio.
//!
//! [`TokioRuntime`] resolves the tokio runtime at call time (`Handle::try_current`), so one
//! value works on whichever runtime the caller's task runs on. It is meant to be used from
//! inside a tokio runtime with the time driver enabled (as `#[tokio::main]` builds). Outside
//! any runtime it does not panic: work goes to plain OS threads instead, which is correct
//! but only useful for futures that do not need tokio themselves.

use std::time::Duration;

use tokio::runtime::Handle;
use vi_core::runtime::{BoxFuture, Runtime};

/// A [`Runtime`] on the current tokio runtime: tasks, the blocking pool and tokio timers.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioRuntime;

impl Runtime for TokioRuntime {
    fn spawn(&self, future: BoxFuture<'static, ()>) {
        match Handle::try_current() {
            Ok(handle) => {
                // Detached: the pool that spawned it tracks completion itself.
                drop(handle.spawn(future));
            }
            Err(_) => spawn_thread("vi-worker", move || futures_executor::block_on(future)),
        }
    }

    fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
        match Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(work)),
            Err(_) => spawn_thread("vi-blocking", work),
        }
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        // The runtime is looked up when the future is first polled, not when it is made.
        Box::pin(async move {
            if Handle::try_current().is_ok() {
                tokio::time::sleep(duration).await;
            } else {
                thread_sleep(duration).await;
            }
        })
    }
}

/// Runs `work` on a new named OS thread. If the OS refuses a thread, the work is dropped
/// unrun (callers waiting on it see their channel close, i.e. cancellation), not a panic.
fn spawn_thread(name: &str, work: impl FnOnce() + Send + 'static) {
    if let Err(error) = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(work)
    {
        tracing::error!(%error, "could not start a {name} thread; the work was dropped");
    }
}

/// A timer for use outside tokio: a helper thread sleeps and then wakes the future, so the
/// executor polling it is not blocked.
async fn thread_sleep(duration: Duration) {
    let (tx, rx) = futures_channel::oneshot::channel::<()>();
    let started = std::thread::Builder::new()
        .name("vi-timer".to_owned())
        .spawn(move || {
            std::thread::sleep(duration);
            let _ = tx.send(());
        });
    match started {
        Ok(_) => {
            let _ = rx.await;
        }
        // No thread to wait on: block this one (outside tokio, it is the caller's own).
        Err(_) => std::thread::sleep(duration),
    }
}
