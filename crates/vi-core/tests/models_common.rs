//! Wire-model tests of the shared types (docs/protocol.md §3, §9.1): timestamps, resource conditions
//! and metadata, and the message read from an error body.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;
use vi_core::models::*;

use crate::models_support;

use models_support::{decode, fixture, round_trip};

#[test]
fn timestamps() {
    let ts = Timestamp::from_millis(1_732_867_260_000);
    assert_eq!(ts.as_millis(), 1_732_867_260_000);
    assert_eq!(ts.to_string(), "2024-11-29T08:01:00Z");
    assert_eq!(
        Timestamp::from_millis(1_732_867_260_123).to_string(),
        "2024-11-29T08:01:00.123Z"
    );
    assert_eq!(
        Timestamp::from_millis(0).to_string(),
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(
        Timestamp::from_millis(-1).to_string(),
        "1969-12-31T23:59:59.999Z"
    );
    assert_eq!(
        Timestamp::from_millis(951_782_400_000).to_string(),
        "2000-02-29T00:00:00Z"
    );
    assert_eq!(
        ts.to_system_time(),
        UNIX_EPOCH + Duration::from_millis(1_732_867_260_000)
    );
    assert_eq!(
        Timestamp::from_millis(-1_500).to_system_time(),
        UNIX_EPOCH - Duration::from_millis(1_500)
    );
    assert_eq!(Timestamp::from_system_time(ts.to_system_time()), ts);
    assert_eq!(
        serde_json::to_value(ts).unwrap(),
        json!(1_732_867_260_000_i64)
    );
    let back: Timestamp = serde_json::from_value(json!(1_732_867_260_000_i64)).unwrap();
    assert_eq!(back, ts);
    assert!(Timestamp::from_millis(1) < Timestamp::from_millis(2));
}

#[test]
fn condition_helpers() {
    let cond = |name: &str, status: &str| -> ResourceCondition {
        serde_json::from_value(json!({
            "condition": name, "status": status, "lastTransitionTime": 1
        }))
        .unwrap()
    };
    let started = cond("Started", "Reached");
    let finished = cond("Finished", "Reached");
    let waiting = cond("Finished", "Waiting");
    let failed_one = cond("Started", "FailedReach");

    assert!(is_finished_reached(&[started.clone(), finished.clone()]));
    assert!(is_finished_reached(&[finished.clone(), started.clone()]));
    assert!(!is_finished_reached(&[started.clone(), waiting.clone()]));
    assert!(!is_finished_reached(&[]));

    assert!(all_reached(&[started.clone(), finished.clone()]));
    assert!(!all_reached(&[started.clone(), waiting.clone()]));
    assert!(!all_reached(&[]));

    assert_eq!(
        failed(&[started.clone(), failed_one.clone()]),
        Some(&failed_one)
    );
    assert_eq!(failed(&[started, finished]), None);

    let json = serde_json::to_value(&waiting).unwrap();
    assert_eq!(
        json,
        json!({"condition": "Finished", "status": "Waiting", "lastTransitionTime": 1})
    );
    let defaulted: ResourceCondition = serde_json::from_value(json!({"condition": "X"})).unwrap();
    assert_eq!(defaulted.status, ConditionStatus::Waiting);

    let meta: ResourceMetadata = serde_json::from_value(json!({
        "timeCreated": 1, "lastUpdated": 2, "generation": 3, "attributes": {"a": "b"}
    }))
    .unwrap();
    assert_eq!(meta.attributes["a"], "b");
    round_trip(&meta);
}

// ---------------------------------------------------------------- errors

#[test]
fn error_messages() {
    assert_eq!(
        error_message(fixture("error_body.json").as_bytes(), 404),
        "Dataset q8w4e2r7t1 not found"
    );
    assert_eq!(
        error_message(br#"{"error": "ResourceConflict"}"#, 409),
        "ResourceConflict"
    );
    assert_eq!(
        error_message(br#"{"message": null, "error": "Fallback"}"#, 400),
        "Fallback"
    );
    assert_eq!(
        error_message(br#"{"statusCode": 500}"#, 500),
        "HTTP 500 error"
    );
    assert_eq!(error_message(b"{}", 503), "HTTP 503 error");
    assert_eq!(error_message(b"", 502), "HTTP 502 error");
    assert_eq!(error_message(b"  \n ", 502), "HTTP 502 error");
    assert_eq!(
        error_message(b"  upstream connect error  \n", 502),
        "upstream connect error"
    );
    assert_eq!(error_message(b"\"quoted\"", 400), "\"quoted\"");
    assert_eq!(
        error_message(br#"{"message": ["a", "b"]}"#, 400),
        r#"["a","b"]"#
    );

    let long = "é".repeat(400); // 800 bytes
    let msg = error_message(long.as_bytes(), 500);
    assert!(msg.ends_with('…'));
    let kept = msg.trim_end_matches('…');
    assert_eq!(kept.len(), 500);
    assert!(kept.chars().all(|c| c == 'é'));

    let body: ErrorBody = decode("error_body.json");
    assert_eq!(body.error.as_deref(), Some("ResourceNotFound"));
}
