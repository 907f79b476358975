//! Uploads.
pub mod discover;
pub mod spec;
