//! The shared multipart-upload scenarios, run against the async facade over real HTTP.

vi_testkit::multipart_tests!(vi_testkit::facade::AsyncFacade);
