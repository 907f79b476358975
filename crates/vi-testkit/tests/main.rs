//! The integration tests of `vi-testkit`, gathered into one test binary: one link step and
//! one executable instead of one per file, so a build of the workspace's tests stays small.
//! Each file is a module; run one with `cargo test -p vi-testkit --test testkit <module>::`.

mod every_scenario_runs;
mod facade_parity;
