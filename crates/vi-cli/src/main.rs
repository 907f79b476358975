//! `vi`: the command-line tool of the Datature Vi SDK for Rust.
//!
//! Lists, creates and deletes datasets; uploads, lists, counts, inspects, downloads,
//! renames and deletes assets; and runs the local API emulator. Built on the blocking
//! facade (`vi-blocking`): no async runtime is involved except inside `vi emulator`.

mod annotations;
mod args;
mod assets;
mod curation;
mod datasets;
mod emulator;
mod exit;
mod export;
mod interrupt;
mod output;
mod progress;
mod sessions;
mod transfer;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, Command, Global};
use crate::exit::{CliError, Exit};
use crate::output::Output;

fn main() -> ExitCode {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        // clap prints help/version to stdout with code 0 and usage errors with code 2.
        Err(e) => e.exit(),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Credentials clap read from the environment are left to the SDK, which reads the same
    // variables itself and then names the right source in its error messages.
    let from_env = |id: &str| matches.value_source(id) == Some(ValueSource::EnvVariable);
    cli.global.from_env = args::FromEnv {
        endpoint: from_env("endpoint"),
        secret_key: from_env("secret_key"),
        organization_id: from_env("organization_id"),
    };
    init_tracing(cli.global.verbose);
    let out = Output::new(cli.global.json, cli.global.quiet);
    let result = run(cli.command, &cli.global, &out);
    let exit = match result {
        Ok(exit) => exit,
        Err(err) => {
            err.report(&out);
            err.code
        }
    };
    ExitCode::from(exit as u8)
}

fn run(command: Command, global: &Global, out: &Output) -> Result<Exit, CliError> {
    match command {
        Command::Datasets { command } => datasets::run(command, global, out),
        Command::Assets { command } => assets::run(command, global, out),
        Command::Annotations { command } => annotations::run(command, global, out),
        Command::Sessions { command } => sessions::run(command, global, out),
        Command::Emulator(args) => emulator::run(args, global, out),
    }
}

/// Builds the blocking client from the options given on the command line; anything not
/// given comes from the `DATATURE_VI_*` environment variables (read by the SDK).
pub(crate) fn client(global: &Global) -> Result<vi_blocking::Client, CliError> {
    let mut builder = vi_blocking::Client::builder()
        .user_agent(concat!("vi-cli/", env!("CARGO_PKG_VERSION")))
        .allow_insecure_http(global.allow_http);
    let given = |value: &Option<String>, from_env: bool| value.clone().filter(|_| !from_env);
    if let Some(endpoint) = given(&global.endpoint, global.from_env.endpoint) {
        builder = builder.endpoint(endpoint);
    }
    if let Some(key) = given(&global.secret_key, global.from_env.secret_key) {
        builder = builder.secret_key(key);
    }
    if let Some(org) = given(&global.organization_id, global.from_env.organization_id) {
        builder = builder.organization_id(org);
    }
    if let Some(path) = &global.config_file {
        builder = builder.config_file(path.clone());
    }
    Ok(builder.build()?)
}

/// Logs to stderr: the SDK's own events at the level asked for (`-v` info, `-vv` debug,
/// `-vvv` trace, or `RUST_LOG` when no `-v` is given), and only warnings and errors from
/// every other crate. The HTTP and TLS libraries underneath (hyper, reqwest, ureq, rustls)
/// log request heads and hex dumps of the bytes at debug and trace level, `Authorization`
/// header and signed query strings included, so their chatter never reaches the terminal,
/// whatever the verbosity or `RUST_LOG` says. The SDK itself never logs a key, a body or a
/// query string.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{FilterExt as _, LevelFilter, filter_fn};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = if verbose == 0 {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
    } else {
        tracing_subscriber::EnvFilter::new(default)
    };
    let ours_or_warning =
        filter_fn(|meta| is_ours(meta.target()) || *meta.level() <= LevelFilter::WARN);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(verbose >= 2)
        .with_span_events(if verbose >= 3 {
            tracing_subscriber::fmt::format::FmtSpan::CLOSE
        } else {
            tracing_subscriber::fmt::format::FmtSpan::NONE
        })
        .with_filter(filter.and(ours_or_warning));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// True for the targets of this project's crates (`vi`, `vi_core`, `vi_async`, ...), whose
/// logs hold no secrets.
fn is_ours(target: &str) -> bool {
    let root = target.split("::").next().unwrap_or(target);
    root == "vi" || root.starts_with("vi_")
}
