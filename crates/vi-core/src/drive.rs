//! The one driver of every multi-request flow (uploads, downloads, and the flows built on
//! them).
//!
//! A flow is a pure state machine ([`Flow`]): it hands out commands (list a page, prepare
//! a file, create a session, send a file, fetch one, look at a session) and takes their
//! completions back; it never performs I/O and never reads a clock (the driver passes the
//! instant in). The driver is the only code that runs commands: each one becomes a task
//! of the [`Runtime`], and every command handed out comes back to the flow exactly once,
//! as [`Completion::Done`] with its output or as [`Completion::Lost`] when the runtime
//! dropped the task (it could not start a thread, it shut down, the task panicked). A
//! file can therefore never vanish from a report: the flow hears of every command it
//! issued.
//!
//! The driver waits on one thing only, the channel its tasks answer on (and the caller's
//! cancellation token). It never polls a command's future itself, so under the blocking
//! facade, whose transport futures finish on their first poll, no request ever waits for
//! another one to end (ARCHITECTURE.md, "The coordinator").
//!
//! Time is a command like any other: when the flow wants to be looked at again at some
//! instant ([`Flow::wake_at`]: a tuner tick, a pause before a retry, a session due for a
//! look) the driver runs a sleep task. A lost sleep only wakes the driver early, which is
//! harmless: the flow checks the instant itself.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures_channel::mpsc;
use futures_util::StreamExt;
use futures_util::future::{Either, select};

use crate::cancel::CancelToken;
use crate::pool::{Guarded, guarded};
use crate::runtime::{BoxFuture, Runtime};

/// How a command ended.
#[derive(Debug)]
pub(crate) enum Completion<T> {
    /// It ran to its end with this output.
    Done(T),
    /// Its task never reported: the runtime dropped it unstarted or mid-way, or it
    /// panicked. The flow gives its subject a failure with a reason.
    Lost,
}

/// A pure coordinator of one flow: events in, commands out.
pub(crate) trait Flow {
    /// Who a command is about (a file, a page, a session): comes back with its
    /// completion.
    type Subject: Send + 'static;
    /// What the driver should run.
    type Command;
    /// What a command's task returns.
    type Output: Send + 'static;

    /// Time-based transitions due at `now` (tuner ticks, pauses that ended).
    fn advance(&mut self, now: Instant);

    /// The next command to start now, or `None` when none should start (budgets full,
    /// nothing ready). Called until it answers `None`.
    fn next_command(&mut self, now: Instant) -> Option<(Self::Subject, Self::Command)>;

    /// A command handed out earlier ended.
    fn complete(&mut self, subject: Self::Subject, result: Completion<Self::Output>, now: Instant);

    /// When the flow wants to be looked at again even if no command ends.
    fn wake_at(&self) -> Option<Instant>;

    /// The caller cancelled: hand out nothing new except what winding down needs.
    fn cancel(&mut self, now: Instant);

    /// Every input has its outcome and no command is out.
    fn is_finished(&self) -> bool;

    /// The driver found nothing running, nothing to start and nothing to wait for, yet
    /// the flow is not finished: a bug in the flow. It gives every input still open a
    /// failure, so the call ends with a report instead of hanging.
    fn stalled(&mut self);
}

/// What the driver's tasks send back.
enum Message<S, T> {
    Command(S, Completion<T>),
    /// A sleep that was to end at this instant ended, or its task was lost.
    Woke(Instant),
}

/// Sends the task's completion when filled, and [`Completion::Lost`] when dropped
/// unfilled: a future the runtime drops, started or not, drops its slot with it.
struct Slot<S, T> {
    tx: mpsc::UnboundedSender<Message<S, T>>,
    subject: Option<S>,
}

impl<S, T> Slot<S, T> {
    fn fill(mut self, value: T) {
        if let Some(subject) = self.subject.take() {
            let _ = self
                .tx
                .unbounded_send(Message::Command(subject, Completion::Done(value)));
        }
    }
}

impl<S, T> Drop for Slot<S, T> {
    fn drop(&mut self) {
        if let Some(subject) = self.subject.take() {
            let _ = self
                .tx
                .unbounded_send(Message::Command(subject, Completion::Lost));
        }
    }
}

/// Sends [`Message::Woke`] whether the sleep ended or its task was lost.
struct Alarm<S, T>(mpsc::UnboundedSender<Message<S, T>>, Instant);

impl<S, T> Drop for Alarm<S, T> {
    fn drop(&mut self) {
        let _ = self.0.unbounded_send(Message::Woke(self.1));
    }
}

/// Fires a token when dropped: the driver's tasks stop at their next await point when
/// the call that drives them is dropped (a timeout around an upload future).
struct FireOnDrop(CancelToken);

impl Drop for FireOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs `flow` to its end: every command through `run` as a task of `runtime`, every
/// completion back to the flow, cancellation when `cancel` fires.
pub(crate) async fn drive<F, R>(
    flow: &mut F,
    runtime: &Arc<dyn Runtime>,
    cancel: &CancelToken,
    run: R,
) where
    F: Flow,
    R: Fn(F::Command) -> BoxFuture<'static, F::Output>,
{
    let (tx, mut rx) = mpsc::unbounded::<Message<F::Subject, F::Output>>();
    let stop = CancelToken::new();
    let _stop = FireOnDrop(stop.clone());
    let mut running = 0usize;
    // The earliest instant a sleep task is out for.
    let mut alarm: Option<Instant> = None;
    let mut told = false;
    // A sleep task came back before its instant: the runtime lost it. No other is
    // started until a command ends (a runtime that loses every timer would otherwise
    // be asked for one in a tight loop).
    let mut alarms_lost = false;
    loop {
        let now = runtime.now();
        if !told && cancel.is_cancelled() {
            told = true;
            flow.cancel(now);
        }
        flow.advance(now);
        // The clock is read for each command: spawning many tasks takes time, and a
        // command such as a send must not start on an instant that has gone by.
        while let Some((subject, command)) = flow.next_command(runtime.now()) {
            spawn(runtime, &tx, &stop, subject, run(command));
            running += 1;
        }
        if flow.is_finished() {
            return;
        }
        let wake = flow.wake_at();
        if let Some(at) = wake.filter(|&at| !alarms_lost && alarm.is_none_or(|a| at < a)) {
            alarm = Some(at);
            set_alarm(runtime, &tx, at, now);
        }
        if running == 0 && (wake.is_none() || alarms_lost) {
            flow.stalled();
            return;
        }
        let message = if told {
            rx.next().await
        } else {
            match select(rx.next(), cancel.cancelled()).await {
                Either::Left((message, _)) => message,
                Either::Right(_) => continue,
            }
        };
        match message {
            Some(Message::Command(subject, completion)) => {
                running -= 1;
                // A command stopped by the cancellation may answer before the token's
                // waiter is seen: the flow hears of the cancel first, so it files the
                // answer as cancelled.
                if !told && cancel.is_cancelled() {
                    told = true;
                    flow.cancel(runtime.now());
                }
                alarms_lost = false;
                flow.complete(subject, completion, runtime.now());
            }
            Some(Message::Woke(at)) => {
                if alarm == Some(at) {
                    alarm = None;
                }
                alarms_lost |= runtime.now() < at;
            }
            // The driver holds a sender, so the channel never closes.
            None => return,
        }
    }
}

/// Runs a sleep task that sends [`Message::Woke`] at `at` (or when it is lost).
fn set_alarm<S: Send + 'static, T: Send + 'static>(
    runtime: &Arc<dyn Runtime>,
    tx: &mpsc::UnboundedSender<Message<S, T>>,
    at: Instant,
    now: Instant,
) {
    let sleep = runtime.sleep(at.saturating_duration_since(now));
    let ring = Alarm(tx.clone(), at);
    runtime.spawn(Box::pin(async move {
        let _ring = ring;
        sleep.await;
    }));
}

fn spawn<S, T>(
    runtime: &Arc<dyn Runtime>,
    tx: &mpsc::UnboundedSender<Message<S, T>>,
    stop: &CancelToken,
    subject: S,
    work: impl Future<Output = T> + Send + 'static,
) where
    S: Send + 'static,
    T: Send + 'static,
{
    let slot = Slot {
        tx: tx.clone(),
        subject: Some(subject),
    };
    let stop = stop.clone();
    runtime.spawn(Box::pin(async move {
        if let Guarded::Done(value) = guarded(work, Some(&stop)).await {
            slot.fill(value);
        }
    }));
}

/// How a property test answers a command of flow `F`.
#[cfg(test)]
pub(crate) type Answer<'a, F> =
    dyn FnMut(&<F as Flow>::Subject, <F as Flow>::Command) -> Completion<<F as Flow>::Output> + 'a;

/// A small deterministic random source for property tests: `dice(seed)(n)` is below `n`.
#[cfg(test)]
pub(crate) fn dice(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed | 1;
    move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below.max(1) as u64) as usize
    }
}

/// A driver for property tests: runs `flow` without tasks or clocks, completing one
/// outstanding command at a time in an order `choose` picks (`choose(n)` is below `n`),
/// with what `answer` makes of it, and cancelling before step `cancel_at`. Returns false
/// when the flow stalled.
///
/// # Panics
/// When the flow declares itself finished with commands still out, or never ends.
#[cfg(test)]
pub(crate) fn simulate<F: Flow>(
    flow: &mut F,
    choose: &mut dyn FnMut(usize) -> usize,
    cancel_at: Option<usize>,
    answer: &mut Answer<'_, F>,
) -> bool {
    let mut now = Instant::now();
    let mut out: Vec<(F::Subject, F::Command)> = Vec::new();
    let mut steps = 0usize;
    let mut idle = 0usize;
    loop {
        if cancel_at == Some(steps) {
            flow.cancel(now);
        }
        flow.advance(now);
        while let Some(command) = flow.next_command(now) {
            out.push(command);
        }
        if flow.is_finished() {
            assert!(out.is_empty(), "finished with {} commands out", out.len());
            return true;
        }
        if out.is_empty() {
            let Some(at) = flow.wake_at() else {
                flow.stalled();
                return false;
            };
            idle += 1;
            assert!(idle < 10_000, "the flow keeps waking with nothing to do");
            now = now.max(at) + std::time::Duration::from_millis(1);
            continue;
        }
        idle = 0;
        let (subject, command) = out.swap_remove(choose(out.len()));
        let result = answer(&subject, command);
        now += std::time::Duration::from_millis(choose(40) as u64);
        flow.complete(subject, result, now);
        steps += 1;
        assert!(steps < 1_000_000, "the flow never ends");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::time::Duration;

    /// A runtime that runs every task on its own thread and drops the tasks whose
    /// (0-based) number is in `lose`, without running them.
    struct Lossy {
        lose: Vec<usize>,
        spawned: std::sync::atomic::AtomicUsize,
    }

    impl Runtime for Lossy {
        fn spawn(&self, future: BoxFuture<'static, ()>) {
            let n = self
                .spawned
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.lose.contains(&n) {
                drop(future);
                return;
            }
            std::thread::spawn(move || futures_executor::block_on(future));
        }
        fn spawn_blocking(&self, work: Box<dyn FnOnce() + Send + 'static>) {
            work();
        }
        fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
            Box::pin(async move { std::thread::sleep(duration) })
        }
    }

    /// Hands out `n` commands, two at a time, and records how each ended.
    struct Counting {
        todo: VecDeque<usize>,
        out: usize,
        ended: Vec<(usize, bool)>,
    }

    impl Flow for Counting {
        type Subject = usize;
        type Command = usize;
        type Output = usize;
        fn advance(&mut self, _: Instant) {}
        fn next_command(&mut self, _: Instant) -> Option<(usize, usize)> {
            if self.out >= 2 {
                return None;
            }
            let n = self.todo.pop_front()?;
            self.out += 1;
            Some((n, n))
        }
        fn complete(&mut self, subject: usize, result: Completion<usize>, _: Instant) {
            self.out -= 1;
            self.ended.push((
                subject,
                matches!(result, Completion::Done(v) if v == subject),
            ));
        }
        fn wake_at(&self) -> Option<Instant> {
            None
        }
        fn cancel(&mut self, _: Instant) {}
        fn is_finished(&self) -> bool {
            self.todo.is_empty() && self.out == 0
        }
        fn stalled(&mut self) {
            panic!("stalled");
        }
    }

    #[test]
    fn every_command_comes_back_once_even_when_its_task_is_lost() {
        let runtime: Arc<dyn Runtime> = Arc::new(Lossy {
            lose: vec![1, 4, 5],
            spawned: Default::default(),
        });
        let mut flow = Counting {
            todo: (0..10).collect(),
            out: 0,
            ended: Vec::new(),
        };
        futures_executor::block_on(drive(&mut flow, &runtime, &CancelToken::new(), |n| {
            Box::pin(async move { n })
        }));
        let mut ended = flow.ended.clone();
        ended.sort();
        assert_eq!(ended.len(), 10);
        let lost: Vec<usize> = ended.iter().filter(|e| !e.1).map(|e| e.0).collect();
        assert_eq!(lost.len(), 3, "{ended:?}");
    }
}
