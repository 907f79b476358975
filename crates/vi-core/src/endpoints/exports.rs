//! Dataset export calls E1–E3 (`docs/exports.md`).

use super::{ApiRequest, Endpoint, Safety, check_page_size, parse_json, table};
use crate::error::{Error, Result};
use crate::ids::{DatasetId, ExportId, OrganizationId};
use crate::models::{
    CreateDatasetExportRequest, Cursor, DatasetExport, ExportFormat, ExportOptions, ExportSpec,
    PageEnvelope,
};
use crate::transport::Response;

/// What an export should be: its format and how it is built.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExportSettings {
    /// The archive format; `ViFull` (images and annotations) by default.
    pub format: ExportFormat,
    /// Coordinates as fractions of the image size (`true`, the default) or pixels.
    pub normalized: bool,
    /// The fraction of assets put in `training/` (the rest in `validation/`); `None`
    /// (the default) puts every asset in `dump/`.
    pub split_ratio: Option<f64>,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            format: ExportFormat::ViFull,
            normalized: true,
            split_ratio: None,
        }
    }
}

impl ExportSettings {
    /// The defaults: `ViFull`, normalized, no split.
    pub fn new() -> Self {
        ExportSettings::default()
    }

    /// Sets the format.
    pub fn format(mut self, format: ExportFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets whether coordinates are normalized to 0–1.
    pub fn normalized(mut self, normalized: bool) -> Self {
        self.normalized = normalized;
        self
    }

    /// Sets the training fraction of a training/validation split.
    pub fn split_ratio(mut self, ratio: f64) -> Self {
        self.split_ratio = Some(ratio);
        self
    }

    /// Checks the settings before anything is sent.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a split ratio outside 0–1 (or not a number) or an
    /// unknown format.
    pub fn check(&self) -> Result<()> {
        if let Some(r) = self.split_ratio {
            if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
                return Err(Error::invalid(
                    "split ratio",
                    format!("{r} is not a fraction; give the training share, e.g. 0.8"),
                ));
            }
        }
        if let ExportFormat::Unknown(name) = &self.format {
            return Err(Error::invalid(
                "export format",
                format!(
                    "{name:?} is not a format the service documents; use one of {}",
                    ExportFormat::KNOWN.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// The request body's `spec`.
    pub(crate) fn spec(&self) -> ExportSpec {
        ExportSpec {
            format: self.format.clone(),
            options: ExportOptions {
                normalized: self.normalized,
                split_ratio: self.split_ratio,
            },
        }
    }
}

/// E1: starts an export.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateExport {
    /// The dataset.
    pub dataset: DatasetId,
    /// What to build.
    pub settings: ExportSettings,
}

impl Endpoint for CreateExport {
    type Output = DatasetExport;

    from_table!(CREATE_DATASET_EXPORT);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        self.settings.check()?;
        let dsc = self.dataset.composite(org);
        let body = CreateDatasetExportRequest {
            spec: self.settings.spec(),
        };
        table::CREATE_DATASET_EXPORT
            .request(&[org.as_str(), &dsc])
            .json(&body)
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// E2: one export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetExport {
    /// The dataset.
    pub dataset: DatasetId,
    /// The export's id.
    pub export: ExportId,
}

impl Endpoint for GetExport {
    type Output = DatasetExport;

    from_table!(GET_DATASET_EXPORT);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::GET_DATASET_EXPORT.request(&[org.as_str(), &dsc, self.export.as_str()]))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// E3: one page of a dataset's exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListExports {
    /// The dataset.
    pub dataset: DatasetId,
    /// Exports per page (1–1000); `None` leaves it to the service.
    pub page_size: Option<u32>,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Endpoint for ListExports {
    type Output = PageEnvelope<DatasetExport>;

    from_table!(LIST_DATASET_EXPORTS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let size = self.page_size.map(check_page_size).transpose()?;
        let dsc = self.dataset.composite(org);
        Ok(table::LIST_DATASET_EXPORTS
            .request(&[org.as_str(), &dsc])
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str))
            .query_opt("s", size.map(|s| s.to_string())))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

impl super::PagedEndpoint for ListExports {
    type Item = DatasetExport;
    fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }
    fn set_cursor(&mut self, cursor: Option<Cursor>) {
        self.cursor = cursor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrganizationId {
        OrganizationId::new("org").unwrap()
    }

    #[test]
    fn create_always_sends_both_options_in_camel_case() {
        let ds = DatasetId::new("ds").unwrap();
        let create = CreateExport {
            dataset: ds.clone(),
            settings: ExportSettings::new(),
        };
        let req = create.request(&org()).unwrap();
        assert_eq!(req.path, "/workspaces/org/datasets/org_ds/datasetExports");
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"spec": {"format": "ViFull", "options": {"normalized": true, "splitRatio": null}}})
        );
        let split = CreateExport {
            dataset: ds,
            settings: ExportSettings::new()
                .format(ExportFormat::ViJsonl)
                .normalized(false)
                .split_ratio(0.8),
        };
        let body: serde_json::Value =
            serde_json::from_slice(split.request(&org()).unwrap().body.as_ref().unwrap()).unwrap();
        assert_eq!(body["spec"]["format"], "ViJsonl");
        assert_eq!(body["spec"]["options"]["splitRatio"], 0.8);
        assert_eq!(body["spec"]["options"]["normalized"], false);
    }

    #[test]
    fn bad_settings_and_ids_are_refused_before_sending() {
        let ds = DatasetId::new("ds").unwrap();
        for ratio in [1.5, -0.1, f64::NAN] {
            let e = CreateExport {
                dataset: ds.clone(),
                settings: ExportSettings::new().split_ratio(ratio),
            }
            .request(&org())
            .unwrap_err();
            assert!(e.to_string().contains("split ratio"), "{e}");
        }
        let e = ExportId::new("a/b").unwrap_err();
        assert!(e.to_string().contains("export id"), "{e}");
    }

    #[test]
    fn list_sends_the_page_size_only_when_given() {
        let ds = DatasetId::new("ds").unwrap();
        let mut list = ListExports {
            dataset: ds,
            page_size: None,
            cursor: None,
        };
        assert!(list.request(&org()).unwrap().query.is_empty());
        list.page_size = Some(20);
        assert_eq!(
            list.request(&org()).unwrap().path_and_query(),
            "/workspaces/org/datasets/org_ds/datasetExports?s=20"
        );
    }
}
