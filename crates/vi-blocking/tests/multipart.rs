//! The shared multipart-upload scenarios, run against the blocking facade over real HTTP.

vi_testkit::multipart_tests!(vi_testkit::facade::BlockingFacade);
