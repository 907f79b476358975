//! The client builder both facades share (`vi_async::ClientBuilder` and
//! `vi_blocking::ClientBuilder` are this type for their own `Client`).

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, ConfigBuilder};
use crate::error::Result;
use crate::retry::RetryPolicy;

/// A client a [`ClientBuilder`] can build: each facade's `Client`.
pub trait FromConfig: Sized {
    /// Builds the client over a resolved configuration.
    ///
    /// # Errors
    /// When the HTTP stack cannot be set up (e.g. no TLS roots).
    fn from_config(config: Config) -> Result<Self>;
}

/// Builds a client from explicit values, `DATATURE_VI_*` environment variables, or a config
/// file, in that order of precedence (spec §1.1–1.2).
///
/// ```no_run
/// # fn demo<C: vi_core::builder::FromConfig>() -> vi_core::Result<()> {
/// let client: C = vi_core::builder::ClientBuilder::new()
///     .endpoint("http://127.0.0.1:8080")
///     .secret_key("dtvi_...")
///     .organization_id("5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90")
///     .build()?;
/// # Ok(()) }
/// ```
pub struct ClientBuilder<C> {
    config: ConfigBuilder,
    client: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .finish()
    }
}

impl<C> Default for ClientBuilder<C> {
    fn default() -> Self {
        ClientBuilder {
            config: ConfigBuilder::default(),
            client: PhantomData,
        }
    }
}

impl<C: FromConfig> ClientBuilder<C> {
    /// A builder with nothing set: everything comes from the environment unless set.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(self, f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Self {
        ClientBuilder {
            config: f(self.config),
            client: PhantomData,
        }
    }

    /// The API base URL (default `https://api.vi.datature.com/`, or
    /// `DATATURE_VI_API_ENDPOINT`). Only its origin is used.
    pub fn endpoint(self, url: impl Into<String>) -> Self {
        self.map(|c| c.endpoint(url))
    }

    /// The secret key (else `DATATURE_VI_SECRET_KEY`, else the config file).
    pub fn secret_key(self, key: impl Into<String>) -> Self {
        self.map(|c| c.secret_key(key))
    }

    /// The organization id (else `DATATURE_VI_ORGANIZATION_ID`, else the config file).
    pub fn organization_id(self, id: impl Into<String>) -> Self {
        self.map(|c| c.organization_id(id))
    }

    /// A JSON config file with `secret_key` and `organization_id`, used for values that
    /// neither the builder nor the environment gives. `~` is expanded.
    pub fn config_file(self, path: impl Into<PathBuf>) -> Self {
        self.map(|c| c.config_file(path))
    }

    /// A product token appended to the SDK's `User-Agent`.
    pub fn user_agent(self, product: impl Into<String>) -> Self {
        self.map(|c| c.user_agent(product))
    }

    /// How long to wait for a connection (default 60 s).
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.map(|c| c.connect_timeout(timeout))
    }

    /// How long to wait for data on an open connection (default 300 s).
    pub fn read_timeout(self, timeout: Duration) -> Self {
        self.map(|c| c.read_timeout(timeout))
    }

    /// How failed calls are retried.
    pub fn retry_policy(self, policy: RetryPolicy) -> Self {
        self.map(|c| c.retry_policy(policy))
    }

    /// Resolves the configuration from the process environment and builds the client.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) naming the missing or malformed value and
    /// the sources tried; nothing is sent.
    pub fn build(self) -> Result<C> {
        C::from_config(self.config.build()?)
    }

    /// As [`build`](Self::build), reading variables through `env` instead of the process
    /// environment (hermetic tests, or callers with their own settings store).
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_with_env(self, env: &dyn Fn(&str) -> Option<String>) -> Result<C> {
        C::from_config(self.config.build_with_env(env)?)
    }
}
