//! # vi-async
//!
//! The async facade of the Datature Vi SDK for Rust: reqwest for HTTP, tokio for tasks.
//! Everything it does is implemented once in [`vi_core`]: the handles ([`Datasets`],
//! [`Assets`]) and [`Listing`] are `vi_core`'s own async types; this crate supplies the
//! transport and the runtime. Its blocking twin, `vi-blocking`, has the same names.
//!
//! ```no_run
//! # async fn demo() -> vi_async::Result<()> {
//! use vi_async::{Client, ListAssetsOptions};
//! use futures_util::TryStreamExt;
//!
//! let client = Client::from_env()?; // DATATURE_VI_SECRET_KEY, DATATURE_VI_ORGANIZATION_ID
//! let dataset = client.datasets().create("Drone survey").await?.id()?;
//! let mut assets = client.assets().list(&dataset, ListAssetsOptions::new())?.items();
//! while let Some(asset) = assets.try_next().await? {
//!     println!("{} {} bytes", asset.filename, asset.metadata.file_size);
//! }
//! # Ok(()) }
//! ```

mod client;
pub mod runtime;
pub mod transport;

pub use client::{Client, ClientBuilder, Tokio};
pub use vi_core::api::*;
pub use vi_core::{Annotations, Assets, Datasets, Listing};
