//! Export scenarios (datasets with their labels) against the async facade.

vi_testkit::export_tests!(vi_testkit::facade::AsyncFacade);
