//! A scripted transport: answers requests from a list of steps, records every request, and
//! never touches the network. With [`VirtualClock`] it lets a test drive `vi_core` flows
//! (API calls, paging, uploads, downloads) with exact control of every answer and of time.
//!
//! ```
//! use vi_core::transport::{Body, TransportErrorKind};
//! use vi_testkit::scripted::{Harness, Step};
//! # let config = vi_core::ConfigBuilder::default()
//! #     .secret_key(format!("dtvi_{}", "k".repeat(98)))
//! #     .organization_id("org-1")
//! #     .build_with_env(&|_| None)
//! #     .unwrap();
//! let h = Harness::new(
//!     config,
//!     [Step::status(503, "").header("retry-after", "2"), Step::fail_with(TransportErrorKind::Connect)],
//! );
//! let get = || http::Request::get("https://storage.example.test/a.png").body(Body::Empty).unwrap();
//! let answer = h.block_on(h.core.transport().send(get())).unwrap();
//! assert_eq!(answer.status(), 503);
//! assert_eq!(answer.headers()["retry-after"], "2");
//! let error = h.block_on(h.core.transport().send(get())).unwrap_err();
//! assert_eq!(error.kind, TransportErrorKind::Connect);
//! assert_eq!((h.seen().len(), h.left()), (2, 0));
//! assert!(h.slept().is_empty(), "the transport itself never sleeps");
//! ```
//!
//! A script either serves a list of steps in order, one per request (`send` or
//! `download`; a request with no step left panics, so the script states exactly how many
//! requests a flow makes: run such flows with concurrency 1), or answers each request with a
//! function of the request ([`Script::answering`], [`Harness::answering`]), for flows whose
//! order of requests is not the point.

use std::collections::VecDeque;
use std::io::{Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use vi_core::transport::{
    DownloadHead, DownloadTarget, Request, Response, Transport, TransportError, TransportErrorKind,
};
use vi_core::{Config, Core};

use crate::clock::VirtualClock;

/// One scripted answer to one request.
#[derive(Clone, Debug)]
pub enum Step {
    /// An HTTP response.
    Respond {
        /// The status code.
        status: u16,
        /// The response headers.
        headers: Vec<(String, String)>,
        /// The response body (for `download`, what is written to the target when the
        /// status is a success, else the error body).
        body: Bytes,
    },
    /// No response: a transport error of this kind.
    Fail(TransportErrorKind),
}

impl Step {
    /// A `200 OK` with `body`.
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Self::status(200, body)
    }

    /// A response with `status` and `body`.
    pub fn status(status: u16, body: impl Into<Bytes>) -> Self {
        Step::Respond {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A transport error of `kind` (no response arrived).
    pub fn fail_with(kind: TransportErrorKind) -> Self {
        Step::Fail(kind)
    }

    /// The same response with one more header. No effect on [`Step::Fail`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Step::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

/// A request as the scripted transport saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The method.
    pub method: http::Method,
    /// The full URI, query included.
    pub uri: String,
    /// The request headers.
    pub headers: http::HeaderMap,
    /// Where a `download` was asked to write, with its offset; `None` for `send`.
    pub target: Option<DownloadTarget>,
}

/// A function that answers a request.
pub type Responder = Box<dyn Fn(&Seen) -> Step + Send + Sync>;

/// The steps still to serve (or the function answering), and the requests seen, shared
/// between a [`ScriptedTransport`] and the test.
#[derive(Default)]
pub struct Script {
    steps: Mutex<VecDeque<Step>>,
    responder: Option<Responder>,
    seen: Mutex<Vec<Seen>>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("steps", &self.steps)
            .field("responder", &self.responder.is_some())
            .field("seen", &self.seen)
            .finish()
    }
}

impl Script {
    /// A script answering every request with `responder`.
    pub fn answering(responder: impl Fn(&Seen) -> Step + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Script {
            responder: Some(Box::new(responder)),
            ..Script::default()
        })
    }

    /// A script serving `steps` in order.
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Arc<Self> {
        let script = Script::default();
        script.steps.lock().unwrap().extend(steps);
        Arc::new(script)
    }

    /// Adds steps after those left.
    pub fn push(&self, steps: impl IntoIterator<Item = Step>) {
        self.steps.lock().unwrap().extend(steps);
    }

    /// Every request seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many steps are left unserved.
    pub fn left(&self) -> usize {
        self.steps.lock().unwrap().len()
    }

    fn next(&self, request: &Request, target: Option<&DownloadTarget>) -> Step {
        let seen = Seen {
            method: request.method().clone(),
            uri: request.uri().to_string(),
            headers: request.headers().clone(),
            target: target.cloned(),
        };
        self.seen.lock().unwrap().push(seen.clone());
        if let Some(responder) = &self.responder {
            return responder(&seen);
        }
        self.steps.lock().unwrap().pop_front().unwrap_or_else(|| {
            panic!(
                "the script has no step for {} {}",
                request.method(),
                request.uri()
            )
        })
    }
}

/// A [`Transport`] that answers from a [`Script`].
///
/// `download` follows the transport contract: a success status writes the body to the
/// target (from the target's offset for `206 Partial Content`, from byte 0 otherwise), any
/// other status writes nothing and returns the body as `error_body`.
#[derive(Clone, Debug)]
pub struct ScriptedTransport(pub Arc<Script>);

fn response(step: Step) -> Result<Response, TransportError> {
    match step {
        Step::Respond {
            status,
            headers,
            body,
        } => {
            let mut response = http::Response::new(body);
            *response.status_mut() = http::StatusCode::from_u16(status).expect("a status code");
            for (name, value) in headers {
                let name = http::HeaderName::try_from(name).expect("a header name");
                let value = http::HeaderValue::try_from(value).expect("a header value");
                response.headers_mut().insert(name, value);
            }
            Ok(response)
        }
        Step::Fail(kind) => Err(TransportError::new(kind, "scripted failure")),
    }
}

fn write_body(target: &DownloadTarget, from: u64, body: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&target.path)?;
    file.set_len(from)?;
    file.seek(SeekFrom::Start(from))?;
    file.write_all(body)
}

#[async_trait::async_trait]
impl Transport for ScriptedTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        response(self.0.next(&request, None))
    }

    async fn download(
        &self,
        request: Request,
        target: DownloadTarget,
    ) -> Result<DownloadHead, TransportError> {
        let (parts, body) = response(self.0.next(&request, Some(&target)))?.into_parts();
        if !parts.status.is_success() {
            return Ok(DownloadHead {
                status: parts.status,
                headers: parts.headers,
                written: 0,
                error_body: body,
            });
        }
        let from = if parts.status == http::StatusCode::PARTIAL_CONTENT {
            target.offset
        } else {
            0
        };
        write_body(&target, from, &body)
            .map_err(|e| TransportError::new(TransportErrorKind::BodyWrite, e.to_string()))?;
        Ok(DownloadHead {
            status: parts.status,
            headers: parts.headers,
            written: body.len() as u64,
            error_body: Bytes::new(),
        })
    }
}

/// A [`Core`] over a [`ScriptedTransport`] and a [`VirtualClock`], with both at hand.
#[derive(Clone, Debug)]
pub struct Harness {
    /// The engine under test.
    pub core: Core,
    /// The script its transport answers from.
    pub script: Arc<Script>,
    /// Its runtime's clock.
    pub clock: Arc<VirtualClock>,
}

impl Harness {
    /// A core with `config`, answering requests from `steps`, in order.
    pub fn new(config: Config, steps: impl IntoIterator<Item = Step>) -> Self {
        Self::over(config, Script::new(steps))
    }

    /// A core with `config`, answering each request with `responder`.
    pub fn answering(
        config: Config,
        responder: impl Fn(&Seen) -> Step + Send + Sync + 'static,
    ) -> Self {
        Self::over(config, Script::answering(responder))
    }

    /// A core with `config` over `script`.
    pub fn over(config: Config, script: Arc<Script>) -> Self {
        let clock = Arc::new(VirtualClock::new());
        let core = Core::new(
            config,
            Arc::new(ScriptedTransport(script.clone())),
            clock.clone(),
        );
        Harness {
            core,
            script,
            clock,
        }
    }

    /// Every request seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.script.seen()
    }

    /// Every sleep asked of the runtime so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.clock.slept()
    }

    /// How many steps are left unserved (always 0 for a responder).
    pub fn left(&self) -> usize {
        self.script.left()
    }

    /// Runs a future of the core to completion on the calling thread.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        futures_executor::block_on(future)
    }
}
