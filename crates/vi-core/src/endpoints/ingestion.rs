//! Ingestion-session calls U1–U3 (docs/protocol.md §6.5, §6.9, §6.10).

use super::{ApiRequest, Endpoint, Safety, parse_json, table};
use crate::error::Result;
use crate::ids::{DatasetId, IngestionSessionId, OrganizationId};
use crate::models::{CreateIngestionSessionRequest, IngestionSession};
use crate::transport::Response;

/// U1: declares the files of one batch and gets a signed upload URL for each.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateIngestionSession {
    /// The dataset receiving the files.
    pub dataset: DatasetId,
    /// The declared files and the session's modes.
    pub body: CreateIngestionSessionRequest,
}

impl Endpoint for CreateIngestionSession {
    type Output = IngestionSession;

    from_table!(CREATE_INGESTION_SESSION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        table::CREATE_INGESTION_SESSION
            .request(&[org.as_str(), &dsc])
            .json(&self.body)
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// U2: the state of an ingestion session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetIngestionSession {
    /// The dataset.
    pub dataset: DatasetId,
    /// The session.
    pub session: IngestionSessionId,
}

impl Endpoint for GetIngestionSession {
    type Output = IngestionSession;

    from_table!(GET_INGESTION_SESSION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::GET_INGESTION_SESSION.request(&[org.as_str(), &dsc, self.session.as_str()]))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// U3: abandons an ingestion session. The reply body is ignored (docs/protocol.md §15 #27).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelIngestionSession {
    /// The dataset.
    pub dataset: DatasetId,
    /// The session.
    pub session: IngestionSessionId,
}

impl Endpoint for CancelIngestionSession {
    type Output = ();

    from_table!(CANCEL_INGESTION_SESSION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::CANCEL_INGESTION_SESSION.request(&[org.as_str(), &dsc, self.session.as_str()]))
    }

    fn parse(&self, _response: &Response) -> Result<Self::Output> {
        Ok(())
    }
}
