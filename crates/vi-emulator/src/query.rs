//! Query strings: strict parsing and page tokens.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::{ApiError, ApiResult};

/// Decoded query parameters (form-urlencoded: `+` is a space, `%XX` decoded).
#[derive(Debug, Default)]
pub(crate) struct Query {
    map: BTreeMap<String, String>,
}

/// Parses a query string, rejecting keys outside `allowed` and repeated keys.
pub(crate) fn parse_query(raw: Option<&str>, allowed: &[&str]) -> ApiResult<Query> {
    let mut map = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !allowed.contains(&key.as_ref()) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter \"{key}\""
            )));
        }
        if map.insert(key.to_string(), value.to_string()).is_some() {
            return Err(ApiError::bad_request(format!(
                "query parameter \"{key}\" is given more than once"
            )));
        }
    }
    Ok(Query { map })
}

impl Query {
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// A flag the client sends as `y` or omits (docs/protocol.md §1.6); anything else is a 400.
    pub(crate) fn flag(&self, key: &str) -> ApiResult<bool> {
        match self.get(key) {
            None => Ok(false),
            Some("y") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "query parameter \"{key}\" must be \"y\" or omitted, got \"{other}\""
            ))),
        }
    }

    /// A `y`/`n` parameter (count's `strictQuery`).
    pub(crate) fn yes_no(&self, key: &str) -> ApiResult<bool> {
        match self.get(key) {
            None | Some("n") => Ok(false),
            Some("y") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "query parameter \"{key}\" must be \"y\" or \"n\", got \"{other}\""
            ))),
        }
    }

    /// Page size `s`: 1–1000, default 10.
    pub(crate) fn page_size(&self) -> ApiResult<usize> {
        match self.get("s") {
            None => Ok(10),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_request(format!(
                    "query parameter \"s\" must be an integer between 1 and 1000, got \"{raw}\""
                ))),
            },
        }
    }

    /// A stable digest of `scope` and the given parameters, bound into page tokens so
    /// a token is only valid for the query that produced it.
    pub(crate) fn fingerprint(&self, scope: &str, keys: &[&str]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(scope.as_bytes());
        for key in keys {
            hasher.update(b"\0");
            hasher.update(key.as_bytes());
            hasher.update(b"=");
            if let Some(v) = self.get(key) {
                hasher.update(b"1");
                hasher.update(v.as_bytes());
            }
        }
        hex::encode(&hasher.finalize()[..8])
    }
}

#[derive(Serialize, Deserialize)]
struct Token {
    o: usize,
    q: String,
    m: String,
}

fn token_mac(app: &App, fingerprint: &str, offset: usize) -> String {
    let sig = app.sign(
        &["page", fingerprint],
        i64::try_from(offset).unwrap_or(i64::MAX),
    );
    sig.chars().take(16).collect()
}

/// An opaque page token: base64url of `{offset, query fingerprint, mac}`.
pub(crate) fn encode_token(app: &App, fingerprint: &str, offset: usize) -> String {
    let token = Token {
        o: offset,
        q: fingerprint.to_owned(),
        m: token_mac(app, fingerprint, offset),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// Decodes the `p` parameter back into an offset; unknown, tampered or mismatched
/// tokens are a 400.
pub(crate) fn decode_token(app: &App, fingerprint: &str, raw: &str) -> ApiResult<usize> {
    let invalid = || {
        ApiError::bad_request(format!(
            "query parameter \"p\" is not a valid page token: \"{raw}\""
        ))
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('=').as_bytes())
        .map_err(|_| invalid())?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if token.m != token_mac(app, &token.q, token.o) {
        return Err(invalid());
    }
    if token.q != fingerprint {
        return Err(ApiError::bad_request(
            "query parameter \"p\" belongs to a different query (same filters and sort are required)",
        ));
    }
    Ok(token.o)
}

#[derive(Serialize, Deserialize)]
struct KeyToken {
    k: Vec<Value>,
    q: String,
    m: String,
}

fn key_mac(app: &App, fingerprint: &str, key: &[Value]) -> String {
    let text = Value::Array(key.to_vec()).to_string();
    let sig = app.sign(&["keyset", fingerprint, &text], 0);
    sig.chars().take(16).collect()
}

/// An opaque keyset page token: base64url of `{sort key of the last item, query
/// fingerprint, mac}`.
pub(crate) fn encode_key_token(app: &App, fingerprint: &str, key: &[Value]) -> String {
    let token = KeyToken {
        k: key.to_vec(),
        q: fingerprint.to_owned(),
        m: key_mac(app, fingerprint, key),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// Decodes a keyset token back into the sort key it continues after; unknown,
/// tampered or mismatched tokens are a 400.
pub(crate) fn decode_key_token(app: &App, fingerprint: &str, raw: &str) -> ApiResult<Vec<Value>> {
    let invalid = || {
        ApiError::bad_request(format!(
            "query parameter \"p\" is not a valid page token: \"{raw}\""
        ))
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('=').as_bytes())
        .map_err(|_| invalid())?;
    let token: KeyToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if token.m != key_mac(app, &token.q, &token.k) {
        return Err(invalid());
    }
    if token.q != fingerprint {
        return Err(ApiError::bad_request(
            "query parameter \"p\" belongs to a different query (same filters and sort are required)",
        ));
    }
    Ok(token.k)
}
