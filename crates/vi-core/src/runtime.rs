//! The runtime seam: how one unit of work runs beside others ([`Runtime`]), and how core
//! waits for blocking work ([`run_blocking`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A boxed, sendable future, the currency of the [`Runtime`] seam.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How one unit of work runs beside others, and how to wait.
///
/// `vi-async` implements it on tokio; `vi-blocking` on OS threads. Core never blocks and
/// never spawns by itself: all parallelism goes through [`crate::pool::Pool`], which is
/// built on [`Runtime::spawn`].
pub trait Runtime: Send + Sync + 'static {
    /// Runs a future to completion beside the caller.
    fn spawn(&self, future: BoxFuture<'static, ()>);

    /// Runs blocking work (file hashing, `std::fs`) where it cannot stall async workers.
    fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>);

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;

    /// The current instant. Tests with virtual time override it together with
    /// [`Runtime::sleep`]; real runtimes keep the default.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl<R: Runtime + ?Sized> Runtime for Arc<R> {
    fn spawn(&self, future: BoxFuture<'static, ()>) {
        (**self).spawn(future)
    }
    fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
        (**self).spawn_blocking(work)
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        (**self).sleep(duration)
    }
    fn now(&self) -> Instant {
        (**self).now()
    }
}

/// Runs blocking `work` through `runtime` and returns its result.
///
/// # Errors
/// [`crate::Error::Cancelled`] when the runtime dropped the work without running it.
pub async fn run_blocking<R, F, T>(runtime: &R, work: F) -> crate::Result<T>
where
    R: Runtime + ?Sized,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = futures_channel::oneshot::channel();
    runtime.spawn_blocking(Box::new(move || {
        let _ = tx.send(work());
    }));
    rx.await.map_err(|_| crate::Error::Cancelled)
}
