//! The shared transport suite: `ReqwestTransport` and `TokioRuntime` against a real HTTP
//! server on 127.0.0.1.

vi_testkit::transport_tests!(vi_testkit::stack::TransportStack::reqwest());
