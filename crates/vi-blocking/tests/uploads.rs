//! The shared upload scenarios, run against the blocking facade over real HTTP.

vi_testkit::upload_tests!(vi_testkit::facade::BlockingFacade);
vi_testkit::upload_retry_tests!(vi_testkit::facade::BlockingFacade);
vi_testkit::upload_verdict_tests!(vi_testkit::facade::BlockingFacade);
vi_testkit::upload_cancel_tests!(vi_testkit::facade::BlockingFacade);
vi_testkit::resume_tests!(vi_testkit::facade::BlockingFacade);
vi_testkit::coordinator_tests!(vi_testkit::facade::BlockingFacade);
