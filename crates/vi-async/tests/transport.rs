//! The shared transport suite: `ReqwestTransport` and `TokioRuntime` against a real HTTP
//! server on 127.0.0.1.

vi_testkit::transport_suite!(vi_async, async, ReqwestTransport, TokioRuntime);
