//! The download coordinator: a pure state machine ([`Flow`]) that decides which listing
//! page to ask for, which chosen asset to look up and which asset to fetch next, and
//! files every answer into the report. [`super::run`] runs its commands through the
//! driver ([`crate::drive`]); nothing here performs I/O or reads a clock.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::asset::Outcome;
use super::names::{NameAllocator, name_from_url};
use super::report::{DownloadFailure, DownloadedFile, FailedDownload, SkippedDownload};
use crate::drive::{Completion, Flow};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::AssetId;
use crate::models::{Asset, Page};
use crate::outcome::{Counts, FileOutcome, Outcomes};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::tuning::{Ticks, Tuner, earliest};

/// How many more times a failed listing page is asked for (after the retries of the list
/// call itself) before the assets after it are given up and reported as a problem.
const LISTING_ROUNDS: u32 = 3;

/// Who a command is about.
#[derive(Debug)]
pub(super) enum Subject {
    /// The asset count, for the progress total.
    Count,
    /// The listing's next page.
    Page,
    /// A chosen asset, looked up with its download URL.
    Lookup(AssetId),
    /// An asset being fetched.
    Fetch {
        /// Its id.
        asset: AssetId,
        /// Its name as listed.
        filename: String,
    },
}

/// What the driver runs.
#[derive(Debug)]
pub(super) enum Command {
    /// Count the assets of the listing.
    Count,
    /// Ask for the listing's next page.
    Page,
    /// Look up one chosen asset.
    Lookup(AssetId),
    /// Fetch one asset to `path`.
    Fetch {
        /// The asset as listed, with its signed URL.
        asset: Box<Asset>,
        /// Its id (checked).
        id: AssetId,
        /// Where it lands.
        path: PathBuf,
    },
}

/// What a command's task returns.
pub(super) enum Output {
    Count(Result<u64>),
    Page(Option<Result<Page<Asset>>>),
    Lookup(Box<Result<Asset>>),
    Fetch(Outcome),
}

/// Where the listing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// No listing: the assets are chosen ids.
    Off,
    /// Between pages; the next may be asked for.
    Idle,
    /// A page is being asked for.
    Asking,
    /// A page failed; it is asked for again after this instant.
    Pausing(Instant),
    /// Every page was read, or the rest was given up.
    Done,
}

/// The report's counts and lists as they fill; every outcome also goes to the sink, and
/// with a sink only failures are listed.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub downloaded: Vec<DownloadedFile>,
    pub skipped: Vec<SkippedDownload>,
    pub failed: Vec<FailedDownload>,
    pub counts: Counts,
    pub bytes: u64,
    pub problems: Vec<String>,
    pub cancelled: bool,
    pub outcomes: Outcomes,
}

impl Tally {
    fn downloaded(&mut self, file: DownloadedFile) {
        self.counts.succeeded += 1;
        self.outcomes.record(FileOutcome::Downloaded(&file));
        if !self.outcomes.is_set() {
            self.downloaded.push(file);
        }
    }

    fn skipped(&mut self, file: SkippedDownload) {
        self.counts.skipped += 1;
        self.outcomes.record(FileOutcome::DownloadSkipped(&file));
        if !self.outcomes.is_set() {
            self.skipped.push(file);
        }
    }

    fn failed(&mut self, file: FailedDownload) {
        self.counts.failed += 1;
        self.outcomes.record(FileOutcome::DownloadFailed(&file));
        self.failed.push(file);
    }
}

/// The state of one download call.
pub(super) struct DownloadFlow {
    pub tally: Tally,
    /// An error that ends the whole call (the first page, credentials refused); the
    /// call returns it instead of a report.
    pub fatal: Option<Error>,
    target_dir: PathBuf,
    progress: ProgressSink,
    queue: VecDeque<Asset>,
    listing: Listing,
    first_page: bool,
    page_failures: u32,
    count_wanted: bool,
    counting: bool,
    chosen: VecDeque<AssetId>,
    lookups: usize,
    transfers: usize,
    tuner: Tuner,
    names: NameAllocator,
    ticks: Ticks,
    stopping: bool,
}

impl DownloadFlow {
    /// A download of every asset a listing yields (`listed`), or of `chosen` ids.
    pub(super) fn new(
        target_dir: PathBuf,
        progress: ProgressSink,
        tuner: Tuner,
        chosen: Option<Vec<AssetId>>,
        outcomes: Outcomes,
    ) -> Self {
        let listed = chosen.is_none();
        let chosen: VecDeque<AssetId> = chosen.unwrap_or_default().into();
        if !listed {
            progress.emit(ProgressEvent::Planned {
                files: chosen.len() as u64,
                bytes: 0,
            });
        }
        DownloadFlow {
            tally: Tally {
                outcomes,
                ..Tally::default()
            },
            fatal: None,
            target_dir,
            progress,
            queue: VecDeque::new(),
            listing: if listed { Listing::Idle } else { Listing::Off },
            first_page: listed,
            page_failures: 0,
            count_wanted: listed,
            counting: false,
            chosen,
            lookups: 0,
            transfers: 0,
            tuner,
            names: NameAllocator::new(),
            ticks: Ticks::default(),
            stopping: false,
        }
    }

    /// Commands out that have not come back.
    fn out(&self) -> usize {
        self.transfers
            + self.lookups
            + usize::from(self.counting)
            + usize::from(self.listing == Listing::Asking)
    }

    /// Assets known and soon known: more are asked for while this is under two rounds
    /// of transfers, so transfers never wait for a listing round trip.
    fn ahead(&self) -> usize {
        self.queue.len() + self.lookups
    }

    fn fail(&mut self, asset: AssetId, filename: Option<String>, reason: DownloadFailure) {
        if let Some(name) = &filename {
            let text = reason.to_string();
            self.progress.emit(ProgressEvent::FileFailed {
                name,
                reason: &text,
            });
        }
        self.tally.failed(FailedDownload {
            asset,
            filename,
            reason,
        });
    }

    /// Stops handing out work: the rest ends as `reason` says.
    fn give_up_rest(&mut self, reason: impl Fn() -> DownloadFailure) {
        for asset in std::mem::take(&mut self.queue) {
            if let Ok(id) = asset.id() {
                self.tally.failed(FailedDownload {
                    asset: id,
                    filename: Some(asset.filename),
                    reason: reason(),
                });
            }
        }
        for id in std::mem::take(&mut self.chosen) {
            self.tally.failed(FailedDownload {
                asset: id,
                filename: None,
                reason: reason(),
            });
        }
        if self.listing != Listing::Off && self.listing != Listing::Asking {
            self.listing = Listing::Done;
        }
    }

    /// The next asset to fetch, with its checked id and its place on disk.
    fn next_fetch(&mut self) -> Option<(Subject, Command)> {
        while let Some(asset) = self.queue.pop_front() {
            let Ok(id) = asset.id() else {
                self.tally.problems.push(format!(
                    "the service listed {:?} with an invalid asset id {:?}; it was not downloaded",
                    asset.filename, asset.asset_id
                ));
                continue;
            };
            let filename = if asset.filename.is_empty() {
                asset
                    .download_url()
                    .and_then(|u| name_from_url(&u.url))
                    .unwrap_or_default()
            } else {
                asset.filename.clone()
            };
            let path = self
                .target_dir
                .join(self.names.allocate(&filename, id.as_str()));
            let subject = Subject::Fetch {
                asset: id.clone(),
                filename: asset.filename.clone(),
            };
            return Some((
                subject,
                Command::Fetch {
                    asset: Box::new(asset),
                    id,
                    path,
                },
            ));
        }
        None
    }

    fn page_answered(&mut self, answer: Option<Result<Page<Asset>>>, now: Instant) {
        match answer {
            Some(Ok(page)) => {
                self.first_page = false;
                self.page_failures = 0;
                self.queue.extend(page.items);
                self.listing = Listing::Idle;
            }
            // The first page decides whether there is anything to download at all.
            Some(Err(e)) if self.first_page => {
                self.listing = Listing::Done;
                self.fatal = Some(e);
                self.stopping = true;
            }
            // A page that failed after the call's own retries is asked for again (the
            // pager stays on it) a few times, with growing pauses.
            Some(Err(e)) if self.page_failures < LISTING_ROUNDS => {
                self.page_failures += 1;
                tracing::warn!(error = %e, round = self.page_failures, "a listing page failed; asking again");
                let pause = Duration::from_secs(1 << self.page_failures);
                self.listing = Listing::Pausing(now + pause);
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "listing stopped; the assets after this point were not downloaded");
                self.tally.problems.push(format!(
                    "listing the remaining assets failed, so they were not downloaded: {e}"
                ));
                self.listing = Listing::Done;
            }
            None => self.listing = Listing::Done,
        }
    }

    fn looked_up(&mut self, id: AssetId, result: Result<Asset>) {
        match result {
            Ok(asset) => self.queue.push_back(asset),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.fail(id, None, DownloadFailure::NotFound)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Authentication | ErrorKind::PermissionDenied
                ) =>
            {
                // Credentials refused: no other asset will fare better.
                self.tally.failed(FailedDownload {
                    asset: id,
                    filename: None,
                    reason: DownloadFailure::Transfer {
                        status: e.status().map(|s| s.as_u16()),
                        message: e.to_string(),
                    },
                });
                self.fatal.get_or_insert(e);
                self.stopping = true;
                self.give_up_rest(|| DownloadFailure::Cancelled);
            }
            Err(e) => self.fail(
                id,
                None,
                DownloadFailure::Transfer {
                    status: e.status().map(|s| s.as_u16()),
                    message: e.to_string(),
                },
            ),
        }
    }

    fn fetched(&mut self, outcome: Outcome, now: Instant) {
        match outcome {
            Outcome::Downloaded(file, bytes) => {
                self.tuner.finished(now, bytes);
                self.tally.bytes += bytes;
                self.tally.downloaded(file);
            }
            Outcome::Skipped(s) => self.tally.skipped(s),
            // A transfer stopped by the cancellation ends as cancelled, whatever error
            // the transport gave for the stop.
            Outcome::Failed(mut f, _) if self.tally.cancelled => {
                f.reason = DownloadFailure::Cancelled;
                self.tally.failed(f);
            }
            Outcome::Failed(f, _) => self.tally.failed(f),
        }
    }

    fn record(&mut self, subject: Subject, result: Completion<Output>, now: Instant) {
        match (subject, result) {
            (Subject::Count, result) => {
                self.counting = false;
                if let Completion::Done(Output::Count(Ok(files))) = result {
                    self.progress
                        .emit(ProgressEvent::Planned { files, bytes: 0 });
                }
            }
            (Subject::Page, Completion::Done(Output::Page(answer))) => {
                self.page_answered(answer, now)
            }
            (Subject::Page, _) => {
                // The pager went with the task: the rest of the listing cannot be read.
                self.listing = Listing::Done;
                self.tally.problems.push(
                    "listing stopped: the task asking for a page was dropped by the runtime, so \
                     the assets after this point were not downloaded"
                        .into(),
                );
            }
            (Subject::Lookup(id), result) => {
                self.lookups -= 1;
                match result {
                    Completion::Done(Output::Lookup(found)) => self.looked_up(id, *found),
                    _ => self.fail(id, None, lost()),
                }
            }
            (Subject::Fetch { asset, filename }, result) => {
                self.transfers -= 1;
                match result {
                    Completion::Done(Output::Fetch(outcome)) => self.fetched(outcome, now),
                    _ if self.tally.cancelled => {
                        self.fail(asset, Some(filename), DownloadFailure::Cancelled)
                    }
                    _ => self.fail(asset, Some(filename), lost()),
                }
            }
        }
    }
}

/// The reason given for a file whose task the runtime dropped.
pub(super) fn lost() -> DownloadFailure {
    DownloadFailure::Internal {
        message: "its task was dropped by the runtime before it reported (a panic, a thread \
                  that could not start, or a runtime shutting down); download it again"
            .into(),
    }
}

impl Flow for DownloadFlow {
    type Subject = Subject;
    type Command = Command;
    type Output = Output;

    fn advance(&mut self, now: Instant) {
        if let Listing::Pausing(until) = self.listing {
            if now >= until {
                self.listing = Listing::Idle;
            }
        }
        self.ticks.advance(&mut self.tuner, now, self.transfers > 0);
    }

    fn next_command(&mut self, now: Instant) -> Option<(Subject, Command)> {
        if self.stopping {
            return None;
        }
        let limit = self.tuner.limit();
        // The count and the first page go out together: one round trip before the first
        // transfer, not two.
        if self.count_wanted {
            self.count_wanted = false;
            self.counting = true;
            return Some((Subject::Count, Command::Count));
        }
        if self.listing == Listing::Idle && (self.first_page || self.queue.len() < 2 * limit) {
            self.listing = Listing::Asking;
            return Some((Subject::Page, Command::Page));
        }
        if self.lookups < limit && self.ahead() < 2 * limit {
            if let Some(id) = self.chosen.pop_front() {
                self.lookups += 1;
                return Some((Subject::Lookup(id.clone()), Command::Lookup(id)));
            }
        }
        if self.transfers < limit {
            let next = self.next_fetch()?;
            self.transfers += 1;
            self.tuner.started(now, self.transfers);
            return Some(next);
        }
        None
    }

    fn complete(&mut self, subject: Subject, result: Completion<Output>, now: Instant) {
        self.record(subject, result, now);
        if self.stopping {
            // What came back after the stop (a page, a looked-up asset) is not fetched.
            self.give_up_rest(|| DownloadFailure::Cancelled);
        }
    }
    fn wake_at(&self) -> Option<Instant> {
        let pause = match self.listing {
            Listing::Pausing(until) if !self.stopping => Some(until),
            _ => None,
        };
        earliest(pause, self.ticks.next())
    }

    fn cancel(&mut self, _now: Instant) {
        self.progress.emit(ProgressEvent::Cancelling);
        self.tally.cancelled = true;
        self.stopping = true;
        self.give_up_rest(|| DownloadFailure::Cancelled);
    }

    fn is_finished(&self) -> bool {
        self.out() == 0
            && (self.stopping
                || (self.queue.is_empty()
                    && self.chosen.is_empty()
                    && matches!(self.listing, Listing::Off | Listing::Done)))
    }

    fn stalled(&mut self) {
        self.tally
            .problems
            .push("the download stopped with work left that nothing was running for".into());
        self.stopping = true;
        self.give_up_rest(lost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::{dice, simulate};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn asset(i: usize) -> Asset {
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/asset.json")).unwrap();
        v["assetId"] = format!("as{i:05}").into();
        v["filename"] = format!("f{i:05}.png").into();
        serde_json::from_value(v).unwrap()
    }

    fn not_found() -> Error {
        Error::from(crate::error::ApiError {
            operation: "get asset".into(),
            status: http::StatusCode::NOT_FOUND,
            code: crate::error::ApiErrorCode::from_status(http::StatusCode::NOT_FOUND),
            message: "no".into(),
            request_id: None,
            retry_after: None,
        })
    }

    proptest! {
        /// Whatever the order of answers, their failures, lost tasks and a cancel at any
        /// point, every asset listed (or chosen) is in exactly one list of the report,
        /// and assets a listing never delivered are accounted for by a problem.
        #[test]
        fn every_asset_ends_in_exactly_one_list(
            n in 0usize..50,
            page in 1usize..20,
            chosen in any::<bool>(),
            seed in any::<u64>(),
            cancel_at in proptest::option::of(0usize..60),
        ) {
            let mut rng = dice(seed);
            let assets: Vec<Asset> = (0..n).map(asset).collect();
            let ids: Vec<AssetId> = assets.iter().map(|a| a.id().unwrap()).collect();
            let mut flow = DownloadFlow::new(
                PathBuf::from("/nowhere"),
                ProgressSink::default(),
                Tuner::new(3, 12),
                chosen.then(|| ids.clone()),
                Outcomes::default(),
            );
            let mut delivered: Vec<AssetId> = Vec::new();
            let mut listed_upto = 0usize;
            let mut roll_of = dice(seed.rotate_left(29) ^ 0x9E37_79B9);
            let mut answer = |subject: &Subject, command: Command| -> Completion<Output> {
                let roll = roll_of(100);
                if roll < 5 {
                    return Completion::Lost;
                }
                match (subject, command) {
                    (_, Command::Count) => Completion::Done(Output::Count(Ok(n as u64))),
                    (_, Command::Page) => {
                        if roll < 12 {
                            return Completion::Done(Output::Page(Some(Err(not_found()))));
                        }
                        if listed_upto >= n {
                            return Completion::Done(Output::Page(None));
                        }
                        let end = (listed_upto + page).min(n);
                        let items: Vec<Asset> = assets[listed_upto..end].to_vec();
                        delivered.extend(ids[listed_upto..end].iter().cloned());
                        listed_upto = end;
                        Completion::Done(Output::Page(Some(Ok(Page { items, next: None }))))
                    }
                    (_, Command::Lookup(id)) => {
                        let found = if roll < 15 {
                            Err(not_found())
                        } else {
                            let i = ids.iter().position(|x| *x == id).unwrap();
                            Ok(assets[i].clone())
                        };
                        Completion::Done(Output::Lookup(Box::new(found)))
                    }
                    (_, Command::Fetch { asset, id, path }) => {
                        let outcome = if roll < 20 {
                            Outcome::Failed(
                                FailedDownload {
                                    asset: id,
                                    filename: Some(asset.filename.clone()),
                                    reason: DownloadFailure::NotFound,
                                },
                                None,
                            )
                        } else if roll < 30 {
                            Outcome::Skipped(SkippedDownload {
                                asset: id,
                                filename: asset.filename.clone(),
                                path,
                            })
                        } else {
                            Outcome::Downloaded(
                                DownloadedFile {
                                    asset: id,
                                    filename: asset.filename.clone(),
                                    path,
                                    size: 1,
                                    resumed: false,
                                },
                                1,
                            )
                        }
                        ;
                        Completion::Done(Output::Fetch(outcome))
                    }
                }
            };
            let clean = simulate(&mut flow, &mut rng, cancel_at, &mut answer);
            prop_assert!(clean, "the download stalled");
            let mut seen: HashMap<String, usize> = HashMap::new();
            let tally = &flow.tally;
            for id in (tally.downloaded.iter().map(|d| &d.asset))
                .chain(tally.skipped.iter().map(|s| &s.asset))
                .chain(tally.failed.iter().map(|f| &f.asset))
            {
                *seen.entry(id.to_string()).or_default() += 1;
            }
            prop_assert!(seen.values().all(|&c| c == 1), "an asset in two lists: {seen:?}");
            if flow.fatal.is_none() {
                let expected: &[AssetId] = if chosen { &ids } else { &delivered };
                for id in expected {
                    prop_assert!(seen.contains_key(id.as_str()), "{id} is in no list");
                }
                if !chosen && delivered.len() < n && !tally.cancelled {
                    prop_assert!(!tally.problems.is_empty(), "assets missing without a problem");
                }
            }
        }
    }
}
