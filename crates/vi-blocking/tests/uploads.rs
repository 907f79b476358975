//! The shared upload scenarios, run against the blocking facade over real HTTP.

vi_testkit::upload_suite!(vi_blocking, blocking);
