//! Downloads: whole datasets, chosen assets, or any listing, to a directory.
//!
//! The flow (docs/protocol.md §5.3, §7), written once for both facades:
//!
//! 1. **Assets**: pages of the listing are fetched lazily with signed URLs (`contents=y`),
//!    every page, not just the first (the official client stops at page one); or the
//!    chosen ids are fetched one by one.
//! 2. **Names**: each file lands at `<directory>/<dataset id>/<name>`, the name taken from
//!    the asset's filename and made safe (see [`names`]); nothing can escape the directory.
//! 3. **Existing files**: a complete copy (same size, and same CRC32C when the asset gives
//!    one) is skipped unless `overwrite` is set; a different file is replaced only with
//!    `overwrite`, and reported as failed otherwise.
//! 4. **Transfer**: the body streams to a partial file in `.vi-partial/<asset id>.part`
//!    (where no asset name can reach, opened without following links); one left by an earlier run is
//!    continued with a `Range` request when the server allows it, else restarted. The size
//!    (and checksum when known) is verified, and only then is the file renamed into place,
//!    so the final name never holds a partial file, whatever happens.
//! 5. **Failures**: transient errors are retried with backoff, an expired or refused URL
//!    is signed again by fetching the asset anew, a truncated or corrupt body is fetched
//!    again; one failing asset does not stop the others.
//!
//! Memory stays bounded by the concurrency, the page size and the I/O buffers, whatever
//! the number or size of the files.

mod asset;
mod coord;
mod file;
mod folder;
pub mod names;
pub mod report;
mod run;

use std::sync::Arc;

use crate::bandwidth::BandwidthLimit;
use crate::cancel::CancelToken;
use crate::endpoints::ListAssetsOptions;
use crate::ids::AssetId;
use crate::outcome::{OutcomeSink, Outcomes};
use crate::progress::{Progress, ProgressEvent, ProgressSink};
use crate::select::{Filter, Shard};
pub use crate::tuning::DEFAULT_MAX_CONCURRENCY;

pub(crate) use file::file_crc;
pub use file::{PARTIAL_DIR, asset_part_path, content_version, part_path};
pub use report::{
    DownloadFailure, DownloadReport, DownloadedFile, FailedDownload, SkippedDownload,
};

/// The default number of concurrent downloads: `min(max(2 × cores, 8), 64)` (docs/protocol.md §7).
pub fn default_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (2 * cores).clamp(8, 64)
}

/// The listing page size downloads use by default:
/// [`STREAMING_PAGE_SIZE`](crate::paging::STREAMING_PAGE_SIZE) (500, not the official
/// client's 1000, so that each page stays bounded).
pub const DEFAULT_PAGE_SIZE: u32 = crate::paging::STREAMING_PAGE_SIZE;

/// Which assets to download.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DownloadSelection {
    /// Every asset of the dataset.
    #[default]
    All,
    /// These assets.
    Assets(Vec<AssetId>),
    /// The assets of a listing (filters, sort); signed URLs are always requested.
    Listing(ListAssetsOptions),
}

/// How to download.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DownloadOptions {
    /// Which assets.
    pub selection: DownloadSelection,
    /// Replace existing files (complete or not) instead of skipping or refusing them.
    pub overwrite: bool,
    /// Downloads at once at the start (default [`default_concurrency`]).
    pub concurrency: usize,
    /// The most downloads at once: while more downloads move files faster (a link with
    /// high latency), the limit doubles from [`concurrency`](Self::concurrency) up to this
    /// (default [`DEFAULT_MAX_CONCURRENCY`]); see [`crate::tuning`]. Equal to
    /// `concurrency` for a fixed number, which [`DownloadOptions::concurrency`] sets.
    pub max_concurrency: usize,
    /// Assets per listing page (1–1000, default [`DEFAULT_PAGE_SIZE`]).
    pub page_size: u32,
    /// Receives progress events.
    pub progress: ProgressSink,
    /// Cancels the download when fired; partial files are kept and resume next time.
    pub cancel: Option<CancelToken>,
    /// Receives every asset's outcome as it becomes known; the report then keeps counts,
    /// failures and problems instead of a list of every asset (see [`crate::outcome`]).
    pub outcomes: Outcomes,
    /// Only this shard's assets, for one job split across machines (see
    /// [`crate::select`]); every worker runs the same download with its own shard.
    pub shard: Option<Shard>,
    /// Only assets whose filename the include and exclude patterns take (see
    /// [`crate::select`]).
    pub filter: Filter,
    /// At most this many bytes per second, shared with every other transfer given the
    /// same limit.
    pub bandwidth_limit: Option<BandwidthLimit>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            selection: DownloadSelection::All,
            overwrite: false,
            concurrency: default_concurrency(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            page_size: DEFAULT_PAGE_SIZE,
            progress: ProgressSink::default(),
            cancel: None,
            outcomes: Outcomes::default(),
            shard: None,
            filter: Filter::default(),
            bandwidth_limit: None,
        }
    }
}

impl DownloadOptions {
    /// Every asset, skipping complete existing files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only these assets.
    pub fn assets(mut self, ids: impl IntoIterator<Item = AssetId>) -> Self {
        self.selection = DownloadSelection::Assets(ids.into_iter().collect());
        self
    }

    /// The assets of this listing (filter, sort). Its page size is not used: a download
    /// lists [`page_size`](Self::page_size) assets per request (default
    /// [`DEFAULT_PAGE_SIZE`]), so a listing built for display (10 per page) does not turn a
    /// large download into thousands of list calls.
    pub fn listing(mut self, listing: ListAssetsOptions) -> Self {
        self.selection = DownloadSelection::Listing(listing);
        self
    }

    /// Replaces existing files.
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Sets a fixed number of concurrent downloads (at least 1): the limit no longer
    /// adapts.
    pub fn concurrency(mut self, downloads: usize) -> Self {
        self.concurrency = downloads;
        self.max_concurrency = downloads;
        self
    }

    /// Lets the number of concurrent downloads grow up to `downloads` while that makes
    /// the download faster (the start stays [`concurrency`](Self::concurrency)).
    pub fn max_concurrency(mut self, downloads: usize) -> Self {
        self.max_concurrency = downloads;
        self
    }

    /// Sets the listing page size (1–1000).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// Sends every progress event to the closure `progress`, possibly from several threads
    /// at once. A plain closure needs no type annotation:
    ///
    /// ```
    /// # use vi_core::download::DownloadOptions;
    /// let options = DownloadOptions::new().progress(|e| eprintln!("{e:?}"));
    /// ```
    ///
    /// A type implementing [`Progress`] goes to
    /// [`progress_shared`](Self::progress_shared) instead.
    pub fn progress<F>(mut self, progress: F) -> Self
    where
        F: Fn(&ProgressEvent<'_>) + Send + Sync + 'static,
    {
        self.progress = ProgressSink::new(progress);
        self
    }

    /// Sends progress events to a shared receiver (a type implementing [`Progress`], such
    /// as a progress bar), which the caller may keep a handle to.
    pub fn progress_shared(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = ProgressSink::from(progress);
        self
    }

    /// Cancels the download when `token` fires.
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Sends every asset's outcome to `sink` as soon as it is known (any
    /// `Fn(&FileOutcome)`); the report then lists only the failures.
    pub fn outcomes(mut self, sink: impl OutcomeSink + 'static) -> Self {
        self.outcomes = Outcomes::new(sink);
        self
    }

    /// Takes only the assets of `shard` (see [`crate::select`]).
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Takes only the assets `filter` takes (see [`crate::select`]).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }

    /// Moves at most `limit` bytes per second (shared by every transfer given a clone of
    /// it).
    pub fn bandwidth_limit(mut self, limit: BandwidthLimit) -> Self {
        self.bandwidth_limit = Some(limit);
        self
    }

    /// The shard and patterns, together.
    pub(crate) fn selection(&self) -> crate::select::Selection {
        crate::select::Selection {
            shard: self.shard,
            filter: self.filter.clone(),
        }
    }
}
