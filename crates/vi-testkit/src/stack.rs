//! Each facade's HTTP stack as core sees it: a transport behind `Arc<dyn Transport>`, a
//! runtime behind `Arc<dyn Runtime>`, and the way that facade's callers wait.
//!
//! * [`TransportStack::reqwest`]: vi-async's `ReqwestTransport` and `TokioRuntime`,
//!   waited for on a multi-threaded tokio runtime.
//! * [`TransportStack::ureq`]: vi-blocking's `UreqTransport` through the
//!   [`Blocking`] adapter and `ThreadRuntime`, waited for by parking the calling thread
//!   (no tokio anywhere, as in the blocking facade).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use vi_core::config::HttpOptions;
use vi_core::runtime::Runtime;
use vi_core::transport::{Blocking, Transport};

/// A facade's transport and runtime, and how to wait for their futures.
pub struct TransportStack {
    name: &'static str,
    make: fn(&HttpOptions) -> vi_core::Result<Arc<dyn Transport>>,
    runtime: Arc<dyn Runtime>,
    tokio: Option<tokio::runtime::Runtime>,
}

impl TransportStack {
    /// vi-async's stack: reqwest and tokio.
    pub fn reqwest() -> Self {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        TransportStack {
            name: "reqwest",
            make: |options| {
                let transport = vi_async::transport::ReqwestTransport::new(options)?;
                Ok(Arc::new(transport))
            },
            runtime: Arc::new(vi_async::runtime::TokioRuntime),
            tokio: Some(tokio),
        }
    }

    /// vi-blocking's stack: ureq (through [`Blocking`]) and OS threads.
    pub fn ureq() -> Self {
        TransportStack {
            name: "ureq",
            make: |options| {
                let transport = vi_blocking::transport::UreqTransport::new(options)?;
                Ok(Arc::new(Blocking(transport)))
            },
            runtime: Arc::new(vi_blocking::runtime::ThreadRuntime),
            tokio: None,
        }
    }

    /// The stack's name: `reqwest` or `ureq`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A transport with default options.
    pub fn transport(&self) -> Arc<dyn Transport> {
        self.transport_with(&HttpOptions::default())
    }

    /// A transport with `options`.
    pub fn transport_with(&self, options: &HttpOptions) -> Arc<dyn Transport> {
        // Inside the tokio runtime for reqwest, as a transport made by vi-async's client is.
        let _entered = self.tokio.as_ref().map(|tokio| tokio.enter());
        (self.make)(options).expect("a transport")
    }

    /// The facade's runtime.
    pub fn runtime(&self) -> Arc<dyn Runtime> {
        self.runtime.clone()
    }

    /// Waits for `future` as the facade's callers do: on the tokio runtime, or by parking
    /// the calling thread.
    pub fn wait<T>(&self, future: impl Future<Output = T>) -> T {
        match &self.tokio {
            Some(tokio) => tokio.block_on(future),
            None => futures_executor::block_on(future),
        }
    }
}

impl fmt::Debug for TransportStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportStack")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
