//! `vi-emulator`: run the Datature Vi API emulator as a standalone server.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use vi_emulator::{Emulator, EmulatorConfig, FailureModel};

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
        ..EmulatorConfig::default()
    };
    let emulator = match Emulator::start_with(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("vi-emulator: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
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
    emulator.shutdown();
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
