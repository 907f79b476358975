//! Reading an ingestion session as the API returns it: the files its error events name,
//! its progress counts and its id.

use serde_json::Value;

use super::{assert_int, assert_keys};

/// The (file, error code) pairs of the session's error events, in event order.
pub fn errors_of(session: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in session["status"]["events"].as_array().unwrap() {
        if e["kind"] == "Error" {
            assert_keys(e, &["files", "corrections", "time"]);
            assert_int(&e["time"]);
            for (k, v) in e["files"].as_object().unwrap() {
                out.push((k.clone(), v.as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

/// The session's progress counts: (total, succeeded, errored).
pub fn progress(session: &Value) -> (u64, u64, u64) {
    let p = &session["status"]["progressCount"];
    (
        p["total"].as_u64().unwrap(),
        p["succeeded"].as_u64().unwrap(),
        p["errored"].as_u64().unwrap(),
    )
}

/// The session's id.
pub fn session_id(session: &Value) -> String {
    session["assetIngestionSessionId"]
        .as_str()
        .unwrap()
        .to_owned()
}
