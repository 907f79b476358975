//! The shared download scenarios, run against the async facade over real HTTP.

vi_testkit::download_tests!(vi_testkit::facade::AsyncFacade);
