//! The transport suite, written once and expanded in each facade's tests:
//! `vi_testkit::transport_suite!(vi_async, async, ReqwestTransport, TokioRuntime);` and
//! `vi_testkit::transport_suite!(vi_blocking, blocking, UreqTransport, ThreadRuntime);`.
//!
//! It drives each facade's HTTP transport against [`crate::http_server`] (JSON and file
//! bodies, error mapping, timeouts, truncation, downloads and resumes) and checks its
//! runtime inside and outside tokio. The functions here are the suite's helpers; they are
//! public only so the expanded macro can reach them.

use std::fmt::{Debug, Display};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use http::Method;
use vi_core::runtime::{Runtime, run_blocking};
use vi_core::transport::{Body, Request};

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
pub fn check_runtime_inside_tokio<R: Runtime + Copy>(rt: R) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            rt.spawn(Box::pin(async move {
                let started = Instant::now();
                rt.sleep(Duration::from_millis(100)).await;
                let _ = tx.send(started.elapsed());
            }));
            let slept = rx.await.expect("spawned future ran");
            // The sleep really waits (a lower bound is correctness, not speed).
            assert!(slept >= Duration::from_millis(100), "{slept:?}");

            let value = run_blocking(&rt, || 6 * 7).await;
            assert_eq!(value.expect("ran"), 42);
        });
}

/// Checks `rt` outside any tokio runtime: a spawned future runs and sleeps on its own
/// `vi-worker` thread, blocking work runs on a `vi-blocking` thread, and blocking work
/// returns its result.
pub fn check_runtime_outside_tokio<R: Runtime + Copy>(rt: R) {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let (tx, rx) = mpsc::channel();
    rt.spawn(Box::pin(async move {
        let started = Instant::now();
        rt.sleep(Duration::from_millis(100)).await;
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
    assert_ne!(id, std::thread::current().id());
    assert_eq!(name.as_deref(), Some("vi-blocking"));

    let value = futures_executor::block_on(run_blocking(&rt, || 6 * 7));
    assert_eq!(value.expect("ran"), 42);
}

/// The transport suite. `$facade` is the facade crate, `$mode` is `async` or `blocking`,
/// `$transport` the facade's transport type in `$facade::transport` (built with
/// `new(&HttpOptions)`) and `$runtime` its runtime type in `$facade::runtime`.
#[macro_export]
macro_rules! transport_suite {
    ($facade:ident, $mode:ident, $transport:ident, $runtime:ident) => {
        $crate::__suite_mode!($mode);

        use std::path::PathBuf;
        use std::time::{Duration, Instant};

        use http::{Method, StatusCode};
        #[allow(unused_imports)]
        use vi_core::transport::{BlockingTransport as _, Transport as _};
        use vi_core::transport::{Body, DownloadTarget, FileSlice, TransportErrorKind};
        use $crate::http_server as server;
        use $crate::transport_suite::{assert_hides_secret, json, request, temp_dir, temp_file};
        use $facade::transport::{HttpOptions, $transport};

        fn transport() -> $transport {
            $transport::new(&HttpOptions::default()).expect("transport")
        }

        fn get(url: &str) -> vi_core::transport::Request {
            request(Method::GET, url, Body::Empty)
        }

        #[test]
        fn get_and_post_json() {
            run!({
                let t = transport();
                let url = format!("{}/echo", server::base());
                let got = w!(t.send(get(&url))).expect("get");
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
                let echo = json(w!(t.send(post)).expect("post").body());
                assert_eq!(echo["method"], "POST");
                assert_eq!(echo["len"], doc.len());
                assert_eq!(echo["crc"], $crate::transport_suite::crc(doc));
                assert_eq!(echo["headers"]["content-type"], "application/json");

                let empty = request(Method::POST, &url, Body::Empty);
                let echo = json(w!(t.send(empty)).expect("post").body());
                assert_eq!(echo["headers"]["content-length"], "0");
            });
        }

        #[test]
        fn put_file_slice_is_length_delimited_and_replayable() {
            run!({
                let content = server::pattern(1_500_000);
                let (_dir, path) = temp_file(&content);
                let (offset, len) = (1234u64, 1_000_000u64);
                let body = Body::File(FileSlice { path, offset, len });
                let t = transport();
                let url = format!("{}/echo?signature=SECRET", server::base());
                for _ in 0..2 {
                    let put = request(Method::PUT, &url, body.clone());
                    let echo = json(w!(t.send(put)).expect("put").body());
                    assert_eq!(echo["len"], len);
                    let slice = &content[offset as usize..(offset + len) as usize];
                    assert_eq!(echo["crc"], $crate::transport_suite::crc(slice));
                    assert_eq!(echo["headers"]["content-length"], len.to_string());
                    assert!(echo["headers"].get("transfer-encoding").is_none());
                }
            });
        }

        #[test]
        fn missing_file_is_body_read() {
            run!({
                let body = Body::File(FileSlice {
                    path: PathBuf::from("/nonexistent/vi-test/missing.bin"),
                    offset: 0,
                    len: 10,
                });
                let url = format!("{}/echo", server::base());
                let err = w!(transport().send(request(Method::PUT, &url, body))).unwrap_err();
                assert_eq!(err.kind, TransportErrorKind::BodyRead);
                assert!(err.message.contains("missing.bin"), "{err}");
            });
        }

        #[test]
        fn shrunken_file_is_body_read() {
            run!({
                let (_dir, path) = temp_file(&server::pattern(1000));
                let body = Body::File(FileSlice {
                    path,
                    offset: 0,
                    len: 5000,
                });
                let url = format!("{}/echo", server::base());
                let err = w!(transport().send(request(Method::PUT, &url, body))).unwrap_err();
                assert_eq!(err.kind, TransportErrorKind::BodyRead, "{err}");
            });
        }

        #[test]
        fn connection_refused_is_connect_without_secret() {
            run!({
                let url = format!("{}/x?signature=SECRET", server::closed());
                let err = w!(transport().send(get(&url))).unwrap_err();
                assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
                assert_hides_secret(&err);
            });
        }

        #[test]
        fn tls_handshake_failure_is_connect() {
            // TLS against a plain-HTTP port: exercises the TLS setup (no process-wide
            // default provider is installed) and the error mapping.
            run!({
                let url = format!(
                    "{}/echo?signature=SECRET",
                    server::base().replace("http://", "https://")
                );
                let err = w!(transport().send(get(&url))).unwrap_err();
                assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
                assert_hides_secret(&err);
            });
        }

        #[test]
        fn error_status_is_ok_with_body() {
            run!({
                let url = format!("{}/status/404", server::base());
                let got = w!(transport().send(get(&url))).expect("send");
                assert_eq!(got.status(), StatusCode::NOT_FOUND);
                assert_eq!(json(got.body())["code"], "Status404");
            });
        }

        #[test]
        fn redirects_are_not_followed() {
            run!({
                let url = format!("{}/redirect", server::base());
                let got = w!(transport().send(get(&url))).expect("send");
                assert_eq!(got.status(), StatusCode::FOUND);
                assert_eq!(got.headers()["location"], "/echo");
            });
        }

        #[test]
        fn slow_response_times_out_without_secret() {
            run!({
                let options = HttpOptions {
                    read_timeout: Duration::from_millis(300),
                    ..HttpOptions::default()
                };
                let t = $transport::new(&options).expect("transport");
                let url = format!("{}/slow?signature=SECRET", server::base());
                // The server answers after 3 s: a Timeout error means the 300 ms limit acted.
                let err = w!(t.send(get(&url))).unwrap_err();
                assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
                assert_hides_secret(&err);
            });
        }

        #[test]
        fn truncated_body_is_interrupted() {
            run!({
                let url = format!("{}/x?signature=SECRET", server::truncated());
                let err = w!(transport().send(get(&url))).unwrap_err();
                assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
                assert_hides_secret(&err);
            });
        }

        #[test]
        fn download_writes_exact_bytes_and_resumes() {
            run!({
                let dir = temp_dir();
                let path = dir.path().join("out.bin");
                let t = transport();
                let url = format!("{}/bytes/300000?signature=SECRET", server::base());
                let target = DownloadTarget {
                    path: path.clone(),
                    offset: 0,
                };
                let head = w!(t.download(get(&url), target)).expect("download");
                assert_eq!(head.status, StatusCode::OK);
                assert_eq!(head.written, 300_000);
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
                };
                let head = w!(t.download(resume, target)).expect("resume");
                assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
                assert_eq!(head.written, 200_000);
                assert_eq!(std::fs::read(&path).unwrap(), server::pattern(300_000));
            });
        }

        #[test]
        fn resume_past_end_of_partial_file_is_body_write() {
            run!({
                // The server honours the Range (206), but the partial file is shorter than
                // the offset.
                let (_dir, path) = temp_file(&server::pattern(10));
                let url = format!("{}/bytes/100", server::base());
                let mut resume = get(&url);
                resume
                    .headers_mut()
                    .insert("range", "bytes=50-".parse().unwrap());
                let target = DownloadTarget { path, offset: 50 };
                let err = w!(transport().download(resume, target)).unwrap_err();
                assert_eq!(err.kind, TransportErrorKind::BodyWrite, "{err}");
            });
        }

        #[test]
        fn resume_answered_with_full_body_rewrites_from_start() {
            run!({
                // No Range header, so a 200 with the whole body: the offset is ignored and
                // the file is rewritten from byte 0, never appended to.
                let (_dir, path) = temp_file(&server::pattern(10));
                let url = format!("{}/bytes/100", server::base());
                let target = DownloadTarget {
                    path: path.clone(),
                    offset: 50,
                };
                let head = w!(transport().download(get(&url), target)).expect("download");
                assert_eq!(head.status, StatusCode::OK);
                assert_eq!(head.written, 100);
                assert_eq!(std::fs::read(&path).unwrap(), server::pattern(100));
            });
        }

        #[test]
        fn truncated_download_is_interrupted_and_keeps_partial_bytes() {
            run!({
                let dir = temp_dir();
                let path = dir.path().join("out.bin");
                let url = format!("{}/x?signature=SECRET", server::truncated());
                let target = DownloadTarget {
                    path: path.clone(),
                    offset: 0,
                };
                let err = w!(transport().download(get(&url), target)).unwrap_err();
                assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
                assert_hides_secret(&err);
                let kept = std::fs::read(&path).unwrap();
                assert!(kept.len() <= 1000 && kept.len() < 100_000);
                assert_eq!(kept, server::pattern(kept.len()));
            });
        }

        #[test]
        fn error_status_download_writes_nothing() {
            run!({
                let dir = temp_dir();
                let path = dir.path().join("out.bin");
                let url = format!("{}/status/403", server::base());
                let target = DownloadTarget {
                    path: path.clone(),
                    offset: 0,
                };
                let head = w!(transport().download(get(&url), target)).expect("download");
                assert_eq!(head.status, StatusCode::FORBIDDEN);
                assert_eq!(head.written, 0);
                assert_eq!(json(&head.error_body)["code"], "Status403");
                assert!(!path.exists());
            });
        }

        #[test]
        fn runtime_inside_tokio_spawns_sleeps_and_runs_blocking_work() {
            $crate::transport_suite::check_runtime_inside_tokio($facade::runtime::$runtime);
        }

        #[test]
        fn runtime_outside_tokio_runs_on_named_threads() {
            $crate::transport_suite::check_runtime_outside_tokio($facade::runtime::$runtime);
        }
    };
}
