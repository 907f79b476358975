//! The transport scenarios: each facade's HTTP transport and runtime, seen through the
//! seams core uses (`Arc<dyn Transport>`, `Arc<dyn Runtime>`; the blocking transport
//! through `vi_core::transport::Blocking`), against [`crate::http_server`]: JSON and file
//! bodies, error mapping, timeouts, truncation, downloads and resumes, and the runtime
//! inside and outside tokio.
//!
//! Each scenario is a plain function over a [`TransportStack`], run by both facades (see
//! [`crate::transport_tests!`]).

use std::fmt::{Debug, Display};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use vi_core::config::HttpOptions;
use vi_core::runtime::{Runtime, run_blocking};
use vi_core::transport::{Body, DownloadTarget, FileSlice, Meter, Request, TransportErrorKind};

use crate::http_server as server;
use crate::stack::TransportStack;

/// A GET of `url` with no headers and no body.
pub fn get(url: &str) -> Request {
    request(Method::GET, url, Body::Empty)
}

/// A request with `method`, `url` and `body` and no headers.
pub fn request(method: Method, url: &str, body: Body) -> Request {
    http::Request::builder()
        .method(method)
        .uri(url)
        .body(body)
        .expect("request")
}

/// Parses a JSON response body.
pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("json")
}

/// The CRC32C of `bytes`, as the echo route reports it.
pub fn crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// A fresh temporary directory.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// A file holding `content` inside a fresh temporary directory (kept while the directory
/// lives).
pub fn temp_file(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = temp_dir();
    let path = dir.path().join("data.bin");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(content))
        .expect("write");
    (dir, path)
}

/// Asserts that neither the message nor the debug form of `err` shows the `SECRET` query
/// value the tests put in signed URLs.
pub fn assert_hides_secret<E: Display + Debug>(err: &E) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

/// Checks `rt` from inside a multi-threaded tokio runtime: a spawned future runs and sleeps
/// for real, and blocking work returns its result.
pub fn check_runtime_inside_tokio(rt: Arc<dyn Runtime>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawned = rt.clone();
            rt.spawn(Box::pin(async move {
                let started = Instant::now();
                spawned.sleep(Duration::from_millis(100)).await;
                let _ = tx.send(started.elapsed());
            }));
            let slept = rx.await.expect("spawned future ran");
            // The sleep really waits (a lower bound is correctness, not speed).
            assert!(slept >= Duration::from_millis(100), "{slept:?}");

            let value = run_blocking(&*rt, || 6 * 7).await;
            assert_eq!(value.expect("ran"), 42);
        });
}

/// Where a runtime runs blocking work outside tokio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockingWork {
    /// On a thread of its own, named `vi-blocking` (vi-async's runtime without tokio).
    OwnThread,
    /// On the asking thread, which owns its task (vi-blocking's worker threads).
    Inline,
}

/// Checks `rt` outside any tokio runtime: a spawned future runs and sleeps on a `vi-worker`
/// thread, blocking work runs where `blocking` says, and returns its result.
pub fn check_runtime_outside_tokio(rt: Arc<dyn Runtime>, blocking: BlockingWork) {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let (tx, rx) = mpsc::channel();
    let spawned = rt.clone();
    rt.spawn(Box::pin(async move {
        let started = Instant::now();
        spawned.sleep(Duration::from_millis(100)).await;
        let name = std::thread::current().name().map(str::to_owned);
        let _ = tx.send((started.elapsed(), name));
    }));
    let (slept, name) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("spawned future ran");
    assert!(slept >= Duration::from_millis(100), "{slept:?}");
    assert_eq!(name.as_deref(), Some("vi-worker"));

    let (tx, rx) = mpsc::channel();
    rt.spawn_blocking(Box::new(move || {
        let current = std::thread::current();
        let _ = tx.send((current.id(), current.name().map(str::to_owned)));
    }));
    let (id, name) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("blocking work ran");
    match blocking {
        BlockingWork::OwnThread => {
            assert_ne!(id, std::thread::current().id());
            assert_eq!(name.as_deref(), Some("vi-blocking"));
        }
        BlockingWork::Inline => assert_eq!(id, std::thread::current().id()),
    }

    let value = futures_executor::block_on(run_blocking(&*rt, || 6 * 7));
    assert_eq!(value.expect("ran"), 42);
}

/// GET and POST with JSON bodies: method, length, CRC, `User-Agent`, `Content-Type`, and
/// `Content-Length: 0` for an empty POST.
pub fn get_and_post_json(stack: &TransportStack) {
    let t = stack.transport();
    let url = format!("{}/echo", server::base());
    let got = stack.wait(t.send(get(&url))).expect("get");
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

    let doc: &'static [u8] = br#"{"name":"dataset"}"#;
    let mut post = request(Method::POST, &url, Body::Bytes(doc.into()));
    post.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    let echo = json(stack.wait(t.send(post)).expect("post").body());
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["len"], doc.len());
    assert_eq!(echo["crc"], crc(doc));
    assert_eq!(echo["headers"]["content-type"], "application/json");

    let empty = request(Method::POST, &url, Body::Empty);
    let echo = json(stack.wait(t.send(empty)).expect("post").body());
    assert_eq!(echo["headers"]["content-length"], "0");
}

/// A file slice is sent with an exact `Content-Length` (no chunking), twice from one body.
pub fn put_file_slice_is_length_delimited_and_replayable(stack: &TransportStack) {
    let content = server::pattern(1_500_000);
    let (_dir, path) = temp_file(&content);
    let (offset, len) = (1234u64, 1_000_000u64);
    let meter = Meter::new();
    let mut slice = FileSlice::new(path, offset, len);
    slice.meter = Some(meter.clone());
    let body = Body::File(slice);
    let t = stack.transport();
    let url = format!("{}/echo?signature=SECRET", server::base());
    for _ in 0..2 {
        let put = request(Method::PUT, &url, body.clone());
        let echo = json(stack.wait(t.send(put)).expect("put").body());
        assert_eq!(echo["len"], len);
        let slice = &content[offset as usize..(offset + len) as usize];
        assert_eq!(echo["crc"], crc(slice));
        assert_eq!(echo["headers"]["content-length"], len.to_string());
        assert!(echo["headers"].get("transfer-encoding").is_none());
    }
    // Every byte sent is counted, once per attempt.
    assert_eq!(meter.total(), 2 * len);
}

/// A file body that does not exist is a `BodyRead` error naming the file.
pub fn missing_file_is_body_read(stack: &TransportStack) {
    let body = Body::File(FileSlice::new("/nonexistent/vi-test/missing.bin", 0, 10));
    let url = format!("{}/echo", server::base());
    let err = stack
        .wait(stack.transport().send(request(Method::PUT, &url, body)))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyRead);
    assert!(err.message.contains("missing.bin"), "{err}");
}

/// A file shorter than its declared slice is a `BodyRead` error.
pub fn shrunken_file_is_body_read(stack: &TransportStack) {
    let (_dir, path) = temp_file(&server::pattern(1000));
    let body = Body::File(FileSlice::new(path, 0, 5000));
    let url = format!("{}/echo", server::base());
    let err = stack
        .wait(stack.transport().send(request(Method::PUT, &url, body)))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyRead, "{err}");
}

/// A refused connection is a `Connect` error that hides the signed query.
pub fn connection_refused_is_connect_without_secret(stack: &TransportStack) {
    let url = format!("{}/x?signature=SECRET", server::closed());
    let err = stack.wait(stack.transport().send(get(&url))).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert_hides_secret(&err);
}

/// A refused connection keeps its cause: the chain under the transport error reaches the
/// operating system's `ConnectionRefused`, and no link of it prints the signed query.
pub fn a_refused_connection_keeps_its_cause(stack: &TransportStack) {
    let url = format!("{}/x?signature=SECRET", server::closed());
    let err = stack.wait(stack.transport().send(get(&url))).unwrap_err();
    let mut cause = std::error::Error::source(&err);
    assert!(cause.is_some(), "{err} has no source");
    let mut refused = false;
    while let Some(e) = cause {
        assert!(
            !e.to_string().contains("SECRET"),
            "a cause prints the query: {e}"
        );
        refused |= e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        cause = e.source();
    }
    assert!(refused, "no ConnectionRefused under {err}");
}

/// TLS against a plain-HTTP port is a `Connect` error (no process-wide crypto provider
/// needed).
pub fn tls_handshake_failure_is_connect(stack: &TransportStack) {
    // TLS against a plain-HTTP port: exercises the TLS setup (no process-wide
    // default provider is installed) and the error mapping.

    let url = format!(
        "{}/echo?signature=SECRET",
        server::base().replace("http://", "https://")
    );
    let err = stack.wait(stack.transport().send(get(&url))).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert_hides_secret(&err);
}

/// An error status is an `Ok` response with its body.
pub fn error_status_is_ok_with_body(stack: &TransportStack) {
    let url = format!("{}/status/404", server::base());
    let got = stack.wait(stack.transport().send(get(&url))).expect("send");
    assert_eq!(got.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(got.body())["code"], "Status404");
}

/// A 302 is returned as is, not followed.
pub fn redirects_are_not_followed(stack: &TransportStack) {
    let url = format!("{}/redirect", server::base());
    let got = stack.wait(stack.transport().send(get(&url))).expect("send");
    assert_eq!(got.status(), StatusCode::FOUND);
    assert_eq!(got.headers()["location"], "/echo");
}

/// A response slower than the read timeout is a `Timeout` error that hides the signed query.
pub fn slow_response_times_out_without_secret(stack: &TransportStack) {
    let options = HttpOptions::default().read_timeout(Duration::from_millis(300));
    let t = stack.transport_with(&options);
    let url = format!("{}/slow?signature=SECRET", server::base());
    // The server answers after 3 s: a Timeout error means the 300 ms limit acted.
    let err = stack.wait(t.send(get(&url))).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert_hides_secret(&err);
}

/// Timeouts measure progress, not totals: a PUT whose body takes about three times the read
/// timeout to go through a slow uplink succeeds, since bytes keep moving (the idle-response
/// case is `slow_response_times_out_without_secret`).
pub fn a_body_slower_than_the_read_timeout_still_goes_through(stack: &TransportStack) {
    let options = HttpOptions::default().read_timeout(Duration::from_secs(2));
    let t = stack.transport_with(&options);
    // About 6 s at the sink's 8 MiB/s: three times the read timeout. The client's socket
    // buffers (up to 4 MiB) drain in about half a second once the last byte is written.
    let body = server::pattern(48 << 20);
    let (_dir, path) = temp_file(&body);
    let url = format!("{}/upload?signature=SECRET", server::slow_sink());
    let slice = FileSlice::new(path, 0, body.len() as u64);
    let started = Instant::now();
    let response = stack
        .wait(t.send(request(Method::PUT, &url, Body::File(slice))))
        .expect("a slow but moving upload is not a timeout");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), body.len().to_string().as_bytes());
    assert!(
        started.elapsed() > Duration::from_secs(4),
        "the sink was slow enough to matter: {:?}",
        started.elapsed()
    );
}

/// A body cut short is an `Interrupted` error that hides the signed query.
pub fn truncated_body_is_interrupted(stack: &TransportStack) {
    let url = format!("{}/x?signature=SECRET", server::truncated());
    let err = stack.wait(stack.transport().send(get(&url))).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
    assert_hides_secret(&err);
}

/// A streamed download writes the exact bytes, and a `Range` resume (206) continues a
/// partial file at its offset.
pub fn download_writes_exact_bytes_and_resumes(stack: &TransportStack) {
    let dir = temp_dir();
    let path = dir.path().join("out.bin");
    let t = stack.transport();
    let url = format!("{}/bytes/300000?signature=SECRET", server::base());
    let meter = Meter::new();
    let target = DownloadTarget {
        path: path.clone(),
        offset: 0,
        max_len: None,
        meter: Some(meter.clone()),
    };
    let head = stack.wait(t.download(get(&url), target)).expect("download");
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.written, 300_000);
    assert_eq!(meter.total(), 300_000, "every byte written is counted");
    assert_eq!(std::fs::read(&path).unwrap(), server::pattern(300_000));

    // A partial file (plus stale bytes past the offset) resumed with a Range
    // request.
    let mut partial = server::pattern(100_000);
    partial.extend_from_slice(b"stale");
    std::fs::write(&path, &partial).unwrap();
    let mut resume = get(&url);
    resume
        .headers_mut()
        .insert("range", "bytes=100000-".parse().unwrap());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 100_000,
        max_len: None,
        meter: None,
    };
    let head = stack.wait(t.download(resume, target)).expect("resume");
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.written, 200_000);
    assert_eq!(std::fs::read(&path).unwrap(), server::pattern(300_000));
}

/// An API body over the cap is refused (`BodyTooLong`), and a download stops at its
/// declared size whatever the server sends, a gzip body decoding far past it included:
/// the file never holds more than the declared bytes.
pub fn bodies_past_their_cap_are_cut_gzip_included(stack: &TransportStack) {
    let t = stack.transport();
    let cap = vi_core::transport::MAX_API_BODY_BYTES;
    let url = format!("{}/bytes/{}", server::base(), cap + 1);
    let err = stack
        .wait(t.send(get(&url)))
        .expect_err("an over-long API body");
    assert_eq!(err.kind, TransportErrorKind::BodyTooLong, "{err}");

    let dir = temp_dir();
    for url in [
        format!("{}/bytes/300000?signature=SECRET", server::base()),
        format!("{}/gzip/{}?signature=SECRET", server::base(), 50 << 20),
    ] {
        let path = dir.path().join("capped.bin");
        let target = DownloadTarget {
            path: path.clone(),
            offset: 0,
            max_len: Some(1000),
            meter: None,
        };
        let err = stack
            .wait(t.download(get(&url), target))
            .expect_err("a body past the declared size");
        assert_eq!(err.kind, TransportErrorKind::BodyTooLong, "{err}");
        assert_hides_secret(&err);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1000);
    }
}

/// A resume offset past the end of the partial file is a `BodyWrite` error.
pub fn resume_past_end_of_partial_file_is_body_write(stack: &TransportStack) {
    // The server honours the Range (206), but the partial file is shorter than
    // the offset.
    let (_dir, path) = temp_file(&server::pattern(10));
    let url = format!("{}/bytes/100", server::base());
    let mut resume = get(&url);
    resume
        .headers_mut()
        .insert("range", "bytes=50-".parse().unwrap());
    let target = DownloadTarget {
        path,
        offset: 50,
        max_len: None,
        meter: None,
    };
    let err = stack
        .wait(stack.transport().download(resume, target))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::BodyWrite, "{err}");
}

/// A resume answered with the whole body (200) rewrites the file from byte 0.
pub fn resume_answered_with_full_body_rewrites_from_start(stack: &TransportStack) {
    // No Range header, so a 200 with the whole body: the offset is ignored and
    // the file is rewritten from byte 0, never appended to.
    let (_dir, path) = temp_file(&server::pattern(10));
    let url = format!("{}/bytes/100", server::base());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 50,
        max_len: None,
        meter: None,
    };
    let head = stack
        .wait(stack.transport().download(get(&url), target))
        .expect("download");
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.written, 100);
    assert_eq!(std::fs::read(&path).unwrap(), server::pattern(100));
}

/// A resume answered `206` from another byte than asked is refused as a protocol error
/// and the partial file is left as it was (before: the bytes were appended at the wrong
/// place, to be caught only by the checksum).
pub fn a_partial_answer_from_elsewhere_is_refused(stack: &TransportStack) {
    let (_dir, path) = temp_file(&server::pattern(50));
    let url = format!("{}/skewed/100", server::base());
    let mut resume = get(&url);
    resume
        .headers_mut()
        .insert("range", "bytes=50-".parse().unwrap());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 50,
        max_len: None,
        meter: None,
    };
    let err = stack
        .wait(stack.transport().download(resume, target))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Protocol, "{err}");
    assert!(
        err.to_string().contains("from byte 50 with bytes from 51"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), server::pattern(50));
}

/// A download cut short is `Interrupted` and keeps the bytes received, all correct.
pub fn truncated_download_is_interrupted_and_keeps_partial_bytes(stack: &TransportStack) {
    let dir = temp_dir();
    let path = dir.path().join("out.bin");
    let url = format!("{}/x?signature=SECRET", server::truncated());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 0,
        max_len: None,
        meter: None,
    };
    let err = stack
        .wait(stack.transport().download(get(&url), target))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
    assert_hides_secret(&err);
    let kept = std::fs::read(&path).unwrap();
    assert!(kept.len() <= 1000 && kept.len() < 100_000);
    assert_eq!(kept, server::pattern(kept.len()));
}

/// A download answered with an error status writes no file and returns the error body.
pub fn error_status_download_writes_nothing(stack: &TransportStack) {
    let dir = temp_dir();
    let path = dir.path().join("out.bin");
    let url = format!("{}/status/403", server::base());
    let target = DownloadTarget {
        path: path.clone(),
        offset: 0,
        max_len: None,
        meter: None,
    };
    let head = stack
        .wait(stack.transport().download(get(&url), target))
        .expect("download");
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    assert_eq!(head.written, 0);
    assert_eq!(json(&head.error_body)["code"], "Status403");
    assert!(!path.exists());
}

/// The runtime inside tokio: spawned futures run and really sleep, blocking work returns.
pub fn runtime_inside_tokio_spawns_sleeps_and_runs_blocking_work(stack: &TransportStack) {
    check_runtime_inside_tokio(stack.runtime());
}

/// The runtime outside tokio: futures run on `vi-worker` threads, blocking work on
/// `vi-blocking` threads.
pub fn runtime_outside_tokio_runs_on_named_threads(stack: &TransportStack) {
    let blocking = if stack.name() == "ureq" {
        BlockingWork::Inline
    } else {
        BlockingWork::OwnThread
    };
    check_runtime_outside_tokio(stack.runtime(), blocking);
}
