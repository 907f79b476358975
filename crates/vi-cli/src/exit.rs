//! Exit codes and the one-sentence error report.

use vi_core::{Error, ErrorKind};

use crate::output::Output;

/// The process exit codes, as documented in `vi --help`.
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

/// A failure to report on stderr, with its exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: Exit,
    /// One sentence saying what failed and how to fix it.
    pub message: String,
    /// An optional second line with advice specific to the command line.
    pub hint: Option<String>,
    /// When true, nothing is printed (e.g. stdout was closed by the reader).
    pub silent: bool,
}

impl CliError {
    /// An error with a message and an exit code.
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            hint: None,
            silent: false,
        }
    }

    /// Writes `error: …` (and the hint) to stderr, unless silent.
    pub fn report(&self, out: &Output) {
        if self.silent {
            return;
        }
        out.error_line(&format!("error: {}", self.message));
        if let Some(hint) = &self.hint {
            out.error_line(&format!("hint: {hint}"));
        }
    }
}

impl From<Error> for CliError {
    fn from(err: Error) -> Self {
        let (code, hint) = match err.kind() {
            ErrorKind::Config => (
                Exit::Config,
                Some(
                    "give the credentials with --secret-key and --organization-id, the \
                     DATATURE_VI_SECRET_KEY and DATATURE_VI_ORGANIZATION_ID environment \
                     variables, or --config-file PATH (a JSON file with \"secret_key\" and \
                     \"organization_id\")"
                        .to_owned(),
                ),
            ),
            ErrorKind::NotFound => (Exit::NotFound, None),
            ErrorKind::InvalidInput => (Exit::Usage, None),
            ErrorKind::Cancelled => (Exit::Cancelled, None),
            _ => (Exit::Failed, None),
        };
        CliError {
            code,
            message: err.to_string(),
            hint,
            silent: false,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            // The reader went away (`vi assets list --all | head`): nothing left to say.
            return CliError {
                code: Exit::Success,
                message: String::new(),
                hint: None,
                silent: true,
            };
        }
        CliError::new(Exit::Failed, format!("cannot write the output: {err}"))
    }
}
