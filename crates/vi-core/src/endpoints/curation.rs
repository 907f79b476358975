//! Curation and resource calls: bulk asset deletion (B1–B3), dataset update (D6), the
//! lightweight dataset list (D7) and the list of ingestion sessions (U4).

use std::collections::BTreeMap;

use super::annotations::{json_output, paged};
use super::{
    ApiRequest, DEFAULT_PAGE_SIZE, Endpoint, PagedEndpoint, Safety, check_page_size, parse_json,
    table,
};
use crate::error::{Error, Result};
use crate::ids::{BulkDeletionId, DatasetId, OrganizationId};
use crate::models::{
    BulkDeletionCriteria, BulkDeletionSession, CreateBulkDeletionRequest, Cursor, Dataset,
    DatasetMetadataInput, IngestionSession, PageEnvelope, SimpleDataset, UpdateDatasetRequest,
};
use crate::transport::Response;

/// Which assets a bulk deletion removes. At least one criterion is required, unless
/// [`all_assets`](Self::all_assets) says every asset is meant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteCriteria {
    /// A filter expression, sent as a string.
    pub filter: Option<String>,
    /// A filter as a JSON object (sent as an object, not as text); replaces `filter`.
    pub filter_object: Option<serde_json::Value>,
    /// A custom-metadata query, e.g. `quality == "low"`.
    pub metadata_query: Option<String>,
    /// A rule query, verbatim.
    pub rule_query: Option<String>,
    /// Strict query evaluation.
    pub strict_query: Option<bool>,
    /// True to delete every asset of the dataset when no criterion is given.
    pub all: bool,
}

impl DeleteCriteria {
    /// No criteria yet (refused as it is: add one, or say [`all_assets`](Self::all_assets)).
    pub fn new() -> Self {
        Self::default()
    }

    /// Every asset of the dataset: the only way to send a deletion without criteria.
    pub fn all_assets() -> Self {
        DeleteCriteria {
            all: true,
            ..Self::default()
        }
    }

    /// Sets the filter expression.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Sets the filter as a JSON object.
    pub fn filter_object(mut self, filter: serde_json::Value) -> Self {
        self.filter_object = Some(filter);
        self
    }

    /// Sets the custom-metadata query.
    pub fn metadata_query(mut self, query: impl Into<String>) -> Self {
        self.metadata_query = Some(query.into());
        self
    }

    /// Sets the rule query.
    pub fn rule_query(mut self, query: impl Into<String>) -> Self {
        self.rule_query = Some(query.into());
        self
    }

    /// Sets strict query evaluation.
    pub fn strict_query(mut self, strict: bool) -> Self {
        self.strict_query = Some(strict);
        self
    }

    /// True when no criterion is given.
    pub fn is_empty(&self) -> bool {
        self.filter.as_deref().is_none_or(str::is_empty)
            && self.filter_object.is_none()
            && self.metadata_query.as_deref().is_none_or(str::is_empty)
            && self.rule_query.as_deref().is_none_or(str::is_empty)
    }

    /// The wire criteria: the four keys, `null` when unset.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when no criterion is given and `all` is not set, or when
    /// criteria are given together with `all`.
    pub fn to_wire(&self) -> Result<BulkDeletionCriteria> {
        match (self.is_empty(), self.all) {
            (true, false) => {
                return Err(Error::invalid(
                    "deletion criteria",
                    "none given, which could delete every asset; give a filter or a query, \
                     or ask for all assets explicitly (DeleteCriteria::all_assets, --all)",
                ));
            }
            (false, true) => {
                return Err(Error::invalid(
                    "deletion criteria",
                    "criteria given together with \"all assets\"; choose one",
                ));
            }
            _ => {}
        }
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        Ok(BulkDeletionCriteria {
            filter: self
                .filter_object
                .clone()
                .or_else(|| nonempty(&self.filter).map(serde_json::Value::String)),
            metadata_query: nonempty(&self.metadata_query),
            rule_query: nonempty(&self.rule_query),
            strict_query: self.strict_query,
        })
    }
}

/// B1: starts deleting the assets matching the criteria.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateBulkDeletion {
    /// The dataset.
    pub dataset: DatasetId,
    /// The criteria.
    pub criteria: DeleteCriteria,
}

impl Endpoint for CreateBulkDeletion {
    type Output = BulkDeletionSession;

    from_table!(CREATE_BULK_DELETION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let body = CreateBulkDeletionRequest {
            spec: self.criteria.to_wire()?,
        };
        let dsc = self.dataset.composite(org);
        table::CREATE_BULK_DELETION
            .request(&[org.as_str(), &dsc])
            .json(&body)
    }

    json_output!();
}

/// B2: the state of a bulk deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetBulkDeletion {
    /// The dataset.
    pub dataset: DatasetId,
    /// The session.
    pub session: BulkDeletionId,
}

impl Endpoint for GetBulkDeletion {
    type Output = BulkDeletionSession;

    from_table!(GET_BULK_DELETION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::GET_BULK_DELETION.request(&[org.as_str(), &dsc, self.session.as_str()]))
    }

    json_output!();
}

/// B3: one page of a dataset's bulk deletions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListBulkDeletions {
    /// The dataset.
    pub dataset: DatasetId,
    /// Sessions per page, 1–1000.
    pub page_size: u32,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Endpoint for ListBulkDeletions {
    type Output = PageEnvelope<BulkDeletionSession>;

    from_table!(LIST_BULK_DELETIONS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let size = check_page_size(self.page_size)?;
        let dsc = self.dataset.composite(org);
        Ok(table::LIST_BULK_DELETIONS
            .request(&[org.as_str(), &dsc])
            .query("s", size.to_string())
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str)))
    }

    json_output!();
}

paged!(ListBulkDeletions, BulkDeletionSession);

/// What to change in a dataset; only what is set is sent, and at least one change is
/// required. The type and content of a dataset cannot be changed.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct DatasetUpdate {
    /// A new display name (not empty).
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// Preferences to set (values are booleans or strings).
    pub preference: BTreeMap<String, serde_json::Value>,
    /// The attributes, replacing the current ones, when set.
    pub attributes: Option<BTreeMap<String, String>>,
}

impl DatasetUpdate {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a new name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets a new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets a boolean preference.
    pub fn preference_flag(mut self, key: impl Into<String>, value: bool) -> Self {
        self.preference.insert(key.into(), value.into());
        self
    }

    /// Sets a text preference.
    pub fn preference_text(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.preference.insert(key.into(), value.into().into());
        self
    }

    /// Adds an attribute (the attributes given replace the dataset's).
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// The wire body.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty update or an empty name.
    pub fn to_wire(&self) -> Result<UpdateDatasetRequest> {
        if self.name.is_none()
            && self.description.is_none()
            && self.preference.is_empty()
            && self.attributes.is_none()
        {
            return Err(Error::invalid(
                "dataset update",
                "nothing to change; give a name, a description, a preference or attributes",
            ));
        }
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid("dataset name", "it is empty; give a name"));
        }
        Ok(UpdateDatasetRequest {
            name: self.name.clone(),
            description: self.description.clone(),
            preference: (!self.preference.is_empty()).then(|| self.preference.clone()),
            metadata: self
                .attributes
                .clone()
                .map(|attributes| DatasetMetadataInput { attributes }),
        })
    }
}

/// D6: updates a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateDataset {
    /// The dataset.
    pub dataset: DatasetId,
    /// The changes.
    pub update: DatasetUpdate,
}

impl Endpoint for UpdateDataset {
    type Output = Dataset;

    from_table!(UPDATE_DATASET);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let body = self.update.to_wire()?;
        let dsc = self.dataset.composite(org);
        table::UPDATE_DATASET
            .request(&[org.as_str(), &dsc])
            .json(&body)
    }

    json_output!();
}

/// D7: one page of datasets reduced to id, name and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSimpleDatasets {
    /// Datasets per page, 1–1000.
    pub page_size: u32,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Default for ListSimpleDatasets {
    fn default() -> Self {
        ListSimpleDatasets {
            page_size: DEFAULT_PAGE_SIZE,
            cursor: None,
        }
    }
}

impl Endpoint for ListSimpleDatasets {
    type Output = PageEnvelope<SimpleDataset>;

    from_table!(LIST_SIMPLE_DATASETS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let size = check_page_size(self.page_size)?;
        Ok(table::LIST_SIMPLE_DATASETS
            .request(&[org.as_str()])
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str))
            .query("s", size.to_string()))
    }

    json_output!();
}

paged!(ListSimpleDatasets, SimpleDataset);

/// U4: one page of a dataset's ingestion sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListIngestionSessions {
    /// The dataset.
    pub dataset: DatasetId,
    /// Sessions per page, 1–1000.
    pub page_size: u32,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Endpoint for ListIngestionSessions {
    type Output = PageEnvelope<IngestionSession>;

    from_table!(LIST_INGESTION_SESSIONS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let size = check_page_size(self.page_size)?;
        let dsc = self.dataset.composite(org);
        Ok(table::LIST_INGESTION_SESSIONS
            .request(&[org.as_str(), &dsc])
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str))
            .query("s", size.to_string()))
    }

    json_output!();
}

paged!(ListIngestionSessions, IngestionSession);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_criteria_are_refused_unless_all_assets_are_meant() {
        let err = DeleteCriteria::new().to_wire().unwrap_err().to_string();
        assert!(
            err.contains("deletion criteria") && err.contains("all"),
            "{err}"
        );
        assert!(DeleteCriteria::new().filter("").to_wire().is_err());
        let all = DeleteCriteria::all_assets().to_wire().unwrap();
        assert_eq!(all, BulkDeletionCriteria::default());
        assert!(DeleteCriteria::all_assets().filter("x").to_wire().is_err());
    }

    #[test]
    fn criteria_send_all_four_keys_with_nulls() {
        let body = CreateBulkDeletionRequest {
            spec: DeleteCriteria::new()
                .metadata_query("quality == \"low\"")
                .strict_query(true)
                .to_wire()
                .unwrap(),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"spec":{"filter":null,"metadataQuery":"quality == \"low\"","ruleQuery":null,"strictQuery":true}}"#
        );
        let object = DeleteCriteria::new()
            .filter_object(serde_json::json!({"a": 1}))
            .to_wire()
            .unwrap();
        assert_eq!(object.filter, Some(serde_json::json!({"a": 1})));
    }

    #[test]
    fn updates_send_only_what_is_set_and_refuse_nothing() {
        assert!(DatasetUpdate::new().to_wire().is_err());
        assert!(DatasetUpdate::new().name(" ").to_wire().is_err());
        let body = DatasetUpdate::new()
            .name("Drone survey (cleaned)")
            .attribute("team", "cv")
            .to_wire()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"name":"Drone survey (cleaned)","metadata":{"attributes":{"team":"cv"}}}"#
        );
    }
}
