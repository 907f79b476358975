//! Ingestion-session calls U1–U3 (spec §6.5, §6.9, §6.10).

use http::Method;

use super::{ApiRequest, Endpoint, Safety, dataset_path, encode_segment, parse_json};
use crate::error::Result;
use crate::ids::{DatasetId, IngestionSessionId, OrganizationId};
use crate::models::{CreateIngestionSessionRequest, IngestionSession};
use crate::transport::Response;

/// The asset source every upload goes through: class, provider, id (spec §2.2).
pub const ASSET_SOURCE: &str = "managed/datature/default";

fn sessions_path(org: &OrganizationId, dataset: &DatasetId) -> String {
    format!(
        "{}/assetSources/{ASSET_SOURCE}/assetIngestionSessions",
        dataset_path(org, dataset)
    )
}

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

    fn operation(&self) -> &'static str {
        "create ingestion session"
    }

    fn safety(&self) -> Safety {
        // Repeating it could create a second session (spec §6.5).
        Safety::Unsafe
    }

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        ApiRequest::new(Method::POST, sessions_path(org, &self.dataset)).json(&self.body)
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

    fn operation(&self) -> &'static str {
        "get ingestion session"
    }

    fn safety(&self) -> Safety {
        Safety::Safe
    }

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        Ok(ApiRequest::new(
            Method::GET,
            format!(
                "{}/{}",
                sessions_path(org, &self.dataset),
                encode_segment(self.session.as_str())
            ),
        ))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// U3: abandons an ingestion session. The reply body is ignored (spec §15 #27).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelIngestionSession {
    /// The dataset.
    pub dataset: DatasetId,
    /// The session.
    pub session: IngestionSessionId,
}

impl Endpoint for CancelIngestionSession {
    type Output = ();

    fn operation(&self) -> &'static str {
        "cancel ingestion session"
    }

    fn safety(&self) -> Safety {
        Safety::Unsafe
    }

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        Ok(ApiRequest::new(
            Method::POST,
            format!(
                "{}/{}:cancel",
                sessions_path(org, &self.dataset),
                encode_segment(self.session.as_str())
            ),
        ))
    }

    fn parse(&self, _response: &Response) -> Result<Self::Output> {
        Ok(())
    }
}
