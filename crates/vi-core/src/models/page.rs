//! Pages of listings: the wire envelope of list responses (docs/protocol.md §3.3), and the page and
//! cursor types callers see.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::common::null_as_default;

/// One page of a listing: `{"items": [...], "nextPage": "...", "prevPage": "..."}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>")
)]
pub struct PageEnvelope<T> {
    /// The page's items; absent or `null` means none.
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub items: Vec<T>,
    /// The token of the next page; absent, `null` or empty on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
    /// The token of the previous page (not used by clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_page: Option<String>,
}

impl<T> Default for PageEnvelope<T> {
    fn default() -> Self {
        PageEnvelope {
            items: Vec::new(),
            next_page: None,
            prev_page: None,
        }
    }
}

impl<T> PageEnvelope<T> {
    /// The token to pass as `p` for the next page, or `None` on the last page
    /// (an empty token counts as none).
    pub fn next_token(&self) -> Option<&str> {
        self.next_page.as_deref().filter(|token| !token.is_empty())
    }
}

/// Where a page starts: the service's opaque page token. Serializable, so a listing can be
/// resumed later, even by another process.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a token received from the service (or saved earlier).
    pub fn new(token: impl Into<String>) -> Self {
        Cursor(token.into())
    }

    /// The token as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({:?})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items of this page (possibly none, even when more pages follow).
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Turns a wire envelope into a page; an empty token counts as the end.
    pub fn from_envelope(envelope: PageEnvelope<T>) -> Self {
        let next = envelope.next_token().map(Cursor::new);
        Page {
            items: envelope.items,
            next,
        }
    }

    /// True when this is the last page.
    pub fn is_last(&self) -> bool {
        self.next.is_none()
    }
}
