//! Hostile files and servers, run against the async facade over real HTTP.

vi_testkit::hostile_tests!(vi_testkit::facade::AsyncFacade);
