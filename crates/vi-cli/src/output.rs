//! Where output goes: results on stdout (tables or JSON), everything else on stderr.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::exit::{CliError, Exit};
pub use vi_core::redact::printable;

/// The output settings of one run.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Machine-readable JSON on stdout.
    pub json: bool,
    /// No progress, hints or summaries of successful transfers.
    pub quiet: bool,
    /// Colour on stderr (`--color`, `NO_COLOR`, `TERM` and whether stderr is a terminal).
    pub color: bool,
}

/// Whether a JSON document was started on stdout (one per run).
static DOCUMENT_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The kind of the error returned once the reader of stdout has gone away.
pub const STDOUT_CLOSED: &str = "stdout_closed";

impl Output {
    /// Output as the global flags ask.
    pub fn new(json: bool, quiet: bool, color: bool) -> Self {
        Output { json, quiet, color }
    }

    /// True when progress bars should be drawn: stderr is a terminal and `--quiet` was
    /// not given (with `--json` the bars go to stderr, the JSON to stdout).
    pub fn show_progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// One line of results on stdout. Control characters other than newlines and tabs
    /// are escaped (JSON text has none: serde escapes them inside strings).
    pub fn line(&self, text: &str) -> Result<(), CliError> {
        let mut text = printable(text, true).into_owned();
        text.push('\n');
        write_stdout(&text)
    }

    /// Several lines of results on stdout (the text ends with a newline or not).
    pub fn text(&self, text: &str) -> Result<(), CliError> {
        let mut text = printable(text, true).into_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        write_stdout(&text)
    }

    /// `result`, except that a closed stdout counts as written: for a report printed after
    /// the work is done, whose exit code must not change because nobody read it.
    pub fn ignore_closed(result: Result<(), CliError>) -> Result<(), CliError> {
        match result {
            Err(err) if err.kind == STDOUT_CLOSED => Ok(()),
            other => other,
        }
    }

    /// A JSON document on stdout, pretty-printed.
    pub fn json_value(&self, value: &impl Serialize) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value).map_err(|e| {
            CliError::new(
                Exit::Failed,
                format!("cannot encode the output as JSON: {e}"),
            )
        })?;
        DOCUMENT_STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
        self.line(&text)
    }

    /// True once a JSON document has been started on stdout: an error after it (a
    /// listing that fails on its tenth page) goes to stderr only, so stdout stays one
    /// document.
    pub fn document_started(&self) -> bool {
        DOCUMENT_STARTED.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A note for people on stderr (hints, progress messages); not with `--quiet`.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            self.error_line(text);
        }
    }

    /// A question on stderr, without a newline (the answer is typed after it).
    pub fn prompt(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}", printable(text, false));
        let _ = err.flush();
    }

    /// A line on stderr, always (control characters escaped as on stdout).
    pub fn error_line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", printable(text, true));
    }
}

/// Writes to stdout. A reader that went away (`| head -1`, `| true`) is an error of kind
/// [`STDOUT_CLOSED`] and exit code 0, which a listing stops at and a report ignores.
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError {
            code: Exit::Success,
            kind: STDOUT_CLOSED,
            status: None,
            message: String::new(),
            hint: None,
        }),
        Err(err) => Err(err.into()),
    }
}

/// A JSON array written to stdout item by item (one compact item per line), so long
/// listings are never held in memory.
#[derive(Debug)]
pub struct JsonArray {
    /// The last item, held back until we know whether a comma follows it.
    pending: Option<String>,
}

impl JsonArray {
    /// Opens the array.
    pub fn start(out: &Output) -> Result<Self, CliError> {
        DOCUMENT_STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
        out.line("[")?;
        Ok(JsonArray { pending: None })
    }

    /// Writes one item.
    pub fn item(&mut self, out: &Output, value: &impl Serialize) -> Result<(), CliError> {
        let text = serde_json::to_string(value).map_err(|e| {
            CliError::new(
                Exit::Failed,
                format!("cannot encode the output as JSON: {e}"),
            )
        })?;
        if let Some(previous) = self.pending.replace(text) {
            out.line(&format!("  {previous},"))?;
        }
        Ok(())
    }

    /// Closes the array.
    pub fn finish(self, out: &Output) -> Result<(), CliError> {
        if let Some(last) = self.pending {
            out.line(&format!("  {last}"))?;
        }
        out.line("]")
    }
}

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// An aligned table printed page by page: columns grow to fit what they have shown, and
/// the header is printed once.
#[derive(Debug)]
pub struct Table {
    headers: Vec<&'static str>,
    align: Vec<Align>,
    widths: Vec<usize>,
    header_printed: bool,
}

impl Table {
    /// A table with these columns.
    pub fn new(columns: &[(&'static str, Align)]) -> Self {
        Table {
            headers: columns.iter().map(|(h, _)| *h).collect(),
            align: columns.iter().map(|(_, a)| *a).collect(),
            widths: columns.iter().map(|(h, _)| h.chars().count()).collect(),
            header_printed: false,
        }
    }

    /// Prints rows (the header first, the first time).
    pub fn print(&mut self, out: &Output, rows: &[Vec<String>]) -> Result<(), CliError> {
        for row in rows {
            for (width, cell) in self.widths.iter_mut().zip(row) {
                *width = (*width).max(printable(cell, false).chars().count());
            }
        }
        let mut text = String::new();
        if !self.header_printed {
            self.header_printed = true;
            let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
            text.push_str(&self.format_row(&header));
        }
        for row in rows {
            text.push_str(&self.format_row(row));
        }
        if text.is_empty() {
            return Ok(());
        }
        out.text(&text)
    }

    fn format_row(&self, row: &[String]) -> String {
        let mut line = String::new();
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            let width = self.widths.get(i).copied().unwrap_or(0);
            let cell = printable(cell, false);
            let pad = width.saturating_sub(cell.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            match self.align.get(i).copied().unwrap_or(Align::Left) {
                Align::Right => {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(&cell);
                }
                Align::Left => {
                    line.push_str(&cell);
                    if i != last {
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
        }
        line.push('\n');
        line
    }
}

/// Prints `label  value` pairs with the labels aligned.
pub fn print_fields(out: &Output, fields: &[(&str, String)]) -> Result<(), CliError> {
    let width = fields
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (label, value) in fields {
        let pad = width - label.chars().count();
        text.push_str(label);
        text.push(':');
        text.extend(std::iter::repeat_n(' ', pad + 1));
        text.push_str(&printable(value, false));
        text.push('\n');
    }
    out.text(&text)
}

/// Bytes in binary units (`1.5 MiB`), as the SDK's summaries print them.
pub fn human_bytes(bytes: u64) -> String {
    vi_core::upload::report::human_bytes(bytes)
}

/// Fields of the service's objects whose values are maps keyed by ids (users, asset
/// statuses, tags): their keys are data and stay as they are, their values are objects
/// whose field names are converted.
const KEYED_BY_ID: &[&str] = &["users", "assetStatuses", "tagDetails"];

/// Fields of the service's objects that hold data of the user's (custom metadata, tags,
/// attributes, preferences): left exactly as they are.
const USER_DATA: &[&str] = &[
    "attributes",
    "headers",
    "tags",
    "cohorts",
    "preference",
    "tagsCount",
    "userDefined",
    "customMetadata",
    "framesChange",
    "withTag",
    "responseHeaders",
];

/// A service object (dataset, asset, deletion) with its field names in snake_case, the one
/// naming scheme of every `--json` output (`datasetId` becomes `dataset_id`). Keys that
/// are data, not field names, are kept.
pub fn snake_case_fields(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let Value::Object(map) = value else {
        return match value {
            Value::Array(items) => Value::Array(items.into_iter().map(snake_case_fields).collect()),
            other => other,
        };
    };
    let converted = map
        .into_iter()
        .map(|(key, value)| {
            let value = if USER_DATA.contains(&key.as_str()) {
                value
            } else if KEYED_BY_ID.contains(&key.as_str()) {
                match value {
                    Value::Object(entries) => Value::Object(
                        entries
                            .into_iter()
                            .map(|(k, v)| (k, snake_case_fields(v)))
                            .collect(),
                    ),
                    other => other,
                }
            } else {
                snake_case_fields(value)
            };
            (snake_case(&key), value)
        })
        .collect();
    Value::Object(converted)
}

/// `assetIngestionSessionId` → `asset_ingestion_session_id`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::snake_case_fields;

    #[test]
    fn field_names_become_snake_case_and_data_keys_stay() {
        let value = json!({
            "datasetId": "o_d",
            "metadata": {"fileSize": 3, "customMetadata": {"camelKey": 1}},
            "users": {"userId1": {"userRole": "owner"}},
            "items": [{"assetId": "a"}]
        });
        assert_eq!(
            snake_case_fields(value),
            json!({
                "dataset_id": "o_d",
                "metadata": {"file_size": 3, "custom_metadata": {"camelKey": 1}},
                "users": {"userId1": {"user_role": "owner"}},
                "items": [{"asset_id": "a"}]
            })
        );
    }
}
