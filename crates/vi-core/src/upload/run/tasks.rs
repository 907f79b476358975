//! The commands of the upload coordinator, as the tasks the driver runs: examining a
//! file, listing the dataset for skip-existing, creating a session, looking at one, and
//! sending one file to its signed URL (retried under the policy for signed uploads).

use std::collections::BTreeMap;
use std::time::Instant;

use super::Upload;
use super::coord::{Command, Failure, Output};
use crate::bandwidth::BandwidthLimit;
use crate::cancel::CancelToken;
use crate::endpoints::{
    ApiRequest, CreateIngestionSession, Endpoint, GetIngestionSession, parse_json,
};
use crate::engine::{Attempt, Core};
use crate::error::Result;
use crate::ids::{DatasetId, OrganizationId};
use crate::models::{IngestionErrorCode, IngestionEvent, SignedUrl, failed_files};
use crate::pool::{Guarded, guarded};
use crate::progress::ProgressSink;
use crate::retry::{Safety, Target};
use crate::runtime::{BoxFuture, run_blocking};
use crate::signed::{SignedKind, SignedRequest};
use crate::transport::{Body, FileSlice, Meter, Response};
use crate::upload::existing::Existing;
use crate::upload::multipart::{MultipartTarget, upload_multipart};
use crate::upload::report::UploadFailure;
use crate::upload::spec::{FileSpec, SpecSource, spec_for_bytes, spec_for_file};

/// What every command of one upload call needs.
pub(super) struct Exec {
    core: Core,
    dataset: DatasetId,
    cancel: CancelToken,
    progress: ProgressSink,
    limit: Option<BandwidthLimit>,
}

impl Exec {
    pub(super) fn new(upload: &Upload) -> Self {
        Exec {
            core: upload.core.clone(),
            dataset: upload.dataset.clone(),
            cancel: upload.cancel.clone(),
            progress: upload.options.progress.clone(),
            limit: upload.options.bandwidth_limit.clone(),
        }
    }

    pub(super) fn run(&self, command: Command) -> BoxFuture<'static, Output> {
        let core = self.core.clone();
        let dataset = self.dataset.clone();
        match command {
            Command::Existing(names) => Box::pin(async move {
                let wanted = |name: &str| names.contains(name);
                Output::Existing(Existing::list(&core, &dataset, &wanted).await)
            }),
            Command::Prepare { input, name } => Box::pin(async move {
                let runtime = core.runtime().clone();
                let spec = match input {
                    SpecSource::File(path) => {
                        run_blocking(runtime.as_ref(), move || spec_for_file(path, name)).await
                    }
                    SpecSource::Bytes(data) => {
                        run_blocking(runtime.as_ref(), move || spec_for_bytes(name, data)).await
                    }
                };
                Output::Prepared(spec)
            }),
            Command::Create(body) => Box::pin(async move {
                let endpoint = CreateIngestionSession { dataset, body };
                Output::Created(core.execute(&endpoint).await.map(Box::new))
            }),
            Command::Look(session) => Box::pin(async move {
                let endpoint = LookAtSession {
                    get: GetIngestionSession { dataset, session },
                };
                Output::Looked(core.execute(&endpoint).await)
            }),
            Command::Send {
                spec,
                url,
                deadline,
                multipart,
            } => {
                let cancel = self.cancel.clone();
                let progress = self.progress.clone();
                let limit = self.limit.clone();
                Box::pin(async move {
                    let result = match multipart {
                        // Not raced against cancellation: the flow watches the token
                        // itself, as it must abort the multipart upload on the service
                        // before it returns.
                        Some(ingestion_id) => {
                            let target = MultipartTarget {
                                dataset,
                                ingestion_id,
                                limit,
                            };
                            upload_multipart(core, target, spec, cancel)
                                .await
                                .map_err(Failure::Final)
                        }
                        None => {
                            let put = put_file(
                                core,
                                spec,
                                url,
                                deadline,
                                progress,
                                cancel.clone(),
                                limit,
                            );
                            // Racing the transfer against cancellation drops (aborts) it
                            // where the transport is async; a blocking one stops within a
                            // buffer (its meter).
                            match guarded(put, Some(&cancel)).await {
                                Guarded::Done(result) => result,
                                Guarded::Panicked => Err(Failure::Final(panicked())),
                                Guarded::Cancelled => Err(Failure::Final(UploadFailure::Cancelled)),
                            }
                        }
                    };
                    Output::Sent(result)
                })
            }
        }
    }
}

/// A file whose upload worker panicked.
fn panicked() -> UploadFailure {
    UploadFailure::Internal {
        message: "an upload worker panicked".into(),
    }
}

/// PUTs one file to its signed URL: the headers the session gave, verbatim, an exact
/// `Content-Length`, the body streamed from disk (re-opened on every attempt) or from
/// memory, and no API credentials. Retries follow the policy for signed uploads.
/// No attempt starts after the URL's `deadline`: the file then ends [`Failure::Expired`]
/// (a retry after a backoff would otherwise reach the storage with a dead URL).
async fn put_file(
    core: Core,
    spec: FileSpec,
    url: SignedUrl,
    deadline: Option<Instant>,
    progress: ProgressSink,
    cancel: CancelToken,
    limit: Option<BandwidthLimit>,
) -> std::result::Result<(), Failure> {
    let put = SignedRequest::new(SignedKind::Upload, &url, Some(spec.size), core.config())
        .map_err(|e| {
            Failure::Final(UploadFailure::Transfer {
                status: None,
                message: e.to_string(),
            })
        })?;
    let body = match &spec.source {
        SpecSource::File(path) => Body::File(FileSlice {
            path: path.clone(),
            offset: 0,
            len: spec.size,
            // Counted for progress and cancellation only, not for the tuner: what a
            // transport has read from the file is not what has gone over the link (a
            // socket's send buffer takes a whole image at once), so uploads move the
            // limit on completions (docs/bench.md, second pass of issue 11).
            meter: Some(
                Meter::for_file(None, spec.filename.as_str(), spec.size, progress, cancel)
                    .limited(limit),
            ),
            stamp: spec.stamp,
            crc32c: spec.crc32c.map(|crc| crc as u32),
        }),
        SpecSource::Bytes(bytes) => Body::Bytes(bytes.clone()),
    };
    let operation = "upload";
    let result = core
        .retrying(Safety::Idempotent, Target::SignedUpload, false, |_, _| {
            let expired = deadline.is_some_and(|d| core.runtime().now() >= d);
            let request = put.request(body.clone());
            let transport = core.transport().clone();
            async move {
                if expired {
                    return Attempt::Done(Ok(false));
                }
                Attempt::from_exchange(operation, transport.send(request).await, |_| Ok(true))
            }
        })
        .await;
    match result {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::Expired),
        Err(e) => Err(Failure::Put(e)),
    }
}

/// U2 parsed for what a look needs: the failed files of the `Error` events. Serde skips
/// every other field without building it.
#[derive(Debug, Default, serde::Deserialize)]
struct SessionLook {
    #[serde(default)]
    status: LookStatus,
}

#[derive(Debug, Default, serde::Deserialize)]
struct LookStatus {
    #[serde(default)]
    events: Vec<IngestionEvent>,
}

/// U2, answered with the failed files only.
struct LookAtSession {
    get: GetIngestionSession,
}

impl Endpoint for LookAtSession {
    type Output = BTreeMap<String, IngestionErrorCode>;

    fn operation(&self) -> &'static str {
        "look at an ingestion session while its files are sent"
    }

    fn safety(&self) -> Safety {
        self.get.safety()
    }

    fn request(&self, organization: &OrganizationId) -> Result<ApiRequest> {
        self.get.request(organization)
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        let look: SessionLook = parse_json(self.operation(), response.body())?;
        Ok(failed_files(&look.status.events))
    }
}
