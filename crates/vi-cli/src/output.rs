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
}

impl Output {
    /// Output as the global flags ask.
    pub fn new(json: bool, quiet: bool) -> Self {
        Output { json, quiet }
    }

    /// True when progress bars should be drawn: stderr is a terminal and neither
    /// `--quiet` nor `--json` was given.
    pub fn show_progress(&self) -> bool {
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }

    /// One line of results on stdout. Control characters other than newlines and tabs
    /// are escaped (JSON text has none: serde escapes them inside strings).
    pub fn line(&self, text: &str) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", printable(text, true))?;
        out.flush()?;
        Ok(())
    }

    /// Several lines of results on stdout (the text ends with a newline or not).
    pub fn text(&self, text: &str) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        let text = printable(text, true);
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(())
    }

    /// A JSON document on stdout, pretty-printed.
    pub fn json_value(&self, value: &impl Serialize) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value).map_err(|e| {
            CliError::new(
                Exit::Failed,
                format!("cannot encode the output as JSON: {e}"),
            )
        })?;
        self.line(&text)
    }

    /// A note for people on stderr (hints, progress messages); not with `--quiet`.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            self.error_line(text);
        }
    }

    /// A line on stderr, always (control characters escaped as on stdout).
    pub fn error_line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", printable(text, true));
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
