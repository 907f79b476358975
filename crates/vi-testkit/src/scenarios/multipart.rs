//! The multipart-upload scenarios (docs/protocol.md §6.8): plain functions over a [`MultipartEnv`], run
//! by both facades through [`Facade`] (see [`crate::multipart_tests!`]).
//!
//! The emulator cuts uploads into 64 KiB parts and records every request, and the SDK is
//! told to go multipart from 100 KiB, so a ~300 KiB PNG travels in five parts. Uploaded
//! bytes are downloaded again and compared exactly; the request log shows which calls
//! were made (M1–M5, part PUTs) and how.

use std::ops::Deref;
use std::path::Path;

use vi_core::DatasetId;
use vi_core::ListAssetsOptions;
use vi_core::api::{CancelToken, DownloadOptions, UploadFailure, UploadOptions};

use crate::facade::{AssetOps, Facade, new_dataset};
use crate::{
    EmulatorConfig, Fault, FaultKind, FaultTarget, TestEnv, noisy_png, png, status_fault,
    write_file,
};

/// The part size the emulator is started with.
pub const PART_SIZE: u64 = 64 * 1024;
/// The threshold the scenarios give the SDK.
pub const THRESHOLD: u64 = 100 * 1024;

/// Route suffix of M1 (POST).
pub const M1: &str = "/multipartUploads";
/// Route suffix of M2 (POST).
pub const M2: &str = "/parts/{partNumber}";
/// Route suffix of M3 (POST).
pub const M3: &str = "/parts/{partNumber}/completion";
/// Route suffix of M4 (POST).
pub const M4: &str = "/{mpId}/completion";
/// Route suffix of M5 (DELETE).
pub const M5: &str = "/multipartUploads/{mpId}";
/// Route of S2, the part PUT.
pub const S2: &str = "/_storage/part/{multipartUploadId}/{partNumber}";
/// Route of S1, the single upload PUT.
pub const S1: &str = "/_storage/upload/{ingestionId}/{filename}";

/// An emulator with 64 KiB parts that records every request.
pub struct MultipartEnv {
    env: TestEnv,
    log: tempfile::NamedTempFile,
}

impl MultipartEnv {
    /// Starts the emulator.
    pub fn new() -> Self {
        let log = tempfile::NamedTempFile::new().expect("a request log");
        let env = TestEnv::with(EmulatorConfig {
            multipart_part_size: PART_SIZE,
            record_to: Some(log.path().to_owned()),
            ..Default::default()
        });
        MultipartEnv { env, log }
    }

    /// Every request recorded so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        read_log(self.log.path())
    }

    /// How many requests with `method` were answered by an injected fault (the emulator
    /// records those under the route `fault`, without their path).
    pub fn faulted(&self, method: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.route == "fault")
            .count()
    }

    /// How many recorded requests had `method` and a route ending with `route`.
    pub fn count(&self, method: &str, route: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.is(method, route))
            .count()
    }
}

impl Default for MultipartEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for MultipartEnv {
    type Target = TestEnv;

    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

/// One request as the emulator recorded it (its shape, never secrets).
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The HTTP method.
    pub method: String,
    /// The route template, e.g. `/_storage/part/{multipartUploadId}/{partNumber}`.
    pub route: String,
    /// The status answered.
    pub status: u16,
    /// A summary of the request headers (`Content-Length: <present>`, …).
    pub headers: serde_json::Map<String, serde_json::Value>,
}

impl Recorded {
    /// True for `method` on a route ending with `route`.
    pub fn is(&self, method: &str, route: &str) -> bool {
        self.method == method && self.route.ends_with(route)
    }
}

/// Every request recorded in the emulator log at `path` (`EmulatorConfig::record_to`),
/// in order.
pub fn read_log(path: &Path) -> Vec<Recorded> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|v| Recorded {
            method: v["method"].as_str().unwrap_or_default().to_owned(),
            route: v["route"].as_str().unwrap_or_default().to_owned(),
            status: v["status"].as_u64().unwrap_or_default() as u16,
            headers: v["headers"].as_object().cloned().unwrap_or_default(),
        })
        .collect()
}

/// The part count the emulator chooses for `size` bytes.
pub fn parts_for(size: u64) -> usize {
    size.div_ceil(PART_SIZE) as usize
}

/// Downloads the whole dataset and returns the bytes of `name`.
fn downloaded<F: Facade>(env: &MultipartEnv, c: &F, ds: &DatasetId, name: &str) -> Vec<u8> {
    let to = env.path("download");
    let report = c
        .assets()
        .download(ds, &to, DownloadOptions::new())
        .unwrap();
    assert!(report.failed.is_empty(), "{}", report.summary());
    std::fs::read(report.directory.join(name)).expect("downloaded file")
}

/// A ~300 KiB PNG (five 64 KiB parts) at `name`.
fn big_file(env: &MultipartEnv, name: &str) -> (std::path::PathBuf, Vec<u8>) {
    let bytes = noisy_png(320, 320, 7);
    assert!(bytes.len() as u64 > THRESHOLD && parts_for(bytes.len() as u64) == 5);
    let path = env.path(name);
    write_file(&path, &bytes);
    (path, bytes)
}

fn options() -> UploadOptions {
    UploadOptions::new().multipart_threshold(THRESHOLD)
}

/// A ~300 KiB file goes in five parts (M1, M2/M3 per part, M4; part PUTs with
/// `Content-Length`, without chunking or credentials), a small one in a single PUT.
pub fn a_big_file_goes_in_parts_and_a_small_one_in_one_put<F: Facade>(env: &MultipartEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "multipart");
    let (_, big) = big_file(env, "in/big.png");
    let small = png(16, 9, 3);
    write_file(&env.path("in/small.png"), &small);
    let report = c.assets().upload(&ds, env.path("in"), options()).unwrap();
    assert_eq!(report.succeeded.len(), 2, "{}", report.summary());
    assert!(report.is_success(), "{}", report.summary());
    assert_eq!(report.bytes_uploaded, (big.len() + small.len()) as u64);
    assert_eq!(downloaded(env, &c, &ds, "big.png"), big);
    assert_eq!(downloaded(env, &c, &ds, "small.png"), small);
    let page = c
        .assets()
        .page(&ds, ListAssetsOptions::new(), None)
        .unwrap();
    let asset = page.items.iter().find(|a| a.filename == "big.png").unwrap();
    assert_eq!((asset.metadata.width, asset.metadata.height), (320, 320));

    let n = parts_for(big.len() as u64);
    assert_eq!(env.count("POST", M1), 1);
    assert_eq!(env.count("POST", M2), n);
    assert_eq!(env.count("POST", M3), n);
    assert_eq!(env.count("POST", M4), 1);
    assert_eq!(env.count("DELETE", M5), 0);
    assert_eq!(
        env.count("PUT", S1),
        1,
        "only the small file goes in one PUT"
    );
    let parts: Vec<_> = env
        .requests()
        .into_iter()
        .filter(|r| r.is("PUT", S2))
        .collect();
    assert_eq!(parts.len(), n);
    for p in &parts {
        assert_eq!(p.status, 200);
        assert!(p.headers.contains_key("Content-Length"), "{p:?}");
        assert!(!p.headers.contains_key("Transfer-Encoding"), "{p:?}");
        assert!(!p.headers.contains_key("Authorization"), "{p:?}");
    }
}

/// Two 503s on part PUTs are retried without restarting the file.
pub fn a_part_put_failing_twice_with_503_still_succeeds<F: Facade>(env: &MultipartEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "multipart");
    let (path, big) = big_file(env, "retry.png");
    env.emulator
        .inject(status_fault(FaultTarget::Upload, 503, 2));
    let report = c.assets().upload(&ds, path.as_path(), options()).unwrap();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    // Only part PUTs were sent (no single PUT), so the two faults hit parts.
    assert_eq!(env.count("PUT", S1), 0);
    assert_eq!(env.faulted("PUT"), 2);
    assert_eq!(env.count("PUT", S2), parts_for(big.len() as u64));
    assert_eq!(
        env.count("POST", M1),
        1,
        "part retries do not restart the file"
    );
    assert_eq!(env.count("POST", M2), parts_for(big.len() as u64));
    assert_eq!(downloaded(env, &c, &ds, "retry.png"), big);
}

/// A 403 or 400 on a part PUT signs that part's URL again (one more M2).
pub fn a_403_on_a_part_signs_its_url_again<F: Facade>(env: &MultipartEnv) {
    let c = F::connect(env);
    // S3-style stores refuse an expired signature with 403, GCS-style ones with 400.
    for (round, status) in [403, 400].into_iter().enumerate() {
        let ds = new_dataset(&c, "multipart");
        let name = format!("resign{status}.png");
        let (path, big) = big_file(env, &name);
        let signed_before = env.count("POST", M2);
        env.emulator
            .inject(status_fault(FaultTarget::Upload, status, 1));
        let report = c.assets().upload(&ds, path.as_path(), options()).unwrap();
        assert_eq!(report.succeeded.len(), 1, "{status}: {}", report.summary());
        assert_eq!(
            env.count("POST", M2) - signed_before,
            parts_for(big.len() as u64) + 1,
            "round {round}: one part signed again after {status}"
        );
        assert_eq!(downloaded(env, &c, &ds, &name), big);
    }
}

/// A failing multipart creation restarts the file; three failures in a row fail it.
pub fn a_failing_create_restarts_the_file_at_most_twice<F: Facade>(env: &MultipartEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "multipart");
    let (path, big) = big_file(env, "restart.png");
    let create_fails = |times| Fault {
        target: FaultTarget::ApiMatching {
            method: Some("POST".into()),
            path_contains: Some("multipartUploads".into()),
        },
        kind: FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        times,
    };
    // M1 is the first multipart call, so it takes the fault; the restart passes.
    env.emulator.inject(create_fails(1));
    let report = c.assets().upload(&ds, path.as_path(), options()).unwrap();
    assert_eq!(report.succeeded.len(), 1, "{}", report.summary());
    assert_eq!((env.faulted("POST"), env.count("POST", M1)), (1, 1));
    assert_eq!(downloaded(env, &c, &ds, "restart.png"), big);

    let ds = new_dataset(&c, "multipart");
    env.emulator.inject(create_fails(3));
    let report = c.assets().upload(&ds, path.as_path(), options()).unwrap();
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    let reason = report.failed[0].reason.to_string();
    assert!(reason.contains("after 3 attempts"), "{reason}");
    assert_eq!((env.faulted("POST"), env.count("POST", M1)), (1 + 3, 1));
    assert_eq!(env.count("PUT", S2), 5, "only the first upload's parts");
}

/// A part failing for good aborts the multipart upload (M5), fails the file with a reason
/// naming the part, and is not restarted.
pub fn a_part_failing_for_good_aborts_the_upload_and_fails_the_file<F: Facade>(env: &MultipartEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "multipart");
    let (path, _) = big_file(env, "doomed.png");
    env.emulator
        .inject(status_fault(FaultTarget::Upload, 500, 1000));
    let report = c.assets().upload(&ds, path.as_path(), options()).unwrap();
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    let reason = &report.failed[0].reason;
    assert!(
        matches!(
            reason,
            UploadFailure::Transfer {
                status: Some(500),
                ..
            }
        ),
        "{reason:?}"
    );
    let text = reason.to_string();
    assert!(
        text.contains("multipart upload failed at part") && text.contains("of 5"),
        "{text}"
    );
    assert!(
        !text.contains("signature="),
        "no signed URL in reasons: {text}"
    );
    assert_eq!(env.count("DELETE", M5), 1);
    assert_eq!(env.count("POST", M4), 0);
    assert_eq!(env.count("POST", M1), 1, "a part failure is not restarted");
}

/// Cancelling while parts are in flight aborts the multipart upload (M5) and creates no
/// asset.
pub fn cancelling_mid_file_aborts_the_multipart_upload<F: Facade>(env: &MultipartEnv) {
    let c = F::connect(env);
    let ds = new_dataset(&c, "multipart");
    let (path, _) = big_file(env, "cancel.png");
    env.emulator.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Delay(std::time::Duration::from_millis(700)),
        times: 1000,
    });
    let token = CancelToken::new();
    let trigger = token.clone();
    let watch = std::thread::scope(|scope| {
        // Cancel once a part URL was signed: the file is then mid-flight.
        let watcher = scope.spawn(|| {
            for _ in 0..1000 {
                if env.count("POST", M2) > 0 {
                    trigger.cancel();
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            false
        });
        let report = c
            .assets()
            .upload(&ds, path.as_path(), options().cancel_token(token))
            .unwrap();
        (watcher.join().unwrap(), report)
    });
    let (cancelled_mid_file, report) = watch;
    assert!(cancelled_mid_file);
    assert!(report.cancelled);
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    assert_eq!(report.failed[0].reason, UploadFailure::Cancelled);
    assert_eq!(env.count("DELETE", M5), 1, "the upload is aborted");
    assert_eq!(env.count("POST", M4), 0);
    let page = c
        .assets()
        .page(&ds, ListAssetsOptions::new(), None)
        .unwrap();
    assert!(page.items.is_empty());
}
