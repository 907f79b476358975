//! Annotation calls: import sessions (I1–I5), annotation parts of an asset (N1–N5) and
//! assets with their parts (W1, W2). The flows built on them are described in
//! `docs/annotations.md`.

use serde_json::Value;

use super::{ApiRequest, Endpoint, PagedEndpoint, Safety, check_page_size, parse_json, table};
use crate::error::{Error, Result};
use crate::ids::{AnnotationId, AnnotationImportSessionId, AssetId, DatasetId, OrganizationId};
use crate::models::{
    AddAnnotationFilesRequest, Annotation, AnnotationFileUploads, AnnotationImportSession,
    AnnotationImportStatusUpdate, AssetWithObjects, CreateAnnotationImportSessionRequest, Cursor,
    PageEnvelope,
};
use crate::transport::Response;

/// Implements [`PagedEndpoint`] for a listing with `cursor: Option<Cursor>`.
macro_rules! paged {
    ($ty:ty, $item:ty) => {
        impl PagedEndpoint for $ty {
            type Item = $item;
            fn cursor(&self) -> Option<&Cursor> {
                self.cursor.as_ref()
            }
            fn set_cursor(&mut self, cursor: Option<Cursor>) {
                self.cursor = cursor;
            }
        }
    };
}
pub(super) use paged;

/// The body parsed as JSON into the endpoint's output.
macro_rules! json_output {
    () => {
        fn parse(&self, response: &Response) -> Result<Self::Output> {
            parse_json(self.operation(), response.body())
        }
    };
}
pub(super) use json_output;

/// I1: opens an annotation import session.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateAnnotationImportSession {
    /// The dataset receiving the annotations.
    pub dataset: DatasetId,
    /// The session's window, policies and attributes.
    pub body: CreateAnnotationImportSessionRequest,
}

impl Endpoint for CreateAnnotationImportSession {
    type Output = AnnotationImportSession;

    from_table!(CREATE_ANNOTATION_IMPORT_SESSION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        table::CREATE_ANNOTATION_IMPORT_SESSION
            .request(&[org.as_str(), &dsc])
            .json(&self.body)
    }

    json_output!();
}

/// I2: the state of an annotation import session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetAnnotationImportSession {
    /// The dataset.
    pub dataset: DatasetId,
    /// The session.
    pub session: AnnotationImportSessionId,
}

impl Endpoint for GetAnnotationImportSession {
    type Output = AnnotationImportSession;

    from_table!(GET_ANNOTATION_IMPORT_SESSION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::GET_ANNOTATION_IMPORT_SESSION.request(&[
            org.as_str(),
            &dsc,
            self.session.as_str(),
        ]))
    }

    json_output!();
}

/// I3: one page of a dataset's annotation import sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListAnnotationImportSessions {
    /// The dataset.
    pub dataset: DatasetId,
    /// Sessions per page, 1–1000.
    pub page_size: u32,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Endpoint for ListAnnotationImportSessions {
    type Output = PageEnvelope<AnnotationImportSession>;

    from_table!(LIST_ANNOTATION_IMPORT_SESSIONS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let size = check_page_size(self.page_size)?;
        let dsc = self.dataset.composite(org);
        Ok(table::LIST_ANNOTATION_IMPORT_SESSIONS
            .request(&[org.as_str(), &dsc])
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str))
            .query("s", size.to_string()))
    }

    json_output!();
}

paged!(ListAnnotationImportSessions, AnnotationImportSession);

/// I4: declares annotation files and gets one upload URL for each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddAnnotationFiles {
    /// The dataset.
    pub dataset: DatasetId,
    /// The session.
    pub session: AnnotationImportSessionId,
    /// The files, by registered name.
    pub body: AddAnnotationFilesRequest,
}

impl Endpoint for AddAnnotationFiles {
    type Output = AnnotationFileUploads;

    from_table!(ADD_ANNOTATION_IMPORT_FILES);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        if self.body.files.is_empty() {
            return Err(Error::invalid(
                "annotation files",
                "none to declare; give at least one file",
            ));
        }
        let dsc = self.dataset.composite(org);
        table::ADD_ANNOTATION_IMPORT_FILES
            .request(&[org.as_str(), &dsc, self.session.as_str()])
            .json(&self.body)
    }

    json_output!();
}

/// I5: reports the client's step on an import session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAnnotationImportStatus {
    /// The dataset.
    pub dataset: DatasetId,
    /// The session.
    pub session: AnnotationImportSessionId,
    /// The condition reported.
    pub body: AnnotationImportStatusUpdate,
}

impl Endpoint for SetAnnotationImportStatus {
    type Output = AnnotationImportSession;

    from_table!(SET_ANNOTATION_IMPORT_STATUS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        table::SET_ANNOTATION_IMPORT_STATUS
            .request(&[org.as_str(), &dsc, self.session.as_str()])
            .json(&self.body)
    }

    json_output!();
}

/// N1: one page of an asset's annotation parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListAnnotations {
    /// The dataset.
    pub dataset: DatasetId,
    /// The asset.
    pub asset: AssetId,
    /// Parts per page, 1–1000.
    pub page_size: u32,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Endpoint for ListAnnotations {
    type Output = PageEnvelope<Annotation>;

    from_table!(LIST_ANNOTATIONS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let size = check_page_size(self.page_size)?;
        let dsc = self.dataset.composite(org);
        Ok(table::LIST_ANNOTATIONS
            .request(&[org.as_str(), &dsc, self.asset.as_str()])
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str))
            .query("s", size.to_string()))
    }

    json_output!();
}

paged!(ListAnnotations, Annotation);

/// Which annotation part a call addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnotationRef {
    /// The dataset.
    pub dataset: DatasetId,
    /// The asset.
    pub asset: AssetId,
    /// The part.
    pub annotation: AnnotationId,
}

impl AnnotationRef {
    fn path(&self, op: &super::Operation, org: &OrganizationId) -> ApiRequest {
        let dsc = self.dataset.composite(org);
        op.request(&[
            org.as_str(),
            &dsc,
            self.asset.as_str(),
            self.annotation.as_str(),
        ])
    }
}

/// N2: one annotation part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetAnnotation {
    /// The part.
    pub target: AnnotationRef,
}

impl Endpoint for GetAnnotation {
    type Output = Annotation;

    from_table!(GET_ANNOTATION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        Ok(self.target.path(&table::GET_ANNOTATION, org))
    }

    json_output!();
}

/// N3: deletes an annotation part. Any 2xx is success, whatever its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteAnnotation {
    /// The part.
    pub target: AnnotationRef,
}

impl Endpoint for DeleteAnnotation {
    type Output = ();

    from_table!(DELETE_ANNOTATION);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        Ok(self.target.path(&table::DELETE_ANNOTATION, org))
    }

    fn parse(&self, _response: &Response) -> Result<Self::Output> {
        Ok(())
    }

    /// A retried delete that finds the part gone means the first attempt worked.
    fn success_on_repeat(&self, status: http::StatusCode) -> bool {
        status == http::StatusCode::NOT_FOUND
    }
}

/// N4 (`PUT`, replace) or N5 (`PATCH`, update): sends a body for one annotation part.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteAnnotation {
    /// The part.
    pub target: AnnotationRef,
    /// True to replace the whole part (N4), false to change the keys given (N5).
    pub replace: bool,
    /// The part's shape, whole or partial; must be a JSON object.
    pub body: Value,
}

impl Endpoint for WriteAnnotation {
    type Output = Annotation;

    fn operation(&self) -> &'static str {
        self.op().name
    }

    fn safety(&self) -> Safety {
        self.op().safety
    }

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        if !self.body.is_object() {
            return Err(Error::invalid(
                "annotation body",
                "it must be a JSON object (the part's shape, or some of its keys)",
            ));
        }
        self.target.path(self.op(), org).json(&self.body)
    }

    json_output!();
}

impl WriteAnnotation {
    fn op(&self) -> &'static super::Operation {
        if self.replace {
            &table::REPLACE_ANNOTATION
        } else {
            &table::UPDATE_ANNOTATION
        }
    }
}

/// The query of a listing of assets with their parts (W1); every value is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssetsWithObjectsOptions {
    /// Parts per page, 1–1000; the service's default when `None`.
    pub page_size: Option<u32>,
    /// A filter expression, verbatim.
    pub filter: Option<String>,
    /// Include signed download URLs (`y`) or not (`n`); not sent when `None`.
    pub contents: Option<bool>,
    /// A custom-metadata query.
    pub metadata_query: Option<String>,
    /// A rule query.
    pub rule_query: Option<String>,
    /// Strict query evaluation.
    pub strict_query: Option<bool>,
    /// An annotation filter (its syntax is the service's), verbatim.
    pub annotation_filter: Option<String>,
    /// `default` or `recent`.
    pub view: Option<String>,
}

impl AssetsWithObjectsOptions {
    /// No options: the service's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page size (1–1000).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Sets the filter expression.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Asks for signed download URLs (or explicitly not).
    pub fn contents(mut self, on: bool) -> Self {
        self.contents = Some(on);
        self
    }

    /// Sets the custom-metadata query.
    pub fn metadata_query(mut self, query: impl Into<String>) -> Self {
        self.metadata_query = Some(query.into());
        self
    }

    /// Sets the annotation filter.
    pub fn annotation_filter(mut self, filter: impl Into<String>) -> Self {
        self.annotation_filter = Some(filter.into());
        self
    }

    /// Sets the view, `default` or `recent`.
    pub fn view(mut self, view: impl Into<String>) -> Self {
        self.view = Some(view.into());
        self
    }
}

fn yes_no(on: bool) -> &'static str {
    if on { "y" } else { "n" }
}

/// W1: one page of assets with their annotation parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListAssetsWithObjects {
    /// The dataset.
    pub dataset: DatasetId,
    /// The query.
    pub options: AssetsWithObjectsOptions,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Endpoint for ListAssetsWithObjects {
    type Output = PageEnvelope<AssetWithObjects>;

    from_table!(LIST_ASSETS_WITH_OBJECTS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let o = &self.options;
        let size = o.page_size.map(check_page_size).transpose()?;
        if let Some(view) = o
            .view
            .as_deref()
            .filter(|v| !matches!(*v, "default" | "recent"))
        {
            return Err(Error::invalid(
                "view",
                format!("{view:?} is not a view; use \"default\" or \"recent\""),
            ));
        }
        let dsc = self.dataset.composite(org);
        Ok(table::LIST_ASSETS_WITH_OBJECTS
            .request(&[org.as_str(), &dsc])
            .query_opt("filter", o.filter.clone())
            .query_opt("contents", o.contents.map(yes_no))
            .query_opt("metadataQuery", o.metadata_query.clone())
            .query_opt("ruleQuery", o.rule_query.clone())
            .query_opt("strictQuery", o.strict_query.map(yes_no))
            .query_opt("annotationFilter", o.annotation_filter.clone())
            .query_opt("view", o.view.clone())
            .query_opt("s", size.map(|s| s.to_string()))
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str)))
    }

    json_output!();
}

paged!(ListAssetsWithObjects, AssetWithObjects);

/// W2: one asset with its annotation parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetAssetWithObjects {
    /// The dataset.
    pub dataset: DatasetId,
    /// The asset.
    pub asset: AssetId,
    /// Include the signed download URL (`y`) or not (`n`); not sent when `None`.
    pub contents: Option<bool>,
}

impl Endpoint for GetAssetWithObjects {
    type Output = AssetWithObjects;

    from_table!(GET_ASSET_WITH_OBJECTS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::GET_ASSET_WITH_OBJECTS
            .request(&[org.as_str(), &dsc, self.asset.as_str()])
            .query_opt("contents", self.contents.map(yes_no)))
    }

    json_output!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrganizationId {
        OrganizationId::new("o").unwrap()
    }

    fn ds() -> DatasetId {
        DatasetId::new("d").unwrap()
    }

    #[test]
    fn assets_with_objects_send_yes_and_no_in_the_official_order() {
        let list = ListAssetsWithObjects {
            dataset: ds(),
            options: AssetsWithObjectsOptions::new()
                .filter("{'a': 1}")
                .contents(false)
                .metadata_query("k == \"v\"")
                .annotation_filter("hasLabel:true")
                .view("recent")
                .page_size(50),
            cursor: Some(Cursor::new("tok")),
        };
        let req = list.request(&org()).unwrap();
        assert_eq!(
            req.path_and_query(),
            "/workspaces/o/datasets/o_d/assetsWithObjects?filter=%7B%27a%27%3A+1%7D&contents=n\
             &metadataQuery=k+%3D%3D+%22v%22&annotationFilter=hasLabel%3Atrue&view=recent&s=50&p=tok"
        );
        let mut bad = list.clone();
        bad.options = AssetsWithObjectsOptions::new().view("oldest");
        assert!(
            bad.request(&org())
                .unwrap_err()
                .to_string()
                .contains("oldest")
        );
    }

    #[test]
    fn writes_pick_put_or_patch_and_refuse_non_objects() {
        let target = AnnotationRef {
            dataset: ds(),
            asset: AssetId::new("a").unwrap(),
            annotation: AnnotationId::new("n").unwrap(),
        };
        let put = WriteAnnotation {
            target: target.clone(),
            replace: true,
            body: serde_json::json!({"spec": {}}),
        };
        let req = put.request(&org()).unwrap();
        assert_eq!(req.method, http::Method::PUT);
        assert_eq!(
            req.path,
            "/workspaces/o/datasets/o_d/assets/a/annotations/n"
        );
        assert_eq!(put.safety(), Safety::Idempotent);
        let patch = WriteAnnotation {
            target,
            replace: false,
            body: serde_json::json!([1]),
        };
        assert_eq!(patch.safety(), Safety::Unsafe);
        assert!(patch.request(&org()).is_err());
    }
}
