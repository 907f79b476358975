//! Wire models: the JSON documents the Vi API sends and receives.
//!
//! One file per resource (datasets, assets, ingestion sessions, multipart uploads, …).
//! The types are plain data with serde derives and a few small accessors; they perform
//! no I/O. JSON keys are lowerCamelCase exactly as on the wire (spec §1.7).
//!
//! # Decoding policy
//!
//! The SDK decodes *leniently*, so a server that adds a key, adds an enum value or leaves
//! out a block does not break existing programs:
//!
//! * unknown keys are ignored;
//! * unknown enum values decode to an `Unknown(String)` variant and serialize back
//!   verbatim;
//! * only identity keys are required (`datasetId`, `name`, `assetId`, `filename`,
//!   `assetIngestionSessionId`, `ingestionId`, `multipartUploadId`, signed-URL `url` and
//!   `expiry`, and the `status.conditions` of sessions); every other key falls back to
//!   its default when absent.
//!
//! Serializing writes the same camelCase keys and leaves out optional keys that are
//! `None`, except where the spec shows the official client sending an explicit `null`.
//!
//! These files are written by hand today; a later `cargo xtask codegen` generates them,
//! which is why they hold nothing but data types and small helpers.

/// Declares a string enum that decodes unknown values into `Unknown(String)` and
/// serializes every variant, `Unknown` included, back to its exact wire spelling.
///
/// `Variant = "wire" | "alias"` accepts the aliases on input and always writes `"wire"`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )+
            /// A value this version of the SDK does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// True when the value is not one this SDK knows.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    $($wire $(| $alias)* => Self::$variant,)+
                    _ => Self::Unknown(value),
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                match value {
                    $name::Unknown(other) => other,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod asset;
mod common;
mod dataset;
mod error_body;
mod ingestion;
mod multipart;
mod page;
mod signed_url;

pub use asset::{
    Asset, AssetAnnotations, AssetContents, AssetCount, AssetGenerations, AssetHash, AssetMetadata,
    CustomValue, Dimensions, RenameAssetRequest,
};
pub use common::{
    ConditionStatus, ResourceCondition, ResourceMetadata, Timestamp, all_reached, failed,
    is_finished_reached,
};
pub use dataset::{
    AssetStatusDetail, CreateDatasetRequest, Dataset, DatasetAccess, DatasetContent,
    DatasetMetadataInput, DatasetStatistic, DatasetType, DatasetUser, DeletedDataset,
    DeletionStatus, Localization, TagDetail, UpdateDatasetRequest,
};
pub use error_body::{ErrorBody, error_message};
pub use ingestion::{
    AssetKind, AssetSpec, CreateIngestionSessionRequest, FailureMode, IngestionAssetUpload,
    IngestionErrorCode, IngestionEvent, IngestionRequestSpec, IngestionSession,
    IngestionSessionSpec, IngestionStatus, OnAssetOverwritten, ProgressCount,
    UploadedAssetMetadata,
};
pub use multipart::{
    CompletePartRequest, CreateMultipartUploadRequest, MultipartUpload, MultipartUploadSpec,
    MultipartUploadStatus, PartUploadUrl,
};
pub use page::{Cursor, Page, PageEnvelope};
pub use signed_url::SignedUrl;
