//! The shared scenario suite, run against the blocking facade over real HTTP.

vi_testkit::scenario_suite!(vi_blocking, blocking);
