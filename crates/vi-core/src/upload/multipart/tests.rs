//! Unit tests of the multipart flow's pure helpers.
use super::*;
use crate::models::SignedUrl;
use bytes::Bytes;

fn url(names: &[&str], body: bool) -> PartUploadUrl {
    PartUploadUrl {
        signed: SignedUrl {
            method: Some("PUT".into()),
            url: "https://storage.example.com/p?sig=secret".into(),
            ..Default::default()
        },
        response_headers: names.iter().map(|s| (*s).to_owned()).collect(),
        response_body: body,
    }
}

#[test]
fn completion_reads_headers_case_insensitively_and_defaults_to_empty() {
    let mut response = http::Response::new(Bytes::from_static(b"<ok/>"));
    response
        .headers_mut()
        .insert("etag", http::HeaderValue::from_static("\"abc\""));
    let body = completion(&url(&["ETag", "x-missing"], false), &response);
    assert_eq!(body.response_headers["ETag"], "\"abc\"");
    assert_eq!(body.response_headers["x-missing"], "");
    assert_eq!(body.response_body, None);

    let body = completion(&url(&[], true), &response);
    assert_eq!(body.response_body.as_deref(), Some("PG9rLz4="));
    let empty = http::Response::new(Bytes::new());
    assert_eq!(completion(&url(&[], true), &empty).response_body, None);
}

#[test]
fn part_requests_carry_exact_length_and_verbatim_headers_only() {
    let mut u = url(&[], false);
    u.signed.headers = Some([("Content-Type".to_owned(), "video/mp4".to_owned())].into());
    let r = part_request(
        &u,
        (std::path::Path::new("/f"), None),
        10,
        5,
        &config(),
        None,
    )
    .unwrap();
    assert_eq!(r.method(), http::Method::PUT);
    assert_eq!(r.headers()["content-length"], "5");
    assert_eq!(r.headers()["content-type"], "video/mp4");
    assert_eq!(r.headers().len(), 2, "no credentials or other headers");
    match r.body() {
        Body::File(slice) => assert_eq!((slice.offset, slice.len), (10, 5)),
        other => panic!("{other:?}"),
    }
    u.signed.url = "not a url".into();
    let err = part_request(
        &u,
        (std::path::Path::new("/f"), None),
        0,
        1,
        &config(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn expiry_uses_a_margin() {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut u = url(&[], false);
    u.signed.expiry = crate::models::Timestamp::from_millis(now + 10_000);
    assert!(expiring(&u));
    u.signed.expiry = crate::models::Timestamp::from_millis(now + 3_600_000);
    assert!(!expiring(&u));
}

#[test]
fn only_passing_failures_restart() {
    let api = |status: u16| {
        Error::from(crate::error::ApiError {
            operation: "create multipart upload".into(),
            status: http::StatusCode::from_u16(status).unwrap(),
            code: crate::error::ApiErrorCode::from_status(
                http::StatusCode::from_u16(status).unwrap(),
            ),
            message: "x".into(),
            request_id: None,
            retry_after: None,
        })
    };
    assert!(restartable(&api(503)));
    assert!(restartable(&api(408)));
    assert!(restartable(&api(429)));
    assert!(!restartable(&api(400)));
    assert!(!restartable(&api(409)));
    let exhausted_429 = Error::RetriesExhausted {
        attempts: 21,
        elapsed: Duration::ZERO,
        last: Box::new(api(429)),
    };
    assert!(!restartable(&exhausted_429));
    let network = Error::RetriesExhausted {
        attempts: 4,
        elapsed: Duration::ZERO,
        last: Box::new(Error::Transport {
            operation: "create multipart upload".into(),
            source: crate::transport::TransportError::new(
                crate::transport::TransportErrorKind::Connect,
                "refused",
            ),
        }),
    };
    assert!(restartable(&network));
}

/// A configuration with an https endpoint, as the service has.
fn config() -> crate::config::Config {
    crate::config::ConfigBuilder::new()
        .endpoint("https://api.example.com")
        .secret_key(format!("dtvi_{}", "k".repeat(98)))
        .organization_id("org")
        .build_with_env(&|_| None)
        .unwrap()
}
