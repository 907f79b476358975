//! Export archives, built as the official client and its loader expect them: the
//! split folders at the top (`dump/`, or `training/` and `validation/` with a split
//! ratio), `images/` with the asset files (full exports only) and `annotations/` with
//! one Vi JSONL file per asset (`<asset stem>.jsonl`), string ids. Annotation-only
//! formats other than Vi JSONL get a plausible file of their kind, documented in
//! `docs/emulator.md`. Members alternate between folders (an image, then its
//! annotations) because the official client's parallel extraction races on creating
//! the same new folder.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

/// One asset going into an archive.
pub(crate) struct Item {
    pub(crate) filename: String,
    pub(crate) width: u64,
    pub(crate) height: u64,
    pub(crate) blob: PathBuf,
    /// Its Vi JSONL records (normalized coordinates).
    pub(crate) records: Vec<Value>,
}

/// The formats E1 accepts.
pub(crate) const FORMATS: [&str; 9] = [
    "ViFull",
    "ViJsonl",
    "ViTfrecord",
    "CsvFourCorner",
    "CsvWidthHeight",
    "Coco",
    "PascalVoc",
    "YoloDarknet",
    "YoloKerasPytorch",
];

fn stem(filename: &str) -> &str {
    filename.rsplit_once('.').map_or(filename, |(s, _)| s)
}

/// Scales the boxes of a record to pixels (for `normalized: false`).
fn to_pixels(record: &Value, width: u64, height: u64) -> Value {
    let mut r = record.clone();
    if let Some(phrases) = r
        .pointer_mut("/contents/groundedPhrases")
        .and_then(Value::as_array_mut)
    {
        for phrase in phrases {
            if let Some(bounds) = phrase.get_mut("bounds").and_then(Value::as_array_mut) {
                for b in bounds.iter_mut().filter_map(Value::as_array_mut) {
                    for (i, v) in b.iter_mut().enumerate() {
                        let scale = if i % 2 == 0 { width } else { height } as f64;
                        if let Some(x) = v.as_f64() {
                            *v = json!(x * scale);
                        }
                    }
                }
            }
        }
    }
    r
}

/// Every box of a record: (phrase, [xmin, ymin, xmax, ymax]).
fn boxes(record: &Value) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    for phrase in record
        .pointer("/contents/groundedPhrases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = phrase["phrase"].as_str().unwrap_or("").to_owned();
        for b in phrase["bounds"].as_array().into_iter().flatten() {
            let v: Vec<f64> = b
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_f64)
                .collect();
            if v.len() == 4 {
                out.push((name.clone(), v));
            }
        }
    }
    out
}

/// A TFRecord frame (length, masked CRC of the length, data, masked CRC of the data)
/// holding one JSON record.
fn tfrecord(out: &mut Vec<u8>, data: &[u8]) {
    fn masked(bytes: &[u8]) -> u32 {
        let crc = crc32c::crc32c(bytes);
        crc.rotate_right(15).wrapping_add(0xa282_ead8)
    }
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked(data).to_le_bytes());
}

/// Builds the archive for `items` in `format`.
pub(crate) fn build(
    items: &[Item],
    format: &str,
    normalized: bool,
    split_ratio: Option<f64>,
) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let training =
        split_ratio.map(|r| ((r * items.len() as f64).round() as usize).min(items.len()));
    let split_of = |i: usize| match training {
        None => "dump",
        Some(n) if i < n => "training",
        Some(_) => "validation",
    };
    let records = |item: &Item| -> Vec<Value> {
        item.records
            .iter()
            .map(|r| {
                if normalized {
                    r.clone()
                } else {
                    to_pixels(r, item.width, item.height)
                }
            })
            .collect()
    };
    let err = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    let mut per_split: std::collections::BTreeMap<&str, Vec<(usize, &Item)>> = Default::default();
    for (i, item) in items.iter().enumerate() {
        per_split.entry(split_of(i)).or_default().push((i, item));
    }
    for (split, members) in &per_split {
        match format {
            "ViFull" | "ViJsonl" => {
                for (_, item) in members {
                    if format == "ViFull" {
                        zip.start_file(format!("{split}/images/{}", item.filename), options)
                            .map_err(err)?;
                        zip.write_all(&std::fs::read(&item.blob)?)?;
                    }
                    let mut text = String::new();
                    for r in records(item) {
                        text.push_str(&r.to_string());
                        text.push('\n');
                    }
                    zip.start_file(
                        format!("{split}/annotations/{}.jsonl", stem(&item.filename)),
                        options,
                    )
                    .map_err(err)?;
                    zip.write_all(text.as_bytes())?;
                }
            }
            "ViTfrecord" => {
                let mut out = Vec::new();
                for (_, item) in members {
                    for r in records(item) {
                        tfrecord(&mut out, r.to_string().as_bytes());
                    }
                }
                zip.start_file(format!("{split}/annotations/annotations.tfrecord"), options)
                    .map_err(err)?;
                zip.write_all(&out)?;
            }
            "Coco" => {
                let mut images = Vec::new();
                let mut annotations = Vec::new();
                let mut categories: Vec<String> = Vec::new();
                for (n, (_, item)) in members.iter().enumerate() {
                    images.push(json!({"id": n + 1, "file_name": item.filename, "width": item.width, "height": item.height}));
                    for r in &item.records {
                        for (name, b) in boxes(r) {
                            let cat = match categories.iter().position(|c| *c == name) {
                                Some(p) => p + 1,
                                None => {
                                    categories.push(name);
                                    categories.len()
                                }
                            };
                            let (w, h) = (item.width as f64, item.height as f64);
                            annotations.push(json!({
                                "id": annotations.len() + 1, "image_id": n + 1, "category_id": cat,
                                "bbox": [b[0] * w, b[1] * h, (b[2] - b[0]) * w, (b[3] - b[1]) * h],
                                "iscrowd": 0
                            }));
                        }
                    }
                }
                let cats: Vec<Value> = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| json!({"id": i + 1, "name": c}))
                    .collect();
                let doc = json!({"images": images, "annotations": annotations, "categories": cats});
                zip.start_file(format!("{split}/annotations/coco.json"), options)
                    .map_err(err)?;
                zip.write_all(doc.to_string().as_bytes())?;
            }
            "CsvFourCorner" | "CsvWidthHeight" => {
                let four = format == "CsvFourCorner";
                let mut text = String::from(if four {
                    "filename,xmin,ymin,xmax,ymax,class\n"
                } else {
                    "filename,x,y,width,height,class\n"
                });
                for (_, item) in members {
                    for r in records(item) {
                        for (name, b) in boxes(&r) {
                            let nums = if four {
                                [b[0], b[1], b[2], b[3]]
                            } else {
                                [b[0], b[1], b[2] - b[0], b[3] - b[1]]
                            };
                            text.push_str(&format!(
                                "{},{},{},{},{},{}\n",
                                item.filename, nums[0], nums[1], nums[2], nums[3], name
                            ));
                        }
                    }
                }
                zip.start_file(format!("{split}/annotations/annotations.csv"), options)
                    .map_err(err)?;
                zip.write_all(text.as_bytes())?;
            }
            "PascalVoc" => {
                for (_, item) in members {
                    let mut xml = format!(
                        "<annotation><filename>{}</filename><size><width>{}</width><height>{}</height></size>",
                        xml_escape(&item.filename),
                        item.width,
                        item.height
                    );
                    for r in &item.records {
                        for (name, b) in boxes(r) {
                            let (w, h) = (item.width as f64, item.height as f64);
                            xml.push_str(&format!(
                                "<object><name>{}</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox></object>",
                                xml_escape(&name), b[0] * w, b[1] * h, b[2] * w, b[3] * h
                            ));
                        }
                    }
                    xml.push_str("</annotation>\n");
                    zip.start_file(
                        format!("{split}/annotations/{}.xml", stem(&item.filename)),
                        options,
                    )
                    .map_err(err)?;
                    zip.write_all(xml.as_bytes())?;
                }
            }
            _ => {
                // YOLO: one text file per image, class index and centre/size fractions.
                let mut classes: Vec<String> = Vec::new();
                for (_, item) in members {
                    let mut text = String::new();
                    for r in &item.records {
                        for (name, b) in boxes(r) {
                            let class = match classes.iter().position(|c| *c == name) {
                                Some(p) => p,
                                None => {
                                    classes.push(name);
                                    classes.len() - 1
                                }
                            };
                            text.push_str(&format!(
                                "{class} {} {} {} {}\n",
                                (b[0] + b[2]) / 2.0,
                                (b[1] + b[3]) / 2.0,
                                b[2] - b[0],
                                b[3] - b[1]
                            ));
                        }
                    }
                    zip.start_file(
                        format!("{split}/annotations/{}.txt", stem(&item.filename)),
                        options,
                    )
                    .map_err(err)?;
                    zip.write_all(text.as_bytes())?;
                }
                zip.start_file(format!("{split}/annotations/classes.txt"), options)
                    .map_err(err)?;
                zip.write_all(classes.join("\n").as_bytes())?;
            }
        }
    }
    Ok(zip.finish().map_err(err)?.into_inner())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
