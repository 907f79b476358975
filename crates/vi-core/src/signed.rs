//! Requests to signed storage URLs, built in one place for every kind (download, upload,
//! part): the service's URL, method and headers, an exact `Content-Length` for a body, and
//! never the API credentials (spec §1.4). A URL the service gave that cannot be used is a
//! [`Error::Decode`] naming the redacted URL.

use crate::error::Error;
use crate::models::SignedUrl;
use crate::transport::{Body, Request};

/// What a signed URL is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedKind {
    /// Reading an asset's bytes (`GET`).
    Download,
    /// Sending a whole file of an ingestion session.
    Upload,
    /// Sending one part of a multipart upload.
    Part,
}

impl SignedKind {
    fn operation(self) -> &'static str {
        match self {
            SignedKind::Download => "download",
            SignedKind::Upload => "upload",
            SignedKind::Part => "upload part",
        }
    }
}

/// A checked request to a signed URL, ready to be sent again on every attempt.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
}

impl SignedRequest {
    /// Checks the service's URL, method and headers for `kind`. `body_len` is the exact
    /// length of the body to send (uploads), `None` for a download.
    ///
    /// # Errors
    /// [`Error::Decode`] when the URL, the method or a header is unusable; the message
    /// names the redacted URL, never its signature.
    pub fn new(kind: SignedKind, url: &SignedUrl, body_len: Option<u64>) -> Result<Self, Error> {
        let invalid = |what: String| Error::Decode {
            operation: kind.operation().to_owned(),
            message: format!("{what} (URL {})", url.redacted_url()),
        };
        let uri: http::Uri = url
            .url
            .parse()
            .map_err(|_| invalid("the signed URL is not a valid absolute URL".to_owned()))?;
        if uri.scheme().is_none() || uri.host().is_none() {
            return Err(invalid("the signed URL is not absolute".to_owned()));
        }
        let method = match kind {
            SignedKind::Download => http::Method::GET,
            SignedKind::Upload | SignedKind::Part => {
                let named = url.http_method();
                http::Method::from_bytes(named.as_bytes())
                    .map_err(|_| invalid(format!("the method {named:?} is not valid")))?
            }
        };
        let mut headers = http::HeaderMap::new();
        for (name, value) in url.headers.iter().flatten() {
            let (Ok(name), Ok(value)) = (
                http::HeaderName::try_from(name.as_str()),
                http::HeaderValue::try_from(value.as_str()),
            ) else {
                return Err(invalid(format!("the header {name:?} is not valid")));
            };
            headers.append(name, value);
        }
        if let Some(len) = body_len {
            headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
        }
        Ok(SignedRequest {
            method,
            uri,
            headers,
        })
    }

    /// The request carrying `body` (whose length must be the one given to
    /// [`SignedRequest::new`]).
    pub fn request(&self, body: Body) -> Request {
        let mut request = http::Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}
