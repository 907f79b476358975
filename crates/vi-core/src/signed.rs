//! Requests to signed storage URLs, built in one place for every kind (download, upload,
//! part): the service's URL, method and headers, an exact `Content-Length` for a body, and
//! never the API credentials (docs/protocol.md §1.4). A URL the service gave that cannot be used is a
//! [`Error::Decode`] naming the redacted URL.

use crate::config::Config;
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
    /// Only `https` URLs are accepted, or `http` ones when the API endpoint itself is `http`
    /// (a local emulator) or the caller allowed cleartext; and only the method the spec
    /// gives each kind: `GET` to download, the URL's own `PUT` (the default) or `POST` to
    /// upload a file or a part (docs/protocol.md §6.7, §6.8). Anything else is refused before
    /// a byte is sent.
    ///
    /// # Errors
    /// [`Error::Decode`] when the URL, the method or a header is unusable or not allowed;
    /// the message names the redacted URL, never its signature.
    pub fn new(
        kind: SignedKind,
        url: &SignedUrl,
        body_len: Option<u64>,
        config: &Config,
    ) -> Result<Self, Error> {
        let invalid = |what: String| Error::Decode {
            operation: kind.operation().to_owned(),
            message: format!("{what} (URL {})", url.redacted_url()),
        };
        let uri: http::Uri = url
            .url
            .parse()
            .map_err(|_| invalid("the signed URL is not a valid absolute URL".to_owned()))?;
        if uri.host().is_none() {
            return Err(invalid("the signed URL is not absolute".to_owned()));
        }
        let cleartext_ok = config.endpoint.scheme() == "http" || config.allow_insecure_http;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if cleartext_ok => {}
            Some(other) => {
                return Err(invalid(format!(
                    "the signed URL uses {other:?}; only https is accepted (http only when \
                     the API endpoint is http or cleartext was allowed)"
                )));
            }
            None => return Err(invalid("the signed URL is not absolute".to_owned())),
        }
        let method = match kind {
            SignedKind::Download => http::Method::GET,
            SignedKind::Upload | SignedKind::Part => {
                // The service names the method; only those that carry a body to store make
                // sense for an upload (a GET or DELETE there would be a service bug).
                let named = url.http_method();
                if named.eq_ignore_ascii_case("PUT") {
                    http::Method::PUT
                } else if named.eq_ignore_ascii_case("POST") {
                    http::Method::POST
                } else {
                    return Err(invalid(format!(
                        "the service asked for method {named:?}; a {} is only sent with PUT or POST",
                        kind.operation()
                    )));
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigBuilder;

    fn config(endpoint: &str) -> Config {
        ConfigBuilder::new()
            .endpoint(endpoint)
            .secret_key(format!("dtvi_{}", "k".repeat(98)))
            .organization_id("org")
            .build_with_env(&|_| None)
            .unwrap()
    }

    fn url(raw: &str, method: Option<&str>) -> SignedUrl {
        SignedUrl {
            url: raw.to_owned(),
            method: method.map(str::to_owned),
            ..SignedUrl::default()
        }
    }

    #[test]
    fn only_https_or_the_endpoints_own_cleartext_and_only_the_kinds_method() {
        let tls = config("https://api.example.com");
        let local = config("http://127.0.0.1:9");
        let https = url("https://store.example/o?sig=s", None);
        let http = url("http://store.example/o?sig=s", None);
        for kind in [SignedKind::Download, SignedKind::Upload, SignedKind::Part] {
            assert!(SignedRequest::new(kind, &https, Some(1), &tls).is_ok());
            assert!(SignedRequest::new(kind, &http, Some(1), &local).is_ok());
            let refused = SignedRequest::new(kind, &http, Some(1), &tls).unwrap_err();
            assert!(refused.to_string().contains("only https"), "{refused}");
            assert!(!refused.to_string().contains("sig=s"), "{refused}");
        }
        let file = url("file:///etc/passwd", None);
        assert!(SignedRequest::new(SignedKind::Download, &file, None, &local).is_err());
        let get = url("https://store.example/o?sig=s", Some("GET"));
        let refused = SignedRequest::new(SignedKind::Part, &get, Some(1), &tls).unwrap_err();
        assert!(
            refused.to_string().contains("only sent with PUT or POST"),
            "{refused}"
        );
        let delete = url("https://store.example/o?sig=s", Some("DELETE"));
        assert!(SignedRequest::new(SignedKind::Upload, &delete, Some(1), &tls).is_err());
        let post = url("https://store.example/o?sig=s", Some("POST"));
        let request = SignedRequest::new(SignedKind::Part, &post, Some(2), &tls).unwrap();
        let built = request.request(Body::Empty);
        assert_eq!(
            built.method(),
            http::Method::POST,
            "the URL's own method is used"
        );
        assert_eq!(built.headers()["content-length"], "2");
        let put = url("https://store.example/o?sig=s", Some("put"));
        let request = SignedRequest::new(SignedKind::Upload, &put, Some(3), &tls).unwrap();
        let built = request.request(Body::Empty);
        assert_eq!(built.method(), http::Method::PUT);
        assert_eq!(built.headers()["content-length"], "3");
        assert!(built.headers().get("authorization").is_none());
    }
}
