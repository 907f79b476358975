//! Dataset calls D1–D5 (docs/protocol.md §4).

use super::{ApiRequest, DEFAULT_PAGE_SIZE, Endpoint, Safety, check_page_size, parse_json, table};
use crate::error::{Error, Result};
use crate::ids::{DatasetId, OrganizationId};
use crate::models::Cursor;
use crate::models::{
    CreateDatasetRequest, Dataset, DatasetContent, DatasetType, DeletedDataset, Localization,
    PageEnvelope,
};
use crate::transport::Response;

/// D1: one page of the organization's datasets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListDatasets {
    /// Datasets per page, 1–1000.
    pub page_size: u32,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Default for ListDatasets {
    fn default() -> Self {
        ListDatasets {
            page_size: DEFAULT_PAGE_SIZE,
            cursor: None,
        }
    }
}

impl Endpoint for ListDatasets {
    type Output = PageEnvelope<Dataset>;

    from_table!(LIST_DATASETS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let size = check_page_size(self.page_size)?;
        Ok(table::LIST_DATASETS
            .request(&[org.as_str()])
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str))
            .query("s", size.to_string()))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// D3: one dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetDataset {
    /// The dataset.
    pub dataset: DatasetId,
}

impl Endpoint for GetDataset {
    type Output = Dataset;

    from_table!(GET_DATASET);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::GET_DATASET.request(&[org.as_str(), &dsc]))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// What a new dataset looks like (docs/protocol.md §4.3). Only the values the service documents are
/// offered; the official client's defaults apply to the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDataset {
    /// The display name; must not be empty.
    pub name: String,
    /// A free-text description.
    pub description: String,
    /// The dataset type.
    pub dataset_type: DatasetType,
    /// Optional attributes stored in the dataset's metadata.
    pub attributes: Option<std::collections::BTreeMap<String, String>>,
}

impl NewDataset {
    /// A dataset named `name`, of the default type (phrase grounding).
    pub fn new(name: impl Into<String>) -> Self {
        NewDataset {
            name: name.into(),
            description: String::new(),
            dataset_type: DatasetType::PhraseGrounding,
            attributes: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the dataset type.
    pub fn dataset_type(mut self, dataset_type: DatasetType) -> Self {
        self.dataset_type = dataset_type;
        self
    }

    /// Adds a metadata attribute.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes
            .get_or_insert_with(Default::default)
            .insert(key.into(), value.into());
        self
    }
}

impl From<&str> for NewDataset {
    fn from(name: &str) -> Self {
        NewDataset::new(name)
    }
}

impl From<String> for NewDataset {
    fn from(name: String) -> Self {
        NewDataset::new(name)
    }
}

/// D2: creates a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateDataset {
    /// The dataset to create.
    pub dataset: NewDataset,
}

impl Endpoint for CreateDataset {
    type Output = Dataset;

    from_table!(CREATE_DATASET);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let d = &self.dataset;
        if d.name.trim().is_empty() {
            return Err(Error::invalid(
                "dataset name",
                "it is empty; give the dataset a name",
            ));
        }
        if matches!(d.dataset_type, DatasetType::Unknown(_)) {
            return Err(Error::invalid(
                "dataset type",
                "use phrase-grounding, vqa or freeform",
            ));
        }
        let body = CreateDatasetRequest {
            name: d.name.clone(),
            owner: org.as_str().to_owned(),
            description: d.description.clone(),
            dataset_type: d.dataset_type.clone(),
            content: DatasetContent::Image,
            localization: Localization::DatatureMulti,
            data_localization: Localization::DatatureMulti,
            status: 0,
            tags: Default::default(),
            metadata: d
                .attributes
                .clone()
                .map(|attributes| crate::models::DatasetMetadataInput { attributes }),
        };
        table::CREATE_DATASET.request(&[org.as_str()]).json(&body)
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// D4: starts deleting a dataset (deletion is asynchronous).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteDataset {
    /// The dataset.
    pub dataset: DatasetId,
}

impl Endpoint for DeleteDataset {
    type Output = DeletedDataset;

    from_table!(DELETE_DATASET);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::DELETE_DATASET.request(&[org.as_str(), &dsc]))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// D5: the progress of a dataset deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetDatasetDeletion {
    /// The dataset being deleted.
    pub dataset: DatasetId,
}

impl Endpoint for GetDatasetDeletion {
    type Output = DeletedDataset;

    from_table!(GET_DATASET_DELETION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::GET_DATASET_DELETION.request(&[org.as_str(), &dsc]))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

impl super::PagedEndpoint for ListDatasets {
    type Item = Dataset;
    fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }
    fn set_cursor(&mut self, cursor: Option<Cursor>) {
        self.cursor = cursor;
    }
}
