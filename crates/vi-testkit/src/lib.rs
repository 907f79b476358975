//! Test support for the Vi SDK (not published).
//!
//! * [`TestEnv`]: a fresh `vi-emulator` on 127.0.0.1 with its own credentials and a fresh
//!   temporary directory, plus the configuration a client needs to reach it.
//! * [`png()`]: small, valid, distinct PNG images.
//! * [`seed_assets`]: puts files into a dataset through the real ingestion protocol
//!   (session, signed PUTs, polling), for tests of the read side.
//! * [`facade`]: one synchronous view of both facades ([`facade::Facade`]), so that
//!   [`scenarios`] are plain functions each facade runs over real HTTP, one `#[test]` per
//!   scenario ([`api_tests!`], [`upload_tests!`], [`upload_retry_tests!`],
//!   [`upload_verdict_tests!`], [`upload_cancel_tests!`], [`resume_tests!`],
//!   [`download_tests!`], [`multipart_tests!`]).
//! * [`http_server`], [`stack`] and [`transport_tests!`]: a small local HTTP server, each
//!   facade's transport and runtime as core sees them, and the transport scenarios.
//! * [`scripted`] and [`clock`]: a scripted transport and virtual time, for tests of
//!   `vi_core` flows without HTTP or real sleeping.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use vi_core::endpoints::{CreateIngestionSession, GetIngestionSession};
use vi_core::models::{
    AssetKind, AssetSpec, CreateIngestionSessionRequest, FailureMode, IngestionRequestSpec,
    IngestionSession, OnAssetOverwritten,
};
use vi_core::transport::Body;
use vi_core::{Config, ConfigBuilder, Core, DatasetId, Error, Result};
pub use vi_emulator::{Emulator, EmulatorConfig, Fault, FaultKind, FaultTarget};

pub mod clock;
pub mod facade;
pub mod http_server;
pub mod scenarios;
pub mod scripted;
pub mod stack;

/// A running emulator and a scratch directory, both gone when dropped.
pub struct TestEnv {
    /// The emulator serving this test (shared, so callbacks such as progress handlers can
    /// hold it, e.g. to advance its clock).
    pub emulator: Arc<Emulator>,
    dir: tempfile::TempDir,
}

impl TestEnv {
    /// Starts an emulator with default settings.
    pub fn new() -> Self {
        Self::with(EmulatorConfig::default())
    }

    /// Starts an emulator with `config`.
    pub fn with(config: EmulatorConfig) -> Self {
        let emulator = Emulator::start_with(config).expect("the emulator starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        TestEnv {
            emulator: Arc::new(emulator),
            dir,
        }
    }

    /// A scratch directory private to this test.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A configuration builder pointed at the emulator with its credentials. Ignores the
    /// process environment, so tests stay hermetic.
    pub fn config_builder(&self) -> ConfigBuilder {
        ConfigBuilder::default()
            .endpoint(self.emulator.url())
            .secret_key(self.emulator.secret_key())
            .organization_id(self.emulator.organization_id())
            .retry_policy(fast_retries())
    }

    /// The resolved configuration for the emulator.
    pub fn config(&self) -> Config {
        self.config_builder()
            .build_with_env(&|_| None)
            .expect("the emulator's configuration is valid")
    }

    /// A configuration with a well-formed secret key the emulator does not know.
    pub fn config_with_wrong_key(&self) -> Config {
        let wrong = format!("dtvi_{}", "x".repeat(98));
        self.config_builder()
            .secret_key(wrong)
            .build_with_env(&|_| None)
            .expect("a well-formed key")
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// A fault answering `times` requests of `target` with `status` (no `Retry-After`).
pub fn status_fault(target: FaultTarget, status: u16, times: u32) -> Fault {
    Fault {
        target,
        kind: FaultKind::Status {
            status,
            retry_after: None,
        },
        times,
    }
}

/// Retries with short delays, so tests that exercise retries stay quick.
pub fn fast_retries() -> vi_core::retry::RetryPolicy {
    vi_core::retry::RetryPolicy::default()
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(50))
}

/// A valid RGB PNG of `width` × `height` whose pixels depend on `seed`, so images with
/// different seeds have different bytes.
pub fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("PNG header");
        let mut pixels = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                let v = x
                    .wrapping_mul(31)
                    .wrapping_add(y.wrapping_mul(17))
                    .wrapping_add(seed.wrapping_mul(2_654_435_761));
                pixels.extend_from_slice(&[v as u8, (v >> 8) as u8, (v >> 16) as u8]);
            }
        }
        writer.write_image_data(&pixels).expect("PNG data");
    }
    out
}

/// A valid RGB PNG of `width` × `height` filled with pseudo-random pixels: it does not
/// compress, so the file is about `3 × width × height` bytes (for tests that need big
/// files, e.g. larger than an I/O buffer).
pub fn noisy_png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let pixels: Vec<u8> = (0..(width as usize * height as usize * 3))
        .map(|_| {
            // xorshift64: cheap, deterministic noise.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("PNG header");
        writer.write_image_data(&pixels).expect("PNG data");
    }
    out
}

/// Writes `bytes` to `path`, creating parent directories.
pub fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent directories");
    }
    std::fs::write(path, bytes).expect("write a fixture file");
}

/// Puts in-memory PNG files into `dataset` through the ingestion protocol and waits until
/// the session finishes. Returns the finished session.
///
/// # Errors
/// Any API or transport error, or [`Error::Operation`] when an upload is refused or the
/// session does not finish in time.
pub async fn seed_assets(
    core: &Core,
    dataset: &DatasetId,
    files: &[(String, Vec<u8>)],
) -> Result<IngestionSession> {
    let assets = files
        .iter()
        .map(|(name, bytes)| AssetSpec {
            filename: name.clone(),
            mime: "image/png".to_owned(),
            size: bytes.len() as u64,
            crc32c: Some(crc32c::crc32c(bytes) as i32),
            custom_metadata: None,
            kind: AssetKind::Image,
        })
        .collect();
    let body = CreateIngestionSessionRequest {
        spec: IngestionRequestSpec {
            kind: "Upload".to_owned(),
            failure_mode: FailureMode::FailAfterAll,
            on_asset_overwritten: OnAssetOverwritten::RemoveLinkedResource,
            assets,
        },
    };
    let session = core
        .execute(&CreateIngestionSession {
            dataset: dataset.clone(),
            body,
        })
        .await?;
    for upload in session.status.assets.clone().unwrap_or_default() {
        let bytes = files
            .iter()
            .find(|(name, _)| *name == upload.metadata.filename)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| Error::Operation {
                operation: "seed assets".into(),
                message: format!("no file for {}", upload.metadata.filename),
            })?;
        let mut request = http::Request::new(Body::Bytes(bytes.into()));
        *request.method_mut() = http::Method::PUT;
        *request.uri_mut() = upload.upload.url.parse().expect("an absolute URL");
        for (k, v) in upload.upload.headers.clone().unwrap_or_default() {
            request.headers_mut().insert(
                http::HeaderName::try_from(k.as_str()).expect("header name"),
                http::HeaderValue::try_from(v.as_str()).expect("header value"),
            );
        }
        let response = core
            .transport()
            .send(request)
            .await
            .map_err(|e| Error::Transport {
                operation: "seed upload".into(),
                source: e,
            })?;
        if !response.status().is_success() {
            return Err(Error::Operation {
                operation: "seed upload".into(),
                message: format!("{} for {}", response.status(), upload.metadata.filename),
            });
        }
    }
    let id = session.id()?;
    for _ in 0..200 {
        let now = core
            .execute(&GetIngestionSession {
                dataset: dataset.clone(),
                session: id.clone(),
            })
            .await?;
        if now.is_finished() || now.failure().is_some() {
            return Ok(now);
        }
        core.runtime().sleep(Duration::from_millis(20)).await;
    }
    Err(Error::Operation {
        operation: "seed assets".into(),
        message: "the session did not finish".into(),
    })
}
