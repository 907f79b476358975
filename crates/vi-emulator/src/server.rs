//! The HTTP server: one fallback handler that applies faults, dispatches to the API or
//! storage side and records requests; plus the debounced state flusher.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::app::App;
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

async fn dispatch(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let class = classify(&path);
    let mut rec = Record::start(&parts);
    let mut truncate = None;
    let mut slow = None;
    let mut corrupt = false;
    match app.take_fault(class, parts.method.as_str(), &path) {
        Some(FaultKind::Status {
            status,
            retry_after,
        }) => {
            crate::storage::drain(body).await;
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut err = ApiError::new(code, format!("injected fault: HTTP {status}"));
            err.retry_after = retry_after;
            let response = err.into_response();
            rec.route = "fault".into();
            rec.write(&app, response.status().as_u16());
            return response;
        }
        Some(FaultKind::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::TruncateBody { after_bytes }) => truncate = Some(after_bytes),
        Some(FaultKind::CorruptUploadCheck) => corrupt = true,
        Some(FaultKind::SlowBody { chunk, pause }) => slow = Some((chunk.max(1), pause)),
        None => {}
    }
    let response = match class {
        RequestClass::Api => crate::api::handle(&app, &parts, body, &mut rec).await,
        _ => crate::storage::handle(&app, &parts, body, corrupt, (truncate, slow), &mut rec).await,
    };
    let response = match (class, truncate) {
        (RequestClass::Api, Some(cut)) => truncate_buffered(response, cut).await,
        _ => response,
    };
    rec.write(&app, response.status().as_u16());
    response
}

/// Re-sends a (small, buffered) API response with its full `Content-Length` but only
/// the first `cut` bytes, then drops the connection.
async fn truncate_buffered(response: Response, cut: u64) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let full = bytes.len() as u64;
    if cut >= full {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let head = bytes.slice(..usize::try_from(cut).unwrap_or(0));
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
        futures_util::stream::once(async {
            // Let the bytes sent so far reach the client before the connection drops.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Err(std::io::Error::other("injected fault: body truncated"))
        }),
    );
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Writes the state shortly after each change (debounced).
async fn flusher(app: Arc<App>) {
    loop {
        app.dirty.notified().await;
        tokio::time::sleep(Duration::from_millis(25)).await;
        let app2 = Arc::clone(&app);
        let result = tokio::task::spawn_blocking(move || app2.flush()).await;
        if let Ok(Err(e)) = result {
            tracing::error!("cannot persist the emulator state: {e}");
        }
    }
}

/// Serves until `shutdown` turns true; lingering connections get a short grace period.
pub(crate) async fn run(
    app: Arc<App>,
    listener: std::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot use the listener: {e}");
            return;
        }
    };
    let flush_task = tokio::spawn(flusher(Arc::clone(&app)));
    let router = Router::new()
        .fallback(dispatch)
        .with_state(Arc::clone(&app));
    let mut graceful_rx = shutdown.clone();
    // Without TCP_NODELAY a response written as headers then body waits ~40 ms for the
    // client's delayed ACK on a reused connection (Nagle), which throttles every client.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {e}");
        }
    });
    let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = graceful_rx.wait_for(|stop| *stop).await;
    });
    let deadline = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    tokio::select! {
        result = serve => {
            if let Err(e) = result {
                tracing::error!("server error: {e}");
            }
        }
        () = deadline => {}
    }
    flush_task.abort();
    let app2 = Arc::clone(&app);
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || app2.flush()).await {
        tracing::error!("cannot persist the emulator state: {e}");
    }
}
