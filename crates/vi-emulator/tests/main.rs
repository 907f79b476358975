//! The integration tests of `vi-emulator`, gathered into one test binary: one link step and
//! one executable instead of one per file, so a build of the workspace's tests stays small.
//! Each file is a module; run one with `cargo test -p vi-emulator --test emulator <module>::`.

mod common;

mod annotations;
mod api_auth_datasets;
mod api_harness;
mod api_listing;
mod exports;
mod network;
mod openapi;
mod persistence;
mod service;
mod stored_assets;
mod upload_failures;
mod upload_multipart;
mod upload_sessions;
