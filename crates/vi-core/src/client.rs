//! [`Client`]: what both facades' clients are. A client holds the engine ([`Core`]); the
//! facade, a [`Facade`] type, says how the engine is built (which transport, which
//! runtime) and which handles `datasets()` and `assets()` return.
//!
//! `vi_async::Client` is `Client<vi_async::Tokio>`, whose handles are the async
//! [`crate::handles`]; `vi_blocking::Client` is `Client<vi_blocking::Threads>`, whose
//! handles are blocking mirrors of them.

use std::fmt;
use std::marker::PhantomData;

use crate::config::{Config, ConfigBuilder, FromConfig};
use crate::engine::Core;
use crate::error::Result;

/// How a facade builds its engine and wraps it in handles.
pub trait Facade: Sized + 'static {
    /// What `client.datasets()` returns.
    type Datasets: From<Core>;
    /// What `client.assets()` returns.
    type Assets: From<Core>;
    /// What `client.annotations()` returns.
    type Annotations: From<Core>;

    /// Builds the engine over a resolved configuration: the facade's transport and runtime.
    ///
    /// # Errors
    /// When the HTTP stack cannot be set up.
    fn engine(config: Config) -> Result<Core>;
}

/// A facade whose handles are this crate's async [`crate::handles`]: it only says how the
/// engine is built (the async facade is one).
pub trait AsyncFacade: Sized + 'static {
    /// Builds the engine over a resolved configuration.
    ///
    /// # Errors
    /// When the HTTP stack cannot be set up.
    fn build_engine(config: Config) -> Result<Core>;
}

impl<A: AsyncFacade> Facade for A {
    type Datasets = crate::handles::Datasets;
    type Assets = crate::handles::Assets;
    type Annotations = crate::handles::Annotations;

    fn engine(config: Config) -> Result<Core> {
        A::build_engine(config)
    }
}

/// Builds a [`Client`]: `Client::builder().secret_key(..).organization_id(..).build()?`.
/// Values not set come from `DATATURE_VI_*` environment variables, then the config file.
pub type ClientBuilder<F> = ConfigBuilder<Client<F>>;

/// A Vi client. Cheap to clone; clones share the engine and its connections.
pub struct Client<F: Facade> {
    core: Core,
    facade: PhantomData<fn() -> F>,
}

impl<F: Facade> Clone for Client<F> {
    fn clone(&self) -> Self {
        Client {
            core: self.core.clone(),
            facade: PhantomData,
        }
    }
}

impl<F: Facade> fmt::Debug for Client<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("core", &self.core).finish()
    }
}

impl<F: Facade> FromConfig for Client<F> {
    fn from_config(config: Config) -> Result<Self> {
        Ok(Client {
            core: F::engine(config)?,
            facade: PhantomData,
        })
    }
}

impl<F: Facade> Client<F> {
    /// A builder; values not set come from `DATATURE_VI_*` environment variables.
    pub fn builder() -> ClientBuilder<F> {
        ClientBuilder::empty()
    }

    /// A client configured entirely from the environment (`DATATURE_VI_SECRET_KEY`,
    /// `DATATURE_VI_ORGANIZATION_ID`, optionally `DATATURE_VI_API_ENDPOINT`).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) naming what is missing.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// A client over a resolved configuration.
    ///
    /// # Errors
    /// When the HTTP stack cannot be set up (TLS roots).
    pub fn from_config(config: Config) -> Result<Self> {
        <Self as FromConfig>::from_config(config)
    }

    /// The configuration in use (its `Debug` redacts the secret key).
    pub fn config(&self) -> &Config {
        self.core.config()
    }

    /// The engine, for calls the handles do not wrap (a custom endpoint with
    /// [`Core::execute`]).
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Dataset operations.
    pub fn datasets(&self) -> F::Datasets {
        F::Datasets::from(self.core.clone())
    }

    /// Asset operations.
    pub fn assets(&self) -> F::Assets {
        F::Assets::from(self.core.clone())
    }

    /// Annotation operations: import, and the annotation parts of assets.
    pub fn annotations(&self) -> F::Annotations {
        F::Annotations::from(self.core.clone())
    }
}
