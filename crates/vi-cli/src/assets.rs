//! `dtvi assets ...` (upload and download live in `transfer`).

use serde::Serialize;
use vi_blocking::models::Asset;
use vi_blocking::{AssetId, AssetSortBy, CountAssetsOptions, ListAssetsOptions, SortOrder};

use crate::args::{AssetsCommand, Global, ListAssetsArgs, SortArg};
use crate::datasets::list_pages;
use crate::exit::{CliError, Exit};
use crate::output::{Align, Output, human_bytes, print_fields};

/// Runs an asset command.
pub fn run(command: AssetsCommand, global: &Global, out: &Output) -> Result<Exit, CliError> {
    match command {
        AssetsCommand::Upload(args) => crate::upload::upload(args, global, out),
        AssetsCommand::DeleteMany(args) => crate::curation::delete_many(args, global, out),
        AssetsCommand::Download(args) => crate::transfer::download(args, global, out),
        AssetsCommand::List(args) => list(args, global, out),
        AssetsCommand::Count {
            dataset,
            filter,
            metadata_query,
        } => {
            let client = crate::client(global)?;
            let dataset = crate::dataset_id(&client, &dataset)?;
            let mut options = CountAssetsOptions::new();
            if let Some(filter) = filter {
                options = options.filter(filter);
            }
            if let Some(query) = metadata_query {
                options = options.metadata_query(query);
            }
            let count = client.assets().count(&dataset, options)?;
            if out.json {
                #[derive(Serialize)]
                struct Count<'a> {
                    dataset_id: &'a str,
                    count: u64,
                }
                out.json_value(&Count {
                    dataset_id: dataset.as_str(),
                    count,
                })?;
            } else {
                out.line(&count.to_string())?;
            }
            Ok(Exit::Success)
        }
        AssetsCommand::Get {
            dataset,
            asset_id,
            url,
        } => {
            let client = crate::client(global)?;
            let dataset = crate::dataset_id(&client, &dataset)?;
            let asset_id = AssetId::new(asset_id)?;
            if !url {
                let asset = client.assets().get(&dataset, &asset_id)?;
                show(out, &asset)?;
                return Ok(Exit::Success);
            }
            let asset = client.assets().get_with_contents(&dataset, &asset_id)?;
            let Some(signed) = asset.download_url() else {
                return Err(CliError::new(
                    Exit::Failed,
                    format!(
                        "the service returned no download URL for asset {asset_id}; try again, \
                         or check that its upload completed with `dtvi assets get --dataset \
                         {dataset} {asset_id}`"
                    ),
                ));
            };
            if out.json {
                // Asked for explicitly with --url: the real URL is kept.
                out.json_value(&asset_json(&asset))?;
            } else {
                out.line(&signed.url)?;
                out.info(&format!("expires at {}", signed.expiry));
            }
            Ok(Exit::Success)
        }
        AssetsCommand::Delete { dataset, asset_id } => {
            let client = crate::client(global)?;
            let dataset = crate::dataset_id(&client, &dataset)?;
            let asset_id = AssetId::new(asset_id)?;
            client.assets().delete(&dataset, &asset_id)?;
            if out.json {
                #[derive(Serialize)]
                struct Deleted<'a> {
                    dataset_id: &'a str,
                    asset_id: &'a str,
                    deleted: bool,
                }
                out.json_value(&Deleted {
                    dataset_id: dataset.as_str(),
                    asset_id: asset_id.as_str(),
                    deleted: true,
                })?;
            } else {
                out.line(&format!("Deleted asset {asset_id}."))?;
            }
            Ok(Exit::Success)
        }
        AssetsCommand::Rename {
            dataset,
            asset_id,
            new_name,
        } => {
            let client = crate::client(global)?;
            let dataset = crate::dataset_id(&client, &dataset)?;
            let asset_id = AssetId::new(asset_id)?;
            let asset = client.assets().rename(&dataset, &asset_id, &new_name)?;
            if out.json {
                out.json_value(&asset_json(&redacted(&asset)))?;
            } else {
                out.line(&format!("Renamed asset {asset_id} to {}.", asset.filename))?;
            }
            Ok(Exit::Success)
        }
    }
}

fn list(args: ListAssetsArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
    let client = crate::client(global)?;
    let dataset = crate::dataset_id(&client, &args.dataset)?;
    let mut options = ListAssetsOptions::new().page_size(args.page.page_size);
    if let Some(filter) = args.filter {
        options = options.filter(filter);
    }
    if let Some(query) = args.metadata_query {
        options = options.metadata_query(query);
    }
    if args.sort.is_some() || args.desc {
        let by = match args.sort.unwrap_or(SortArg::Default) {
            SortArg::Filename => AssetSortBy::Filename,
            SortArg::Size => AssetSortBy::FileSize,
            SortArg::AssetId => AssetSortBy::AssetId,
            SortArg::LastModified => AssetSortBy::LastModified,
            SortArg::Default => AssetSortBy::Default,
        };
        let order = if args.desc {
            SortOrder::Descending
        } else {
            SortOrder::Ascending
        };
        options = options.sort(by, order);
    }
    let assets = client.assets();
    list_pages(
        out,
        &args.page,
        "assets",
        &[
            ("ASSET ID", Align::Left),
            ("SIZE", Align::Right),
            ("DIMENSIONS", Align::Right),
            ("TYPE", Align::Left),
            ("ANNOTATIONS", Align::Right),
            ("FILENAME", Align::Left),
        ],
        |a: &Asset| {
            vec![
                a.asset_id.clone(),
                human_bytes(a.metadata.file_size),
                format!("{}x{}", a.metadata.width, a.metadata.height),
                a.metadata.mime_type.clone(),
                a.metadata.annotations.total.to_string(),
                a.filename.clone(),
            ]
        },
        |a: &Asset| asset_json(&redacted(a)),
        |cursor| assets.page(&dataset, options.clone(), cursor),
    )
}

/// An asset in `--json` output: the service's object with snake_case field names and
/// `dataset_id` the short id that the other commands take.
pub fn asset_json(asset: &Asset) -> serde_json::Value {
    let mut value =
        crate::output::snake_case_fields(serde_json::to_value(asset).unwrap_or_default());
    if let Ok(short) = asset.dataset() {
        value["dataset_id"] = serde_json::Value::from(short.as_str());
    }
    value
}

/// The asset with its signed URLs reduced to their redacted form (no query string).
pub fn redacted(asset: &Asset) -> Asset {
    let mut asset = asset.clone();
    if let Some(contents) = &mut asset.contents {
        for url in [&mut contents.asset, &mut contents.thumbnail]
            .into_iter()
            .flatten()
        {
            url.url = url.redacted_url();
        }
    }
    asset
}

fn show(out: &Output, asset: &Asset) -> Result<(), CliError> {
    if out.json {
        return out.json_value(&asset_json(&redacted(asset)));
    }
    let m = &asset.metadata;
    let mut fields = vec![
        ("Asset ID", asset.asset_id.clone()),
        ("Filename", asset.filename.clone()),
        (
            "Dataset",
            asset
                .dataset()
                .map(|d| d.to_string())
                .unwrap_or_else(|_| asset.dataset_id.clone()),
        ),
        (
            "Size",
            format!("{} ({} bytes)", human_bytes(m.file_size), m.file_size),
        ),
        ("Dimensions", format!("{}x{}", m.width, m.height)),
        ("Type", m.mime_type.clone()),
        ("Frames", m.frames.to_string()),
        ("Annotations", m.annotations.total.to_string()),
        ("Upload status", m.upload_status.clone()),
        ("Created", m.time_created.to_string()),
        ("Last updated", m.last_updated.to_string()),
    ];
    if !m.hash.contents.is_empty() {
        fields.push((
            "Checksum",
            format!("{} {}", m.hash.algorithm, m.hash.contents),
        ));
    }
    if !m.custom_metadata.is_empty() {
        let text = serde_json::to_string(&m.custom_metadata).unwrap_or_default();
        fields.push(("Custom metadata", text));
    }
    if let Some(url) = asset.download_url() {
        fields.push(("Download URL", url.redacted_url()));
        fields.push(("URL expires", url.expiry.to_string()));
    }
    print_fields(out, &fields)
}
