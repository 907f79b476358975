//! Multipart-upload calls M1–M5 (docs/protocol.md §6.8), used for files of 1 GiB and more.
//!
//! All five live under
//! `/workspaces/{org}/datasets/{org}_{ds}/assetSources/managed/datature/default/multipartUploads`.
//! The four POSTs are [`Safety::Unsafe`]: the retry policy repeats them only for 429 and
//! connection failures (docs/protocol.md §6.8, "Retries, per request"). The abort is a DELETE and is
//! repeated like any idempotent call.

use super::{ApiRequest, Endpoint, Safety, parse_json, table};
use crate::error::Result;
use crate::ids::{DatasetId, OrganizationId};
use crate::models::{
    CompletePartRequest, CreateMultipartUploadRequest, MultipartUpload, PartUploadUrl,
};
use crate::transport::Response;

/// M1: starts a multipart upload of one file declared in an ingestion session; the answer
/// carries the upload id and the number of parts the server chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateMultipartUpload {
    /// The dataset receiving the file.
    pub dataset: DatasetId,
    /// The session's `ingestionId`, the file's name, MIME type and size.
    pub body: CreateMultipartUploadRequest,
}

impl Endpoint for CreateMultipartUpload {
    type Output = MultipartUpload;

    from_table!(CREATE_MULTIPART_UPLOAD);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        table::CREATE_MULTIPART_UPLOAD
            .request(&[org.as_str(), &dsc])
            .json(&self.body)
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// M2: a signed URL for one part (body `{}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetPartUploadUrl {
    /// The dataset.
    pub dataset: DatasetId,
    /// The `multipartUploadId` from M1.
    pub upload: String,
    /// The part number, from 1.
    pub part: u64,
}

impl Endpoint for GetPartUploadUrl {
    type Output = PartUploadUrl;

    from_table!(GET_PART_UPLOAD_URL);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let (dsc, part) = (self.dataset.composite(org), self.part.to_string());
        table::GET_PART_UPLOAD_URL
            .request(&[org.as_str(), &dsc, &self.upload, &part])
            .json(&serde_json::Map::new())
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// M3: registers one uploaded part with the response headers (and body) the part URL
/// asked for. The answer is ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletePart {
    /// The dataset.
    pub dataset: DatasetId,
    /// The `multipartUploadId` from M1.
    pub upload: String,
    /// The part number, from 1.
    pub part: u64,
    /// What the storage answered for the part.
    pub body: CompletePartRequest,
}

impl Endpoint for CompletePart {
    type Output = ();

    from_table!(COMPLETE_PART);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let (dsc, part) = (self.dataset.composite(org), self.part.to_string());
        table::COMPLETE_PART
            .request(&[org.as_str(), &dsc, &self.upload, &part])
            .json(&self.body)
    }

    fn parse(&self, _response: &Response) -> Result<Self::Output> {
        Ok(())
    }
}

/// M4: finishes a multipart upload once every part is registered. Sent with no body
/// (`Content-Length: 0`); the answer is ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompleteMultipartUpload {
    /// The dataset.
    pub dataset: DatasetId,
    /// The `multipartUploadId` from M1.
    pub upload: String,
}

impl Endpoint for CompleteMultipartUpload {
    type Output = ();

    from_table!(COMPLETE_MULTIPART_UPLOAD);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::COMPLETE_MULTIPART_UPLOAD.request(&[org.as_str(), &dsc, &self.upload]))
    }

    fn parse(&self, _response: &Response) -> Result<Self::Output> {
        Ok(())
    }
}

/// M5: abandons a multipart upload. The answer is ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbortMultipartUpload {
    /// The dataset.
    pub dataset: DatasetId,
    /// The `multipartUploadId` from M1.
    pub upload: String,
}

impl Endpoint for AbortMultipartUpload {
    type Output = ();

    from_table!(ABORT_MULTIPART_UPLOAD);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::ABORT_MULTIPART_UPLOAD.request(&[org.as_str(), &dsc, &self.upload]))
    }

    fn parse(&self, _response: &Response) -> Result<Self::Output> {
        Ok(())
    }

    fn success_on_repeat(&self, status: http::StatusCode) -> bool {
        // A repeated abort that finds the upload gone: the first one worked.
        status == http::StatusCode::NOT_FOUND
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::MultipartUploadSpec;
    use bytes::Bytes;
    use http::Method;
    use serde_json::{Value, json};

    const ORG: &str = "5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90";
    const BASE: &str = "/workspaces/5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90/datasets/5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90_q8w4e2r7t1/assetSources/managed/datature/default/multipartUploads";

    fn org() -> OrganizationId {
        OrganizationId::new(ORG).unwrap()
    }

    fn ds() -> DatasetId {
        DatasetId::new("q8w4e2r7t1").unwrap()
    }

    fn fixture(name: &str) -> Bytes {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    fn body(req: &ApiRequest) -> Value {
        serde_json::from_slice(req.body.as_ref().expect("a body")).unwrap()
    }

    #[test]
    fn create() {
        let e = CreateMultipartUpload {
            dataset: ds(),
            body: CreateMultipartUploadRequest {
                spec: MultipartUploadSpec {
                    ingestion_id: "ingest-7b3e05".into(),
                    filename: "clip.mp4".into(),
                    content_type: Some("video/mp4".into()),
                    size_bytes: 2_147_483_648,
                },
            },
        };
        let req = e.request(&org()).unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.path_and_query(), BASE);
        let expected: Value =
            serde_json::from_slice(&fixture("create_multipart_request.json")).unwrap();
        assert_eq!(body(&req), expected);
        assert_eq!(e.safety(), Safety::Unsafe);
        let up = e
            .parse(&http::Response::new(fixture("multipart.json")))
            .unwrap();
        assert_eq!(up.multipart_upload_id, "mpu-1c9f44");
        assert_eq!(up.part_count(), 32);
    }

    #[test]
    fn part_url() {
        let e = GetPartUploadUrl {
            dataset: ds(),
            upload: "mpu-1c9f44".into(),
            part: 3,
        };
        let req = e.request(&org()).unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.path_and_query(), format!("{BASE}/mpu-1c9f44/parts/3"));
        assert_eq!(body(&req), json!({}));
        assert_eq!(e.safety(), Safety::Unsafe);
        let url = e
            .parse(&http::Response::new(fixture("part_url.json")))
            .unwrap();
        assert_eq!(url.signed.http_method(), "PUT");
        assert_eq!(url.response_headers, ["ETag"]);
        assert!(!url.response_body);
    }

    #[test]
    fn complete_part() {
        let e = CompletePart {
            dataset: ds(),
            upload: "mpu-1c9f44".into(),
            part: 3,
            body: CompletePartRequest {
                response_headers: [("ETag".to_owned(), "\"9b2c\"".to_owned())].into(),
                response_body: None,
            },
        };
        let req = e.request(&org()).unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.path_and_query(),
            format!("{BASE}/mpu-1c9f44/parts/3/completion")
        );
        assert_eq!(body(&req), json!({"responseHeaders": {"ETag": "\"9b2c\""}}));
        assert_eq!(e.safety(), Safety::Unsafe);
        e.parse(&http::Response::new(Bytes::from_static(
            b"{\"anything\":1}",
        )))
        .unwrap();
    }

    #[test]
    fn complete_and_abort() {
        let done = CompleteMultipartUpload {
            dataset: ds(),
            upload: "mpu 1".into(),
        };
        let req = done.request(&org()).unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.path_and_query(), format!("{BASE}/mpu%201/completion"));
        assert!(req.body.is_none(), "M4 has no body");
        assert_eq!(done.safety(), Safety::Unsafe);
        done.parse(&http::Response::new(Bytes::new())).unwrap();

        let abort = AbortMultipartUpload {
            dataset: ds(),
            upload: "mpu-1c9f44".into(),
        };
        let req = abort.request(&org()).unwrap();
        assert_eq!(req.method, Method::DELETE);
        assert_eq!(req.path_and_query(), format!("{BASE}/mpu-1c9f44"));
        assert!(req.body.is_none());
        assert_eq!(abort.safety(), Safety::Idempotent);
        assert!(abort.success_on_repeat(http::StatusCode::NOT_FOUND));
        assert!(!abort.success_on_repeat(http::StatusCode::CONFLICT));
    }
}
