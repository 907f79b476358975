//! Properties over arbitrary input (proptest): the download name sanitizer, the id
//! parsers, URL redaction, the `Content-Range` parser and the wire-model decoders never
//! panic and keep their promises.

use std::collections::HashSet;

use proptest::prelude::*;
use vi_core::download::PARTIAL_DIR;
use vi_core::download::names::{MAX_NAME_BYTES, NameAllocator, sanitize};
use vi_core::models::{Asset, Dataset, IngestionSession};
use vi_core::{AssetId, DatasetId};

/// Names a hostile server might send: any text, weighted towards the characters that
/// matter (separators, dots, controls, bidi overrides, reserved names).
fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[./\\\\ \\.\u{0}\u{1b}\u{202e}a-zA-Z0-9é$:*?]{0,40}",
        "(CON|NUL|COM[0-9¹²³]|LPT[0-9]|CONIN\\$)( ?\\.[a-z]{0,4})?",
        "\\.vi-partial|\\.\\.|\\.|[.]{1,5}",
        ".{200,300}",
    ]
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("filename".to_owned()),
                    Just("assetId".to_owned()),
                    Just("metadata".to_owned()),
                    Just("status".to_owned()),
                    Just("items".to_owned()),
                    ".{0,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_sanitized_name_is_one_safe_component(name in hostile_name()) {
        let (safe, _) = sanitize(&name);
        prop_assert!(!safe.contains(['/', '\\', '\0']), "{safe:?}");
        prop_assert!(!safe.chars().any(char::is_control), "{safe:?}");
        prop_assert!(!safe.starts_with('.') && !safe.starts_with(' '), "{safe:?}");
        prop_assert!(safe != "." && safe != "..");
        prop_assert!(safe != PARTIAL_DIR);
        prop_assert!(safe.len() <= MAX_NAME_BYTES, "{} bytes", safe.len());
        // Idempotent: a safe name stays as it is.
        prop_assert_eq!(sanitize(&safe), (safe.clone(), false));
    }

    #[test]
    fn distinct_assets_get_distinct_files(names in prop::collection::vec(hostile_name(), 1..30)) {
        let mut allocator = NameAllocator::new();
        let mut seen = HashSet::new();
        for (i, name) in names.iter().enumerate() {
            let local = allocator.allocate(name, &format!("as{i:04}x"));
            let (again, changed) = sanitize(&local);
            prop_assert!(!changed, "{local:?} -> {again:?}");
            prop_assert!(seen.insert(local.to_lowercase()), "{local:?} handed out twice");
        }
    }

    #[test]
    fn id_parsers_never_panic_and_keep_what_they_accept(text in any::<String>(), org in "[a-z0-9-]{1,12}") {
        if let Ok(id) = DatasetId::new(text.clone()) {
            prop_assert!(!id.as_str().is_empty());
            prop_assert!(!id.as_str().contains('/'));
        }
        if let Ok(id) = AssetId::new(text.clone()) {
            prop_assert_eq!(AssetId::new(id.as_str()).ok(), Some(id.clone()));
        }
        let _ = DatasetId::from_composite(&text, &org);
    }

    #[test]
    fn redaction_never_shows_a_query(base in "https?://[a-z.]{1,12}(:[0-9]{1,5})?/[a-z/]{0,12}", secret in "[A-Za-z0-9]{8,20}") {
        let shown = vi_core::redact::url(&format!("{base}?X-Goog-Signature={secret}&a=b#frag"));
        prop_assert!(!shown.contains(&secret), "{shown}");
        prop_assert!(shown.ends_with("?<redacted>"), "{shown}");
    }

    #[test]
    fn model_decoders_take_any_json_without_panicking(value in json_value()) {
        let _ = serde_json::from_value::<Asset>(value.clone());
        let _ = serde_json::from_value::<Dataset>(value.clone());
        let _ = serde_json::from_value::<IngestionSession>(value);
    }

    #[test]
    fn a_content_range_gives_its_first_byte(first in 0u64..1 << 40, len in 1u64..1 << 30, extra in 0u64..1000, star in any::<bool>(), spaces in " {0,2}") {
        let last = first + len - 1;
        let size = if star { "*".to_owned() } else { (last + 1 + extra).to_string() };
        let value = format!("{spaces}bytes {first}-{last}/{size}{spaces}");
        prop_assert_eq!(vi_core::transport::content_range_start(&value), Some(first));
    }

    #[test]
    fn a_content_range_that_cannot_hold_is_none(first in 1u64..1 << 40, below in 1u64..1000, text in any::<String>()) {
        // Backwards, past its own size, or unsatisfied: no place for the bytes.
        let last = first.saturating_sub(below.min(first));
        prop_assert_eq!(vi_core::transport::content_range_start(&format!("bytes {first}-{last}/*")), None);
        prop_assert_eq!(vi_core::transport::content_range_start(&format!("bytes 0-{first}/{first}")), None);
        prop_assert_eq!(vi_core::transport::content_range_start(&format!("bytes */{first}")), None);
        // Anything at all: never a panic.
        let _ = vi_core::transport::content_range_start(&text);
    }
}
