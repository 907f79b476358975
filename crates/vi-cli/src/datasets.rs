//! `dtvi datasets ...`

use std::collections::HashSet;
use std::io::{BufRead as _, IsTerminal as _};
use std::time::Duration;

use serde::Serialize;
use vi_blocking::models::{Dataset, DatasetType};
use vi_blocking::{Cursor, DatasetId, NewDataset, Page};

use crate::args::{DatasetTypeArg, DatasetsCommand, Global, PageArgs};
use crate::exit::{CliError, Exit};
use crate::output::{self, Align, JsonArray, Output, Table, print_fields};

/// Runs a dataset command.
pub fn run(command: DatasetsCommand, global: &Global, out: &Output) -> Result<Exit, CliError> {
    match command {
        DatasetsCommand::List { page } => {
            let client = crate::client(global)?;
            let datasets = client.datasets();
            list_pages(
                out,
                &page,
                "datasets",
                &[
                    ("ID", Align::Left),
                    ("NAME", Align::Left),
                    ("TYPE", Align::Left),
                    ("ASSETS", Align::Right),
                    ("CREATED", Align::Left),
                ],
                |d: &Dataset| {
                    vec![
                        short_id(d),
                        d.name.clone(),
                        d.dataset_type.as_str().to_owned(),
                        d.statistic.asset_total.to_string(),
                        d.create_date.to_string(),
                    ]
                },
                dataset_json,
                |cursor| datasets.page(page.page_size, cursor),
            )
        }
        DatasetsCommand::Export(args) => crate::export::run(args, global, out),
        DatasetsCommand::Update(args) => crate::curation::update(args, global, out),
        DatasetsCommand::Get { id } => {
            let client = crate::client(global)?;
            let id = crate::dataset_id(&client, &id)?;
            let dataset = client.datasets().get(&id)?;
            show(out, &dataset)?;
            Ok(Exit::Success)
        }
        DatasetsCommand::Create {
            name,
            description,
            dataset_type,
        } => {
            let mut new = NewDataset::new(name).dataset_type(match dataset_type {
                DatasetTypeArg::PhraseGrounding => DatasetType::PhraseGrounding,
                DatasetTypeArg::Vqa => DatasetType::Vqa,
                DatasetTypeArg::Freeform => DatasetType::Freeform,
            });
            if let Some(description) = description {
                new = new.description(description);
            }
            let client = crate::client(global)?;
            let dataset = client.datasets().create(new)?;
            show(out, &dataset)?;
            Ok(Exit::Success)
        }
        DatasetsCommand::Delete {
            id,
            yes,
            wait,
            wait_timeout,
        } => {
            let client = crate::client(global)?;
            let id = crate::dataset_id(&client, &id)?;
            if !yes {
                confirm_delete(&client, &id, out)?;
            }
            let deleted = if wait {
                client
                    .datasets()
                    .delete_and_wait(&id, Duration::from_secs(wait_timeout))?
            } else {
                client.datasets().delete(&id)?
            };
            if out.json {
                let mut value =
                    output::snake_case_fields(serde_json::to_value(&deleted).unwrap_or_default());
                value["dataset_id"] = serde_json::Value::from(id.as_str());
                out.json_value(&value)?;
            } else if deleted.is_done() {
                out.line(&format!("Deleted dataset {id}."))?;
            } else {
                out.line(&format!(
                    "Deletion of dataset {id} started; it completes in the background."
                ))?;
            }
            if wait && !deleted.is_done() {
                return Err(CliError::new(
                    Exit::Failed,
                    format!(
                        "the deletion of dataset {id} was still running after {wait_timeout} s; \
                         check again later with `dtvi datasets get {id}`"
                    ),
                ));
            }
            Ok(Exit::Success)
        }
    }
}

fn short_id(dataset: &Dataset) -> String {
    dataset
        .id()
        .map(|id| id.to_string())
        .unwrap_or_else(|_| dataset.dataset_id.clone())
}

/// Asks on the terminal before a dataset is deleted; without a terminal, `--yes` must
/// say it (a script cannot answer).
fn confirm_delete(
    client: &vi_blocking::Client,
    id: &DatasetId,
    out: &Output,
) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            Exit::Usage,
            format!(
                "not deleting dataset {id} without confirmation: stdin is not a terminal, so \
                 nobody can be asked; pass --yes to delete it"
            ),
        ));
    }
    let dataset = client.datasets().get(id)?;
    let prompt = format!(
        "Delete dataset {id} ({:?}) with its {} assets and {} annotations? This cannot be \
         undone. [y/N] ",
        dataset.name, dataset.statistic.asset_total, dataset.statistic.annotation_total
    );
    out.prompt(&prompt);
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err()
        || !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES")
    {
        return Err(CliError::new(
            Exit::Cancelled,
            format!("dataset {id} was not deleted: the deletion was not confirmed"),
        ));
    }
    Ok(())
}

/// A dataset in `--json` output: the service's object with snake_case field names and
/// `dataset_id`, the short id that the other commands take.
fn dataset_json(dataset: &Dataset) -> serde_json::Value {
    let mut value = output::snake_case_fields(serde_json::to_value(dataset).unwrap_or_default());
    value["dataset_id"] = serde_json::Value::from(short_id(dataset));
    value
}

fn show(out: &Output, dataset: &Dataset) -> Result<(), CliError> {
    if out.json {
        return out.json_value(&dataset_json(dataset));
    }
    let mut fields = vec![
        ("ID", short_id(dataset)),
        ("Name", dataset.name.clone()),
        ("Type", dataset.dataset_type.as_str().to_owned()),
    ];
    if let Some(description) = dataset.description.as_ref().filter(|d| !d.is_empty()) {
        fields.push(("Description", description.clone()));
    }
    fields.extend([
        ("Assets", dataset.statistic.asset_total.to_string()),
        (
            "Annotated assets",
            dataset.statistic.asset_annotated.to_string(),
        ),
        (
            "Annotations",
            dataset.statistic.annotation_total.to_string(),
        ),
        ("Created", dataset.create_date.to_string()),
    ]);
    print_fields(out, &fields)
}

/// Prints a listing: one page (with a hint on stderr giving the next page's cursor), or
/// with `--all` every page as it arrives. In JSON a single page is
/// `{"items": [...], "next_cursor": ...}` and `--all` streams one array.
pub fn list_pages<T>(
    out: &Output,
    args: &PageArgs,
    noun: &str,
    columns: &[(&'static str, Align)],
    row: impl Fn(&T) -> Vec<String>,
    json: impl Fn(&T) -> serde_json::Value,
    mut fetch: impl FnMut(Option<Cursor>) -> vi_core::Result<Page<T>>,
) -> Result<Exit, CliError> {
    let mut cursor = args.cursor.clone().map(Cursor::new);
    let mut table = Table::new(columns);
    if !args.all {
        let page = fetch(cursor)?;
        if out.json {
            #[derive(Serialize)]
            struct OnePage<'a> {
                items: Vec<serde_json::Value>,
                next_cursor: Option<&'a Cursor>,
            }
            out.json_value(&OnePage {
                items: page.items.iter().map(&json).collect(),
                next_cursor: page.next.as_ref(),
            })?;
        } else {
            if page.items.is_empty() {
                out.info(&format!("No {noun}."));
            } else {
                let rows: Vec<_> = page.items.iter().map(&row).collect();
                table.print(out, &rows)?;
            }
            if let Some(next) = &page.next {
                out.info(&format!(
                    "More {noun}: continue with --cursor {next}, or list them all with --all."
                ));
            }
        }
        return Ok(Exit::Success);
    }
    let mut array = if out.json {
        Some(JsonArray::start(out)?)
    } else {
        None
    };
    let mut seen = HashSet::new();
    let mut shown = 0usize;
    let result = loop {
        let page = match fetch(cursor.clone()) {
            Ok(page) => page,
            Err(err) => break Err(CliError::from(err)),
        };
        shown += page.items.len();
        match &mut array {
            Some(array) => {
                for item in &page.items {
                    array.item(out, &json(item))?;
                }
            }
            None => {
                let rows: Vec<_> = page.items.iter().map(&row).collect();
                table.print(out, &rows)?;
            }
        }
        match page.next {
            None => break Ok(Exit::Success),
            Some(next) => {
                if !seen.insert(next.clone()) {
                    break Err(CliError::new(
                        Exit::Failed,
                        format!(
                            "pagination stopped: the service returned the page token {next} \
                             twice; {shown} {noun} were listed before that"
                        ),
                    ));
                }
                cursor = Some(next);
            }
        }
    };
    // Close the array even after an error, so stdout stays valid JSON (the exit code and
    // stderr tell that the listing is incomplete).
    if let Some(array) = array {
        array.finish(out)?;
    } else if shown == 0 && result.is_ok() {
        out.info(&format!("No {noun}."));
    }
    result
}
