//! A small bounded pool: the only way core runs work in parallel.
//!
//! Tasks are pulled lazily from an iterator and at most `limit` run at once, each through
//! [`Runtime::spawn`], so memory stays bounded by the limit whatever the number of tasks.
//! Results come back in completion order.
//!
//! Core never joins transport futures with `join!` or `buffer_unordered`: under the
//! blocking facade those futures finish on their first poll, one after another. Spawning
//! through the runtime gives real parallelism in both facades (tokio tasks, or OS threads).

use std::future::Future;
use std::sync::Arc;

use futures_channel::mpsc;
use futures_util::StreamExt;

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::runtime::Runtime;

/// Runs futures through a [`Runtime`], at most `limit` at a time.
#[derive(Clone)]
pub struct Pool {
    runtime: Arc<dyn Runtime>,
    limit: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("limit", &self.limit).finish()
    }
}

impl Pool {
    /// A pool running at most `limit` tasks at once (at least one).
    pub fn new(runtime: Arc<dyn Runtime>, limit: usize) -> Self {
        Pool {
            runtime,
            limit: limit.max(1),
        }
    }

    /// The concurrency limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Starts running `tasks`; pull results with [`PoolRun::next`].
    pub fn run<I, F, T>(&self, tasks: I) -> PoolRun<I::IntoIter, T>
    where
        I: IntoIterator<Item = F>,
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        PoolRun {
            limit: self.limit,
            tasks: tasks.into_iter(),
            exhausted: false,
            set: TaskSet::new(self.runtime.clone()),
        }
    }
}

/// Sends `None` when a task is dropped before it produced its result (it panicked, or the
/// runtime shut down), so nobody waits forever for it.
struct ResultSlot<T> {
    tx: Option<mpsc::UnboundedSender<Option<T>>>,
}

impl<T> ResultSlot<T> {
    fn fill(mut self, value: T) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.unbounded_send(Some(value));
        }
    }
}

impl<T> Drop for ResultSlot<T> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.unbounded_send(None);
        }
    }
}

/// A set of spawned tasks whose results come back in completion order. The caller decides
/// when to spawn (e.g. only while fewer than a limit are in flight), which lets one loop
/// drive heterogeneous work, such as session creation and transfers, under one limit.
///
/// Work started by a call ends with it: dropping the set (say, an upload future dropped by
/// `tokio::time::timeout`) stops its running tasks at their next await point, which aborts
/// their requests where the transport is async. A blocking transport finishes the request
/// under way; nothing new starts.
pub struct TaskSet<T> {
    runtime: Arc<dyn Runtime>,
    in_flight: usize,
    tx: mpsc::UnboundedSender<Option<T>>,
    rx: mpsc::UnboundedReceiver<Option<T>>,
    /// Fired when the set is dropped.
    dropped: CancelToken,
}

impl<T> Drop for TaskSet<T> {
    fn drop(&mut self) {
        self.dropped.cancel();
    }
}

impl<T: Send + 'static> TaskSet<T> {
    /// An empty set running its tasks through `runtime`.
    pub fn new(runtime: Arc<dyn Runtime>) -> Self {
        let (tx, rx) = mpsc::unbounded();
        TaskSet {
            runtime,
            in_flight: 0,
            tx,
            rx,
            dropped: CancelToken::new(),
        }
    }

    /// Starts a task now.
    pub fn spawn(&mut self, task: impl Future<Output = T> + Send + 'static) {
        let slot = ResultSlot {
            tx: Some(self.tx.clone()),
        };
        self.in_flight += 1;
        let dropped = self.dropped.clone();
        self.runtime.spawn(Box::pin(async move {
            // A task stopped by the set's drop, or one that panicked, reports nothing: its
            // slot tells any waiter so.
            if let Guarded::Done(value) = guarded(task, Some(&dropped)).await {
                slot.fill(value);
            }
        }));
    }

    /// How many tasks are running.
    pub fn len(&self) -> usize {
        self.in_flight
    }

    /// The runtime the tasks run on.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.runtime
    }

    /// True when no task is running.
    pub fn is_empty(&self) -> bool {
        self.in_flight == 0
    }

    /// The next finished task's result, or `None` when none is running.
    ///
    /// # Errors
    /// [`Error::Cancelled`] for a task that was dropped before it finished (it panicked
    /// or the runtime shut down).
    pub async fn next(&mut self) -> Option<Result<T>> {
        if self.in_flight == 0 {
            return None;
        }
        // We hold a sender ourselves, so the channel never ends while tasks are in flight.
        let received = self.rx.next().await;
        self.in_flight -= 1;
        match received {
            Some(Some(value)) => Some(Ok(value)),
            _ => Some(Err(Error::Cancelled)),
        }
    }
}

/// A running batch of pool tasks.
pub struct PoolRun<I, T> {
    limit: usize,
    tasks: I,
    exhausted: bool,
    set: TaskSet<T>,
}

impl<I, F, T> PoolRun<I, T>
where
    I: Iterator<Item = F>,
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn fill(&mut self) {
        while !self.exhausted && self.set.len() < self.limit {
            match self.tasks.next() {
                Some(task) => self.set.spawn(task),
                None => self.exhausted = true,
            }
        }
    }

    /// Stops starting new tasks; those already running still report their results.
    pub fn stop(&mut self) {
        self.exhausted = true;
    }

    /// How many tasks are running now.
    pub fn in_flight(&self) -> usize {
        self.set.len()
    }

    /// The next finished task's result, or `None` when every task has reported.
    ///
    /// # Errors
    /// [`Error::Cancelled`] for a task that was dropped before it finished (it panicked
    /// or the runtime shut down).
    pub async fn next(&mut self) -> Option<Result<T>> {
        self.fill();
        self.set.next().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::BoxFuture;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Runs each task on its own thread, like the blocking facade's runtime.
    struct Threads;
    impl Runtime for Threads {
        fn spawn(&self, future: BoxFuture<'static, ()>) {
            std::thread::spawn(move || futures_executor::block_on(future));
        }
        fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
            std::thread::spawn(work);
        }
        fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
            Box::pin(async move { std::thread::sleep(duration) })
        }
    }

    #[test]
    fn dropping_the_set_stops_its_running_tasks() {
        /// Counts the tasks whose work was dropped.
        struct Stopped(Arc<AtomicUsize>);
        impl Drop for Stopped {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut set: TaskSet<()> = TaskSet::new(Arc::new(Threads));
        for _ in 0..3 {
            let guard = Stopped(stopped.clone());
            set.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
        }
        drop(set);
        let started = std::time::Instant::now();
        while stopped.load(Ordering::SeqCst) < 3 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "tasks outlived their set"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn never_exceeds_the_limit_and_reports_every_task() {
        let pool = Pool::new(Arc::new(Threads), 3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks = (0..20).map(|i| {
            let running = running.clone();
            let peak = peak.clone();
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
                i
            }
        });
        let mut run = pool.run(tasks);
        let mut seen = Vec::new();
        futures_executor::block_on(async {
            while let Some(r) = run.next().await {
                seen.push(r.unwrap());
            }
        });
        seen.sort();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert!(peak.load(Ordering::SeqCst) >= 2, "tasks should overlap");
    }

    #[test]
    fn tasks_are_pulled_lazily() {
        let pool = Pool::new(Arc::new(Threads), 2);
        let pulled = Arc::new(AtomicUsize::new(0));
        let p = pulled.clone();
        let tasks = (0..1_000_000).map(move |i| {
            p.fetch_add(1, Ordering::SeqCst);
            async move { i }
        });
        let mut run = pool.run(tasks);
        futures_executor::block_on(async {
            for _ in 0..5 {
                run.next().await.unwrap().unwrap();
            }
        });
        assert!(pulled.load(Ordering::SeqCst) <= 7);
    }

    #[test]
    fn stop_lets_running_tasks_finish_and_starts_no_more() {
        let pool = Pool::new(Arc::new(Threads), 2);
        let started = Arc::new(Mutex::new(Vec::new()));
        let s = started.clone();
        let tasks = (0..10).map(move |i| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(i);
                i
            }
        });
        let mut run = pool.run(tasks);
        let results = futures_executor::block_on(async {
            let first = run.next().await;
            run.stop();
            let mut rest = vec![first];
            while let Some(r) = run.next().await {
                rest.push(Some(r));
            }
            rest
        });
        assert_eq!(results.len(), 2);
        assert_eq!(started.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_panicking_task_is_reported_not_waited_for() {
        let pool = Pool::new(Arc::new(Threads), 2);
        let tasks = (0..3).map(|i| async move {
            if i == 1 {
                panic!("boom");
            }
            i
        });
        let mut run = pool.run(tasks);
        let mut oks = 0;
        let mut lost = 0;
        futures_executor::block_on(async {
            while let Some(r) = run.next().await {
                match r {
                    Ok(_) => oks += 1,
                    Err(Error::Cancelled) => lost += 1,
                    Err(e) => panic!("{e}"),
                }
            }
        });
        assert_eq!((oks, lost), (2, 1));
    }
}

/// How a [`guarded`] piece of work ended.
#[derive(Debug)]
pub enum Guarded<T> {
    /// It finished with this value.
    Done(T),
    /// It panicked; the panic was caught so that one bad unit cannot take a whole
    /// transfer down. Report it as an internal error.
    Panicked,
    /// The token fired first and the work was dropped: aborted where the transport is
    /// async; a blocking transport finishes the attempt under way.
    Cancelled,
}

/// Runs `work` until it finishes, panics, or `cancel` (when given) fires.
pub async fn guarded<T>(work: impl Future<Output = T>, cancel: Option<&CancelToken>) -> Guarded<T> {
    use futures_util::FutureExt as _;
    use futures_util::future::{Either, select};
    let work = std::panic::AssertUnwindSafe(work).catch_unwind();
    let finished = match cancel {
        Some(token) => {
            match select(std::pin::pin!(work), std::pin::pin!(token.cancelled())).await {
                Either::Left((finished, _)) => finished,
                Either::Right(_) => return Guarded::Cancelled,
            }
        }
        None => work.await,
    };
    match finished {
        Ok(value) => Guarded::Done(value),
        Err(_) => Guarded::Panicked,
    }
}
