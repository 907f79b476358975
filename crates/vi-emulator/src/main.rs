//! `vi-emulator`: run the Datature Vi API emulator as a standalone server.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use vi_emulator::{Emulator, EmulatorConfig, FailureModel, SessionLimit, Verdicts};

/// A local, faithful server of the Datature Vi asset and dataset API.
#[derive(Debug, Parser)]
#[command(name = "vi-emulator", version, about)]
struct Args {
    /// Interface to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Directory for persistent state and blobs (default: a temporary directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Secret key clients must present (default: persisted or generated).
    #[arg(long, env = "DATATURE_VI_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Organization id clients must present (default: persisted or generated).
    #[arg(long, env = "DATATURE_VI_ORGANIZATION_ID")]
    organization_id: Option<String>,
    /// Append one JSON line per request (its shape, no secrets) to this file.
    #[arg(long)]
    record_to: Option<PathBuf>,
    /// Origin to put in signed URLs, when clients reach the emulator under another name.
    #[arg(long)]
    public_url: Option<String>,
    /// Idle seconds after which never-uploaded files of a session fail with ETIMEOUT.
    #[arg(long, default_value_t = 600)]
    missing_file_timeout_secs: u64,
    /// Lifetime of signed upload and download URLs, in seconds.
    #[arg(long, default_value_t = 3600)]
    signed_url_ttl_secs: u64,
    /// Terminal state of sessions with failed files: `reached` (model a) or
    /// `failed-reach` (model b: FailAfterOne sessions end FailedReach).
    #[arg(long, default_value = "reached", value_parser = ["reached", "failed-reach"])]
    failure_model: String,
    /// Target part size of multipart uploads, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    multipart_part_size: u64,
    /// Milliseconds added before the response head of every request (API and storage).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Pace each storage request and response body to this many bytes per second.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    bandwidth: Option<u64>,
    /// Probability (0 to 1) that a request gets a random fault: 500, 502, 503, 429 with
    /// Retry-After, a connection closed before the response, a truncated or a stalled body.
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    fault_rate: f64,
    /// Seed of the random faults (same seed and request order, same faults).
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// How long a stalled body (random fault) hangs before its connection is closed.
    #[arg(long, default_value_t = 30_000)]
    fault_stall_ms: u64,
    /// Status of a request to an expired signed URL: 403 (S3 style) or 400 (GCS style).
    #[arg(long, default_value_t = 403, value_parser = parse_expired_status)]
    expired_status: u16,
    /// When single uploads learn of a bad file: `sync` (the PUT fails) or `deferred`
    /// (the PUT succeeds, the session reports the failure later).
    #[arg(long, default_value = "sync", value_parser = ["sync", "deferred"])]
    verdicts: String,
    /// Part URLs ask for the part reply body (M2 `responseBody: true`); M3 must return it.
    #[arg(long)]
    part_response_body: bool,
    /// M3 rejects a part registered with a missing or empty ETag.
    #[arg(long)]
    require_part_etag: bool,
    /// Allow at most this many ingestion sessions per window (docs/protocol.md §10.5; 429 with
    /// Retry-After beyond). Also spelled --session-rate.
    #[arg(long, visible_alias = "session-rate", value_parser = clap::value_parser!(u32).range(1..))]
    sessions_per_window: Option<u32>,
    /// At start, create a dataset named "seeded" with this many generated assets
    /// (1000-byte JPEG stand-ins sharing one blob), for measurements.
    #[arg(long)]
    seed_assets: Option<u64>,
    /// Length of the session window, in seconds.
    #[arg(long, default_value_t = 300)]
    session_window_secs: u64,
    /// Disconnect a client that takes longer than this to send a request head.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
}

fn parse_expired_status(raw: &str) -> Result<u16, String> {
    match raw {
        "403" => Ok(403),
        "400" => Ok(400),
        _ => Err(format!("expected 403 or 400, got {raw}")),
    }
}

fn parse_probability(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("expected a probability between 0 and 1, got {raw}")),
    }
}

fn main() -> std::process::ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let args = Args::parse();
    let key_given = args.secret_key.is_some();
    let config = EmulatorConfig {
        host: args.host,
        port: args.port,
        data_dir: args.data_dir,
        secret_key: args.secret_key,
        organization_id: args.organization_id,
        record_to: args.record_to,
        public_url: args.public_url,
        missing_file_timeout: Duration::from_secs(args.missing_file_timeout_secs),
        signed_url_ttl: Duration::from_secs(args.signed_url_ttl_secs),
        failure_model: if args.failure_model == "failed-reach" {
            FailureModel::FailedReachOnFirstError
        } else {
            FailureModel::ReachedWithErrors
        },
        multipart_part_size: args.multipart_part_size.max(1),
        latency: Duration::from_millis(args.latency_ms),
        bandwidth: args.bandwidth,
        fault_rate: args.fault_rate,
        fault_seed: args.fault_seed,
        fault_stall: Duration::from_millis(args.fault_stall_ms),
        expired_status: args.expired_status,
        verdicts: if args.verdicts == "deferred" {
            Verdicts::Deferred
        } else {
            Verdicts::Synchronous
        },
        part_response_body: args.part_response_body,
        require_part_etag: args.require_part_etag,
        session_limit: args.sessions_per_window.map(|sessions| SessionLimit {
            sessions,
            window: Duration::from_secs(args.session_window_secs.max(1)),
        }),
        header_timeout: Duration::from_secs(args.header_timeout_secs),
        ..EmulatorConfig::default()
    };
    let emulator = match Emulator::start_with(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("vi-emulator: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let seeded = match args.seed_assets {
        Some(count) => match emulator.seed_assets("seeded", count) {
            Ok(id) => Some(id),
            Err(e) => {
                eprintln!("vi-emulator: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
        None => None,
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", emulator.url());
        let _ = out.flush();
        if !key_given {
            let _ = writeln!(out, "secret key: {}", emulator.secret_key());
        }
        let _ = writeln!(out, "organization id: {}", emulator.organization_id());
        let _ = writeln!(out, "data dir: {}", emulator.data_dir().display());
        if let Some(id) = &seeded {
            let _ = writeln!(out, "seeded dataset: {id}");
        }
        let _ = writeln!(out, "export DATATURE_VI_API_ENDPOINT={}", emulator.url());
        if !key_given {
            let _ = writeln!(
                out,
                "export DATATURE_VI_SECRET_KEY={}",
                emulator.secret_key()
            );
        }
        let _ = writeln!(
            out,
            "export DATATURE_VI_ORGANIZATION_ID={}",
            emulator.organization_id()
        );
        let _ = out.flush();
    }
    wait_for_signal();
    let stats = emulator.stats();
    emulator.shutdown();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "requests: {} (api {}, upload {}, download {}); faults: {} injected, {} random",
            stats.requests,
            stats.api_requests,
            stats.upload_requests,
            stats.download_requests,
            stats.injected_faults,
            stats.random_faults
        );
        let _ = out.flush();
    }
    std::process::ExitCode::SUCCESS
}

/// Blocks until Ctrl-C or SIGTERM.
fn wait_for_signal() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vi-emulator: cannot wait for signals: {e}");
            return;
        }
    };
    runtime.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    });
}
