//! The shared transport suite: `UreqTransport` and `ThreadRuntime` against a real HTTP
//! server on 127.0.0.1.

vi_testkit::transport_tests!(vi_testkit::stack::TransportStack::ureq());
