//! Signed cloud-storage URLs ("Contents", docs/protocol.md §3.4).
//!
//! The query string of a signed URL is a credential: whoever holds it can read or write
//! the object until it expires. These types therefore never print it: `Debug` and
//! [`SignedUrl::redacted_url`] show only scheme, host and path.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use super::wire::SignedUrl;

impl SignedUrl {
    /// The URL without its query string (which holds the signature): scheme, host and
    /// path, followed by `?<redacted>` when there was a query. Safe to log.
    pub fn redacted_url(&self) -> String {
        crate::redact::url(&self.url)
    }

    /// When the URL expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expiry.to_system_time()
    }

    /// True when the URL has expired at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        now >= self.expires_at()
    }

    /// The method to use: `method` when given, else `PUT` (docs/protocol.md §6.7).
    pub fn http_method(&self) -> &str {
        match self.method.as_deref() {
            Some(method) if !method.is_empty() => method,
            _ => "PUT",
        }
    }
}

impl fmt::Debug for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedUrl")
            .field("url", &self.redacted_url())
            .field("expiry", &self.expiry)
            .field("headers", &self.headers.as_ref().map(redacted_headers))
            .field("method", &self.method)
            .finish()
    }
}

/// Header names for `Debug`: values may carry checksums or tokens, so they are left out.
pub(crate) fn redacted_headers(headers: &BTreeMap<String, String>) -> Vec<&str> {
    headers.keys().map(String::as_str).collect()
}
