//! Validated identifiers.
//!
//! Dataset, asset and ingestion-session ids follow the service's rule: 1–255 characters of
//! `[A-Za-z0-9_-]` (docs/protocol.md §2.1). On the wire a dataset is addressed by its *composite* id
//! `{organization id}_{short id}`; users only ever see and pass the short id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The longest id the service accepts.
pub const MAX_ID_LEN: usize = 255;

fn check_id(what: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(
            what,
            "it is empty; pass the id shown by the list call",
        ));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid(
            what,
            format!(
                "it is {} characters long; ids have at most {MAX_ID_LEN}",
                value.len()
            ),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(Error::invalid(
            what,
            format!("{value:?} contains {bad:?}; ids contain only letters, digits, '_' and '-'"),
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            ///
            /// # Errors
            /// [`Error::InvalidInput`] when the id is empty, longer than 255 characters, or
            /// has a character outside `[A-Za-z0-9_-]`.
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                check_id($what, &value)?;
                Ok($name(value))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// A short dataset id, as users see it (e.g. `q8w4e2r7t1`).
    DatasetId,
    "dataset id"
);
id_type!(
    /// An asset id.
    AssetId,
    "asset id"
);
id_type!(
    /// An ingestion session id (`assetIngestionSessionId`).
    IngestionSessionId,
    "ingestion session id"
);
id_type!(
    /// A dataset export id (`datasetExportId`).
    ExportId,
    "export id"
);
id_type!(
    /// An annotation import session id (`annotationImportSessionId`).
    AnnotationImportSessionId,
    "annotation import session id"
);
id_type!(
    /// The id of one annotation part on an asset (`annotationId`).
    AnnotationId,
    "annotation id"
);
id_type!(
    /// A bulk asset deletion session id (`deleteManyAssetsSessionId`).
    BulkDeletionId,
    "bulk deletion session id"
);

impl DatasetId {
    /// The composite id used on the wire: `{organization id}_{short id}`. An id given in
    /// that composite form already (as the service returns it in `datasetId`) is used as it
    /// is, not prefixed twice.
    pub fn composite(&self, organization: &OrganizationId) -> String {
        if self.short_in(organization).is_some() {
            return self.0.clone();
        }
        format!("{}_{}", organization.as_str(), self.0)
    }

    /// The short id of this dataset in `organization`: the id itself when it is short, the
    /// part after `{organization}_` when it is the composite form the service returns.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the id is the composite id of another organization:
    /// sent as it is, it would address no dataset.
    ///
    /// ```
    /// # use vi_core::{DatasetId, OrganizationId};
    /// let org = OrganizationId::new("5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90").unwrap();
    /// let composite = DatasetId::new("5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90_q8w4e2r7t1").unwrap();
    /// assert_eq!(composite.in_organization(&org).unwrap(), "q8w4e2r7t1");
    /// let other = DatasetId::new("0000aaaa-93f4-4b8e-a6d1-0e2f4a6b8c90_q8w4e2r7t1").unwrap();
    /// assert!(other.in_organization(&org).is_err());
    /// ```
    pub fn in_organization(&self, organization: &OrganizationId) -> Result<DatasetId, Error> {
        if let Some(short) = self.short_in(organization) {
            return DatasetId::new(short);
        }
        match self.0.rsplit_once('_').map(|(prefix, _)| prefix) {
            None | Some("") => Ok(self.clone()),
            Some(prefix) => Err(Error::invalid(
                "dataset id",
                format!(
                    "{} is a dataset of organization {prefix}, but the credentials are for \
                     organization {organization}; use the organization's own credentials, or \
                     a dataset id from `datasets list`",
                    self.0
                ),
            )),
        }
    }

    /// The short part of a composite id of `organization` (`None` for any other id).
    /// Short ids have no `_` (the service's composite form relies on that), so an id with
    /// one is a composite id.
    fn short_in(&self, organization: &OrganizationId) -> Option<&str> {
        self.0
            .strip_prefix(organization.as_str())
            .and_then(|rest| rest.strip_prefix('_'))
            .filter(|short| !short.is_empty())
    }

    /// Recovers the short id from a composite one received from the service.
    ///
    /// Strips exactly the `{organization}_` prefix when present, which stays correct even
    /// if a short id contained `_`; otherwise falls back to the text after the last `_`,
    /// which is what the official client does (docs/protocol.md §2.1), and otherwise keeps the value
    /// as it is.
    pub fn from_composite(composite: &str, organization: &str) -> Result<Self, Error> {
        let short = composite
            .strip_prefix(organization)
            .and_then(|rest| rest.strip_prefix('_'))
            .filter(|s| !s.is_empty())
            .or_else(|| composite.rsplit_once('_').map(|(_, s)| s))
            .unwrap_or(composite);
        DatasetId::new(short)
    }
}

/// An organization (workspace) id. Opaque: the service calls it a UUID but does not
/// require one; it must be non-empty and usable as a path segment and a header value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganizationId(String);

impl OrganizationId {
    /// Validates and wraps an organization id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when it is empty (after trimming) or contains whitespace,
    /// control characters or `/`.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        if value.trim().is_empty() {
            return Err(Error::invalid(
                "organization id",
                "it is empty; copy it from the Vi web app (organization settings)",
            ));
        }
        if value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '?' || c == '#')
        {
            return Err(Error::invalid(
                "organization id",
                "it contains whitespace, control characters, '/', '?' or '#'; copy it again from the Vi web app",
            ));
        }
        Ok(OrganizationId(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrganizationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrganizationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrganizationId({:?})", self.0)
    }
}

impl FromStr for OrganizationId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        OrganizationId::new(s)
    }
}

impl TryFrom<String> for OrganizationId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        OrganizationId::new(s)
    }
}

impl From<OrganizationId> for String {
    fn from(id: OrganizationId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_service_alphabet() {
        assert!(DatasetId::new("q8w4e2r7t1").is_ok());
        assert!(AssetId::new("a-b_C9").is_ok());
        assert!(DatasetId::new("x".repeat(255)).is_ok());
    }

    #[test]
    fn rejects_bad_ids_with_a_message_naming_the_input() {
        for bad in ["", "a/b", "a b", "é", "../x"] {
            let err = DatasetId::new(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid dataset id"), "{err}");
        }
        let long = AssetId::new("x".repeat(256)).unwrap_err().to_string();
        assert!(long.contains("256 characters"), "{long}");
    }

    #[test]
    fn composite_round_trip() {
        let org = OrganizationId::new("5c1d7e2a-93f4").unwrap();
        let ds = DatasetId::new("q8w4e2r7t1").unwrap();
        let wire = ds.composite(&org);
        assert_eq!(wire, "5c1d7e2a-93f4_q8w4e2r7t1");
        assert_eq!(DatasetId::from_composite(&wire, org.as_str()).unwrap(), ds);
    }

    #[test]
    fn the_composite_form_of_the_same_organization_is_accepted() {
        let org = OrganizationId::new("5c1d7e2a-93f4").unwrap();
        let given = DatasetId::new("5c1d7e2a-93f4_q8w4e2r7t1").unwrap();
        assert_eq!(given.composite(&org), "5c1d7e2a-93f4_q8w4e2r7t1");
        assert_eq!(given.in_organization(&org).unwrap(), "q8w4e2r7t1");
        let short = DatasetId::new("q8w4e2r7t1").unwrap();
        assert_eq!(short.in_organization(&org).unwrap(), short);
        let other = DatasetId::new("77aa_q8w4e2r7t1").unwrap();
        let err = other.in_organization(&org).unwrap_err().to_string();
        assert!(
            err.contains("organization 77aa") && err.contains("5c1d7e2a-93f4"),
            "{err}"
        );
    }

    #[test]
    fn composite_prefers_the_exact_prefix_over_the_last_underscore() {
        let short = DatasetId::from_composite("org_with_us_ds_x", "org_with_us").unwrap();
        assert_eq!(short, "ds_x");
        let fallback = DatasetId::from_composite("other_org_abc", "mine").unwrap();
        assert_eq!(fallback, "abc");
        let bare = DatasetId::from_composite("abc", "mine").unwrap();
        assert_eq!(bare, "abc");
    }

    #[test]
    fn organization_ids_are_opaque_but_sane() {
        assert!(OrganizationId::new("5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90").is_ok());
        assert!(OrganizationId::new(" ").is_err());
        assert!(OrganizationId::new("a/b").is_err());
    }

    #[test]
    fn serde_validates() {
        let ok: DatasetId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(ok, "abc");
        assert!(serde_json::from_str::<DatasetId>("\"a b\"").is_err());
    }
}
