//! `dtvi annotations ...`: import annotation files into a dataset, list an asset's
//! annotation parts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;
use vi_blocking::models::{Annotation, AnnotationContents};
use vi_blocking::{AssetId, DatasetId, DuplicateNames, ImportOptions, ImportOutcome, ImportState};

use crate::args::Global;
use crate::exit::{CliError, Exit};
use crate::output::{Align, Output, Table, human_bytes, print_fields};

/// `dtvi annotations ...`
#[derive(Debug, Subcommand)]
pub enum AnnotationsCommand {
    /// Import annotation files (Vi JSONL, COCO, ...) into a dataset. Files named are taken
    /// whatever their extension; folders are searched for .json and .jsonl files.
    Upload(UploadArgs),
    /// List the annotation parts of one asset.
    List {
        /// The dataset id.
        #[arg(long)]
        dataset: String,
        /// The asset id.
        #[arg(long)]
        asset: String,
        /// Parts per request (1-1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        page_size: u32,
    },
}

/// `dtvi annotations upload`
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The dataset id.
    #[arg(long)]
    pub dataset: String,
    /// Files and folders to import.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Return once the files are sent (print the session id to wait for later).
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub wait_timeout: u64,
    /// Register files of the same name under their folder path (train/labels.jsonl as
    /// train__labels.jsonl) instead of refusing them.
    #[arg(long)]
    pub prefix_folders: bool,
}

/// Runs an annotations command.
pub fn run(command: AnnotationsCommand, global: &Global, out: &Output) -> Result<Exit, CliError> {
    match command {
        AnnotationsCommand::Upload(args) => upload(args, global, out),
        AnnotationsCommand::List {
            dataset,
            asset,
            page_size,
        } => {
            let dataset = DatasetId::new(dataset)?;
            let asset = AssetId::new(asset)?;
            let client = crate::client(global)?;
            let mut parts = Vec::new();
            for page in client
                .annotations()
                .list(&dataset, &asset, page_size)?
                .pages()
            {
                parts.extend(page?.items);
            }
            if out.json {
                out.json_value(&json!({ "items": parts }))?;
                return Ok(Exit::Success);
            }
            let rows: Vec<Vec<String>> = parts.iter().map(row).collect();
            Table::new(&[
                ("ID", Align::Left),
                ("WHOLE", Align::Left),
                ("ROLE", Align::Left),
                ("CONTENTS", Align::Left),
            ])
            .print(out, &rows)?;
            Ok(Exit::Success)
        }
    }
}

fn row(a: &Annotation) -> Vec<String> {
    let contents = match &a.spec.contents {
        AnnotationContents::Caption { contents } => format!("{contents:?}"),
        AnnotationContents::PhraseGroundingBoundingBox { bound, target } => {
            format!("box {bound:?} tokens {}..{}", target[0], target[1])
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    vec![
        a.annotation_id.clone(),
        a.whole_id().to_owned(),
        a.spec.aggregation.this_part.role.as_str().to_owned(),
        contents,
    ]
}

fn upload(args: UploadArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let dataset = DatasetId::new(args.dataset)?;
    let mut options = ImportOptions::new()
        .wait(!args.no_wait)
        .timeout(Duration::from_secs(args.wait_timeout));
    if args.prefix_folders {
        options = options.duplicate_names(DuplicateNames::PrefixFolders);
    }
    let client = crate::client(global)?;
    let report = client.annotations().upload(&dataset, args.paths, options)?;
    let state = match &report.state {
        ImportState::Done => "done".to_owned(),
        ImportState::Processing => "processing".to_owned(),
        ImportState::Failed { condition, reason } => format!(
            "failed ({condition}{})",
            reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        ImportState::NotReported { message } => format!("not reported to the service: {message}"),
        _ => "unknown".to_owned(),
    };
    let outcome = |o: &ImportOutcome| match o {
        ImportOutcome::Uploaded => "uploaded".to_owned(),
        ImportOutcome::NotOffered => "no upload URL offered".to_owned(),
        ImportOutcome::Failed { message, .. } => format!("failed: {message}"),
        _ => "unknown".to_owned(),
    };
    let exit = if report.is_done() && report.not_uploaded().next().is_none() {
        Exit::Success
    } else {
        Exit::Partial
    };
    if out.json {
        let files: Vec<_> = report
            .files
            .iter()
            .map(|f| json!({"path": f.path, "name": f.name, "size": f.size, "outcome": outcome(&f.outcome)}))
            .collect();
        out.json_value(&json!({
            "dataset": dataset.as_str(),
            "session": report.session_id.as_str(),
            "state": state,
            "reason": report.session.status.reason,
            "annotations": report.total_annotations(),
            "annotations_by_status": report.session.annotations_by_status(),
            "files": files,
            "unexpected_names": report.unexpected_names,
        }))?;
        return Ok(exit);
    }
    print_fields(
        out,
        &[
            ("session", report.session_id.to_string()),
            ("state", state),
            ("annotations", report.total_annotations().to_string()),
            (
                "reason",
                report.session.status.reason.clone().unwrap_or_default(),
            ),
        ],
    )?;
    let rows: Vec<Vec<String>> = report
        .files
        .iter()
        .map(|f| vec![f.name.clone(), human_bytes(f.size), outcome(&f.outcome)])
        .collect();
    Table::new(&[
        ("NAME", Align::Left),
        ("SIZE", Align::Right),
        ("OUTCOME", Align::Left),
    ])
    .print(out, &rows)?;
    if report.state == ImportState::Processing {
        out.info(&format!(
            "still processing; the session id is {}",
            report.session_id
        ));
    }
    Ok(exit)
}
