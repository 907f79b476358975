//! The shared scenario suite, run against the async facade over real HTTP.

vi_testkit::scenario_suite!(vi_async, async);
