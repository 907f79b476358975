//! [`HttpOptions`]: what a transport needs from the configuration to set up its HTTP stack.

use std::time::Duration;

use super::Config;

/// What a transport needs to know to set up its HTTP stack; both facades build theirs
/// from it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpOptions {
    /// How long to wait for a connection (docs/protocol.md §1.5: 60 s).
    pub connect_timeout: Duration,
    /// How long to wait for data on an open connection (docs/protocol.md §1.5: 300 s).
    pub read_timeout: Duration,
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
    /// Idle connections kept per host: as many as transfers may run at once
    /// ([`crate::tuning::DEFAULT_MAX_CONCURRENCY`]). The official client keeps 20 (spec
    /// §1.5); with fewer idle connections than transfers, every round of transfers closes
    /// connections the next round opens again (a download of 600 files 64 at a time
    /// opened 203 to 232 connections at 20, each a TCP and TLS handshake away from its
    /// first byte).
    pub pool_max_idle_per_host: usize,
}

impl HttpOptions {
    /// Sets the time allowed to open a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the longest wait for the next bytes of a response (progress, not a total).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets the `User-Agent` header sent to the API.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets how many idle connections per host the pool keeps.
    pub fn pool_max_idle_per_host(mut self, connections: usize) -> Self {
        self.pool_max_idle_per_host = connections;
        self
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(300),
            user_agent: format!("vi-rs/{}", env!("CARGO_PKG_VERSION")),
            pool_max_idle_per_host: crate::tuning::DEFAULT_MAX_CONCURRENCY,
        }
    }
}

impl From<&Config> for HttpOptions {
    fn from(config: &Config) -> Self {
        HttpOptions {
            connect_timeout: config.connect_timeout,
            read_timeout: config.read_timeout,
            user_agent: config.user_agent.clone(),
            ..HttpOptions::default()
        }
    }
}
