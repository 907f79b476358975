//! The upload engine: gathers the inputs ([`plan`]), runs the coordinator
//! ([`coord`]) through the driver ([`crate::drive`]) with the commands of [`tasks`],
//! then cancels or waits for the sessions ([`sessions`]) and writes the report
//! ([`tally`]).

use tracing::Instrument;

mod coord;
mod pace;
mod plan;
mod sessions;
mod tally;
mod tasks;

use coord::{Settings, UploadFlow};

use super::report::UploadReport;
use super::{MAX_BATCH_SIZE, MAX_SESSIONS_IN_FLIGHT, UploadOptions, UploadSources};
use crate::cancel::CancelToken;
use crate::drive::drive;
use crate::engine::Core;
use crate::error::{Error, Result};
use crate::ids::DatasetId;
use crate::tuning::Tuner;

impl Core {
    /// Uploads files, folders and in-memory bytes to `dataset`; see [`crate::upload`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before anything is sent (nothing to upload, a missing path,
    /// a bad option); an API error when the dataset cannot be uploaded to at all (unknown
    /// dataset, wrong credentials) before any file was sent. Everything else, including
    /// per-file failures and cancellation, is reported in the [`UploadReport`].
    pub async fn upload(
        &self,
        dataset: &DatasetId,
        sources: UploadSources,
        options: UploadOptions,
    ) -> Result<UploadReport> {
        let span = tracing::info_span!("vi.upload", dataset = %dataset);
        check_options(&options)?;
        run(self.clone(), dataset.clone(), sources, options)
            .instrument(span)
            .await
    }
}

fn check_options(options: &UploadOptions) -> Result<()> {
    if options.concurrency == 0 {
        return Err(Error::invalid("concurrency", "it must be at least 1"));
    }
    if !(1..=MAX_BATCH_SIZE).contains(&options.batch_size) {
        return Err(Error::invalid(
            "batch size",
            format!(
                "{} is outside 1..={MAX_BATCH_SIZE} files per ingestion session",
                options.batch_size
            ),
        ));
    }
    if !(1..=MAX_SESSIONS_IN_FLIGHT).contains(&options.max_sessions_in_flight) {
        return Err(Error::invalid(
            "sessions in flight",
            format!(
                "{} is outside 1..={MAX_SESSIONS_IN_FLIGHT} (the service allows {MAX_SESSIONS_IN_FLIGHT} sessions per 5 minutes)",
                options.max_sessions_in_flight
            ),
        ));
    }
    Ok(())
}

/// Files examined (sized, sniffed, hashed) at once: enough to keep a disk busy and stay
/// ahead of the transfers, few enough not to crowd them.
fn prepare_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 2)
        .min(16)
}

async fn run(
    core: Core,
    dataset: DatasetId,
    sources: UploadSources,
    options: UploadOptions,
) -> Result<UploadReport> {
    let runtime = core.runtime().clone();
    let started = runtime.now();
    let gathered = plan::gather(&core, sources, &options.progress).await?;
    let settings = Settings {
        failure_mode: options.failure_mode,
        overwrite: options.overwrite,
        batch_size: options.batch_size,
        max_sessions: options.max_sessions_in_flight,
        multipart_threshold: options.multipart_threshold,
        skip_existing: options.skip_existing,
        dry_run: options.dry_run,
        prepare_workers: prepare_workers(),
        progress: options.progress.clone(),
        outcomes: options.outcomes.clone(),
    };
    let tuner = Tuner::new(options.concurrency, options.max_concurrency);
    let flow = UploadFlow::new(gathered.files, gathered.skipped, settings, tuner);
    let cancel = options.cancel.clone().unwrap_or_default();
    let mut upload = Upload {
        core,
        dataset,
        options,
        cancel,
        flow,
        settled: false,
        ignored_in_folders: gathered.ignored,
    };
    let exec = tasks::Exec::new(&upload);
    drive(&mut upload.flow, &runtime, &upload.cancel, |c| exec.run(c)).await;
    if let Some(error) = upload.flow.fatal.take() {
        upload.cancel_open_sessions(true).await;
        upload.settled = true;
        return Err(error);
    }
    let cancelled = upload.flow.cancelled;
    if cancelled {
        upload.cancel_open_sessions(false).await;
    }
    // From here on every session has all the files it will get.
    upload.settled = true;
    if !upload.options.dry_run {
        upload.wait_for_sessions(cancelled).await;
    }
    let duration = runtime.now().saturating_duration_since(started);
    Ok(upload.report(cancelled, duration))
}

/// One upload call: its settings, its coordinator, and whether its sessions are settled.
struct Upload {
    core: Core,
    dataset: DatasetId,
    options: UploadOptions,
    cancel: CancelToken,
    flow: UploadFlow,
    /// Set once the run has cancelled or waited for its sessions; until then, dropping
    /// the upload (its future dropped, e.g. by a timeout) cancels the sessions that still
    /// had files to send.
    settled: bool,
    ignored_in_folders: u64,
}
