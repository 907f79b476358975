//! The async [`Client`]: `vi_core`'s client over reqwest and tokio. Its handles
//! ([`Datasets`](vi_core::Datasets), [`Assets`](vi_core::Assets)) and
//! [`Listing`](vi_core::Listing) are `vi_core`'s own async types.

use std::sync::Arc;

use vi_core::client::AsyncFacade;
use vi_core::config::HttpOptions;
use vi_core::transport::Transport;
use vi_core::{Config, Core, Result};

use crate::runtime::TokioRuntime;
use crate::transport::ReqwestTransport;

/// The async Vi client. Cheap to clone; clones share connections. Use it inside a tokio
/// runtime (multi-thread or current-thread).
pub type Client = vi_core::Client<Tokio>;

/// Builds a [`Client`]: `Client::builder().secret_key(..).organization_id(..).build()?`.
pub type ClientBuilder = vi_core::ClientBuilder<Tokio>;

/// The async facade: reqwest for HTTP, tokio for tasks, and `vi_core`'s async handles.
#[derive(Clone, Copy, Debug)]
pub struct Tokio;

impl AsyncFacade for Tokio {
    /// reqwest for the bytes, tokio for the tasks and timers.
    fn build_engine(config: Config) -> Result<Core> {
        let http = ReqwestTransport::new(&HttpOptions::from(&config))?;
        let transport: Arc<dyn Transport> = Arc::new(http);
        Ok(Core::new(config, transport, Arc::new(TokioRuntime)))
    }
}
