//! The integration tests of `vi-core`, gathered into one test binary: one link step and
//! one executable instead of one per file, so a build of the workspace's tests stays small.
//! Each file is a module; run one with `cargo test -p vi-core --test core <module>::`.

mod flows_support;
mod models_support;
mod upload_support;

mod endpoints;
mod flows;
mod models_assets;
mod models_common;
mod models_datasets;
mod models_ingestion;
mod multipart_plan;
mod properties;
mod resume_flow;
mod transfer_flows;
mod upload_discovery;
mod upload_spec_bytes;
mod upload_spec_files;
