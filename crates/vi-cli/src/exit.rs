//! Exit codes and the error report: one sentence on stderr, and with `--json` one JSON
//! object on stdout too.

use serde::Serialize;
use vi_core::{Error, ErrorKind};

use crate::output::Output;

/// The process exit codes, as documented in `dtvi --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Everything succeeded.
    Success = 0,
    /// The operation failed (API or network error).
    Failed = 1,
    /// Usage error: bad flags (clap exits with 2 itself) or invalid arguments.
    Usage = 2,
    /// Configuration error: missing or malformed credentials, endpoint or config file.
    Config = 3,
    /// Finished, but some files failed, were skipped or are still processing.
    Partial = 4,
    /// The dataset or asset does not exist.
    NotFound = 5,
    /// Cancelled by Ctrl-C.
    Cancelled = 130,
}

/// A failure to report, with its exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: Exit,
    /// What kind of failure, in snake_case (`config`, `not_found`, `authentication`...).
    pub kind: &'static str,
    /// The HTTP status, when the service answered.
    pub status: Option<u16>,
    /// One sentence saying what failed and how to fix it.
    pub message: String,
    /// An optional second line with advice specific to the command line.
    pub hint: Option<String>,
}

/// The `--json` form of an error: `{"error": {...}}`.
#[derive(Serialize)]
struct ErrorJson<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    kind: &'a str,
    status: Option<u16>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
    exit_code: u8,
}

impl CliError {
    /// An error with a message and an exit code; its kind follows from the code.
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        let kind = match code {
            Exit::Usage => "usage",
            Exit::Config => "config",
            Exit::NotFound => "not_found",
            Exit::Cancelled => "cancelled",
            Exit::Partial => "partial",
            Exit::Success | Exit::Failed => "failed",
        };
        CliError {
            code,
            kind,
            status: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Writes `error: …` (and the hint) to stderr and, with `--json`, the error object to
    /// stdout.
    pub fn report(&self, out: &Output) {
        out.error_line(&format!("error: {}", self.message));
        if let Some(hint) = &self.hint {
            out.error_line(&format!("hint: {hint}"));
        }
        if out.json && !out.document_started() {
            self.report_json(out);
        }
    }

    /// Writes the `--json` error object to stdout.
    pub fn report_json(&self, out: &Output) {
        {
            let json = ErrorJson {
                error: ErrorBody {
                    kind: self.kind,
                    status: self.status,
                    message: &self.message,
                    hint: self.hint.as_deref(),
                    exit_code: self.code as u8,
                },
            };
            // A closed stdout leaves the exit code to say it.
            let _ = out.json_value(&json);
        }
    }
}

/// The snake_case name of an SDK error kind, as `--json` errors give it.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::Config => "config",
        ErrorKind::Transport => "transport",
        ErrorKind::Validation => "validation",
        ErrorKind::Authentication => "authentication",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::Server => "server",
        ErrorKind::Decode => "decode",
        ErrorKind::Io => "io",
        ErrorKind::OperationFailed => "operation_failed",
        ErrorKind::Pagination => "pagination",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::Verification => "verification",
        ErrorKind::Internal => "internal",
        _ => "other",
    }
}

impl From<Error> for CliError {
    fn from(err: Error) -> Self {
        let code = match err.kind() {
            ErrorKind::Config => Exit::Config,
            ErrorKind::NotFound => Exit::NotFound,
            ErrorKind::InvalidInput => Exit::Usage,
            ErrorKind::Cancelled => Exit::Cancelled,
            _ => Exit::Failed,
        };
        let html = err.api().is_some_and(vi_core::ApiError::is_html);
        // A web page answering is no "not found" of the API: the endpoint is wrong.
        let code = if html { Exit::Failed } else { code };
        let message = match err.kind() {
            ErrorKind::Config => crate::words::config_message(&err.to_string()),
            _ => crate::words::short_ids(&err.to_string()),
        };
        let hint = if html || err.kind() == ErrorKind::Transport {
            Some(
                "check the endpoint (--endpoint, DATATURE_VI_API_ENDPOINT or \"endpoint\" in \
                 the --config-file)"
                    .to_owned(),
            )
        } else {
            None
        };
        CliError {
            code,
            kind: if html {
                "not_a_vi_api"
            } else {
                kind_name(err.kind())
            },
            status: err.status().map(|s| s.as_u16()),
            message,
            hint,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::new(Exit::Failed, format!("cannot write the output: {err}"))
    }
}
