//! Helpers shared by the flow tests: a scripted service behind a `Core`, in virtual time.

#![allow(dead_code, reason = "each flow test file uses some of the helpers")]

use vi_core::ConfigBuilder;
use vi_core::retry::RetryPolicy;
use vi_testkit::scripted::{Harness, Step};

pub const ORG: &str = "org-1";

pub fn ok(body: &'static str) -> Step {
    Step::ok(body)
}

pub fn config() -> vi_core::Config {
    ConfigBuilder::default()
        .endpoint("https://api.example.test/some/prefix/")
        .secret_key(format!("dtvi_{}", "k".repeat(98)))
        .organization_id(ORG)
        .retry_policy(RetryPolicy::default())
        .build_with_env(&|_| None)
        .unwrap()
}

pub fn harness(steps: Vec<Step>) -> Harness {
    Harness::new(config(), steps)
}

pub fn harness_answering(
    responder: impl Fn(&vi_testkit::scripted::Seen) -> Step + Send + Sync + 'static,
) -> Harness {
    Harness::answering(config(), responder)
}

pub fn block<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}
