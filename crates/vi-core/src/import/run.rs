//! The import flow: collect, declare, send, report, wait.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt as _;

use super::collect::{LocalFile, collect, size_and_crc};
use super::{ImportOptions, ImportOutcome, ImportReport, ImportState, ImportedFile};
use crate::endpoints::{
    AddAnnotationFiles, CreateAnnotationImportSession, GetAnnotationImportSession,
    SetAnnotationImportStatus,
};
use crate::engine::{Attempt, Core};
use crate::error::{Error, Result};
use crate::ids::{AnnotationImportSessionId, DatasetId};
use crate::models::{
    AddAnnotationFilesRequest, AnnotationConditionsInput, AnnotationFailurePolicies,
    AnnotationFileSpec, AnnotationFileUpload, AnnotationImportSession, AnnotationImportSource,
    AnnotationImportSpec, AnnotationImportStatusUpdate, ConditionStatus,
    CreateAnnotationImportSessionRequest, DatasetMetadataInput, ResourceCondition, SignedUrl,
    Timestamp,
};
use crate::retry::{Safety, Target};
use crate::signed::{SignedKind, SignedRequest};
use crate::transport::{Body, FileSlice};

/// How long the service gives the client to send the files (the official client's 55
/// minutes).
const UPLOAD_WINDOW: Duration = Duration::from_secs(55 * 60);

/// What a poll of a long-running operation found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Finished.
    Done,
    /// Failed, with the condition and its reason.
    Failed(String),
    /// Not yet.
    Pending,
}

/// Polls `fetch` from `first` (or a first fetch) until `judge` says done or failed, or
/// `timeout` passes, with delays growing from 200 ms to 10 s; returns the last state and
/// its verdict.
///
/// # Errors
/// The first error of `fetch`.
pub(crate) async fn poll<T, F, Fut>(
    core: &Core,
    timeout: Duration,
    first: Option<T>,
    mut fetch: F,
    judge: impl Fn(&T) -> Verdict,
) -> Result<(T, Verdict)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let runtime = core.runtime();
    let started = runtime.now();
    let mut delay = Duration::from_millis(200);
    let mut state = match first {
        Some(state) => state,
        None => fetch().await?,
    };
    loop {
        let verdict = judge(&state);
        let elapsed = runtime.now().saturating_duration_since(started);
        if verdict != Verdict::Pending || elapsed + delay > timeout {
            return Ok((state, verdict));
        }
        runtime.sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
        state = fetch().await?;
    }
}

/// [`poll`] from a first fetch, with a failure turned into [`Error::Operation`] naming
/// `operation`: the last state seen otherwise (done, or still pending at the timeout).
///
/// # Errors
/// The first error of `fetch`; [`Error::Operation`] when `judge` finds a failure.
pub(crate) async fn wait_until<T, F, Fut>(
    core: &Core,
    timeout: Duration,
    operation: String,
    fetch: F,
    judge: impl Fn(&T) -> Verdict,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    match poll(core, timeout, None, fetch, judge).await? {
        (_, Verdict::Failed(message)) => Err(Error::Operation { operation, message }),
        (last, _) => Ok(last),
    }
}

/// The verdict on an import session.
pub(crate) fn judge_import(session: &AnnotationImportSession) -> Verdict {
    if let Some(failed) = session.failure() {
        return Verdict::Failed(describe(failed));
    }
    if session.is_done() {
        Verdict::Done
    } else {
        Verdict::Pending
    }
}

fn describe(c: &ResourceCondition) -> String {
    match (c.reason.as_deref(), c.message.as_deref()) {
        (Some(r), Some(m)) => format!("{}: {r} ({m})", c.condition),
        (Some(r), None) => format!("{}: {r}", c.condition),
        (None, Some(m)) => format!("{}: {m}", c.condition),
        (None, None) => c.condition.clone(),
    }
}

fn now_ms() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// The one condition a client reports on an import session.
pub(crate) fn files_inserted(reached: bool, reason: Option<&str>) -> AnnotationImportStatusUpdate {
    AnnotationImportStatusUpdate {
        status: AnnotationConditionsInput {
            conditions: vec![ResourceCondition {
                condition: "FilesInserted".into(),
                status: if reached {
                    ConditionStatus::Reached
                } else {
                    ConditionStatus::FailedReach
                },
                last_transition_time: now_ms(),
                reason: reason.map(str::to_owned),
                message: None,
            }],
        },
    }
}

/// The state a session's verdict puts an import in.
pub(crate) fn state_of(session: &AnnotationImportSession) -> ImportState {
    match session.failure() {
        Some(failed) => ImportState::Failed {
            condition: failed.condition.clone(),
            reason: failed.reason.clone().or_else(|| failed.message.clone()),
        },
        None if session.is_done() => ImportState::Done,
        None => ImportState::Processing,
    }
}

/// Runs an import.
///
/// # Errors
/// [`Error::InvalidInput`] for bad paths, no files or duplicate names (before anything is
/// sent); any error of the session calls (after marking the session failed when it
/// exists).
pub(crate) async fn import(
    core: &Core,
    dataset: &DatasetId,
    paths: Vec<PathBuf>,
    options: &ImportOptions,
) -> Result<ImportReport> {
    let duplicates = options.duplicate_names;
    let specs = crate::runtime::run_blocking(core.runtime().as_ref(), move || {
        let files = collect(&paths, duplicates)?;
        files
            .into_iter()
            .map(|f| size_and_crc(&f.path).map(|(size, crc)| (f, size, crc)))
            .collect::<Result<Vec<(LocalFile, u64, String)>>>()
    })
    .await??;
    let window = Timestamp::from_system_time(SystemTime::now() + UPLOAD_WINDOW);
    let body = CreateAnnotationImportSessionRequest {
        spec: AnnotationImportSpec {
            upload_before: window,
            failure_policies: AnnotationFailurePolicies {
                on_bad_annotation: options.on_bad_annotation.clone(),
                on_bad_file: options.on_bad_file.clone(),
                on_overwritten: options.on_overwritten.clone(),
            },
            source: Some(AnnotationImportSource::UploadedIndividualFiles),
        },
        metadata: DatasetMetadataInput {
            attributes: options.attributes.clone(),
        },
    };
    let created = core
        .execute(&CreateAnnotationImportSession {
            dataset: dataset.clone(),
            body,
        })
        .await?;
    let session = AnnotationImportSessionId::new(created.annotation_import_session_id.clone())
        .map_err(|_| Error::Decode {
            operation: "create annotation import session".into(),
            message: "the service returned an unusable session id".into(),
        })?;
    let declared: BTreeMap<String, AnnotationFileSpec> = specs
        .iter()
        .map(|(f, size, crc)| {
            (
                f.name.clone(),
                AnnotationFileSpec {
                    size_bytes: *size,
                    crc32c: crc.clone(),
                    kind: "Unknown".into(),
                },
            )
        })
        .collect();
    let add = AddAnnotationFiles {
        dataset: dataset.clone(),
        session: session.clone(),
        body: AddAnnotationFilesRequest { files: declared },
    };
    let mut offered = match core.execute(&add).await {
        Ok(reply) => reply.files,
        Err(e) => {
            mark(core, dataset, &session, false).await;
            return Err(e);
        }
    };
    let unexpected_names: Vec<String> = offered
        .keys()
        .filter(|name| !specs.iter().any(|(f, _, _)| &f.name == *name))
        .cloned()
        .collect();
    if !unexpected_names.is_empty() {
        tracing::warn!(
            count = unexpected_names.len(),
            "the service offered upload URLs for files that were not declared; nothing is sent to them"
        );
    }
    let jobs: Vec<(LocalFile, u64, Option<AnnotationFileUpload>)> = specs
        .into_iter()
        .map(|(f, size, _)| {
            let url = offered.remove(&f.name);
            (f, size, url)
        })
        .collect();
    let files: Vec<ImportedFile> = futures_util::stream::iter(jobs)
        .map(|(f, size, url)| async move {
            let outcome = match url {
                None => ImportOutcome::NotOffered,
                Some(url) => send(core, &f, size, &url).await,
            };
            ImportedFile {
                path: f.path,
                name: f.name,
                size,
                outcome,
            }
        })
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    let all_sent = files.iter().all(|f| f.outcome == ImportOutcome::Uploaded);
    let reason = (!all_sent).then_some("UserUploadErrored");
    let reported = core
        .execute(&SetAnnotationImportStatus {
            dataset: dataset.clone(),
            session: session.clone(),
            body: files_inserted(all_sent, reason),
        })
        .await;
    // The files are sent: a report the service did not take still accounts for each of
    // them, with the reason, instead of an error that would lose them.
    let reported = match reported {
        Ok(reported) => reported,
        Err(e) => {
            return Ok(ImportReport {
                dataset: dataset.clone(),
                session_id: session,
                files,
                unexpected_names,
                state: ImportState::NotReported {
                    message: e.to_string(),
                },
                session: created,
            });
        }
    };
    let last = if options.wait && all_sent {
        let get = GetAnnotationImportSession {
            dataset: dataset.clone(),
            session: session.clone(),
        };
        poll(
            core,
            options.timeout,
            None,
            || core.execute(&get),
            judge_import,
        )
        .await?
        .0
    } else {
        reported
    };
    Ok(ImportReport {
        dataset: dataset.clone(),
        session_id: session,
        files,
        unexpected_names,
        state: state_of(&last),
        session: last,
    })
}

/// Marks a session failed after an error, best effort: the error that stopped the import
/// is the one reported.
async fn mark(core: &Core, dataset: &DatasetId, session: &AnnotationImportSessionId, ok: bool) {
    let reason = (!ok).then_some("UserUploadErrored");
    let result = core
        .execute(&SetAnnotationImportStatus {
            dataset: dataset.clone(),
            session: session.clone(),
            body: files_inserted(ok, reason),
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not mark the annotation import session failed");
    }
}

/// Sends one file to its upload URL: the service's method and headers, an exact
/// `Content-Length`, no credentials; retried as signed uploads are.
async fn send(
    core: &Core,
    file: &LocalFile,
    size: u64,
    upload: &AnnotationFileUpload,
) -> ImportOutcome {
    let url = SignedUrl {
        url: upload.url.clone(),
        expiry: Timestamp::default(),
        headers: Some(upload.headers.clone()),
        method: Some(upload.method.clone()),
    };
    let put = match SignedRequest::new(SignedKind::Upload, &url, Some(size), core.config()) {
        Ok(put) => put,
        Err(e) => {
            return ImportOutcome::Failed {
                status: None,
                message: e.to_string(),
            };
        }
    };
    let body = Body::File(FileSlice::new(file.path.clone(), 0, size));
    let operation = "upload annotation file";
    let result = core
        .retrying(Safety::Idempotent, Target::SignedUpload, false, |_, _| {
            let request = put.request(body.clone());
            let transport = core.transport().clone();
            async move { Attempt::from_exchange(operation, transport.send(request).await, |_| Ok(())) }
        })
        .await;
    match result {
        Ok(()) => ImportOutcome::Uploaded,
        Err(e) => ImportOutcome::Failed {
            status: e.status().map(|s| s.as_u16()),
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_body_is_one_files_inserted_condition() {
        let body = serde_json::to_value(files_inserted(false, Some("UserUploadErrored"))).unwrap();
        let c = &body["status"]["conditions"][0];
        assert_eq!(c["condition"], "FilesInserted");
        assert_eq!(c["status"], "FailedReach");
        assert_eq!(c["reason"], "UserUploadErrored");
        assert!(c["lastTransitionTime"].as_i64().unwrap() > 0);
        let ok = serde_json::to_value(files_inserted(true, None)).unwrap();
        assert!(ok["status"]["conditions"][0].get("reason").is_none());
    }
}
