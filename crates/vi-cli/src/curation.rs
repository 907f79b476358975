//! `dtvi assets delete-many` (bulk deletion by filter or query) and `dtvi datasets update`.

use std::time::Duration;

use clap::Args;
use serde_json::json;
use vi_blocking::{BulkDeletionId, DatasetId, DatasetUpdate, DeleteCriteria};

use crate::args::Global;
use crate::exit::{CliError, Exit};
use crate::output::{Output, print_fields};

/// `dtvi assets delete-many`
#[derive(Debug, Args)]
pub struct DeleteManyArgs {
    /// The dataset id.
    #[arg(long)]
    pub dataset: String,
    /// Filter expression, e.g. 'metadata.width < 100'.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Custom metadata query, e.g. 'quality == "low"'.
    #[arg(long, value_name = "Q")]
    pub metadata_query: Option<String>,
    /// Rule query, passed through.
    #[arg(long, value_name = "Q")]
    pub rule_query: Option<String>,
    /// Strict query evaluation.
    #[arg(long)]
    pub strict: bool,
    /// Delete every asset of the dataset (required when no criterion is given).
    #[arg(long, conflicts_with_all = ["filter", "metadata_query", "rule_query"])]
    pub all: bool,
    /// Return once the deletion has started (print its session id).
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub wait_timeout: u64,
}

/// Runs `dtvi assets delete-many`.
pub fn delete_many(args: DeleteManyArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let dataset = DatasetId::new(args.dataset)?;
    let mut criteria = if args.all {
        DeleteCriteria::all_assets()
    } else {
        DeleteCriteria::new()
    };
    if let Some(f) = args.filter {
        criteria = criteria.filter(f);
    }
    if let Some(q) = args.metadata_query {
        criteria = criteria.metadata_query(q);
    }
    if let Some(q) = args.rule_query {
        criteria = criteria.rule_query(q);
    }
    if args.strict {
        criteria = criteria.strict_query(true);
    }
    // Refused here, before the client is built, with the command line's words.
    criteria.to_wire().map_err(|e| {
        let mut err = CliError::from(e);
        err.hint = Some("give --filter, --metadata-query or --rule-query, or --all".into());
        err
    })?;
    let client = crate::client(global)?;
    let assets = client.assets();
    let mut session = assets.delete_many(&dataset, criteria)?;
    let id = BulkDeletionId::new(session.delete_many_assets_session_id.clone())?;
    if !args.no_wait {
        session =
            assets.wait_for_deletion(&dataset, &id, Duration::from_secs(args.wait_timeout))?;
    }
    let state = if session.is_done() { "done" } else { "running" };
    if out.json {
        out.json_value(&json!({"session": id.as_str(), "state": state}))?;
    } else {
        print_fields(out, &[("session", id.to_string()), ("state", state.into())])?;
    }
    Ok(if session.is_done() || args.no_wait {
        Exit::Success
    } else {
        Exit::Partial
    })
}

/// `dtvi datasets update`
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The dataset id.
    pub id: String,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// A new description.
    #[arg(long)]
    pub description: Option<String>,
    /// An attribute KEY=VALUE (repeatable; the attributes given replace the dataset's).
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
}

/// Runs `dtvi datasets update`.
pub fn update(args: UpdateArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let dataset = DatasetId::new(args.id)?;
    let mut update = DatasetUpdate::new();
    if let Some(n) = args.name {
        update = update.name(n);
    }
    if let Some(d) = args.description {
        update = update.description(d);
    }
    for pair in args.attributes {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(CliError::new(
                Exit::Usage,
                format!("--attribute {pair:?} is not KEY=VALUE"),
            ));
        };
        update = update.attribute(k, v);
    }
    update.to_wire()?;
    let client = crate::client(global)?;
    let dataset = client.datasets().update(&dataset, update)?;
    if out.json {
        out.json_value(&dataset)?;
    } else {
        print_fields(
            out,
            &[
                ("id", dataset.dataset_id.clone()),
                ("name", dataset.name.clone()),
                (
                    "description",
                    dataset.description.clone().unwrap_or_default(),
                ),
            ],
        )?;
    }
    Ok(Exit::Success)
}
