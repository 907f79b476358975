//! The shared scenarios (single API calls), run against the async facade over real HTTP.

vi_testkit::api_tests!(vi_testkit::facade::AsyncFacade);
