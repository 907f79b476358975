//! Dataset exports: accessors of the export object and its download URL's redacting
//! `Debug` (`docs/exports.md`).

use std::fmt;

use super::common::{all_reached, failed};
use super::wire::{DatasetExport, ExportDownloadUrl, ExportFormat, ResourceCondition, SignedUrl};
use crate::error::Error;
use crate::ids::ExportId;

impl DatasetExport {
    /// The export id, validated.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `datasetExportId` is not a valid id.
    pub fn id(&self) -> Result<ExportId, Error> {
        ExportId::new(self.dataset_export_id.as_str())
    }

    /// True when the archive is built: at least one condition and every one `Reached`.
    pub fn is_done(&self) -> bool {
        all_reached(&self.status.conditions)
    }

    /// The first failed condition, if the build failed.
    pub fn failure(&self) -> Option<&ResourceCondition> {
        failed(&self.status.conditions)
    }

    /// The archive's URL, once it is built.
    pub fn download_url(&self) -> Option<&ExportDownloadUrl> {
        self.status.download_url.as_ref()
    }
}

impl ExportDownloadUrl {
    /// The URL without its query string (which holds the signature). Safe to log.
    pub fn redacted_url(&self) -> String {
        crate::redact::url(&self.url)
    }

    /// The same URL as the SDK's other signed URLs, for the one place requests to signed
    /// URLs are built.
    pub(crate) fn to_signed(&self) -> SignedUrl {
        SignedUrl {
            url: self.url.clone(),
            expiry: self.expires_at,
            ..SignedUrl::default()
        }
    }
}

impl fmt::Debug for ExportDownloadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportDownloadUrl")
            .field("url", &self.redacted_url())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl ExportFormat {
    /// Every format the service documents, as spelled on the wire.
    pub const KNOWN: [&'static str; 9] = [
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

    /// True for the format that holds the images too (`ViFull`); every other format holds
    /// annotations only.
    pub fn has_assets(&self) -> bool {
        matches!(self, ExportFormat::ViFull)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_url_never_shows_its_signature_and_formats_stay_open() {
        let url = ExportDownloadUrl {
            url: "https://store.example/x.zip?signature=s3cr3t".into(),
            ..Default::default()
        };
        assert!(!format!("{url:?}").contains("s3cr3t"));
        let body = r#"{"datasetExportId":"exp-1","spec":{"format":"Coco","options":{"normalized":true}},"status":{"conditions":[{"condition":"Finished","status":"Reached","lastTransitionTime":1}]}}"#;
        let export: DatasetExport = serde_json::from_str(body).unwrap();
        assert_eq!(export.spec.format, ExportFormat::Coco);
        assert!(export.is_done() && export.download_url().is_none());
        let odd: DatasetExport = serde_json::from_str(&body.replace("Coco", "Parquet")).unwrap();
        assert_eq!(odd.spec.format.as_str(), "Parquet");
    }
}
