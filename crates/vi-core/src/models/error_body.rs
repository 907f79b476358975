//! Error response bodies (docs/protocol.md §9.1).

/// The longest raw-body excerpt put in a message, in bytes.
const MAX_RAW_LEN: usize = 500;

/// The message to show for an error answer with status `status` and body `body`.
///
/// A JSON object yields its `message`, else its `error`, else `HTTP <status> error`.
/// Any other body yields its text, trimmed and cut to at most 500 bytes (on a character
/// boundary, marked with `…`); an empty body yields `HTTP <status> error`.
pub fn error_message(body: &[u8], status: u16) -> String {
    let fallback = || format!("HTTP {status} error");
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(body) {
        let pick = |key: &str| match object.get(key) {
            Some(serde_json::Value::String(text)) if !text.trim().is_empty() => {
                Some(shorten(text.trim()))
            }
            Some(serde_json::Value::Null) | Some(serde_json::Value::String(_)) | None => None,
            // A non-string message (a list of details, say) is shown as compact JSON.
            Some(other) => Some(shorten(&other.to_string())),
        };
        return pick("message")
            .or_else(|| pick("error"))
            .unwrap_or_else(fallback);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        fallback()
    } else {
        shorten(text)
    }
}

fn shorten(text: &str) -> String {
    if text.len() <= MAX_RAW_LEN {
        return text.to_owned();
    }
    let mut cut = MAX_RAW_LEN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}
