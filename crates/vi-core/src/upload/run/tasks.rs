//! The tasks the upload scheduler spawns: creating a session, looking at one, and sending
//! one file to its signed URL (retried under the policy for signed uploads).

use super::*;
use crate::endpoints::{ApiRequest, Endpoint, parse_json};
use crate::ids::OrganizationId;
use crate::models::{IngestionEvent, failed_files};
use crate::transport::Response;

impl Upload {
    /// Looks at batch `b`'s session for the files the service failed or gave up on. The
    /// answer is parsed lean ([`SessionLook`]): a look repeats every few seconds while
    /// files are sent, and the session's echo of its 5000 declarations is not needed.
    pub(super) fn look_task(
        &self,
        batch: usize,
    ) -> impl std::future::Future<Output = Done> + Send + 'static {
        let core = self.core.clone();
        let endpoint = self.session_id(batch).map(|session| LookAtSession {
            get: GetIngestionSession {
                dataset: self.dataset.clone(),
                session,
            },
        });
        async move {
            let result = match endpoint {
                Some(endpoint) => match guarded(core.execute(&endpoint), None).await {
                    Guarded::Done(result) => result,
                    _ => Err(Error::panicked("looking at an ingestion session")),
                },
                None => Err(Error::invalid("session", "the batch has no session")),
            };
            Done::Looked { batch, result }
        }
    }

    pub(super) fn create_task(
        &self,
        batch: usize,
        requested: Instant,
    ) -> impl std::future::Future<Output = Done> + Send + 'static {
        let core = self.core.clone();
        let assets = self.batches[batch]
            .files
            .iter()
            .map(|&i| self.planned[i].spec.to_asset_spec())
            .collect();
        let endpoint = CreateIngestionSession {
            dataset: self.dataset.clone(),
            body: CreateIngestionSessionRequest {
                spec: IngestionRequestSpec {
                    kind: "Upload".to_owned(),
                    failure_mode: self.options.failure_mode.into(),
                    on_asset_overwritten: self.options.overwrite.into(),
                    assets,
                },
            },
        };
        async move {
            let result = match guarded(core.execute(&endpoint), None).await {
                Guarded::Done(result) => result.map(Box::new),
                _ => Err(Error::panicked("creating an ingestion session")),
            };
            Done::Created {
                batch,
                requested,
                result,
            }
        }
    }

    pub(super) fn transfer_task(
        &self,
        transfer: Transfer,
    ) -> impl std::future::Future<Output = Done> + Send + 'static {
        let core = self.core.clone();
        let file = transfer.0;
        let spec = self.planned[file].spec.clone();
        let cancel = self.cancel.clone();
        let multipart =
            goes_multipart(&spec, self.options.multipart_threshold).then(|| MultipartTarget {
                dataset: self.dataset.clone(),
                ingestion_id: self.file_batch[file]
                    .and_then(|b| self.batches[b].session.as_ref())
                    .map(|s| s.ingestion_id.clone())
                    .unwrap_or_default(),
            });
        async move {
            if let Some(target) = multipart {
                // Not raced against cancellation: the flow watches the token itself, as it
                // must abort the multipart upload on the service before it returns.
                let result = match guarded(upload_multipart(core, target, spec, cancel), None).await
                {
                    Guarded::Done(result) => result.map_err(Failure::Final),
                    _ => Err(Failure::Final(panicked())),
                };
                return Done::Sent { transfer, result };
            }
            // Racing the transfer against cancellation drops (aborts) it where the
            // transport is async; a blocking transfer finishes its current attempt.
            let put = put_file(core, spec, transfer.1.clone(), transfer.2);
            let result = match guarded(put, Some(&cancel)).await {
                Guarded::Done(result) => result,
                Guarded::Panicked => Err(Failure::Final(panicked())),
                Guarded::Cancelled => Err(Failure::Final(UploadFailure::Cancelled)),
            };
            Done::Sent { transfer, result }
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
            // Not metered: what a transport has read from the file is not what has gone
            // over the link. The socket's send buffer (megabytes, on loopback or after
            // Linux's autotuning) takes a whole image at once, so the bytes read say
            // nothing about the link's rate and misled the tuner (measured: 100 uploads of
            // 2 MiB at 2 MB/s per connection took 11 s metered, 4.6 s not). Uploads move
            // the limit on completions; downloads, whose bytes land as the link delivers
            // them, are metered.
            meter: None,
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
