//! The scenarios of adaptive concurrency, run against the async facade over real HTTP on
//! a slow (emulated) link.

vi_testkit::tuning_tests!(vi_testkit::facade::AsyncFacade);
