//! The [`Runtime`] on OS threads, with no async runtime anywhere.
//!
//! Every spawned future runs on a worker thread, driven there by a small parking executor,
//! so the blocking transport (whose futures finish on their first poll) runs in parallel
//! with other tasks. Worker threads are reused: a finished worker waits a few seconds for
//! the next task before it exits, so a download of 1,000 files starts about as many threads
//! as files are in flight at once, not several per file. Blocking work
//! ([`Runtime::spawn_blocking`]) runs on the thread that asks for it: in this facade that
//! thread is already a worker (or the caller's own thread) that owns its task.
//!
//! There is no hidden tokio runtime, so the blocking facade may be called from inside async
//! code without nesting runtimes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use vi_core::runtime::{BoxFuture, Runtime};

/// How many times a new task looks for an idle worker (yielding in between) before it
/// starts a thread.
const SPIN_FOR_IDLE: usize = 64;

/// How long an idle worker waits for a new task before its thread exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Runtime`] on reusable OS worker threads.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadRuntime;

impl Runtime for ThreadRuntime {
    fn spawn(&self, future: BoxFuture<'static, ()>) {
        workers().run(Box::new(move || futures_executor::block_on(future)));
    }

    fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
        // The asking thread owns its task and would only wait for the result.
        work();
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

/// The number of worker threads alive now (idle or busy), for tests and diagnostics.
pub fn worker_threads() -> usize {
    workers().alive.load(Ordering::SeqCst)
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The process-wide set of worker threads.
///
/// `idle` counts workers waiting for a job. A task reserves an idle worker by decrementing
/// it before sending; when none is idle, a new thread starts with the task. A worker whose
/// wait times out leaves only if it can take itself off `idle` (nobody reserved it), so a
/// sent job always has a worker: no task ever waits behind another.
struct Workers {
    sender: Mutex<Sender<Job>>,
    receiver: Mutex<Receiver<Job>>,
    idle: AtomicUsize,
    alive: AtomicUsize,
}

fn workers() -> &'static Workers {
    static WORKERS: OnceLock<Workers> = OnceLock::new();
    WORKERS.get_or_init(|| {
        let (sender, receiver) = mpsc::channel();
        Workers {
            sender: Mutex::new(sender),
            receiver: Mutex::new(receiver),
            idle: AtomicUsize::new(0),
            alive: AtomicUsize::new(0),
        }
    })
}

impl Workers {
    fn run(&'static self, job: Job) {
        // A worker that has just delivered its task's result is a few instructions away
        // from idle (the waiter often wakes first and spawns the next task): give it a
        // moment before starting a thread.
        let reserved = (0..SPIN_FOR_IDLE).any(|attempt| {
            if attempt > 0 {
                std::thread::yield_now();
            }
            self.idle
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        });
        if reserved {
            let sent = self
                .sender
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(job);
            if let Err(mpsc::SendError(job)) = sent {
                // Cannot happen while the receiver lives (it is never dropped); run it on a
                // fresh thread rather than lose it.
                self.idle.fetch_add(1, Ordering::SeqCst);
                self.start(job);
            }
            return;
        }
        self.start(job);
    }

    /// Starts a worker thread whose first job is `job`. If the OS refuses a thread, the
    /// job is dropped unrun (its waiter sees its channel close, i.e. cancellation), not a
    /// panic.
    fn start(&'static self, job: Job) {
        self.alive.fetch_add(1, Ordering::SeqCst);
        let started = std::thread::Builder::new()
            .name("vi-worker".to_owned())
            .spawn(move || {
                job();
                self.serve();
                self.alive.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(error) = started {
            self.alive.fetch_sub(1, Ordering::SeqCst);
            tracing::error!(%error, "could not start a worker thread; the work was dropped");
        }
    }

    /// Takes jobs until none comes for [`IDLE_TIMEOUT`] and nobody has reserved this worker.
    fn serve(&self) {
        loop {
            self.idle.fetch_add(1, Ordering::SeqCst);
            loop {
                let next = self
                    .receiver
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .recv_timeout(IDLE_TIMEOUT);
                match next {
                    Ok(job) => {
                        // The sender took this worker off `idle` when it reserved it.
                        job();
                        break;
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        let unreserved = self
                            .idle
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        if unreserved {
                            return;
                        }
                        // A job is on its way to some worker: keep waiting.
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_reused_and_every_task_runs() {
        let done = std::sync::Arc::new(AtomicUsize::new(0));
        for round in 0..5 {
            let (tx, rx) = mpsc::channel();
            for _ in 0..8 {
                let done = done.clone();
                let tx = tx.clone();
                ThreadRuntime.spawn(Box::pin(async move {
                    std::thread::sleep(Duration::from_millis(5));
                    done.fetch_add(1, Ordering::SeqCst);
                    let _ = tx.send(());
                }));
            }
            for _ in 0..8 {
                rx.recv_timeout(Duration::from_secs(30))
                    .expect("every task runs");
            }
            assert_eq!(done.load(Ordering::SeqCst), 8 * (round + 1));
        }
        // 40 tasks, at most 8 at once: far fewer threads than tasks.
        assert!(worker_threads() <= 16, "{} workers", worker_threads());
    }

    #[test]
    fn a_task_waiting_for_another_never_waits_behind_it() {
        // The first task blocks until the second has run: only correct if the second gets
        // its own worker instead of queueing behind the first.
        let (tx, rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        ThreadRuntime.spawn(Box::pin(async move {
            rx.recv_timeout(Duration::from_secs(30))
                .expect("the other task ran");
            let _ = done_tx.send(());
        }));
        ThreadRuntime.spawn(Box::pin(async move {
            let _ = tx.send(());
        }));
        done_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("no deadlock");
    }
}
