//! Annotation import: local annotation files (Vi JSONL, COCO, …) into a dataset through
//! an import session. See `docs/annotations.md` for the flow and how it differs from the
//! official client's.
//!
//! [`ImportOptions`] say how; [`ImportReport`] accounts for every file given (uploaded,
//! failed with its reason, or not offered an upload URL) and for the annotations the
//! service counted.

mod collect;
mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use collect::DuplicateNames;
pub(crate) use run::{Verdict, files_inserted, import, judge_import as judge, poll, wait_until};

use crate::ids::{AnnotationImportSessionId, DatasetId};
use crate::models::{AnnotationFailurePolicy, AnnotationImportSession};

/// How an annotation import runs. Defaults: wait up to an hour for the service, reject
/// the session on any bad annotation, bad file or overwrite (the official client's
/// policies), refuse duplicate names, four files in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Wait for the service to process the files (otherwise return once they are sent).
    pub wait: bool,
    /// How long to wait at most.
    pub timeout: Duration,
    /// What the service does with an annotation that is not valid.
    pub on_bad_annotation: AnnotationFailurePolicy,
    /// What the service does with a file it cannot read.
    pub on_bad_file: AnnotationFailurePolicy,
    /// What the service does with an annotation that would replace an existing one.
    pub on_overwritten: AnnotationFailurePolicy,
    /// Attributes stored with the session.
    pub attributes: BTreeMap<String, String>,
    /// What to do with files of the same name.
    pub duplicate_names: DuplicateNames,
    /// Files sent at once.
    pub concurrency: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            wait: true,
            timeout: Duration::from_secs(3600),
            on_bad_annotation: AnnotationFailurePolicy::RejectSession,
            on_bad_file: AnnotationFailurePolicy::RejectSession,
            on_overwritten: AnnotationFailurePolicy::RejectSession,
            attributes: BTreeMap::new(),
            duplicate_names: DuplicateNames::Refuse,
            concurrency: 4,
        }
    }
}

impl ImportOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits for the service (the default) or returns once the files are sent.
    pub fn wait(mut self, wait: bool) -> Self {
        self.wait = wait;
        self
    }

    /// Sets the longest wait.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the policy for bad annotations.
    pub fn on_bad_annotation(mut self, policy: AnnotationFailurePolicy) -> Self {
        self.on_bad_annotation = policy;
        self
    }

    /// Sets the policy for unreadable files.
    pub fn on_bad_file(mut self, policy: AnnotationFailurePolicy) -> Self {
        self.on_bad_file = policy;
        self
    }

    /// Sets the policy for overwrites.
    pub fn on_overwritten(mut self, policy: AnnotationFailurePolicy) -> Self {
        self.on_overwritten = policy;
        self
    }

    /// Adds a session attribute.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// Sets the rule for files of the same name.
    pub fn duplicate_names(mut self, rule: DuplicateNames) -> Self {
        self.duplicate_names = rule;
        self
    }

    /// Sets how many files are sent at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportOutcome {
    /// Sent to its upload URL.
    Uploaded,
    /// Not sent: the service's reply to the declaration named no URL for it.
    NotOffered,
    /// Sending failed (after retries).
    Failed {
        /// The storage's HTTP status, if it answered.
        status: Option<u16>,
        /// The error, as text (never the signed URL).
        message: String,
    },
}

/// One file of the import.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportedFile {
    /// The local file.
    pub path: PathBuf,
    /// The name it was registered under.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// What happened to it.
    pub outcome: ImportOutcome,
}

/// Where the session stands when the call returns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportState {
    /// The service finished: every condition is reached.
    Done,
    /// The session failed (a file could not be sent, or the service rejected the import).
    Failed {
        /// The condition that failed.
        condition: String,
        /// The reason, when one was given.
        reason: Option<String>,
    },
    /// Still being processed (waiting was off, or timed out): wait for it later with
    /// the session id.
    Processing,
    /// The files were sent, but the service did not take the client's report that they
    /// were (after retries): the session will not be processed and expires; import again.
    NotReported {
        /// The error of the report, as text.
        message: String,
    },
}

/// The outcome of an annotation import: every file given is in `files` exactly once.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ImportReport {
    /// The dataset.
    pub dataset: DatasetId,
    /// The import session: wait for it, look at it or cancel it later by this id.
    pub session_id: AnnotationImportSessionId,
    /// Every file, with its outcome.
    pub files: Vec<ImportedFile>,
    /// Names the service offered upload URLs for that were not declared; nothing was
    /// sent to them.
    pub unexpected_names: Vec<String>,
    /// Where the session stands.
    pub state: ImportState,
    /// The session as last seen.
    pub session: AnnotationImportSession,
}

impl ImportReport {
    /// The files sent.
    pub fn uploaded(&self) -> impl Iterator<Item = &ImportedFile> {
        self.files
            .iter()
            .filter(|f| f.outcome == ImportOutcome::Uploaded)
    }

    /// The files not sent (failed or not offered a URL).
    pub fn not_uploaded(&self) -> impl Iterator<Item = &ImportedFile> {
        self.files
            .iter()
            .filter(|f| f.outcome != ImportOutcome::Uploaded)
    }

    /// Annotations the service counted, over every status.
    pub fn total_annotations(&self) -> u64 {
        self.session.total_annotations()
    }

    /// True when the service finished the import.
    pub fn is_done(&self) -> bool {
        self.state == ImportState::Done
    }
}
