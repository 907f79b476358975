//! The pagination envelope of list responses (spec §3.3).

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
