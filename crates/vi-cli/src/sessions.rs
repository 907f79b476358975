//! `dtvi sessions ...`: a dataset's ingestion sessions, so that an upload started with
//! `--no-wait` can be looked at, waited for or cancelled later.

use std::time::Duration;

use clap::Subcommand;
use serde_json::json;
use vi_blocking::models::{IngestionSession, is_finished_reached};
use vi_blocking::{DatasetId, IngestionSessionId};

use crate::args::Global;
use crate::exit::{CliError, Exit};
use crate::output::{Align, Output, Table};

/// `dtvi sessions ...`
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List a dataset's ingestion sessions.
    List {
        /// The dataset id.
        #[arg(long)]
        dataset: String,
    },
    /// Show one ingestion session.
    Get {
        /// The dataset id.
        #[arg(long)]
        dataset: String,
        /// The session id.
        id: String,
    },
    /// Wait until an ingestion session has finished.
    Wait {
        /// The dataset id.
        #[arg(long)]
        dataset: String,
        /// The session id.
        id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600, value_name = "SECS")]
        wait_timeout: u64,
    },
    /// Cancel an ingestion session (files not yet taken in are abandoned).
    Cancel {
        /// The dataset id.
        #[arg(long)]
        dataset: String,
        /// The session id.
        id: String,
    },
}

fn state(s: &IngestionSession) -> &'static str {
    if s.failure().is_some() {
        "failed"
    } else if is_finished_reached(&s.status.conditions) {
        "finished"
    } else {
        "running"
    }
}

fn summary(s: &IngestionSession) -> serde_json::Value {
    let failed: Vec<String> = s.failed_files().into_keys().collect();
    json!({
        "id": s.asset_ingestion_session_id,
        "state": state(s),
        "total": s.status.progress_count.total,
        "succeeded": s.status.progress_count.succeeded,
        "errored": s.status.progress_count.errored,
        "failed_files": failed,
    })
}

fn show(out: &Output, sessions: &[IngestionSession]) -> Result<(), CliError> {
    if out.json {
        let items: Vec<_> = sessions.iter().map(summary).collect();
        return out.json_value(&json!({ "items": items }));
    }
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            let p = &s.status.progress_count;
            vec![
                s.asset_ingestion_session_id.clone(),
                state(s).to_owned(),
                p.total.to_string(),
                p.succeeded.to_string(),
                p.errored.to_string(),
            ]
        })
        .collect();
    Table::new(&[
        ("ID", Align::Left),
        ("STATE", Align::Left),
        ("FILES", Align::Right),
        ("SUCCEEDED", Align::Right),
        ("ERRORED", Align::Right),
    ])
    .print(out, &rows)
}

/// Runs a sessions command.
pub fn run(command: SessionsCommand, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let client = crate::client(global)?;
    let assets = client.assets();
    match command {
        SessionsCommand::List { dataset } => {
            let dataset = DatasetId::new(dataset)?;
            let mut all = Vec::new();
            for page in assets.sessions(&dataset, 100)?.pages() {
                all.extend(page?.items);
            }
            show(out, &all)?;
            Ok(Exit::Success)
        }
        SessionsCommand::Get { dataset, id } => {
            let session =
                assets.session(&DatasetId::new(dataset)?, &IngestionSessionId::new(id)?)?;
            show(out, std::slice::from_ref(&session))?;
            Ok(Exit::Success)
        }
        SessionsCommand::Wait {
            dataset,
            id,
            wait_timeout,
        } => {
            let session = assets.wait_for_session(
                &DatasetId::new(dataset)?,
                &IngestionSessionId::new(id)?,
                Duration::from_secs(wait_timeout),
            )?;
            show(out, std::slice::from_ref(&session))?;
            let done = is_finished_reached(&session.status.conditions)
                && session.failed_files().is_empty();
            Ok(if done { Exit::Success } else { Exit::Partial })
        }
        SessionsCommand::Cancel { dataset, id } => {
            let id = IngestionSessionId::new(id)?;
            assets.cancel_session(&DatasetId::new(dataset)?, &id)?;
            out.info(&format!("cancelled {id}"));
            if out.json {
                out.json_value(&json!({"id": id.as_str(), "cancelled": true}))?;
            }
            Ok(Exit::Success)
        }
    }
}
