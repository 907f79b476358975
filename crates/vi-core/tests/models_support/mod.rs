//! Helpers of the wire-model tests (`models_*.rs`): reading the JSON fixtures of
//! `tests/fixtures/` and the camelCase round-trip check.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The text of `tests/fixtures/NAME`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture `NAME`, decoded.
pub fn decode<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every object key (recursively) of a JSON document.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// Serializes `value`, checks every key is lowerCamelCase, and decodes it again.
pub fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
) -> Value {
    let json = serde_json::to_value(value).unwrap();
    let mut all = Vec::new();
    keys(&json, &mut all);
    for key in all {
        assert!(
            !key.contains('_') || key.contains('-') || key.contains('.') || key.starts_with("5c1d"),
            "snake_case key {key:?} in {json}"
        );
    }
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value);
    json
}
