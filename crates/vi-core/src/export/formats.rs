//! Which export formats suit which dataset type: the official client's table, applied
//! before an export is created (the service may or may not enforce it, so callers can
//! skip the check).

use crate::error::{Error, Result};
use crate::models::{DatasetType, ExportFormat};

/// The formats of an annotation-only export of a dataset of type `dataset_type`; `None`
/// for a type this SDK does not know.
pub fn annotation_formats(dataset_type: &DatasetType) -> Option<&'static [&'static str]> {
    match dataset_type {
        DatasetType::PhraseGrounding => Some(&[
            "CsvFourCorner",
            "CsvWidthHeight",
            "Coco",
            "PascalVoc",
            "YoloDarknet",
            "YoloKerasPytorch",
            "ViJsonl",
            "ViTfrecord",
        ]),
        DatasetType::Vqa => Some(&["ViJsonl", "ViTfrecord"]),
        DatasetType::Freeform => Some(&["ViJsonl"]),
        DatasetType::Unknown(_) => None,
    }
}

/// Checks that `format` suits a full (`annotations_only = false`: `ViFull` only) or an
/// annotation-only export of a dataset of `dataset_type`. A type this SDK does not know
/// passes.
///
/// # Errors
/// [`Error::InvalidInput`] naming the formats that do suit, and how to skip the check.
pub fn check_format(
    dataset_type: &DatasetType,
    format: &ExportFormat,
    annotations_only: bool,
) -> Result<()> {
    let Some(annotation) = annotation_formats(dataset_type) else {
        return Ok(());
    };
    let allowed: &[&str] = if annotations_only {
        annotation
    } else {
        &["ViFull"]
    };
    if allowed.contains(&format.as_str()) {
        return Ok(());
    }
    let what = if annotations_only {
        "an annotation-only export"
    } else {
        "a full export (images and annotations)"
    };
    Err(Error::invalid(
        "export format",
        format!(
            "{format} does not suit {what} of a {dataset_type} dataset; use {} (or skip this \
             check if the service accepts it)",
            allowed.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_of_formats_per_dataset_type() {
        let pg = DatasetType::PhraseGrounding;
        assert!(check_format(&pg, &ExportFormat::ViFull, false).is_ok());
        assert!(check_format(&pg, &ExportFormat::Coco, true).is_ok());
        assert!(check_format(&pg, &ExportFormat::ViFull, true).is_err());
        assert!(check_format(&pg, &ExportFormat::Coco, false).is_err());
        let vqa = DatasetType::Vqa;
        assert!(check_format(&vqa, &ExportFormat::ViTfrecord, true).is_ok());
        let e = check_format(&vqa, &ExportFormat::Coco, true).unwrap_err();
        assert!(e.to_string().contains("ViJsonl, ViTfrecord"), "{e}");
        let ff = DatasetType::Freeform;
        assert!(check_format(&ff, &ExportFormat::ViJsonl, true).is_ok());
        assert!(check_format(&ff, &ExportFormat::ViTfrecord, true).is_err());
        let odd = DatasetType::Unknown("3d".into());
        assert!(check_format(&odd, &ExportFormat::Coco, false).is_ok());
    }
}
