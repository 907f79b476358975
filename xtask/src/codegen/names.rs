//! Names and documentation: wire spellings to Rust identifiers, descriptions to doc
//! attributes.

use proc_macro2::TokenStream;
use quote::quote;

/// `assetIngestionSessionId` → `asset_ingestion_session_id`.
pub(super) fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

/// The key serde's `rename_all = "camelCase"` gives a snake_case field.
pub(super) fn serde_camel(field: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// An enum value as a variant name: words split at anything not alphanumeric, each word
/// capitalized; an all-capitals word is lowered after its first letter
/// (`phrase-grounding` → `PhraseGrounding`, `Datature/Multi` → `DatatureMulti`,
/// `EALREADY` → `Ealready`).
pub(super) fn variant_name(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|word| {
            let shout = word.chars().all(|c| !c.is_ascii_lowercase());
            let mut chars = word.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            let rest: String = if shout {
                chars.as_str().to_ascii_lowercase()
            } else {
                chars.as_str().to_owned()
            };
            first.into_iter().collect::<String>() + &rest
        })
        .collect()
}

/// `#[doc = "..."]` attributes, one per line of `text`; an item without a description is
/// an error, since every public item of vi-core is documented.
pub(super) fn doc_attrs(text: &str, what: &str) -> Result<Vec<TokenStream>, String> {
    let text = text.trim_end();
    if text.trim().is_empty() {
        return Err(format!(
            "{what} has no description (every public item needs docs)"
        ));
    }
    Ok(text
        .lines()
        .map(|line| {
            let line = if line.is_empty() {
                String::new()
            } else {
                format!(" {line}")
            };
            quote!(#[doc = #line])
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            snake_case("assetIngestionSessionId"),
            "asset_ingestion_session_id"
        );
        assert_eq!(snake_case("crc32c"), "crc32c");
        assert_eq!(
            serde_camel("asset_ingestion_session_id"),
            "assetIngestionSessionId"
        );
        assert_eq!(serde_camel("dataset_type"), "datasetType");
        assert_eq!(variant_name("phrase-grounding"), "PhraseGrounding");
        assert_eq!(variant_name("Datature/Multi"), "DatatureMulti");
        assert_eq!(variant_name("EALREADY"), "Ealready");
        assert_eq!(variant_name("FailAfterOne"), "FailAfterOne");
    }
}
