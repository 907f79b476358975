//! Progress bars on stderr for uploads and downloads (files and bytes), drawn only on a
//! terminal.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use vi_blocking::{Progress, ProgressEvent};

/// Two bars, files and bytes, fed by the SDK's progress events.
#[derive(Clone)]
pub struct TransferBars {
    multi: MultiProgress,
    files: ProgressBar,
    bytes: ProgressBar,
    done: Arc<Mutex<HashSet<String>>>,
    failed: Arc<Mutex<u64>>,
    /// Upload files left out because the dataset already holds them (not printed one by
    /// one: a resumed upload may skip thousands).
    present: Arc<Mutex<u64>>,
    /// Downloads plan files that may then be skipped (already there): they count as done.
    skips_are_planned: bool,
    /// False when the plan gave no byte total: the total grows as files start.
    bytes_known: Arc<AtomicBool>,
    /// Bytes of each file in flight already added to the bytes bar, so it moves as the
    /// bytes do rather than one whole file at a time.
    moved: Arc<Mutex<HashMap<String, u64>>>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl TransferBars {
    /// Bars drawn on stderr; `verb` is what is done to the files ("upload", "download").
    pub fn new(verb: &str, skips_are_planned: bool) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let files = multi.add(ProgressBar::new(0));
        files.set_style(style("{prefix:>9} [{bar:32}] {pos}/{len} files {wide_msg}"));
        files.set_prefix(verb.to_owned());
        let bytes = multi.add(ProgressBar::new(0));
        bytes.set_style(style(
            "{prefix:>9} [{bar:32}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        ));
        files.enable_steady_tick(Duration::from_millis(200));
        TransferBars {
            multi,
            files,
            bytes,
            done: Arc::default(),
            failed: Arc::default(),
            present: Arc::default(),
            skips_are_planned,
            bytes_known: Arc::new(AtomicBool::new(true)),
            moved: Arc::default(),
        }
    }

    /// Prints a line above the bars.
    pub fn println(&self, text: &str) {
        let _ = self.multi.println(crate::output::printable(text, false));
    }

    /// Removes the bars from the terminal.
    pub fn finish(&self) {
        self.files.finish_and_clear();
        self.bytes.finish_and_clear();
        let _ = self.multi.clear();
    }

    /// Adds what `name` moved since the last event (a restarted transfer adds nothing
    /// until it passes what was already counted); `done` ends its tracking.
    fn moved_to(&self, name: &str, bytes: u64, done: bool) {
        let Ok(mut moved) = self.moved.lock() else {
            return;
        };
        let before = moved.get(name).copied().unwrap_or(0);
        if bytes > before {
            self.bytes.inc(bytes - before);
        }
        if done {
            moved.remove(name);
        } else {
            moved.insert(name.to_owned(), bytes.max(before));
        }
    }

    fn first_time(&self, name: &str) -> bool {
        self.done
            .lock()
            .map(|mut done| done.insert(name.to_owned()))
            .unwrap_or(true)
    }
}

impl Progress for TransferBars {
    fn on_event(&self, event: &ProgressEvent<'_>) {
        match *event {
            ProgressEvent::Planned { files, bytes } => {
                self.files.set_length(files);
                self.bytes.set_length(bytes);
                self.bytes_known.store(bytes > 0, Ordering::Relaxed);
            }
            ProgressEvent::FileSkipped { reason, .. }
                if reason.starts_with(vi_core::upload::spec::ALREADY_PRESENT) =>
            {
                let present = self
                    .present
                    .lock()
                    .map(|mut n| {
                        *n += 1;
                        *n
                    })
                    .unwrap_or(0);
                self.files
                    .set_message(format!("({present} already in the dataset)"));
            }
            ProgressEvent::FileSkipped { name, reason } => {
                if self.skips_are_planned {
                    if self.first_time(name) {
                        self.files.inc(1);
                    }
                } else {
                    self.println(&format!("skipped {name}: {reason}"));
                }
            }
            ProgressEvent::FileStarted { size, .. }
                if !self.bytes_known.load(Ordering::Relaxed) =>
            {
                self.bytes.inc_length(size);
            }
            ProgressEvent::FileProgress { name, bytes, .. } => {
                self.moved_to(name, bytes, false);
            }
            ProgressEvent::FileFinished { name, size, .. } => {
                if self.first_time(name) {
                    self.files.inc(1);
                }
                self.moved_to(name, size, true);
            }
            ProgressEvent::FileFailed { name, reason } => {
                if let Ok(mut moved) = self.moved.lock() {
                    moved.remove(name);
                }
                if self.first_time(name) {
                    self.files.inc(1);
                }
                let failed = self
                    .failed
                    .lock()
                    .map(|mut n| {
                        *n += 1;
                        *n
                    })
                    .unwrap_or(0);
                self.files.set_message(format!("({failed} failed)"));
                self.println(&format!("failed {name}: {reason}"));
            }
            ProgressEvent::Waiting { sessions } => {
                self.files.set_message(format!(
                    "waiting for the service to process {sessions} session{}",
                    if sessions == 1 { "" } else { "s" }
                ));
            }
            ProgressEvent::Cancelling => {
                self.files.set_message("cancelling…");
            }
            _ => {}
        }
    }
}
