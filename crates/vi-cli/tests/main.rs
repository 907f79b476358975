//! The integration tests of `vi-cli`, gathered into one test binary: one link step and
//! one executable instead of one per file, so a build of the workspace's tests stays small.
//! Each file is a module; run one with `cargo test -p vi-cli --test cli <module>::`.

mod common;

mod cli_assets;
mod cli_datasets;
mod cli_download;
mod cli_errors;
mod cli_export;
mod cli_files;
mod cli_labels;
mod cli_process;
mod cli_secrets;
mod cli_shards;
mod cli_shell;
mod resume;
