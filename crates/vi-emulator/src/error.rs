//! JSON error replies (`{"message": …, "error": …}`, docs/protocol.md §9).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The error code string of §9.2 for a status.
pub(crate) fn code_for(status: u16) -> &'static str {
    match status {
        401 => "AuthenticationFailed",
        403 => "PermissionDenied",
        404 => "ResourceNotFound",
        408 => "TimeoutError",
        409 => "ResourceConflict",
        413 => "FileTooLarge",
        429 => "RateLimitExceeded",
        502 => "NetworkError",
        503 => "ServiceUnavailable",
        504 => "TimeoutError",
        500..=599 => "ServerError",
        400..=499 => "ValidationFailed",
        _ => "UnknownError",
    }
}

/// An error reply of the API or of the storage endpoints.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// Extra keys merged into the body (e.g. the per-file ingestion error code).
    pub(crate) extra: Map<String, Value>,
    pub(crate) retry_after: Option<u32>,
    pub(crate) allow: Option<&'static str>,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            extra: Map::new(),
            retry_after: None,
            allow: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("message".into(), json!(self.message));
        body.insert("error".into(), json!(code_for(self.status.as_u16())));
        body.insert("statusCode".into(), json!(self.status.as_u16()));
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl From<std::io::Error> for ApiError {
    fn from(err: std::io::Error) -> Self {
        ApiError::internal(format!("storage error: {err}"))
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        ApiError::internal(format!("database error: {err}"))
    }
}
