//! A small HTTP server for transport tests, on 127.0.0.1.
//!
//! [`base`] is a shared [axum] app on its own thread and its own single-threaded tokio
//! runtime, so it serves blocking and async clients alike and never shares a runtime with
//! the code under test. Its routes:
//!
//! * `/echo` (any method): a JSON object with the request's `method`, body `len`, body
//!   `crc` (CRC32C) and `headers` (lower-case names).
//! * `/status/{code}` (any method): that status with a JSON error body
//!   `{"code":"Status{code}","message":…}`.
//! * `GET /bytes/{len}`: [`pattern`]`(len)`, or `206 Partial Content` from the start of a
//!   `Range: bytes=N-` header (with its `Content-Range`), `416` past the end.
//! * `GET /skewed/{len}`: the same bytes, but a range request is answered from one byte
//!   further than asked (its `Content-Range` says so).
//! * `/redirect` (any method): `302 Found` to `/echo`.
//! * `/slow` (any method): answers `late` after 3 seconds.
//! * `GET /gzip/{len}`: `len` zero bytes, gzip-encoded (`Content-Encoding: gzip`): a
//!   small body on the wire that decodes to a large one.
//!
//! [`truncated`] is a one-shot raw-TCP server that cuts its body short, and [`closed`] a
//! URL where nothing listens.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

/// Deterministic content: byte `i` of every generated body is `i % 251`.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn echo(method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
        .collect();
    let json = serde_json::json!({
        "method": method.as_str(), "len": body.len(),
        "crc": crc32c::crc32c(&body), "headers": headers,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
        .into_response()
}

async fn status(Path(code): Path<u16>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
    let body = format!(r#"{{"code":"Status{code}","message":"status {code} on purpose"}}"#);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn bytes(Path(len): Path<usize>, headers: HeaderMap) -> Response {
    let data = pattern(len);
    let start = requested_start(&headers);
    match start {
        Some(start) if start < len => partial(&data, start, start),
        Some(_) => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
        )
            .into_response(),
        None => data.into_response(),
    }
}

/// The `N` of a `Range: bytes=N-` header.
fn requested_start(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<usize>().ok())
}

/// `206 Partial Content` with `data` from `start` on, its `Content-Range` claiming the
/// bytes start at `claimed`.
fn partial(data: &[u8], start: usize, claimed: usize) -> Response {
    let range = format!(
        "bytes {claimed}-{}/{}",
        claimed + (data.len() - start) - 1,
        data.len().max(claimed + (data.len() - start))
    );
    (
        StatusCode::PARTIAL_CONTENT,
        [(header::CONTENT_RANGE, range)],
        data[start..].to_vec(),
    )
        .into_response()
}

/// Like [`bytes`], but a range request is answered from one byte further than asked,
/// and says so in its `Content-Range`: a server whose partial answer does not fit.
async fn skewed(Path(len): Path<usize>, headers: HeaderMap) -> Response {
    let data = pattern(len);
    let start = requested_start(&headers);
    match start {
        Some(start) if start + 1 < len => partial(&data, start + 1, start + 1),
        _ => data.into_response(),
    }
}

async fn gzip(Path(len): Path<usize>) -> Response {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len());
        encoder.write_all(&zeros[..n]).expect("in memory");
        left -= n;
    }
    let body = encoder.finish().expect("in memory");
    ([(header::CONTENT_ENCODING, "gzip")], body).into_response()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(3)).await;
    "late"
}

/// The base URL (`http://127.0.0.1:port`) of the shared axum server, started on first use
/// and kept for the life of the test process.
pub fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new()
            .route("/echo", any(echo))
            .route("/status/{code}", any(status))
            .route("/bytes/{len}", get(bytes))
            .route("/skewed/{len}", get(skewed))
            .route(
                "/redirect",
                any(|| async { (StatusCode::FOUND, [(header::LOCATION, "/echo")]) }),
            )
            .route("/slow", any(slow))
            .route("/gzip/{len}", get(gzip))
            .layer(DefaultBodyLimit::disable());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        format!("http://{addr}")
    })
}

/// A one-shot raw-TCP server whose response promises 100 000 bytes and sends the first 1000
/// of [`pattern`], then closes. Returns its base URL.
pub fn truncated() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            let _ = stream.write_all(&pattern(1000));
            let _ = stream.flush();
        }
    });
    format!("http://{addr}")
}

/// A raw-TCP server that reads each request body like a slow uplink: 128 KiB every 16 ms
/// (about 8 MiB/s) through a small receive buffer, so the client's body is always moving
/// and never idle for long, then answers `200` with the body's length. Returns its base
/// URL.
pub fn slow_sink() -> String {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(16 * 1024).expect("buffer");
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    socket.bind(&addr.into()).expect("bind");
    socket.listen(8).expect("listen");
    let listener: TcpListener = socket.into();
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let length: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut left = length;
                let mut chunk = vec![0u8; 128 * 1024];
                while left > 0 {
                    // One tick's worth (up to 128 KiB, in as many reads as the small
                    // buffer needs), then a pause.
                    let mut tick = left.min(chunk.len());
                    while tick > 0 {
                        match stream.read(&mut chunk[..tick]) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                tick -= n;
                                left -= n;
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(16));
                }
                let body = length.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    format!("http://{addr}")
}

/// A base URL on a port where nothing listens.
pub fn closed() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}
