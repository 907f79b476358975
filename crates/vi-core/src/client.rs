//! The engine both facades share: it runs endpoints with credentials and retries, and
//! implements every operation once, as async code over the [`Transport`] and [`Runtime`]
//! seams.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tracing::Instrument;

use crate::config::Config;
use crate::endpoints::{
    CountAssets, CountAssetsOptions, CreateDataset, DeleteAsset, DeleteDataset, Endpoint, GetAsset,
    GetDataset, GetDatasetDeletion, ListAssets, ListAssetsOptions, ListDatasets, NewDataset,
    RenameAsset, RenameTarget,
};
use crate::error::{ApiError, ApiErrorCode, Error, Result};
use crate::ids::{AssetId, DatasetId};
use crate::models::{Asset, Dataset, DeletedDataset, error_message};
use crate::paging::{Cursor, Page, Pager};
use crate::retry::{Decision, Outcome, RetryState, Safety, Target, retry_after_from_headers};
use crate::transport::{Body, Response, Runtime, Transport, TransportError};

struct Inner {
    config: Config,
    transport: Arc<dyn Transport>,
    runtime: Arc<dyn Runtime>,
}

/// The shared engine behind `vi_async::Client` and `vi_blocking::Client`. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Reads the request id the service attached to a response, if any.
fn request_id(headers: &http::HeaderMap) -> Option<String> {
    let trace = headers
        .get("x-cloud-trace-context")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('/').next())
        .filter(|v| !v.is_empty());
    trace
        .or_else(|| headers.get("x-request-id").and_then(|v| v.to_str().ok()))
        .map(str::to_owned)
}

/// Builds the error for a non-2xx response.
pub(crate) fn api_error(operation: &str, response: &Response) -> Error {
    let status = response.status();
    Error::from(ApiError {
        operation: operation.to_owned(),
        status,
        code: ApiErrorCode::from_status(status),
        message: error_message(response.body(), status.as_u16()),
        request_id: request_id(response.headers()),
        retry_after: retry_after_from_headers(response.headers(), std::time::SystemTime::now()),
    })
}

/// What one attempt of a retried exchange came to.
pub(crate) enum Attempt<T> {
    /// Finished: no more attempts (the value may itself be an error, e.g. a decode error).
    Done(Result<T>),
    /// Failed in a way the retry policy judges.
    Failed {
        /// What happened, for the policy.
        outcome: Outcome,
        /// The error to report if the policy gives up.
        error: Error,
    },
}

impl<T> Attempt<T> {
    /// A non-2xx answer.
    pub(crate) fn from_response(operation: &str, response: &Response) -> Self {
        Attempt::Failed {
            outcome: Outcome::Status {
                status: response.status(),
                retry_after: retry_after_from_headers(
                    response.headers(),
                    std::time::SystemTime::now(),
                ),
            },
            error: api_error(operation, response),
        }
    }

    /// No answer.
    pub(crate) fn from_transport(operation: &str, source: TransportError) -> Self {
        Attempt::Failed {
            outcome: Outcome::Transport(source.kind),
            error: Error::Transport {
                operation: operation.to_owned(),
                source,
            },
        }
    }
}

impl Core {
    /// An engine over a configuration, a transport and a runtime.
    pub fn new(config: Config, transport: Arc<dyn Transport>, runtime: Arc<dyn Runtime>) -> Self {
        Core {
            inner: Arc::new(Inner {
                config,
                transport,
                runtime,
            }),
        }
    }

    /// The resolved configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The runtime work runs on.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.inner.runtime
    }

    /// The transport bytes move through.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.inner.transport
    }

    /// Runs one API call: adds the credentials, sends it, retries as the policy allows,
    /// and parses the answer.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] before sending; [`Error::Api`] for an error status;
    /// [`Error::Transport`] when no response came; [`Error::RetriesExhausted`] wrapping
    /// the last of those when retries ran out; [`Error::Decode`] for an unexpected body.
    pub async fn execute<E: Endpoint>(&self, endpoint: &E) -> Result<E::Output> {
        let config = &self.inner.config;
        let operation = endpoint.operation();
        let api = endpoint.request(&config.organization_id)?;
        let url = config.api_url(&api.path_and_query());
        let body = api.body.clone().map(Body::Bytes).unwrap_or_default();
        let safety = endpoint.safety();
        // Never the query string: it can carry page tokens, and signed URLs never pass here.
        let span =
            tracing::debug_span!("vi.call", op = operation, method = %api.method, path = %api.path);
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| {
            Error::invalid("endpoint", format!("cannot build a request URL: {e}"))
        })?;
        self.retrying(safety, Target::Api, false, |attempt, _resign| {
            let mut request = http::Request::new(body.clone());
            *request.method_mut() = api.method.clone();
            *request.uri_mut() = uri.clone();
            *request.headers_mut() = config.auth_headers();
            async move {
                match self.inner.transport.send(request).await {
                    Ok(response) if response.status().is_success() => {
                        Attempt::Done(endpoint.parse(&response))
                    }
                    Ok(response)
                        if attempt > 1 && endpoint.success_on_repeat(response.status()) =>
                    {
                        tracing::debug!(status = %response.status(), "a repeated attempt finds the work done");
                        Attempt::Done(endpoint.parse(&http::Response::new(Bytes::new())))
                    }
                    Ok(response) => Attempt::from_response(operation, &response),
                    Err(e) => Attempt::from_transport(operation, e),
                }
            }
        })
        .instrument(span)
        .await
    }

    /// Runs `attempt` until it is done or the retry policy gives up, sleeping between
    /// attempts through the runtime. `attempt` gets the attempt number (from 1) and whether
    /// the policy asked for a fresh signed URL first. A caller that cannot get one passes
    /// `can_resign = false`, and such a failure is then final.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        safety: Safety,
        target: Target,
        can_resign: bool,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(u32, bool) -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let runtime = &self.inner.runtime;
        let started = runtime.now();
        let mut state = RetryState::default();
        let mut resign = false;
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let (outcome, error) = match attempt(attempts, resign).await {
                Attempt::Done(value) => return value,
                Attempt::Failed { outcome, error } => (outcome, error),
            };
            let elapsed = runtime.now().saturating_duration_since(started);
            let decision = self.inner.config.retry.decide(
                safety,
                target,
                &outcome,
                &mut state,
                elapsed,
                fastrand::f64(),
            );
            match decision {
                Decision::Retry { after } => {
                    tracing::debug!(attempt = attempts, ?outcome, delay = ?after, "retrying");
                    resign = false;
                    runtime.sleep(after).await;
                }
                Decision::Resign { after } if can_resign => {
                    tracing::debug!(attempt = attempts, ?outcome, delay = ?after, "retrying with a fresh URL");
                    resign = true;
                    runtime.sleep(after).await;
                }
                _ => return Err(finish_error(error, attempts, elapsed)),
            }
        }
    }

    /// A pager over the organization's datasets.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a page size outside 1–1000.
    pub fn list_datasets(&self, page_size: u32) -> Result<Pager<ListDatasets>> {
        crate::endpoints::check_page_size(page_size)?;
        Ok(Pager::new(
            self.clone(),
            ListDatasets {
                page_size,
                cursor: None,
            },
        ))
    }

    /// One page of datasets, starting at `cursor`.
    ///
    /// # Errors
    /// As [`Core::execute`].
    pub async fn datasets_page(
        &self,
        page_size: u32,
        cursor: Option<Cursor>,
    ) -> Result<Page<Dataset>> {
        self.execute(&ListDatasets { page_size, cursor })
            .await
            .map(Page::from_envelope)
    }

    /// One dataset.
    ///
    /// # Errors
    /// As [`Core::execute`]; 404 when it does not exist.
    pub async fn get_dataset(&self, dataset: &DatasetId) -> Result<Dataset> {
        self.execute(&GetDataset {
            dataset: dataset.clone(),
        })
        .await
    }

    /// Creates a dataset.
    ///
    /// # Errors
    /// As [`Core::execute`].
    pub async fn create_dataset_from(
        &self,
        dataset: impl Into<NewDataset> + Send,
    ) -> Result<Dataset> {
        self.execute(&CreateDataset {
            dataset: dataset.into(),
        })
        .await
    }

    /// Starts deleting a dataset and returns the deletion operation.
    ///
    /// # Errors
    /// As [`Core::execute`].
    pub async fn delete_dataset(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        self.execute(&DeleteDataset {
            dataset: dataset.clone(),
        })
        .await
    }

    /// The state of a dataset deletion.
    ///
    /// # Errors
    /// As [`Core::execute`].
    pub async fn dataset_deletion(&self, dataset: &DatasetId) -> Result<DeletedDataset> {
        self.execute(&GetDatasetDeletion {
            dataset: dataset.clone(),
        })
        .await
    }

    /// Deletes a dataset and waits, polling with backoff, until the deletion is done or
    /// `timeout` passes.
    ///
    /// Returns the last state seen: check [`DeletedDataset::is_done`] when the timeout may
    /// have passed first.
    ///
    /// # Errors
    /// As [`Core::execute`]; [`Error::Operation`] when the service reports the deletion
    /// failed.
    pub async fn delete_dataset_and_wait(
        &self,
        dataset: &DatasetId,
        timeout: Duration,
    ) -> Result<DeletedDataset> {
        let mut op = self.delete_dataset(dataset).await?;
        let started = self.inner.runtime.now();
        let mut delay = Duration::from_millis(200);
        loop {
            if let Some(failed) = op.failure() {
                return Err(Error::Operation {
                    operation: format!("deleting dataset {dataset}"),
                    message: format!(
                        "{}: {}",
                        failed.condition,
                        failed.message.as_deref().unwrap_or("no reason given")
                    ),
                });
            }
            if op.is_done() {
                return Ok(op);
            }
            if self.inner.runtime.now().saturating_duration_since(started) + delay > timeout {
                return Ok(op);
            }
            self.inner.runtime.sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
            op = self.dataset_deletion(dataset).await?;
        }
    }

    /// A pager over a dataset's assets.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a page size outside 1–1000.
    pub fn list_assets(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
    ) -> Result<Pager<ListAssets>> {
        crate::endpoints::check_page_size(options.page_size)?;
        Ok(Pager::new(
            self.clone(),
            ListAssets {
                dataset: dataset.clone(),
                options,
                cursor: None,
            },
        ))
    }

    /// One page of assets, starting at `cursor`.
    ///
    /// # Errors
    /// As [`Core::execute`].
    pub async fn assets_page(
        &self,
        dataset: &DatasetId,
        options: ListAssetsOptions,
        cursor: Option<Cursor>,
    ) -> Result<Page<Asset>> {
        self.execute(&ListAssets {
            dataset: dataset.clone(),
            options,
            cursor,
        })
        .await
        .map(Page::from_envelope)
    }

    /// How many assets match.
    ///
    /// # Errors
    /// As [`Core::execute`].
    pub async fn count_assets(
        &self,
        dataset: &DatasetId,
        options: CountAssetsOptions,
    ) -> Result<u64> {
        self.execute(&CountAssets {
            dataset: dataset.clone(),
            options,
        })
        .await
    }

    /// One asset, without a download URL.
    ///
    /// # Errors
    /// As [`Core::execute`]; 404 when it does not exist.
    pub async fn get_asset_plain(&self, dataset: &DatasetId, asset: &AssetId) -> Result<Asset> {
        self.get_asset(dataset, asset, false).await
    }

    /// One asset with its signed download URL and expiry.
    ///
    /// # Errors
    /// As [`Core::execute`]; 404 when it does not exist.
    pub async fn get_asset_with_contents(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
    ) -> Result<Asset> {
        self.get_asset(dataset, asset, true).await
    }

    async fn get_asset(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        contents: bool,
    ) -> Result<Asset> {
        self.execute(&GetAsset {
            dataset: dataset.clone(),
            asset: asset.clone(),
            contents,
        })
        .await
    }

    /// Deletes an asset.
    ///
    /// # Errors
    /// As [`Core::execute`].
    pub async fn delete_asset(&self, dataset: &DatasetId, asset: &AssetId) -> Result<()> {
        self.execute(&DeleteAsset {
            dataset: dataset.clone(),
            asset: asset.clone(),
        })
        .await
    }

    /// Renames an asset addressed by id.
    ///
    /// # Errors
    /// As [`Core::execute`]; 409 when another asset has that name.
    pub async fn rename_asset_by_id(
        &self,
        dataset: &DatasetId,
        asset: &AssetId,
        new_filename: &str,
    ) -> Result<Asset> {
        self.rename_asset(dataset, RenameTarget::Id(asset.clone()), new_filename)
            .await
    }

    /// Renames the asset whose filename is `current_filename`.
    ///
    /// # Errors
    /// As [`Core::execute`]; 404 when no asset has that name, 409 when the new name is taken.
    pub async fn rename_asset_by_filename(
        &self,
        dataset: &DatasetId,
        current_filename: &str,
        new_filename: &str,
    ) -> Result<Asset> {
        self.rename_asset(
            dataset,
            RenameTarget::Filename(current_filename.to_owned()),
            new_filename,
        )
        .await
    }

    async fn rename_asset(
        &self,
        dataset: &DatasetId,
        target: RenameTarget,
        new_filename: &str,
    ) -> Result<Asset> {
        self.execute(&RenameAsset {
            dataset: dataset.clone(),
            target,
            new_filename: new_filename.to_owned(),
        })
        .await
    }
}

/// Wraps a final error in [`Error::RetriesExhausted`] when it was retryable and the policy
/// gave up after several attempts.
pub(crate) fn finish_error(error: Error, attempts: u32, elapsed: Duration) -> Error {
    if attempts > 1 && error.is_retryable() {
        Error::RetriesExhausted {
            attempts,
            elapsed,
            last: Box::new(error),
        }
    } else {
        error
    }
}
