//! Progress events, shared by uploads and downloads.
//!
//! Pass any `Fn(&ProgressEvent)` (or a type implementing [`Progress`]) in the options of a
//! long operation. Events arrive from worker threads, in the order things happen; keep the
//! callback quick (update a counter or a progress bar). A ready-made terminal progress bar
//! lives in the `dtvi` command-line tool, never in the library.

use std::path::Path;
use std::sync::Arc;

/// One thing that happened during an upload or a download.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ProgressEvent<'a> {
    /// The work is known: how many files and how many bytes will be transferred.
    Planned {
        /// Files to transfer.
        files: u64,
        /// Bytes to transfer.
        bytes: u64,
    },
    /// A file was left out before any transfer (unsupported, unreadable, duplicate name,
    /// already present...).
    FileSkipped {
        /// The file's name.
        name: &'a str,
        /// Why, in one sentence.
        reason: &'a str,
    },
    /// An ingestion session was opened for a batch of files.
    SessionCreated {
        /// The session id.
        session: &'a str,
        /// How many files it covers.
        files: u64,
    },
    /// A file's transfer started.
    FileStarted {
        /// The file's name.
        name: &'a str,
        /// Its size in bytes.
        size: u64,
    },
    /// Bytes of a file in flight moved: sent at least every MiB or every 250 ms while
    /// the file's body moves, in both directions. `bytes` counts what this call moved
    /// for the file (retried attempts included), never more than `size`.
    FileProgress {
        /// The file's name.
        name: &'a str,
        /// Bytes of the file moved so far.
        bytes: u64,
        /// Its size in bytes.
        size: u64,
    },
    /// A file's bytes were transferred completely.
    FileFinished {
        /// The file's name.
        name: &'a str,
        /// Its size in bytes.
        size: u64,
        /// Where it was written (downloads only).
        path: Option<&'a Path>,
    },
    /// A file failed (after retries).
    FileFailed {
        /// The file's name.
        name: &'a str,
        /// Why, in one sentence.
        reason: &'a str,
    },
    /// All transfers are done; waiting for the service to take the files in.
    Waiting {
        /// Sessions still processing.
        sessions: usize,
    },
    /// The operation was cancelled; it is winding down.
    Cancelling,
}

/// Receives [`ProgressEvent`]s.
pub trait Progress: Send + Sync {
    /// Called for every event, possibly from several threads.
    fn on_event(&self, event: &ProgressEvent<'_>);
}

impl<F> Progress for F
where
    F: Fn(&ProgressEvent<'_>) + Send + Sync,
{
    fn on_event(&self, event: &ProgressEvent<'_>) {
        self(event)
    }
}

/// An optional, shareable progress receiver.
#[derive(Clone, Default)]
pub struct ProgressSink(Option<Arc<dyn Progress>>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProgressSink(set)"
        } else {
            "ProgressSink(none)"
        })
    }
}

impl ProgressSink {
    /// A sink forwarding to `progress`.
    pub fn new(progress: impl Progress + 'static) -> Self {
        ProgressSink(Some(Arc::new(progress)))
    }

    /// Sends an event, if anyone listens.
    pub fn emit(&self, event: ProgressEvent<'_>) {
        if let Some(p) = &self.0 {
            p.on_event(&event);
        }
    }
}

impl From<Arc<dyn Progress>> for ProgressSink {
    fn from(progress: Arc<dyn Progress>) -> Self {
        ProgressSink(Some(progress))
    }
}
