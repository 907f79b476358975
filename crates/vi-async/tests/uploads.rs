//! The shared upload scenarios, run against the async facade over real HTTP.

vi_testkit::upload_tests!(vi_testkit::facade::AsyncFacade);
vi_testkit::upload_retry_tests!(vi_testkit::facade::AsyncFacade);
vi_testkit::upload_verdict_tests!(vi_testkit::facade::AsyncFacade);
vi_testkit::upload_cancel_tests!(vi_testkit::facade::AsyncFacade);
vi_testkit::resume_tests!(vi_testkit::facade::AsyncFacade);
vi_testkit::coordinator_tests!(vi_testkit::facade::AsyncFacade);
