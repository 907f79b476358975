//! `dtvi`: the command-line tool of the Datature Vi SDK for Rust.
//!
//! Lists, creates and deletes datasets; uploads, lists, counts, inspects, downloads,
//! renames and deletes assets; and runs the local API emulator. Built on the blocking
//! facade (`vi-blocking`): no async runtime is involved except inside `dtvi emulator`.
//!
//! Not called `vi`: installed first on `PATH` by `cargo install`, that name would take the
//! place of the system editor that `git commit`, `crontab -e` and `visudo` start.

mod annotations;
mod args;
mod assets;
mod curation;
mod datasets;
mod emulator;
mod exit;
mod export;
mod interrupt;
mod jobs;
mod output;
mod progress;
mod sessions;
mod transfer;
mod upload;
mod words;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::args::{Cli, ColorArg, Command, Global};
use crate::exit::{CliError, Exit};
use crate::output::{Output, STDOUT_CLOSED};

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    let early = EarlyFlags::scan(&raw);
    let out = Output::new(early.json, false, early.color());
    if let Some(err) = non_utf8_variable() {
        return finish(Err(err), &out);
    }
    let mut command = Cli::command().color(match early.color {
        ColorArg::Always => clap::ColorChoice::Always,
        ColorArg::Never => clap::ColorChoice::Never,
        ColorArg::Auto if early.color() => clap::ColorChoice::Auto,
        ColorArg::Auto => clap::ColorChoice::Never,
    });
    let matches = match command.try_get_matches_from_mut(&raw) {
        Ok(m) => m,
        Err(e) => return usage_error(e, &out),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, &out),
    };
    // Credentials clap read from the environment are left to the SDK, which reads the same
    // variables itself and then names the right source in its error messages.
    let from_env = |id: &str| matches.value_source(id) == Some(ValueSource::EnvVariable);
    cli.global.from_env = args::FromEnv {
        endpoint: from_env("endpoint"),
        secret_key: from_env("secret_key"),
        organization_id: from_env("organization_id"),
    };
    let out = Output::new(
        cli.global.json,
        cli.global.quiet,
        color_wanted(cli.global.color),
    );
    init_tracing(cli.global.verbose, out.color);
    tracing::info!("running `dtvi {}`", command_path(&matches));
    let result = run(cli.command, &cli.global, &out);
    finish(result, &out)
}

/// Reports an error (unless stdout merely closed) and turns the outcome into the exit code.
fn finish(result: Result<Exit, CliError>, out: &Output) -> ExitCode {
    let exit = match result {
        Ok(exit) => exit,
        Err(err) => {
            if err.kind != STDOUT_CLOSED {
                err.report(out);
            }
            err.code
        }
    };
    ExitCode::from(exit as u8)
}

/// Help and version go to stdout with exit 0; usage errors exit 2, as one JSON object on
/// stdout as well with `--json`.
fn usage_error(err: clap::Error, out: &Output) -> ExitCode {
    use clap::error::ErrorKind as Clap;
    let informational = matches!(
        err.kind(),
        Clap::DisplayHelp | Clap::DisplayVersion | Clap::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if informational || !out.json {
        err.exit();
    }
    let _ = err.print();
    let text = err.render().to_string();
    let message = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    // clap already wrote the full text to stderr; only the JSON object remains.
    CliError::new(Exit::Usage, message).report_json(out);
    ExitCode::from(Exit::Usage as u8)
}

/// What must be known before clap has parsed anything: whether errors are JSON and
/// whether clap's own messages may be coloured.
struct EarlyFlags {
    json: bool,
    color: ColorArg,
}

impl EarlyFlags {
    fn scan(raw: &[OsString]) -> Self {
        let mut flags = EarlyFlags {
            json: false,
            color: ColorArg::Auto,
        };
        let mut args = raw.iter().skip(1).map(|a| a.to_string_lossy());
        while let Some(arg) = args.next() {
            match arg.as_ref() {
                "--" => break,
                "--json" => flags.json = true,
                "--color" => {
                    if let Some(value) = args.next() {
                        flags.color = parse_color(&value);
                    }
                }
                other => {
                    if let Some(value) = other.strip_prefix("--color=") {
                        flags.color = parse_color(value);
                    }
                }
            }
        }
        flags
    }

    fn color(&self) -> bool {
        color_wanted(self.color)
    }
}

fn parse_color(value: &str) -> ColorArg {
    match value {
        "always" => ColorArg::Always,
        "never" => ColorArg::Never,
        _ => ColorArg::Auto,
    }
}

/// Colour on stderr: `--color always|never`, else only on a terminal, with `NO_COLOR`
/// unset (or empty) and `TERM` other than `dumb`.
fn color_wanted(choice: ColorArg) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            !no_color && !dumb && std::io::stderr().is_terminal()
        }
    }
}

/// A `DATATURE_VI_*` variable that is not UTF-8, named (clap would only say that "one or
/// more arguments" are invalid).
fn non_utf8_variable() -> Option<CliError> {
    std::env::vars_os().find_map(|(name, value)| {
        let name = name.to_str()?;
        (name.starts_with("DATATURE_VI_") && value.to_str().is_none()).then(|| {
            CliError::new(
                Exit::Config,
                format!(
                    "the environment variable {name} is not valid UTF-8; set it again (e.g. \
                     `export {name}=...`) or unset it"
                ),
            )
        })
    })
}

/// The subcommands given, e.g. `assets upload`.
fn command_path(matches: &ArgMatches) -> String {
    let mut names = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        names.push(name);
        current = sub;
    }
    names.join(" ")
}

fn run(command: Command, global: &Global, out: &Output) -> Result<Exit, CliError> {
    match command {
        Command::Datasets { command } => datasets::run(command, global, out),
        Command::Assets { command } => assets::run(command, global, out),
        Command::Annotations { command } => annotations::run(command, global, out),
        Command::Sessions { command } => sessions::run(command, global, out),
        Command::Emulator(args) => emulator::run(args, global, out),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "dtvi", &mut script);
            out.text(&String::from_utf8_lossy(&script))?;
            Ok(Exit::Success)
        }
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
    let client = builder.build()?;
    let config = client.config();
    tracing::info!(
        "endpoint {}, organization {}",
        config.endpoint,
        config.organization_id
    );
    Ok(client)
}

/// A dataset id as given on the command line, short or in the `<org>_<id>` form that
/// the JSON output and the service's `datasetId` carry, as the short id.
pub(crate) fn dataset_id(
    client: &vi_blocking::Client,
    given: &str,
) -> Result<vi_blocking::DatasetId, CliError> {
    let id = vi_blocking::DatasetId::new(given)?;
    Ok(id.in_organization(&client.config().organization_id)?)
}

/// Logs to stderr: the SDK's own events at the level asked for (`-v` info, `-vv` debug,
/// `-vvv` trace, or `RUST_LOG` when no `-v` is given), and only warnings and errors from
/// every other crate. The HTTP and TLS libraries underneath (hyper, reqwest, ureq, rustls)
/// log request heads and hex dumps of the bytes at debug and trace level, `Authorization`
/// header and signed query strings included, so their chatter never reaches the terminal,
/// whatever the verbosity or `RUST_LOG` says. The SDK itself never logs a key, a body or a
/// query string. Colour codes only when `color` (stderr is a terminal and nobody said no).
fn init_tracing(verbose: u8, color: bool) {
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
        .with_ansi(color)
        .with_target(verbose >= 2)
        .with_span_events(if verbose >= 3 {
            tracing_subscriber::fmt::format::FmtSpan::CLOSE
        } else {
            tracing_subscriber::fmt::format::FmtSpan::NONE
        })
        .with_filter(filter.and(ours_or_warning));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// True for the targets of this project's crates (`dtvi`, `vi_core`, `vi_async`, ...),
/// whose logs hold no secrets.
fn is_ours(target: &str) -> bool {
    let root = target.split("::").next().unwrap_or(target);
    root == "dtvi" || root.starts_with("vi_")
}
