//! # vi-core
//!
//! The runtime-agnostic heart of the Datature Vi SDK for Rust: wire models, endpoint types
//! (request building and response parsing, no I/O), the retry policy, pagination, the
//! bounded pool and the orchestration of multi-request flows, all written once against the
//! [`Transport`](transport::Transport) and [`Runtime`](transport::Runtime) seams.
//!
//! Application code normally uses a facade instead: `vi-async` (reqwest + tokio) or
//! `vi-blocking` (ureq + OS threads). Both re-export the types of this crate that appear
//! in their APIs.

pub mod api;
pub mod builder;
pub mod cancel;
pub mod client;
pub mod config;
pub mod download;
pub mod endpoints;
pub mod error;
pub mod facade;
pub mod ids;
pub mod models;
pub mod paging;
pub mod pool;
pub mod progress;
pub mod retry;
pub mod transport;
pub mod upload;

pub use client::Core;
pub use config::{Config, ConfigBuilder, SecretKey};
pub use endpoints::{
    AssetSortBy, CountAssetsOptions, ListAssetsOptions, NewDataset, RenameTarget, SortOrder,
};
pub use error::{ApiError, ApiErrorCode, Error, ErrorKind, Result};
pub use ids::{AssetId, DatasetId, IngestionSessionId, OrganizationId};
pub use paging::{Cursor, Page};
