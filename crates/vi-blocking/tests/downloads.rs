//! The shared download scenarios, run against the blocking facade over real HTTP.

vi_testkit::download_tests!(vi_testkit::facade::BlockingFacade);
