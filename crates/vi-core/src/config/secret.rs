//! [`SecretKey`]: the validated secret, which never shows itself.

use std::fmt;
use std::str::FromStr;

use super::{KEY_HOWTO, REDACTED, SECRET_KEY_LEN, SECRET_KEY_PREFIX, Source, config_error};
use crate::error::Error;

/// A Vi secret key: starts with `dtvi_` and is exactly 103 characters long (docs/protocol.md §1.2).
///
/// It never shows itself: `Debug` and `Display` print `dtvi_…(redacted)`, and it cannot be
/// serialized. [`SecretKey::expose`] is the only way to read it.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    /// Validates and wraps a secret key (surrounding whitespace is trimmed).
    ///
    /// # Errors
    /// [`Error::Config`] when the key is empty, does not start with `dtvi_`, is not 103
    /// characters long or contains characters that cannot go in a header. The message
    /// never contains the key.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        SecretKey::validate(key.into(), None)
    }

    pub(super) fn validate(key: String, source: Option<&Source>) -> Result<Self, Error> {
        let trimmed = key.trim();
        let from = source.map(|s| format!(" ({s})")).unwrap_or_default();
        if trimmed.is_empty() {
            return Err(config_error(format!(
                "the secret key{from} is empty; {KEY_HOWTO}"
            )));
        }
        let mut problems = Vec::new();
        let prefix_ok = trimmed.starts_with(SECRET_KEY_PREFIX);
        if !prefix_ok {
            problems.push(format!("it does not start with \"{SECRET_KEY_PREFIX}\""));
        }
        let len = trimmed.chars().count();
        if len != SECRET_KEY_LEN {
            let prefix_note = if prefix_ok {
                format!(" (the \"{SECRET_KEY_PREFIX}\" prefix is right)")
            } else {
                String::new()
            };
            problems.push(format!(
                "it is {len} characters long, not {SECRET_KEY_LEN}{prefix_note}"
            ));
        }
        if !trimmed.chars().all(|c| c.is_ascii_graphic()) {
            problems.push(
                "it contains spaces, control or non-ASCII characters, which a key never has"
                    .to_owned(),
            );
        }
        if !problems.is_empty() {
            return Err(config_error(format!(
                "the secret key{from} is malformed: {}. Copy the whole key again from the Vi \
                 web app (Settings → Secret keys): keys start with \"{SECRET_KEY_PREFIX}\" and \
                 are {SECRET_KEY_LEN} characters long",
                problems.join("; ")
            )));
        }
        let key = if trimmed.len() == key.len() {
            key
        } else {
            trimmed.to_owned()
        };
        Ok(SecretKey(key))
    }

    /// The key itself, for the `Authorization` header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl FromStr for SecretKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        SecretKey::new(s)
    }
}

impl TryFrom<String> for SecretKey {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        SecretKey::new(value)
    }
}
