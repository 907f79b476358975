//! The integration tests of `vi-blocking`, gathered into one test binary: one link step and
//! one executable instead of one per file, so a build of the workspace's tests stays small.
//! Each file is a module; run one with `cargo test -p vi-blocking --test blocking <module>::`.

mod downloads;
mod exports;
mod hostile;
mod labels;
mod multipart;
mod scenarios;
mod transport;
mod tuning;
mod uploads;
