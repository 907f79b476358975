//! # vi-blocking
//!
//! The blocking facade of the Datature Vi SDK for Rust: ureq for HTTP, OS threads for
//! parallel work, and no async runtime anywhere (so it is safe to call from any thread).
//! Everything it does is implemented once in [`vi_core`]; this crate supplies the transport
//! and the runtime. Its async twin, `vi-async`, has the same names.
//!
//! ```no_run
//! # fn demo() -> vi_blocking::Result<()> {
//! use vi_blocking::{Client, ListAssetsOptions};
//!
//! let client = Client::from_env()?; // DATATURE_VI_SECRET_KEY, DATATURE_VI_ORGANIZATION_ID
//! let dataset = client.datasets().create("Drone survey")?.id()?;
//! for asset in client.assets().list(&dataset, ListAssetsOptions::new())? {
//!     let asset = asset?;
//!     println!("{} {} bytes", asset.filename, asset.metadata.file_size);
//! }
//! # Ok(()) }
//! ```

mod client;
pub mod runtime;
pub mod transport;

pub use client::{Annotations, Assets, Datasets, Items, Listing, Threads};
pub use vi_core::api::*;

/// The blocking Vi client. Cheap to clone; clones share connections. Safe to call from any
/// thread, including from inside an async runtime's blocking section: it starts no hidden
/// async runtime.
pub type Client = vi_core::Client<Threads>;

/// Builds a [`Client`]: `Client::builder().secret_key(..).organization_id(..).build()?`.
pub type ClientBuilder = vi_core::ClientBuilder<Threads>;
