//! The shared scenarios (single API calls), run against the blocking facade over real HTTP.

vi_testkit::api_tests!(vi_testkit::facade::BlockingFacade);
