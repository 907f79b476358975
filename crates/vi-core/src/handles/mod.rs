//! The public operations, as ordinary async methods: `client.datasets()` is a
//! [`Datasets`], `client.assets()` an [`Assets`], and every listing a [`Listing`].
//!
//! `vi-async` re-exports these types as they are; `vi-blocking` wraps each method in a
//! one-line blocking mirror with the same name. Each method builds an endpoint and runs it
//! through the engine ([`Core::execute`](crate::engine::Core::execute)), or hands off to
//! one of the engine's flows (upload, download).

mod annotations;
mod assets;
mod curation;
mod datasets;
mod listing;
mod sessions;

pub use annotations::Annotations;
pub use assets::Assets;
pub use datasets::Datasets;
pub use listing::Listing;
