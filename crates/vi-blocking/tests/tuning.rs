//! The scenarios of adaptive concurrency, run against the blocking facade over real HTTP
//! on a slow (emulated) link.

vi_testkit::tuning_tests!(vi_testkit::facade::BlockingFacade);
