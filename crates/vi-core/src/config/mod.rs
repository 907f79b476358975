//! Client configuration: where the API is, which credentials to send, timeouts and retries.
//!
//! [`ConfigBuilder`] resolves every value once, before any request is sent (docs/protocol.md §1.1–1.2):
//!
//! | Value | Sources, first found wins |
//! |---|---|
//! | endpoint | [`ConfigBuilder::endpoint`] > `DATATURE_VI_API_ENDPOINT` > config file > [`DEFAULT_ENDPOINT`] |
//! | secret key | [`ConfigBuilder::secret_key`] > `DATATURE_VI_SECRET_KEY` > config file |
//! | organization id | [`ConfigBuilder::organization_id`] > `DATATURE_VI_ORGANIZATION_ID` > config file |
//!
//! Each value is resolved on its own: the key may come from the environment and the
//! organization id from the builder. An empty (or all-blank) value counts as unset; values
//! are trimmed. The config file is read only when a path was given with
//! [`ConfigBuilder::config_file`], and only when a value was not found earlier (the
//! endpoint included), so a path that exists on a laptop does no harm in a CI job that sets
//! the environment variables.
//! It is a JSON object with the keys `secret_key`, `organization_id` and, optionally,
//! `endpoint` (any other key is ignored with a warning logged, so a misspelt one is seen):
//!
//! ```json
//! { "secret_key": "dtvi_…", "organization_id": "5c1d7e2a-93f4-4b8e-a6d1-0e2f4a6b8c90" }
//! ```
//!
//! Reading the file is the only I/O in this module; it happens once, synchronously, when a
//! client is built.
//!
//! The secret key is never printed: [`SecretKey`]'s `Debug` and `Display` show
//! `dtvi_…(redacted)`, and error messages say what is wrong with a key (its length, whether
//! the prefix is right) without quoting it.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;
use crate::ids::OrganizationId;
use crate::retry::RetryPolicy;

mod file;
mod http_options;
mod resolve;
mod secret;
#[cfg(test)]
mod tests;

use file::ConfigFile;
pub use http_options::HttpOptions;
use resolve::{
    FileKey, Resolved, Source, non_empty, parse_endpoint, parse_organization_id, refuse_cleartext,
    resolve,
};
pub use secret::SecretKey;

/// The API origin used when nothing else is configured.
pub const DEFAULT_ENDPOINT: &str = "https://api.vi.datature.com/";
/// The environment variable that overrides the API endpoint.
pub const ENV_ENDPOINT: &str = "DATATURE_VI_API_ENDPOINT";
/// The environment variable holding the secret key.
pub const ENV_SECRET_KEY: &str = "DATATURE_VI_SECRET_KEY";
/// The environment variable holding the organization id.
pub const ENV_ORGANIZATION_ID: &str = "DATATURE_VI_ORGANIZATION_ID";

/// Every secret key starts with this.
pub const SECRET_KEY_PREFIX: &str = "dtvi_";
/// Every secret key is exactly this many characters long.
pub const SECRET_KEY_LEN: usize = 103;

/// The default connect timeout (docs/protocol.md §1.5).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default read timeout (docs/protocol.md §1.5).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(300);

/// The name of the organization header on API requests.
pub const ORGANIZATION_ID_HEADER: &str = "organization-id";

const REDACTED: &str = "dtvi_…(redacted)";

const KEY_HOWTO: &str = "create a secret key in the Vi web app (Settings → Secret keys), then \
    `export DATATURE_VI_SECRET_KEY=<key>`, pass it to ConfigBuilder::secret_key, or put it \
    under \"secret_key\" in a JSON file passed to ConfigBuilder::config_file";

const ORG_HOWTO: &str = "copy the organization id from the Vi web app (organization \
    settings), then `export DATATURE_VI_ORGANIZATION_ID=<id>`, pass it to \
    ConfigBuilder::organization_id, or put it under \"organization_id\" in a JSON file \
    passed to ConfigBuilder::config_file";

fn config_error(message: impl Into<String>) -> Error {
    Error::Config {
        message: message.into(),
    }
}

/// The default `User-Agent`: `vi-rs/<version> (Rust; <os>/<arch>)`, the shape of docs/protocol.md §1.3
/// with this SDK's product token.
pub fn default_user_agent() -> String {
    format!(
        "vi-rs/{} (Rust; {}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// A resolved, validated client configuration. Build one with [`ConfigBuilder`] (or
/// [`Config::from_env`]).
///
/// `Debug` never shows the secret key.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// The API origin: scheme, host and port, with the path `/`. Any path in the configured
    /// base URL is discarded, as the official client does (docs/protocol.md §1.1): every API path is
    /// absolute and is joined onto the origin.
    pub endpoint: url::Url,
    /// The secret key sent as `Authorization: Bearer <key>`.
    pub secret_key: SecretKey,
    /// The organization id sent as `Organization-Id` and used in paths.
    pub organization_id: OrganizationId,
    /// The `User-Agent` sent on API requests.
    pub user_agent: String,
    /// How long to wait for a connection (default 60 s).
    pub connect_timeout: Duration,
    /// How long to wait for the next bytes of a response (default 300 s).
    pub read_timeout: Duration,
    /// How calls are retried.
    pub retry: RetryPolicy,
    /// True when the caller allowed a plain-`http` endpoint on a host other than this
    /// machine ([`ConfigBuilder::allow_insecure_http`]); signed URLs may then be `http` too.
    pub allow_insecure_http: bool,
}

impl Config {
    /// A builder with nothing set: every value comes from the environment or defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The configuration from the process environment alone.
    ///
    /// # Errors
    /// As [`ConfigBuilder::build`].
    pub fn from_env() -> Result<Self, Error> {
        ConfigBuilder::default().build()
    }

    /// The API origin without a trailing slash, e.g. `https://api.vi.datature.com`.
    pub fn origin(&self) -> String {
        match self.endpoint.origin() {
            origin @ url::Origin::Tuple(..) => origin.ascii_serialization(),
            url::Origin::Opaque(_) => self.endpoint.as_str().trim_end_matches('/').to_owned(),
        }
    }

    /// The full URL of an API path: `path_and_query` (e.g. `/workspaces/org/datasets?s=10`,
    /// already encoded) joined onto the origin with exactly one `/` between them.
    pub fn api_url(&self, path_and_query: &str) -> String {
        let mut url = self.origin();
        if !path_and_query.starts_with('/') {
            url.push('/');
        }
        url.push_str(path_and_query);
        url
    }

    /// The headers every API request carries (docs/protocol.md §1.3): `Authorization: Bearer <key>`
    /// (marked sensitive, so HTTP libraries keep it out of their logs), `Organization-Id`,
    /// `Content-Type: application/json`, `Accept: application/json` and `User-Agent`.
    ///
    /// Never attach these to signed storage URLs (docs/protocol.md §1.4).
    pub fn auth_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(5);
        // The builder guarantees every value below is a valid header value; a value broken
        // later through the public fields is left out (the server then answers 401), rather
        // than panicking.
        if let Ok(mut value) =
            HeaderValue::from_str(&format!("Bearer {}", self.secret_key.expose()))
        {
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        if let Ok(value) = HeaderValue::from_bytes(self.organization_id.as_str().as_bytes()) {
            headers.insert(HeaderName::from_static(ORGANIZATION_ID_HEADER), value);
        }
        let json = HeaderValue::from_static("application/json");
        headers.insert(header::CONTENT_TYPE, json.clone());
        headers.insert(header::ACCEPT, json);
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .or_else(|_| HeaderValue::from_str(&default_user_agent()));
        if let Ok(value) = user_agent {
            headers.insert(header::USER_AGENT, value);
        }
        headers
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint.as_str())
            .field("secret_key", &self.secret_key)
            .field("organization_id", &self.organization_id)
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("retry", &self.retry)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

/// Collects explicit settings, then resolves the rest from the environment, an optional
/// config file and defaults (see the [module docs](self)).
///
/// `T` is what [`build`](ConfigBuilder::build) makes: a [`Config`] by default, or a
/// facade's client (`vi_async::ClientBuilder` and `vi_blocking::ClientBuilder` are this
/// builder for their `Client`), so the settings are written once for every target.
///
/// `Debug` never shows the secret key.
pub struct ConfigBuilder<T = Config> {
    endpoint: Option<String>,
    secret_key: Option<String>,
    organization_id: Option<String>,
    config_file: Option<PathBuf>,
    user_agent: Option<String>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    allow_insecure_http: bool,
    target: PhantomData<fn() -> T>,
}

/// What a [`ConfigBuilder`] can build from a resolved [`Config`]: the config itself, or a
/// facade's `Client`.
pub trait FromConfig: Sized {
    /// Builds the value over a resolved configuration.
    ///
    /// # Errors
    /// When the value cannot be set up (a client whose HTTP stack fails to build).
    fn from_config(config: Config) -> Result<Self, Error>;
}

impl FromConfig for Config {
    fn from_config(config: Config) -> Result<Self, Error> {
        Ok(config)
    }
}

impl<T> Clone for ConfigBuilder<T> {
    fn clone(&self) -> Self {
        ConfigBuilder {
            endpoint: self.endpoint.clone(),
            secret_key: self.secret_key.clone(),
            organization_id: self.organization_id.clone(),
            config_file: self.config_file.clone(),
            user_agent: self.user_agent.clone(),
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            retry: self.retry.clone(),
            allow_insecure_http: self.allow_insecure_http,
            target: PhantomData,
        }
    }
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder::empty()
    }
}

impl<T> fmt::Debug for ConfigBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("endpoint", &self.endpoint)
            .field("secret_key", &self.secret_key.as_ref().map(|_| REDACTED))
            .field("organization_id", &self.organization_id)
            .field("config_file", &self.config_file)
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("retry", &self.retry)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl ConfigBuilder {
    /// A builder of a [`Config`] with nothing set.
    pub fn new() -> Self {
        ConfigBuilder::empty()
    }
}

impl<T> ConfigBuilder<T> {
    /// A builder of a `T` with nothing set (`ClientBuilder::empty()` for a client).
    pub fn empty() -> Self {
        ConfigBuilder {
            endpoint: None,
            secret_key: None,
            organization_id: None,
            config_file: None,
            user_agent: None,
            connect_timeout: None,
            read_timeout: None,
            retry: None,
            allow_insecure_http: false,
            target: PhantomData,
        }
    }

    /// The API base URL (`http` or `https`); overrides `DATATURE_VI_API_ENDPOINT`. Only its
    /// origin is kept: any path is discarded, as the official client does.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The secret key; overrides `DATATURE_VI_SECRET_KEY` and the config file.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// The organization id; overrides `DATATURE_VI_ORGANIZATION_ID` and the config file.
    pub fn organization_id(mut self, id: impl Into<String>) -> Self {
        self.organization_id = Some(id.into());
        self
    }

    /// A JSON config file (`~` is expanded) consulted for the secret key and organization
    /// id when neither the builder nor the environment supplies them.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// A product token (e.g. `my-tool/1.2`) appended to the default `User-Agent`. A later
    /// call replaces an earlier one.
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// How long to wait for a connection (default 60 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long to wait for the next bytes of a response (default 300 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Allows a plain-`http` endpoint on a host other than this machine. Off by default:
    /// over `http` the secret key crosses the network in clear, so such an endpoint is
    /// refused unless this is set. Loopback hosts (`localhost`, `127.0.0.0/8`, `::1`),
    /// such as a local emulator, are always allowed.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }
}

impl<T: FromConfig> ConfigBuilder<T> {
    /// Resolves the configuration, reading the process environment, and builds the `T`.
    ///
    /// # Errors
    /// [`Error::Config`] when the secret key or organization id is missing or malformed, the
    /// endpoint is not an `http`/`https` URL with a host, the config file is needed but
    /// cannot be read or parsed, or a timeout or the user agent is unusable. The message
    /// names the value, the sources tried and how to fix it.
    pub fn build(self) -> Result<T, Error> {
        for name in [ENV_ENDPOINT, ENV_SECRET_KEY, ENV_ORGANIZATION_ID] {
            if std::env::var_os(name).is_some_and(|v| v.to_str().is_none()) {
                return Err(config_error(format!(
                    "{name} is not valid UTF-8; set it again (e.g. `export {name}=...`) or unset it"
                )));
            }
        }
        self.build_with_env(&|name| std::env::var(name).ok())
    }

    /// Resolves the configuration with `env` standing in for the process environment, for
    /// tests and callers that must not depend on global state. `env` is also asked for
    /// `HOME` (then `USERPROFILE`) to expand `~` in the config file path.
    ///
    /// # Errors
    /// As [`ConfigBuilder::build`].
    pub fn build_with_env(self, env: &dyn Fn(&str) -> Option<String>) -> Result<T, Error> {
        T::from_config(self.resolve(env)?)
    }

    /// Resolves every value (see [`build_with_env`](Self::build_with_env)).
    fn resolve(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let var = |name: &str| non_empty(env(name));

        let mut file = ConfigFile::new(self.config_file);

        let secret_key = match resolve(
            self.secret_key,
            ENV_SECRET_KEY,
            FileKey::SecretKey,
            &var,
            &mut file,
            env,
        )? {
            Resolved::Found(value, source) => SecretKey::validate(value, Some(&source))?,
            Resolved::Missing(tried) => {
                return Err(config_error(format!(
                    "no secret key: {tried}. To fix it, {KEY_HOWTO}"
                )));
            }
        };

        let organization_id = match resolve(
            self.organization_id,
            ENV_ORGANIZATION_ID,
            FileKey::OrganizationId,
            &var,
            &mut file,
            env,
        )? {
            Resolved::Found(value, source) => parse_organization_id(value, &source)?,
            Resolved::Missing(tried) => {
                return Err(config_error(format!(
                    "no organization id: {tried}. To fix it, {ORG_HOWTO}"
                )));
            }
        };

        let endpoint = match (non_empty(self.endpoint), var(ENV_ENDPOINT)) {
            (Some(url), _) => parse_endpoint(&url, "passed to ConfigBuilder::endpoint")?,
            (None, Some(url)) => parse_endpoint(&url, &format!("from {ENV_ENDPOINT}"))?,
            // A file no other value needed is not required to exist (a CI job setting
            // the variables may name a path of a laptop's).
            (None, None) => match file
                .load_if_present(env)?
                .and_then(|f| Some((f.endpoint.clone()?, &f.path)))
            {
                Some((url, path)) => {
                    parse_endpoint(&url, &format!("from the config file {}", path.display()))?
                }
                None => parse_endpoint(DEFAULT_ENDPOINT, "the default")?,
            },
        };
        refuse_cleartext(&endpoint, self.allow_insecure_http)?;

        let user_agent = match non_empty(self.user_agent) {
            Some(product) => format!("{} {product}", default_user_agent()),
            None => default_user_agent(),
        };
        if HeaderValue::from_str(&user_agent).is_err() {
            return Err(config_error(
                "the user agent passed to ConfigBuilder::user_agent contains characters that \
                 cannot go in a header (control or non-ASCII characters); use a token such as \
                 `my-tool/1.2`",
            ));
        }

        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let read_timeout = self.read_timeout.unwrap_or(DEFAULT_READ_TIMEOUT);
        for (name, value) in [("connect", connect_timeout), ("read", read_timeout)] {
            if value.is_zero() {
                return Err(config_error(format!(
                    "the {name} timeout is zero, so every request would fail; give it a \
                     positive duration (the default is {:?})",
                    if name == "connect" {
                        DEFAULT_CONNECT_TIMEOUT
                    } else {
                        DEFAULT_READ_TIMEOUT
                    }
                )));
            }
        }

        Ok(Config {
            endpoint,
            secret_key,
            organization_id,
            user_agent,
            connect_timeout,
            read_timeout,
            retry: self.retry.unwrap_or_default(),
            allow_insecure_http: self.allow_insecure_http,
        })
    }
}
