//! `UreqTransport` and `ThreadRuntime` against a real HTTP server on 127.0.0.1.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use vi_blocking::runtime::{ThreadRuntime, block_on};
use vi_blocking::transport::{HttpOptions, UreqTransport};
use vi_core::transport::{
    BlockingTransport, Body, DownloadTarget, FileSlice, Request, Runtime, TransportErrorKind,
};

/// A compact test server: an axum app on its own thread and runtime, plus a raw TCP server
/// for truncated bodies.
mod server {
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

    /// Deterministic content: byte `i` of every generated body.
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
        let start = headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes="))
            .and_then(|v| v.strip_suffix('-'))
            .and_then(|v| v.parse::<usize>().ok());
        match start {
            Some(start) => {
                (StatusCode::PARTIAL_CONTENT, data[start.min(len)..].to_vec()).into_response()
            }
            None => data.into_response(),
        }
    }

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(3)).await;
        "late"
    }

    /// The base URL of the shared axum server, started on first use.
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
                .route(
                    "/redirect",
                    any(|| async { (StatusCode::FOUND, [(header::LOCATION, "/echo")]) }),
                )
                .route("/slow", any(slow))
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

    /// A one-shot server whose response promises 100 000 bytes and sends 1000.
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

    /// A URL on a port where nothing listens.
    pub fn closed() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        format!("http://{addr}")
    }
}

fn transport() -> UreqTransport {
    UreqTransport::new(&HttpOptions::default()).expect("transport")
}

fn request(method: Method, url: &str, body: Body) -> Request {
    http::Request::builder()
        .method(method)
        .uri(url)
        .body(body)
        .expect("request")
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("json")
}

fn temp_file(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.bin");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(content))
        .expect("write");
    (dir, path)
}

#[test]
fn get_and_post_json() {
    let t = transport();
    let url = format!("{}/echo", server::base());
    let got = t
        .send(request(Method::GET, &url, Body::Empty))
        .expect("get");
    assert_eq!(got.status(), StatusCode::OK);
    let echo = json(got.body());
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["len"], 0);
    assert!(echo["headers"].get("content-length").is_none());
    assert!(
        echo["headers"]["user-agent"]
            .as_str()
            .unwrap()
            .starts_with("vi-rs/")
    );

    let doc = Bytes::from_static(br#"{"name":"dataset"}"#);
    let mut post = request(Method::POST, &url, Body::Bytes(doc.clone()));
    post.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    let echo = json(t.send(post).expect("post").body());
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["len"], doc.len());
    assert_eq!(echo["crc"], crc32c::crc32c(&doc));
    assert_eq!(echo["headers"]["content-type"], "application/json");

    let echo = json(
        t.send(request(Method::POST, &url, Body::Empty))
            .expect("post")
            .body(),
    );
    assert_eq!(echo["headers"]["content-length"], "0");
}

#[test]
fn put_file_slice_is_length_delimited_and_replayable() {
    let content = server::pattern(1_500_000);
    let (_dir, path) = temp_file(&content);
    let (offset, len) = (1234u64, 1_000_000u64);
    let body = Body::File(FileSlice { path, offset, len });
    let t = transport();
    let url = format!("{}/echo?signature=SECRET", server::base());
    for _ in 0..2 {
        let echo = json(
            t.send(request(Method::PUT, &url, body.clone()))
                .expect("put")
                .body(),
        );
        assert_eq!(echo["len"], len);
        let slice = &content[offset as usize..(offset + len) as usize];
        assert_eq!(echo["crc"], crc32c::crc32c(slice));
        assert_eq!(echo["headers"]["content-length"], len.to_string());
        assert!(echo["headers"].get("transfer-encoding").is_none());
    }
}

#[test]
fn missing_file_is_body_read() {
    let path = PathBuf::from("/nonexistent/vi-test/missing.bin");
    let body = Body::File(FileSlice {
        path,
        offset: 0,
        len: 10,
    });
    let url = format!("{}/echo", server::base());
    let err = transport()
        .send(request(Method::PUT, &url, body))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyRead);
    assert!(err.message.contains("missing.bin"), "{err}");
}

#[test]
fn shrunken_file_is_body_read() {
    let (_dir, path) = temp_file(&server::pattern(1000));
    let body = Body::File(FileSlice {
        path,
        offset: 0,
        len: 5000,
    });
    let url = format!("{}/echo", server::base());
    let err = transport()
        .send(request(Method::PUT, &url, body))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyRead, "{err}");
}

#[test]
fn connection_refused_is_connect_without_secret() {
    let url = format!("{}/x?signature=SECRET", server::closed());
    let err = transport()
        .send(request(Method::GET, &url, Body::Empty))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!format!("{err} {err:?}").contains("SECRET"));
}

#[test]
fn tls_handshake_failure_is_connect() {
    // TLS against a plain-HTTP port: exercises the ring provider and platform verifier
    // setup (no process-wide default provider is installed) and the error mapping.
    let url = format!(
        "{}/echo?signature=SECRET",
        server::base().replace("http://", "https://")
    );
    let err = transport()
        .send(request(Method::GET, &url, Body::Empty))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!format!("{err} {err:?}").contains("SECRET"));
}

#[test]
fn error_status_is_ok_with_body() {
    let url = format!("{}/status/404", server::base());
    let got = transport()
        .send(request(Method::GET, &url, Body::Empty))
        .expect("send");
    assert_eq!(got.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(got.body())["code"], "Status404");
}

#[test]
fn redirects_are_not_followed() {
    let url = format!("{}/redirect", server::base());
    let got = transport()
        .send(request(Method::GET, &url, Body::Empty))
        .expect("send");
    assert_eq!(got.status(), StatusCode::FOUND);
    assert_eq!(got.headers()["location"], "/echo");
}

#[test]
fn slow_response_times_out_without_secret() {
    let options = HttpOptions {
        read_timeout: Duration::from_millis(300),
        ..HttpOptions::default()
    };
    let t = UreqTransport::new(&options).expect("transport");
    let url = format!("{}/slow?signature=SECRET", server::base());
    let started = Instant::now();
    let err = t.send(request(Method::GET, &url, Body::Empty)).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!format!("{err} {err:?}").contains("SECRET"));
}

#[test]
fn truncated_body_is_interrupted() {
    let url = format!("{}/x?signature=SECRET", server::truncated());
    let err = transport()
        .send(request(Method::GET, &url, Body::Empty))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
    assert!(!format!("{err} {err:?}").contains("SECRET"));
}

#[test]
fn download_writes_exact_bytes_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.bin");
    let t = transport();
    let url = format!("{}/bytes/300000?signature=SECRET", server::base());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 0,
    };
    let head = t
        .download(request(Method::GET, &url, Body::Empty), target)
        .expect("download");
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.written, 300_000);
    assert_eq!(std::fs::read(&path).unwrap(), server::pattern(300_000));

    // A partial file (plus stale bytes past the offset) resumed with a Range request.
    let mut partial = server::pattern(100_000);
    partial.extend_from_slice(b"stale");
    std::fs::write(&path, &partial).unwrap();
    let mut resume = request(Method::GET, &url, Body::Empty);
    resume
        .headers_mut()
        .insert("range", "bytes=100000-".parse().unwrap());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 100_000,
    };
    let head = t.download(resume, target).expect("resume");
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.written, 200_000);
    assert_eq!(std::fs::read(&path).unwrap(), server::pattern(300_000));
}

#[test]
fn resume_past_end_of_partial_file_is_body_write() {
    let (_dir, path) = temp_file(&server::pattern(10));
    let url = format!("{}/bytes/100", server::base());
    let target = DownloadTarget { path, offset: 50 };
    let err = transport()
        .download(request(Method::GET, &url, Body::Empty), target)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyWrite, "{err}");
}

#[test]
fn truncated_download_is_interrupted_and_keeps_partial_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.bin");
    let url = format!("{}/x?signature=SECRET", server::truncated());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 0,
    };
    let err = transport()
        .download(request(Method::GET, &url, Body::Empty), target)
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
    assert!(!format!("{err} {err:?}").contains("SECRET"));
    let kept = std::fs::read(&path).unwrap();
    assert!(kept.len() <= 1000 && kept.len() < 100_000);
    assert_eq!(kept, server::pattern(kept.len()));
}

#[test]
fn error_status_download_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.bin");
    let url = format!("{}/status/403", server::base());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 0,
    };
    let head = transport()
        .download(request(Method::GET, &url, Body::Empty), target)
        .expect("download");
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    assert_eq!(head.written, 0);
    assert_eq!(json(&head.error_body)["code"], "Status403");
    assert!(!path.exists());
}

#[test]
fn thread_runtime_spawns_sleeps_and_blocks() {
    let rt = ThreadRuntime;
    let (tx, rx) = mpsc::channel();
    let sleeper = rt;
    rt.spawn(Box::pin(async move {
        let started = Instant::now();
        sleeper.sleep(Duration::from_millis(100)).await;
        let name = std::thread::current().name().map(str::to_owned);
        let _ = tx.send((started.elapsed(), name));
    }));
    let (slept, name) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("spawned future ran");
    assert!(slept >= Duration::from_millis(100) && slept < Duration::from_secs(2));
    assert_eq!(name.as_deref(), Some("vi-worker"));

    let (tx, rx) = mpsc::channel();
    rt.spawn_blocking(Box::new(move || {
        let _ = tx.send(std::thread::current().id());
    }));
    let id = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("blocking work ran");
    assert_ne!(id, std::thread::current().id());

    let value = block_on(async { vi_core::transport::run_blocking(&rt, || 6 * 7).await });
    assert_eq!(value.expect("ran"), 42);
}
