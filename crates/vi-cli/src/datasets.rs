//! `vi datasets ...`

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;
use vi_blocking::models::{Dataset, DatasetType};
use vi_blocking::{Cursor, DatasetId, NewDataset, Page};

use crate::args::{DatasetTypeArg, DatasetsCommand, Global, PageArgs};
use crate::exit::{CliError, Exit};
use crate::output::{Align, JsonArray, Output, Table, print_fields};

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
                |d: &Dataset| serde_json::to_value(DatasetJson::from(d)).unwrap_or_default(),
                |cursor| datasets.page(page.page_size, cursor),
            )
        }
        DatasetsCommand::Export(args) => crate::export::run(args, global, out),
        DatasetsCommand::Update(args) => crate::curation::update(args, global, out),
        DatasetsCommand::Get { id } => {
            let id = DatasetId::new(id)?;
            let client = crate::client(global)?;
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
            wait,
            wait_timeout,
        } => {
            let id = DatasetId::new(id)?;
            let client = crate::client(global)?;
            let deleted = if wait {
                client
                    .datasets()
                    .delete_and_wait(&id, Duration::from_secs(wait_timeout))?
            } else {
                client.datasets().delete(&id)?
            };
            if out.json {
                out.json_value(&deleted)?;
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
                         check again later with `vi datasets get {id}`"
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

/// A dataset in `--json` output: the service's object plus `id`, the short id that the
/// other commands take.
#[derive(Serialize)]
struct DatasetJson<'a> {
    id: String,
    #[serde(flatten)]
    dataset: &'a Dataset,
}

impl<'a> From<&'a Dataset> for DatasetJson<'a> {
    fn from(dataset: &'a Dataset) -> Self {
        DatasetJson {
            id: short_id(dataset),
            dataset,
        }
    }
}

fn show(out: &Output, dataset: &Dataset) -> Result<(), CliError> {
    if out.json {
        return out.json_value(&DatasetJson::from(dataset));
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
