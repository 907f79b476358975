//! The engine both facades share: [`Core`] holds the configuration, the transport and the
//! runtime, and runs one endpoint with credentials under the retry policy
//! ([`Core::execute`]). The multi-request flows (upload, download) are `impl Core` blocks in
//! their own modules; the public operations are the handles in [`crate::handles`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tracing::Instrument;

use crate::config::Config;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiErrorCode, Error, Result};
use crate::models::error_message;
use crate::retry::{Decision, Outcome, RetryState, Safety, Target, retry_after_from_headers};
use crate::runtime::Runtime;
use crate::transport::{Body, Response, Transport, TransportError};

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

    /// A body that did not match what was declared for it: retried like a broken transfer,
    /// reported as [`Error::Verification`] if the policy gives up.
    pub(crate) fn mismatch(path: &std::path::Path, mismatch: crate::error::Mismatch) -> Self {
        Attempt::Failed {
            outcome: Outcome::Transport(crate::transport::TransportErrorKind::Interrupted),
            error: Error::Verification {
                path: path.to_path_buf(),
                mismatch,
            },
        }
    }

    /// What one exchange came to: `accept` turns a 2xx response into the value; any other
    /// status, or no response, is judged by the retry policy.
    pub(crate) fn from_exchange(
        operation: &str,
        result: std::result::Result<Response, TransportError>,
        accept: impl FnOnce(Response) -> Result<T>,
    ) -> Self {
        match result {
            Ok(response) if response.status().is_success() => Attempt::Done(accept(response)),
            Ok(response) => Attempt::from_response(operation, &response),
            Err(e) => Attempt::from_transport(operation, e),
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
                let result = self.inner.transport.send(request).await;
                match &result {
                    Ok(response) => tracing::debug!(attempt, status = %response.status(), "answered"),
                    Err(e) => tracing::debug!(attempt, error = %e, "no answer"),
                }
                match result {
                    Ok(response)
                        if attempt > 1
                            && !response.status().is_success()
                            && endpoint.success_on_repeat(response.status()) =>
                    {
                        tracing::debug!(status = %response.status(), "a repeated attempt finds the work done");
                        Attempt::Done(endpoint.parse(&http::Response::new(Bytes::new())))
                    }
                    result => Attempt::from_exchange(operation, result, |r| endpoint.parse(&r)),
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
