//! The HTTP server: its own accept loop over hyper (so that a fault can close a
//! connection without any response), one handler per request that applies latency,
//! bandwidth and faults and dispatches to the API or storage side, and the debounced
//! state flusher.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hyper::body::Incoming;
use tokio::sync::watch;

use crate::app::App;
use crate::chaos::RandomFault;
use crate::error::ApiError;
use crate::fault::{FaultKind, RequestClass};
use crate::record::Record;

fn classify(path: &str) -> RequestClass {
    if path.starts_with("/_storage/upload/") || path.starts_with("/_storage/part/") {
        RequestClass::Upload
    } else if path.starts_with("/_storage/download/") {
        RequestClass::Download
    } else {
        RequestClass::Api
    }
}

/// The emulator's own endpoints (never shaped, faulted or counted).
const STATS_PATH: &str = "/_emulator/stats";

/// What happens to a response after the request was handled.
#[derive(Debug, Clone, Copy)]
enum Tail {
    /// Send the first bytes, then drop the connection.
    Cut(u64),
    /// Send the first bytes, wait, then drop the connection.
    Stall(u64, Duration),
}

/// A request whose connection must be closed without a (complete) response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected fault: connection closed")
    }
}

impl std::error::Error for Dropped {}

/// Handles one request.
async fn serve(app: Arc<App>, request: Request<Incoming>) -> Result<Response, Dropped> {
    let (parts, body) = request.into_parts();
    let body = Body::new(body);
    let path = parts.uri.path().to_owned();
    if path == STATS_PATH {
        crate::storage::drain(body).await;
        let stats = app.counters.snapshot();
        let json = serde_json::to_string(&stats).unwrap_or_default();
        return Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response());
    }
    let class = classify(&path);
    app.counters.count(class);
    let _in_flight = (class != RequestClass::Api).then(|| app.counters.storage_request());
    if !app.config.latency.is_zero() {
        tokio::time::sleep(app.config.latency).await;
    }
    let rate = app.config.bandwidth.filter(|_| class != RequestClass::Api);
    let body = match rate {
        Some(rate) => crate::shaping::paced(body, rate),
        None => body,
    };
    let mut rec = Record::start(&parts);
    let mut truncate = None;
    let mut slow = None;
    let mut corrupt = false;
    let mut misplace = false;
    let mut tail = None;
    let mut bare = false;
    match app.take_fault(class, parts.method.as_str(), &path) {
        Some(kind) => {
            app.counters.injected();
            match kind {
                FaultKind::Status {
                    status,
                    retry_after,
                } => {
                    return Ok(fault_status(&app, rec, body, status, retry_after).await);
                }
                FaultKind::Delay(d) => tokio::time::sleep(d).await,
                FaultKind::TruncateBody { after_bytes } => truncate = Some(after_bytes),
                FaultKind::CorruptUploadCheck => corrupt = true,
                FaultKind::SlowBody { chunk, pause } => slow = Some((chunk.max(1), pause)),
                FaultKind::MisplacedRange => misplace = true,
                FaultKind::BareReply => bare = true,
                FaultKind::SwapUploadName => {
                    app.swapped_names
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
        None => match app.chaos.draw() {
            None => {}
            Some(fault) => {
                app.counters.random();
                match fault {
                    RandomFault::Status(status) => {
                        return Ok(fault_status(&app, rec, body, status, None).await);
                    }
                    RandomFault::TooManyRequests => {
                        return Ok(fault_status(&app, rec, body, 429, Some(1)).await);
                    }
                    RandomFault::Reset => {
                        crate::storage::drain(body).await;
                        rec.route = "fault".into();
                        rec.write(&app, 0);
                        return Err(Dropped);
                    }
                    RandomFault::Truncate => tail = Some(Tail::Cut(0)),
                    RandomFault::Stall => tail = Some(Tail::Stall(0, app.config.fault_stall)),
                }
            }
        },
    }
    let response = match class {
        RequestClass::Api if bare => {
            let done = crate::api::handle(&app, &parts, body, &mut rec).await;
            if done.status().is_success() {
                crate::api::bare_reply(done.status())
            } else {
                done
            }
        }
        RequestClass::Api => crate::api::handle(&app, &parts, body, &mut rec).await,
        _ => {
            crate::storage::handle(
                &app,
                &parts,
                body,
                corrupt,
                (truncate, slow, misplace),
                &mut rec,
            )
            .await
        }
    };
    rec.write(&app, response.status().as_u16());
    if let (RequestClass::Api, Some(cut)) = (class, truncate) {
        tail = Some(Tail::Cut(cut));
    } else if let Some(random) = tail {
        // Random truncations and stalls keep half of the body.
        let half = body_len(&response).unwrap_or(0) / 2;
        tail = Some(match random {
            Tail::Cut(_) => Tail::Cut(half),
            Tail::Stall(_, pause) => Tail::Stall(half, pause),
        });
    }
    let response = match tail {
        None => response,
        Some(tail) => match body_len(&response) {
            // An empty body cannot be cut: the response is lost instead (the request
            // took effect, the client never hears of it).
            Some(0) | None => {
                if let Tail::Stall(_, pause) = tail {
                    tokio::time::sleep(pause).await;
                }
                return Err(Dropped);
            }
            Some(full) => cut_body(response, full, tail),
        },
    };
    Ok(match rate {
        Some(rate) => response.map(|b| crate::shaping::paced(b, rate)),
        None => response,
    })
}

/// Answers with an error status instead of handling the request.
async fn fault_status(
    app: &App,
    mut rec: Record,
    body: Body,
    status: u16,
    retry_after: Option<u32>,
) -> Response {
    crate::storage::drain(body).await;
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut err = ApiError::new(code, format!("injected fault: HTTP {status}"));
    err.retry_after = retry_after;
    let response = err.into_response();
    rec.route = "fault".into();
    rec.write(app, response.status().as_u16());
    response
}

/// Length of a response body: its `Content-Length`, else an exact size hint.
fn body_len(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok())
        .or_else(|| axum::body::HttpBody::size_hint(response.body()).exact())
}

/// Announces the full `Content-Length` but sends only the first bytes of the body,
/// then (after a pause for a stall) drops the connection.
fn cut_body(response: Response, full: u64, tail: Tail) -> Response {
    let (keep, pause) = match tail {
        // Let the bytes sent so far reach the client before the connection drops.
        Tail::Cut(keep) => (keep, Duration::from_millis(50)),
        Tail::Stall(keep, pause) => (keep, pause),
    };
    if keep >= full {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let head = body
        .into_data_stream()
        .scan(keep, |left, chunk| {
            let item = if *left == 0 {
                None
            } else {
                Some(chunk.map(|mut bytes| {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *left -= take as u64;
                    bytes.truncate(take);
                    bytes
                }))
            };
            futures_util::future::ready(item)
        })
        .map(|r| r.map_err(std::io::Error::other));
    let end = futures_util::stream::once(async move {
        tokio::time::sleep(pause).await;
        Err(std::io::Error::other("injected fault: body cut short"))
    });
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    Response::from_parts(parts, Body::from_stream(head.chain(end)))
}

/// Serves one connection until it closes or the server stops.
async fn connection(app: Arc<App>, stream: tokio::net::TcpStream, mut stop: watch::Receiver<bool>) {
    let header_timeout = app.config.header_timeout;
    let service = hyper::service::service_fn(move |request| serve(Arc::clone(&app), request));
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = async { let _ = stop.wait_for(|stop| *stop).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Serves until `shutdown` turns true; lingering connections get a short grace period.
pub(crate) async fn run(
    app: Arc<App>,
    listener: std::net::TcpListener,
    shutdown: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot use the listener: {e}");
            return;
        }
    };
    let mut connections = tokio::task::JoinSet::new();
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    app.counters.connection();
                    // Without TCP_NODELAY a response written as headers then body waits
                    // ~40 ms for the client's delayed ACK on a reused connection (Nagle).
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::warn!("cannot set TCP_NODELAY: {e}");
                    }
                    connections.spawn(connection(Arc::clone(&app), stream, shutdown.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = async { let _ = stop.wait_for(|stop| *stop).await; } => break,
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(2), drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}
