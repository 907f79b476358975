//! `dtvi datasets export`: a dataset with its labels, downloaded and unpacked into a folder.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::{Args, ValueEnum};
use serde_json::json;
use vi_blocking::models::ExportFormat;
use vi_blocking::{DatasetDownloadOptions, DatasetId, ExportEvent, ExportId};

use crate::args::Global;
use crate::exit::{CliError, Exit};
use crate::output::{Align, Output, Table, human_bytes, print_fields};

/// `dtvi datasets export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The dataset id.
    #[arg(long)]
    pub dataset: String,
    /// The folder to write `<DIR>/<dataset id>/` into.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// The archive format (default: vi-full, or vi-jsonl with --annotations-only).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Only the annotations, no images.
    #[arg(long)]
    pub annotations_only: bool,
    /// Put this fraction of the assets in training/, the rest in validation/.
    #[arg(long, value_name = "R")]
    pub split_ratio: Option<f64>,
    /// Coordinates in pixels instead of fractions of the image size.
    #[arg(long)]
    pub pixels: bool,
    /// Download this existing export instead of creating one.
    #[arg(long, value_name = "ID")]
    pub export: Option<String>,
    /// Reuse the newest finished export with the same settings, if any.
    #[arg(long)]
    pub reuse: bool,
    /// Replace a complete copy already in the folder.
    #[arg(long)]
    pub overwrite: bool,
    /// Do not check the format against the dataset type.
    #[arg(long)]
    pub skip_format_check: bool,
    /// Give up waiting for the export after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub wait_timeout: Option<u64>,
}

/// An export format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Images and Vi JSONL annotations.
    ViFull,
    /// Vi JSONL annotations.
    ViJsonl,
    /// TFRecord annotations.
    ViTfrecord,
    /// CSV, box corners.
    CsvFourCorner,
    /// CSV, corner with width and height.
    CsvWidthHeight,
    /// COCO JSON.
    Coco,
    /// Pascal VOC XML.
    PascalVoc,
    /// YOLO Darknet.
    YoloDarknet,
    /// YOLO Keras/PyTorch.
    YoloKerasPytorch,
}

impl FormatArg {
    fn format(self) -> ExportFormat {
        match self {
            FormatArg::ViFull => ExportFormat::ViFull,
            FormatArg::ViJsonl => ExportFormat::ViJsonl,
            FormatArg::ViTfrecord => ExportFormat::ViTfrecord,
            FormatArg::CsvFourCorner => ExportFormat::CsvFourCorner,
            FormatArg::CsvWidthHeight => ExportFormat::CsvWidthHeight,
            FormatArg::Coco => ExportFormat::Coco,
            FormatArg::PascalVoc => ExportFormat::PascalVoc,
            FormatArg::YoloDarknet => ExportFormat::YoloDarknet,
            FormatArg::YoloKerasPytorch => ExportFormat::YoloKerasPytorch,
        }
    }
}

/// Runs `dtvi datasets export`.
pub fn run(args: ExportArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let dataset = DatasetId::new(args.dataset)?;
    let mut options = DatasetDownloadOptions::new()
        .annotations_only(args.annotations_only)
        .normalized(!args.pixels)
        .reuse_finished(args.reuse)
        .overwrite(args.overwrite);
    if let Some(format) = args.format {
        options = options.format(format.format());
    }
    if let Some(ratio) = args.split_ratio {
        options = options.split_ratio(ratio);
    }
    if let Some(export) = args.export {
        options = options.export(ExportId::new(export)?);
    }
    if args.skip_format_check {
        options = options.skip_format_check();
    }
    if let Some(secs) = args.wait_timeout {
        options = options.wait_timeout(std::time::Duration::from_secs(secs));
    }
    if out.show_progress() {
        // One line per step, and the archive's progress in tenths.
        let last = AtomicU64::new(u64::MAX);
        let out = *out;
        options = options.progress(move |event| match event {
            ExportEvent::Export { export, created } => out.info(&format!(
                "{} export {export}",
                if *created { "created" } else { "reusing" }
            )),
            ExportEvent::Downloading { received, total } if *total > 0 => {
                let tenth = received * 10 / total;
                if last.swap(tenth, Ordering::Relaxed) != tenth {
                    out.info(&format!(
                        "downloaded {} of {}",
                        human_bytes(*received),
                        human_bytes(*total)
                    ));
                }
            }
            ExportEvent::Unpacking { .. } => out.info("unpacking"),
            _ => {}
        });
    }
    // Ctrl-C stops the download; the ranges already written are kept for the next run.
    options = options.cancel(crate::interrupt::cancel_on_ctrl_c(None));
    let client = crate::client(global)?;
    let got = client
        .datasets()
        .download_dataset(&dataset, &args.to, &options)?;
    if out.json {
        let splits: Vec<_> = got
            .splits
            .iter()
            .map(|s| {
                json!({"name": s.name, "path": s.path, "assets": s.assets,
                       "annotation_files": s.annotation_files, "annotations": s.annotations})
            })
            .collect();
        out.json_value(&json!({
            "dataset_id": got.dataset.as_str(),
            "export": got.export.as_ref().map(ExportId::as_str),
            "path": got.path,
            "already_present": got.already_present,
            "archive_bytes": got.archive_bytes,
            "resumed_bytes": got.resumed_bytes,
            "assets": got.asset_count(),
            "annotations": got.annotation_count(),
            "splits": splits,
        }))?;
        return Ok(Exit::Success);
    }
    print_fields(
        out,
        &[
            ("dataset", got.dataset.to_string()),
            ("path", got.path.display().to_string()),
            (
                "export",
                got.export
                    .as_ref()
                    .map_or_else(|| "(already present)".into(), ToString::to_string),
            ),
            ("archive", human_bytes(got.archive_bytes)),
            ("resumed", human_bytes(got.resumed_bytes)),
        ],
    )?;
    let rows: Vec<Vec<String>> = got
        .splits
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.assets.to_string(),
                s.annotations.to_string(),
            ]
        })
        .collect();
    Table::new(&[
        ("SPLIT", Align::Left),
        ("ASSETS", Align::Right),
        ("ANNOTATIONS", Align::Right),
    ])
    .print(out, &rows)?;
    Ok(Exit::Success)
}
