//! Request recording: one JSON line per request describing its *shape* (route
//! template, query keys with a value class, body key types, relevant headers), never
//! secret values or signatures.

use std::io::Write;

use axum::http::{HeaderMap, header, request::Parts};
use serde_json::{Map, Value, json};

use crate::app::App;

/// What is known about a request while it is handled.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub(crate) method: String,
    pub(crate) route: String,
    pub(crate) query: Map<String, Value>,
    pub(crate) body: Option<Value>,
    pub(crate) headers: Map<String, Value>,
}

/// Classifies a query value without revealing it.
fn classify(key: &str, value: &str) -> &'static str {
    match key {
        "p" => return "token",
        "signature" => return "signature",
        _ => {}
    }
    if value.is_empty() {
        "empty"
    } else if value == "y" {
        "y"
    } else if value == "n" {
        "n"
    } else if value.parse::<i64>().is_ok() {
        "int"
    } else if value.parse::<f64>().is_ok() {
        "number"
    } else {
        "string"
    }
}

fn header_summary(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        // Only a scheme word is kept ("Bearer"); a value without one (a bare key sent by
        // mistake) is all credential, so nothing of it is recorded.
        let scheme = v
            .to_str()
            .ok()
            .filter(|s| s.contains(char::is_whitespace))
            .and_then(|s| s.split_whitespace().next())
            .filter(|w| w.len() <= 16 && w.chars().all(|c| c.is_ascii_alphabetic()));
        let shown = match scheme {
            Some(scheme) => format!("{scheme} <redacted>"),
            None => "<redacted>".to_owned(),
        };
        out.insert("Authorization".into(), json!(shown));
    }
    if headers.contains_key("organization-id") {
        out.insert("Organization-Id".into(), json!("<present>"));
    }
    for name in [
        header::CONTENT_TYPE,
        header::TRANSFER_ENCODING,
        header::RANGE,
        header::ACCEPT,
        header::ACCEPT_ENCODING,
        header::USER_AGENT,
    ] {
        if let Some(v) = headers.get(&name).and_then(|v| v.to_str().ok()) {
            out.insert(canonical(name.as_str()), json!(v));
        }
    }
    if headers.contains_key(header::CONTENT_LENGTH) {
        out.insert("Content-Length".into(), json!("<present>"));
    }
    out
}

fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

impl Record {
    pub(crate) fn start(parts: &Parts) -> Record {
        let mut query = Map::new();
        for (k, v) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            query.insert(k.to_string(), json!(classify(&k, &v)));
        }
        Record {
            method: parts.method.to_string(),
            route: "unmatched".into(),
            query,
            body: None,
            headers: header_summary(&parts.headers),
        }
    }

    /// Appends the record as one JSON line (when recording is enabled).
    pub(crate) fn write(self, app: &App, status: u16) {
        let Some(file) = &app.recorder else {
            return;
        };
        let line = json!({
            "method": self.method,
            "route": self.route,
            "query": self.query,
            "body": self.body,
            "headers": self.headers,
            "status": status,
        });
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(file, "{line}");
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn an_authorization_value_is_never_recorded() {
        for (value, shown) in [
            ("Bearer dtvi_secret", "Bearer <redacted>"),
            ("dtvi_secretwithoutscheme", "<redacted>"),
            ("dtvi_a b", "<redacted>"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            let summary = header_summary(&headers);
            assert_eq!(summary["Authorization"], json!(shown), "{value}");
        }
    }
}
