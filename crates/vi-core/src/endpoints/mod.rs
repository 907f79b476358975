//! One type per API call: each builds its request and parses its response, with no I/O.
//!
//! An endpoint says how safe it is to repeat ([`Safety`]), which drives the retry policy:
//! `GET` is safe, `PUT`/`DELETE` idempotent, `POST`/`PATCH` unsafe (never repeated after
//! the request may have reached the server, spec §10.1).
//!
//! Paths follow spec §2.2: absolute paths joined onto the API origin, every dataset
//! addressed by its composite id `{org}_{ds}`, every variable segment percent-encoded as
//! one segment (a `/` inside a filename becomes `%2F`), and the `:count` / `:cancel`
//! suffixes sent literally. Queries follow spec §1.6: form encoding, flags sent as `y` and
//! omitted when false, unset values omitted.

mod assets;
mod datasets;
mod ingestion;
mod multipart;

pub use assets::{
    AssetSortBy, CountAssets, CountAssetsOptions, DeleteAsset, GetAsset, ListAssets,
    ListAssetsOptions, RenameAsset, RenameTarget, SortOrder,
};
pub use datasets::{
    CreateDataset, DeleteDataset, GetDataset, GetDatasetDeletion, ListDatasets, NewDataset,
};
pub use ingestion::{CancelIngestionSession, CreateIngestionSession, GetIngestionSession};
pub use multipart::{
    AbortMultipartUpload, CompleteMultipartUpload, CompletePart, CreateMultipartUpload,
    GetPartUploadUrl,
};

use bytes::Bytes;
use http::Method;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::ids::{DatasetId, OrganizationId};
use crate::models::{Cursor, PageEnvelope};
pub use crate::retry::Safety;
use crate::transport::Response;

/// The default page size of listings (spec §8).
pub const DEFAULT_PAGE_SIZE: u32 = 10;
/// The largest page size the service accepts (spec §8).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Characters escaped inside one path segment: everything a URL path gives meaning to
/// (`/`, `?`, `#`, `%`), plus characters that are never legal raw. Non-ASCII is always
/// escaped. `:` stays literal, as the `:count` / `:cancel` suffixes require.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

/// Percent-encodes one path segment.
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// An API request before credentials and the origin are added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// The absolute, already-encoded path (e.g. `/workspaces/o/datasets`).
    pub path: String,
    /// Query pairs, unencoded; unset values are simply absent.
    pub query: Vec<(&'static str, String)>,
    /// A JSON body, when the call has one.
    pub body: Option<Bytes>,
}

impl ApiRequest {
    /// A request with no query and no body.
    pub fn new(method: Method, path: String) -> Self {
        ApiRequest {
            method,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    /// Adds a query pair.
    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    /// Adds a query pair when `value` is set.
    pub fn query_opt(self, key: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// Adds a flag: `key=y` when true, nothing when false (spec §1.6).
    pub fn flag(self, key: &'static str, on: bool) -> Self {
        if on { self.query(key, "y") } else { self }
    }

    /// Sets a JSON body.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the value cannot be serialised (it always can for the
    /// SDK's own request models).
    pub fn json(mut self, body: &impl serde::Serialize) -> Result<Self> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::invalid("request body", e.to_string()))?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// The path with its form-encoded query (space as `+`, reserved characters escaped).
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            query.append_pair(k, v);
        }
        format!("{}?{}", self.path, query.finish())
    }
}

/// One API call: request building and response parsing, no I/O.
pub trait Endpoint: Send + Sync {
    /// What a successful response parses into.
    type Output: Send;

    /// A short human name for messages and tracing (e.g. `get dataset`).
    fn operation(&self) -> &'static str;

    /// Whether the call may be repeated.
    fn safety(&self) -> Safety;

    /// Builds the request for an organization.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when an argument is out of range.
    fn request(&self, organization: &OrganizationId) -> Result<ApiRequest>;

    /// Parses a 2xx response.
    ///
    /// # Errors
    /// [`Error::Decode`] when the body does not have the expected shape.
    fn parse(&self, response: &Response) -> Result<Self::Output>;

    /// True when `status`, received on a *repeated* attempt, means the first attempt already
    /// succeeded (e.g. 404 after a retried delete, spec §5.4). The response is then parsed
    /// as if it were a success, with an empty body.
    fn success_on_repeat(&self, _status: http::StatusCode) -> bool {
        false
    }
}

/// Parses a JSON body into `T`, naming the operation on failure.
///
/// # Errors
/// [`Error::Decode`] with serde's description (path and reason, never the body).
pub fn parse_json<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        operation: operation.to_owned(),
        message: e.to_string(),
    })
}

/// `/workspaces/{org}` — the root of every API path.
pub(crate) fn workspace_path(org: &OrganizationId) -> String {
    format!("/workspaces/{}", encode_segment(org.as_str()))
}

/// `/workspaces/{org}/datasets/{org}_{ds}` — one dataset.
pub(crate) fn dataset_path(org: &OrganizationId, dataset: &DatasetId) -> String {
    format!(
        "{}/datasets/{}",
        workspace_path(org),
        encode_segment(&dataset.composite(org))
    )
}

/// Checks a page size against the service's range.
pub(crate) fn check_page_size(size: u32) -> Result<u32> {
    if (1..=MAX_PAGE_SIZE).contains(&size) {
        Ok(size)
    } else {
        Err(Error::invalid(
            "page size",
            format!("{size} is outside 1..={MAX_PAGE_SIZE}"),
        ))
    }
}

/// A listing endpoint that can be pointed at a cursor.
pub trait PagedEndpoint:
    Endpoint<Output = PageEnvelope<Self::Item>> + Clone + Send + Sync + 'static
{
    /// The listed item.
    type Item: Send + 'static;

    /// The cursor the request starts from.
    fn cursor(&self) -> Option<&Cursor>;

    /// Points the request at `cursor`.
    fn set_cursor(&mut self, cursor: Option<Cursor>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_escape_path_syntax_but_keep_colons() {
        assert_eq!(encode_segment("a/b c?d#e%f"), "a%2Fb%20c%3Fd%23e%25f");
        assert_eq!(encode_segment("assets:count"), "assets:count");
        assert_eq!(encode_segment("é.jpg"), "%C3%A9.jpg");
    }

    #[test]
    fn queries_are_form_encoded() {
        let req = ApiRequest::new(Method::GET, "/x".into())
            .query("metadataQuery", "k == 1")
            .query("p", "a+b/c=")
            .flag("contents", true)
            .flag("strictQuery", false);
        assert_eq!(
            req.path_and_query(),
            "/x?metadataQuery=k+%3D%3D+1&p=a%2Bb%2Fc%3D&contents=y"
        );
    }

    #[test]
    fn page_size_bounds() {
        assert!(check_page_size(0).is_err());
        assert_eq!(check_page_size(1).unwrap(), 1);
        assert_eq!(check_page_size(1000).unwrap(), 1000);
        let err = check_page_size(1001).unwrap_err().to_string();
        assert!(err.contains("page size") && err.contains("1001"), "{err}");
    }
}
