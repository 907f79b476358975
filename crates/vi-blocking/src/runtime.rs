//! The [`Runtime`] on OS threads, with no async runtime anywhere.
//!
//! Every spawned future gets its own OS thread and is driven there by a small parking
//! executor, so the blocking transport (whose futures finish on their first poll) can run
//! in parallel. There is no hidden tokio runtime, so the blocking facade may be called from
//! inside async code without nesting runtimes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use vi_core::runtime::{BoxFuture, Runtime};

/// A [`Runtime`] that gives each unit of work its own OS thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadRuntime;

impl Runtime for ThreadRuntime {
    fn spawn(&self, future: BoxFuture<'static, ()>) {
        spawn_thread("vi-worker", move || futures_executor::block_on(future));
    }

    fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
        spawn_thread("vi-blocking", work);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(ThreadSleep {
            duration: Some(duration),
        })
    }
}

/// Runs a future to completion on the calling thread, parking it while the future waits.
///
/// This is how the blocking facade waits for core's async flows.
pub fn block_on<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
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

/// Sleeps the polling thread on its first poll, then is ready. Correct here because every
/// task owns its thread: nothing else is waiting to be polled on it.
struct ThreadSleep {
    duration: Option<Duration>,
}

impl Future for ThreadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if let Some(duration) = self.duration.take() {
            std::thread::sleep(duration);
        }
        Poll::Ready(())
    }
}
