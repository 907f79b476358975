//! The recordings of `cargo xtask interop`: the requests vi-emulator recorded (one JSON
//! line each), and the operations they belong to (method + route template + query keys),
//! named as in the spec.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// One recorded request, as vi-emulator writes it (`record.rs`).
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) method: String,
    pub(super) route: String,
    /// Query key -> value class (`int`, `y`, `token`, …).
    pub(super) query: BTreeMap<String, String>,
    /// The JSON shape of the body (`None`: no body).
    pub(super) body: Option<Value>,
    /// Header name -> summarised value.
    pub(super) headers: BTreeMap<String, String>,
    pub(super) status: u64,
}

pub(super) fn load_recording(path: &Path) -> Result<Vec<Request>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "the emulator wrote no recording at {} ({e}); the harness needs \
             EmulatorConfig::record_to to append one JSON line per request",
            path.display()
        )
    })?;
    let mut requests = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: Value = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not JSON: {e}", path.display(), n + 1))?;
        let field = |name: &str| {
            value.get(name).ok_or_else(|| {
                format!(
                    "{}:{}: the emulator's recording lacks the field {name:?} \
                     (needed: method, route, query, body, headers, status)",
                    path.display(),
                    n + 1
                )
            })
        };
        let strings = |v: &Value, name: &str| -> Result<BTreeMap<String, String>, String> {
            v.as_object()
                .ok_or_else(|| format!("{}:{}: {name:?} is not an object", path.display(), n + 1))
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                            )
                        })
                        .collect()
                })
        };
        let body = field("body")?;
        requests.push(Request {
            method: field("method")?.as_str().unwrap_or_default().to_owned(),
            route: field("route")?.as_str().unwrap_or_default().to_owned(),
            query: strings(field("query")?, "query")?,
            body: if body.is_null() {
                None
            } else {
                Some(body.clone())
            },
            headers: strings(field("headers")?, "headers")?,
            status: field("status")?.as_u64().unwrap_or_default(),
        });
    }
    if requests.is_empty() {
        return Err(format!(
            "the recording {} is empty: the emulator recorded no request",
            path.display()
        ));
    }
    Ok(requests)
}

/// The spec's name of a route (§2.2), for the table.
pub(super) fn spec_id(method: &str, route: &str) -> &'static str {
    const DS: &str = "/workspaces/{org}/datasets/{dsc}";
    const SRC: &str = "/workspaces/{org}/datasets/{dsc}/assetSources/{src}";
    let Some(rest) = route.strip_prefix(DS) else {
        return match (method, route) {
            ("GET", "/workspaces/{org}/datasets") => "D1",
            ("POST", "/workspaces/{org}/datasets") => "D2",
            ("GET", "/workspaces/{org}/simpleDatasets") => "D7",
            ("PUT", r) if r.starts_with("/_storage/upload/annotations/") => "S4",
            ("PUT", r) if r.starts_with("/_storage/upload/") => "S1",
            ("PUT", r) if r.starts_with("/_storage/part/") => "S2",
            ("HEAD", r) if r.starts_with("/_storage/download/") && r.contains("/exports/") => "S5",
            ("GET", r) if r.starts_with("/_storage/download/") && r.contains("/exports/") => "S6",
            ("GET", r) if r.starts_with("/_storage/download/") => "S3",
            _ => "?",
        };
    };
    if let Some(tail) = route.strip_prefix(SRC) {
        return match (method, tail) {
            ("POST", "/assetIngestionSessions") => "U1",
            ("GET", "/assetIngestionSessions/{sessionId}") => "U2",
            ("POST", "/assetIngestionSessions/{sessionId}:cancel") => "U3",
            ("GET", "/assetIngestionSessions") => "U4",
            ("POST", "/multipartUploads") => "M1",
            ("POST", "/multipartUploads/{mpId}/parts/{partNumber}") => "M2",
            ("POST", "/multipartUploads/{mpId}/parts/{partNumber}/completion") => "M3",
            ("POST", "/multipartUploads/{mpId}/completion") => "M4",
            ("DELETE", "/multipartUploads/{mpId}") => "M5",
            _ => "?",
        };
    }
    match (method, rest) {
        ("GET", "") => "D3",
        ("DELETE", "") => "D4",
        ("GET", "/deleteOperation") => "D5",
        ("PATCH", "") => "D6",
        ("GET", "/assets") => "A1",
        ("GET", "/assets:count") => "A2",
        ("GET", "/assets/{asset}") => "A3",
        ("DELETE", "/assets/{asset}") => "A4",
        ("POST", "/assets/{asset}/name") => "A5",
        ("POST", "/assetFiles/{filename}/name") => "A6",
        ("POST", "/datasetExports") => "E1",
        ("GET", "/datasetExports/{exportId}") => "E2",
        ("GET", "/datasetExports") => "E3",
        ("POST", "/annotationImportSessions") => "I1",
        ("GET", "/annotationImportSessions/{aisId}") => "I2",
        ("GET", "/annotationImportSessions") => "I3",
        ("POST", "/annotationImportSessions/{aisId}/files") => "I4",
        ("PATCH", "/annotationImportSessions/{aisId}/status") => "I5",
        ("GET", "/assets/{asset}/annotations") => "N1",
        ("GET", "/assets/{asset}/annotations/{annId}") => "N2",
        ("DELETE", "/assets/{asset}/annotations/{annId}") => "N3",
        ("PUT", "/assets/{asset}/annotations/{annId}") => "N4",
        ("PATCH", "/assets/{asset}/annotations/{annId}") => "N5",
        ("GET", "/assetsWithObjects") => "W1",
        ("GET", "/assetsWithObjects/{asset}") => "W2",
        ("POST", "/deleteManyAssetsSessions") => "B1",
        ("GET", "/deleteManyAssetsSessions/{dmsId}") => "B2",
        ("GET", "/deleteManyAssetsSessions") => "B3",
        _ => "?",
    }
}

/// An operation: method + route template + the set of query keys sent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct OpKey {
    pub(super) method: String,
    pub(super) route: String,
    pub(super) query: String,
}

impl OpKey {
    pub(super) fn of(r: &Request) -> OpKey {
        OpKey {
            method: r.method.clone(),
            route: r.route.clone(),
            query: r.query.keys().cloned().collect::<Vec<_>>().join("&"),
        }
    }

    pub(super) fn id(&self) -> &'static str {
        spec_id(&self.method, &self.route)
    }

    pub(super) fn label(&self) -> String {
        let route = self
            .route
            .strip_prefix("/workspaces/{org}")
            .unwrap_or(&self.route);
        let route = if let Some(rest) = route.strip_prefix("/datasets/{dsc}/assetSources/{src}") {
            format!("{{src}}{rest}")
        } else if let Some(rest) = route
            .strip_prefix("/datasets/{dsc}")
            .filter(|r| !r.is_empty())
        {
            format!("{{dsc}}{rest}")
        } else {
            route.to_owned()
        };
        let query = if self.query.is_empty() {
            String::new()
        } else {
            format!(" ?{}", self.query)
        };
        format!("{} {} {route}{query}", self.id(), self.method)
    }

    pub(super) fn pick<'a>(&self, requests: &'a [Request]) -> Vec<&'a Request> {
        requests.iter().filter(|r| &OpKey::of(r) == self).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A1: &str = "/workspaces/{org}/datasets/{dsc}/assets";
    const U1: &str = "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions";

    #[test]
    fn spec_ids() {
        assert_eq!(spec_id("GET", A1), "A1");
        assert_eq!(spec_id("POST", U1), "U1");
        assert_eq!(spec_id("GET", "/workspaces/{org}/datasets/{dsc}"), "D3");
        assert_eq!(
            spec_id("GET", "/_storage/download/{dsc}/{assetId}/{filename}"),
            "S3"
        );
    }
}
