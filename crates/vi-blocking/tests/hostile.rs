//! Hostile files and servers, run against the blocking facade over real HTTP.

vi_testkit::hostile_tests!(vi_testkit::facade::BlockingFacade);
