//! Export scenarios (datasets with their labels) against the blocking facade.

vi_testkit::export_tests!(vi_testkit::facade::BlockingFacade);
