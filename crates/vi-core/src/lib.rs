//! # vi-core
//!
//! The runtime-agnostic heart of the Datature Vi SDK for Rust: wire models, endpoint types
//! (request building and response parsing, no I/O), the retry policy, pagination, the
//! bounded pool, the public operations ([`handles`]) and the multi-request flows (upload,
//! download), all written once against the [`Transport`](transport::Transport) and
//! [`Runtime`](runtime::Runtime) seams.
//!
//! Application code normally uses a facade instead: `vi-async` (reqwest + tokio) or
//! `vi-blocking` (ureq + OS threads). Both re-export the types of this crate that appear
//! in their APIs (see [`api`]). `ARCHITECTURE.md` at the top of the repository maps the
//! layers.

pub mod api;
pub mod bandwidth;
pub mod cancel;
pub mod client;
pub mod config;
pub mod download;
mod drive;
pub mod endpoints;
pub mod engine;
pub mod error;
pub mod export;
pub mod fsguard;
pub mod handles;
pub mod ids;
pub mod import;
pub mod models;
pub mod outcome;
pub mod paging;
pub mod pool;
pub mod progress;
pub mod redact;
pub mod retry;
pub mod runtime;
pub mod select;
pub mod signed;
pub mod transport;
pub mod tuning;
pub mod upload;

pub use client::{Client, ClientBuilder, Facade};
pub use config::{Config, ConfigBuilder, FromConfig, SecretKey};
pub use endpoints::{
    AssetSortBy, AssetsWithObjectsOptions, CountAssetsOptions, DatasetUpdate, DeleteCriteria,
    ListAssetsOptions, NewDataset, RenameTarget, SortOrder,
};
pub use engine::Core;
pub use error::{ApiError, ApiErrorCode, Error, ErrorKind, Mismatch, Result};
pub use handles::{Annotations, Assets, Datasets, Listing};
pub use ids::{
    AnnotationId, AnnotationImportSessionId, AssetId, BulkDeletionId, DatasetId,
    IngestionSessionId, OrganizationId,
};
pub use import::{DuplicateNames, ImportOptions, ImportReport};
pub use paging::{Cursor, Page};
