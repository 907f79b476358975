//! Client configuration: where the API is, which credentials to send, timeouts and retries.
//!
//! [`ConfigBuilder`] resolves every value once, before any request is sent (spec §1.1–1.2):
//!
//! | Value | Sources, first found wins |
//! |---|---|
//! | endpoint | [`ConfigBuilder::endpoint`] > `DATATURE_VI_API_ENDPOINT` > [`DEFAULT_ENDPOINT`] |
//! | secret key | [`ConfigBuilder::secret_key`] > `DATATURE_VI_SECRET_KEY` > config file |
//! | organization id | [`ConfigBuilder::organization_id`] > `DATATURE_VI_ORGANIZATION_ID` > config file |
//!
//! Each value is resolved on its own: the key may come from the environment and the
//! organization id from the builder. An empty (or all-blank) value counts as unset; values
//! are trimmed. The config file is read only when a path was given with
//! [`ConfigBuilder::config_file`], and only when a value was not found earlier, so a path
//! that exists on a laptop does no harm in a CI job that sets the environment variables.
//! It is a JSON object with the keys `secret_key` and `organization_id` (other keys are
//! ignored):
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
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;
use crate::ids::OrganizationId;
use crate::retry::RetryPolicy;

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

/// The default connect timeout (spec §1.5).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default read timeout (spec §1.5).
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

/// A Vi secret key: starts with `dtvi_` and is exactly 103 characters long (spec §1.2).
///
/// It never shows itself: `Debug` and `Display` print `dtvi_…(redacted)`, and it cannot be
/// serialized. [`SecretKey::expose`] is the only way to read it.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    /// Validates and wraps a secret key (surrounding whitespace is trimmed).
    ///
    /// # Errors
    /// [`Error::Config`] when the key is empty, does not start with `dtvi_`, is not 103
    /// characters long or contains characters that cannot go in a header. The message
    /// never contains the key.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        SecretKey::validate(key.into(), None)
    }

    fn validate(key: String, source: Option<&Source>) -> Result<Self, Error> {
        let trimmed = key.trim();
        let from = source.map(|s| format!(" ({s})")).unwrap_or_default();
        if trimmed.is_empty() {
            return Err(config_error(format!(
                "the secret key{from} is empty; {KEY_HOWTO}"
            )));
        }
        let mut problems = Vec::new();
        let prefix_ok = trimmed.starts_with(SECRET_KEY_PREFIX);
        if !prefix_ok {
            problems.push(format!("it does not start with \"{SECRET_KEY_PREFIX}\""));
        }
        let len = trimmed.chars().count();
        if len != SECRET_KEY_LEN {
            let prefix_note = if prefix_ok {
                format!(" (the \"{SECRET_KEY_PREFIX}\" prefix is right)")
            } else {
                String::new()
            };
            problems.push(format!(
                "it is {len} characters long, not {SECRET_KEY_LEN}{prefix_note}"
            ));
        }
        if !trimmed.chars().all(|c| c.is_ascii_graphic()) {
            problems.push(
                "it contains spaces, control or non-ASCII characters, which a key never has"
                    .to_owned(),
            );
        }
        if !problems.is_empty() {
            return Err(config_error(format!(
                "the secret key{from} is malformed: {}. Copy the whole key again from the Vi \
                 web app (Settings → Secret keys): keys start with \"{SECRET_KEY_PREFIX}\" and \
                 are {SECRET_KEY_LEN} characters long",
                problems.join("; ")
            )));
        }
        let key = if trimmed.len() == key.len() {
            key
        } else {
            trimmed.to_owned()
        };
        Ok(SecretKey(key))
    }

    /// The key itself, for the `Authorization` header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl FromStr for SecretKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        SecretKey::new(s)
    }
}

impl TryFrom<String> for SecretKey {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        SecretKey::new(value)
    }
}

/// The default `User-Agent`: `vi-rs/<version> (Rust; <os>/<arch>)`, the shape of spec §1.3
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
pub struct Config {
    /// The API origin: scheme, host and port, with the path `/`. Any path in the configured
    /// base URL is discarded, as the official client does (spec §1.1): every API path is
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

    /// The headers every API request carries (spec §1.3): `Authorization: Bearer <key>`
    /// (marked sensitive, so HTTP libraries keep it out of their logs), `Organization-Id`,
    /// `Content-Type: application/json`, `Accept: application/json` and `User-Agent`.
    ///
    /// Never attach these to signed storage URLs (spec §1.4).
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
            .finish()
    }
}

/// Collects explicit settings, then resolves the rest from the environment, an optional
/// config file and defaults (see the [module docs](self)).
///
/// `Debug` never shows the secret key.
#[derive(Clone, Default)]
pub struct ConfigBuilder {
    endpoint: Option<String>,
    secret_key: Option<String>,
    organization_id: Option<String>,
    config_file: Option<PathBuf>,
    user_agent: Option<String>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
}

impl fmt::Debug for ConfigBuilder {
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
            .finish()
    }
}

impl ConfigBuilder {
    /// A builder with nothing set.
    pub fn new() -> Self {
        ConfigBuilder::default()
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

    /// Resolves the configuration, reading the process environment.
    ///
    /// # Errors
    /// [`Error::Config`] when the secret key or organization id is missing or malformed, the
    /// endpoint is not an `http`/`https` URL with a host, the config file is needed but
    /// cannot be read or parsed, or a timeout or the user agent is unusable. The message
    /// names the value, the sources tried and how to fix it.
    pub fn build(self) -> Result<Config, Error> {
        self.build_with_env(&|name| std::env::var(name).ok())
    }

    /// Resolves the configuration with `env` standing in for the process environment, for
    /// tests and callers that must not depend on global state. `env` is also asked for
    /// `HOME` (then `USERPROFILE`) to expand `~` in the config file path.
    ///
    /// # Errors
    /// As [`ConfigBuilder::build`].
    pub fn build_with_env(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let var = |name: &str| non_empty(env(name));

        let endpoint = match (non_empty(self.endpoint), var(ENV_ENDPOINT)) {
            (Some(url), _) => parse_endpoint(&url, "passed to ConfigBuilder::endpoint")?,
            (None, Some(url)) => parse_endpoint(&url, &format!("from {ENV_ENDPOINT}"))?,
            (None, None) => parse_endpoint(DEFAULT_ENDPOINT, "the default")?,
        };

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
        })
    }
}

/// Trims a value; empty counts as unset.
fn non_empty(value: Option<String>) -> Option<String> {
    let value = value?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == value.len() {
        Some(value)
    } else {
        Some(trimmed.to_owned())
    }
}

/// Where a value came from, for error messages.
enum Source {
    Builder(&'static str),
    Env(&'static str),
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Builder(method) => write!(f, "passed to ConfigBuilder::{method}"),
            Source::Env(name) => write!(f, "from {name}"),
            Source::File(path) => write!(f, "from the config file {}", path.display()),
        }
    }
}

enum Resolved {
    Found(String, Source),
    /// Every source was tried; the text lists them.
    Missing(String),
}

#[derive(Clone, Copy)]
enum FileKey {
    SecretKey,
    OrganizationId,
}

impl FileKey {
    fn json_key(self) -> &'static str {
        match self {
            FileKey::SecretKey => "secret_key",
            FileKey::OrganizationId => "organization_id",
        }
    }

    fn builder_method(self) -> &'static str {
        match self {
            FileKey::SecretKey => "secret_key",
            FileKey::OrganizationId => "organization_id",
        }
    }
}

fn resolve(
    explicit: Option<String>,
    env_name: &'static str,
    key: FileKey,
    var: &dyn Fn(&str) -> Option<String>,
    file: &mut ConfigFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, Error> {
    if let Some(value) = non_empty(explicit) {
        return Ok(Resolved::Found(
            value,
            Source::Builder(key.builder_method()),
        ));
    }
    if let Some(value) = var(env_name) {
        return Ok(Resolved::Found(value, Source::Env(env_name)));
    }
    let not_builder = format!(
        "it was not passed to ConfigBuilder::{}, {env_name} is not set",
        key.builder_method()
    );
    let Some(loaded) = file.load(env)? else {
        return Ok(Resolved::Missing(format!(
            "{not_builder}, and no config file was given"
        )));
    };
    let value = match key {
        FileKey::SecretKey => loaded.secret_key.clone(),
        FileKey::OrganizationId => loaded.organization_id.clone(),
    };
    Ok(match value {
        Some(value) => Resolved::Found(value, Source::File(loaded.path.clone())),
        None => Resolved::Missing(format!(
            "{not_builder}, and the config file {} has no \"{}\"",
            loaded.path.display(),
            key.json_key()
        )),
    })
}

fn parse_organization_id(value: String, source: &Source) -> Result<OrganizationId, Error> {
    let id = OrganizationId::new(value).map_err(|err| {
        let detail = match err {
            Error::InvalidInput { message, .. } => message,
            other => other.to_string(),
        };
        config_error(format!(
            "the organization id ({source}) is malformed: {detail}"
        ))
    })?;
    if !id.as_str().is_ascii() {
        return Err(config_error(format!(
            "the organization id ({source}) contains non-ASCII characters, which cannot be \
             sent in the Organization-Id header; copy it again from the Vi web app \
             (organization settings)"
        )));
    }
    Ok(id)
}

/// Parses a base URL and keeps only its origin.
fn parse_endpoint(value: &str, source: &str) -> Result<url::Url, Error> {
    // Never echo a query string or fragment: they may carry credentials.
    let shown = value.split(['?', '#']).next().unwrap_or_default();
    let example = "give a full URL such as https://api.vi.datature.com/ or http://127.0.0.1:8080";
    let url = url::Url::parse(value).map_err(|err| {
        config_error(format!(
            "the endpoint \"{shown}\" ({source}) is not a valid URL ({err}); {example}"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(config_error(format!(
            "the endpoint \"{shown}\" ({source}) uses the scheme \"{}\"; only http and https \
             are supported ({example})",
            url.scheme()
        )));
    }
    let has_host = url.host_str().is_some_and(|h| !h.is_empty());
    if !has_host {
        return Err(config_error(format!(
            "the endpoint \"{shown}\" ({source}) has no host; {example}"
        )));
    }
    let origin = url.origin().ascii_serialization();
    let endpoint = url::Url::parse(&format!("{origin}/")).map_err(|err| {
        config_error(format!(
            "the endpoint \"{shown}\" ({source}) has an unusable origin ({err}); {example}"
        ))
    })?;
    if url.path() != "/" && !url.path().is_empty() {
        tracing::warn!(
            endpoint = %endpoint,
            discarded_path = url.path(),
            "the path of the configured endpoint is ignored: API paths are joined onto its origin"
        );
    }
    Ok(endpoint)
}

/// The config file, read at most once and only if a value falls through to it.
struct ConfigFile {
    path: Option<PathBuf>,
    loaded: Option<FileValues>,
}

struct FileValues {
    /// The expanded, absolute path.
    path: PathBuf,
    secret_key: Option<String>,
    organization_id: Option<String>,
}

impl ConfigFile {
    fn new(path: Option<PathBuf>) -> Self {
        ConfigFile {
            path: path.filter(|p| !p.as_os_str().is_empty()),
            loaded: None,
        }
    }

    /// `None` when no file was given.
    fn load(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<&FileValues>, Error> {
        let Some(given) = &self.path else {
            return Ok(None);
        };
        if self.loaded.is_none() {
            self.loaded = Some(read_config_file(given, env)?);
        }
        Ok(self.loaded.as_ref())
    }
}

fn read_config_file(
    given: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FileValues, Error> {
    let expanded = expand_tilde(given, env)?;
    let path = std::path::absolute(&expanded).unwrap_or(expanded);
    let shown = path.display();
    let text = std::fs::read_to_string(&path).map_err(|err| {
        config_error(format!(
            "cannot read the config file {shown} ({err}); check the path passed to \
             ConfigBuilder::config_file, or create the file as a JSON object with \
             \"secret_key\" and \"organization_id\""
        ))
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|err| {
        config_error(format!(
            "the config file {shown} is not valid JSON ({err}); it must be an object such as \
             {{\"secret_key\": \"dtvi_…\", \"organization_id\": \"…\"}}"
        ))
    })?;
    let serde_json::Value::Object(map) = json else {
        return Err(config_error(format!(
            "the config file {shown} is not a JSON object; it must look like \
             {{\"secret_key\": \"dtvi_…\", \"organization_id\": \"…\"}}"
        )));
    };
    let field = |key: &str| -> Result<Option<String>, Error> {
        match map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(non_empty(Some(s.clone()))),
            Some(_) => Err(config_error(format!(
                "the config file {shown}: \"{key}\" must be a string"
            ))),
        }
    };
    Ok(FileValues {
        secret_key: field("secret_key")?,
        organization_id: field("organization_id")?,
        path: path.clone(),
    })
}

/// Expands a leading `~` (alone, or followed by a path separator) to the home directory,
/// taken from `HOME`, then `USERPROFILE`. `~user` forms are left alone.
fn expand_tilde(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, Error> {
    let Some(text) = path.to_str() else {
        return Ok(path.to_path_buf());
    };
    let rest = if text == "~" {
        ""
    } else if let Some(rest) = text
        .strip_prefix("~/")
        .or_else(|| text.strip_prefix("~\\").filter(|_| cfg!(windows)))
    {
        rest
    } else {
        return Ok(path.to_path_buf());
    };
    let home = non_empty(env("HOME"))
        .or_else(|| non_empty(env("USERPROFILE")))
        .ok_or_else(|| {
            config_error(format!(
                "cannot expand \"~\" in the config file path {}: neither HOME nor USERPROFILE \
                 is set; pass an absolute path to ConfigBuilder::config_file",
                path.display()
            ))
        })?;
    let mut expanded = PathBuf::from(home);
    if !rest.is_empty() {
        expanded.push(rest);
    }
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn key(fill: char) -> String {
        let mut k = String::from(SECRET_KEY_PREFIX);
        k.extend(std::iter::repeat_n(
            fill,
            SECRET_KEY_LEN - SECRET_KEY_PREFIX.len(),
        ));
        k
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn message(err: Error) -> String {
        match err {
            Error::Config { message } => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn file_json(secret: Option<&str>, org: Option<&str>) -> String {
        let mut map = serde_json::Map::new();
        if let Some(s) = secret {
            map.insert("secret_key".into(), s.into());
        }
        if let Some(o) = org {
            map.insert("organization_id".into(), o.into());
        }
        map.insert("unrelated".into(), 42.into());
        serde_json::Value::Object(map).to_string()
    }

    #[test]
    fn minimal_builder_uses_defaults() {
        let config = ConfigBuilder::new()
            .secret_key(key('a'))
            .organization_id("org-1")
            .build_with_env(&no_env)
            .unwrap();
        assert_eq!(config.endpoint.as_str(), DEFAULT_ENDPOINT);
        assert_eq!(config.secret_key.expose(), key('a'));
        assert_eq!(config.organization_id.as_str(), "org-1");
        assert_eq!(config.connect_timeout, Duration::from_secs(60));
        assert_eq!(config.read_timeout, Duration::from_secs(300));
        assert_eq!(config.retry, RetryPolicy::default());
        assert_eq!(config.user_agent, default_user_agent());
        assert!(
            config
                .user_agent
                .starts_with(&format!("vi-rs/{} (Rust; ", env!("CARGO_PKG_VERSION")))
        );
    }

    #[test]
    fn secret_key_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_file(
            dir.path(),
            "c.json",
            &file_json(Some(&key('f')), Some("org")),
        );
        let env = env_of(&[(ENV_SECRET_KEY, &key('e'))]);
        let build = |b: ConfigBuilder, env: &dyn Fn(&str) -> Option<String>| {
            b.config_file(&file).build_with_env(env).unwrap()
        };
        let c = build(ConfigBuilder::new().secret_key(key('b')), &env);
        assert_eq!(c.secret_key.expose(), key('b'));
        let c = build(ConfigBuilder::new(), &env);
        assert_eq!(c.secret_key.expose(), key('e'));
        let c = build(ConfigBuilder::new(), &no_env);
        assert_eq!(c.secret_key.expose(), key('f'));
        // An empty env var and an empty builder value count as unset.
        let blank = env_of(&[(ENV_SECRET_KEY, "  ")]);
        let c = build(ConfigBuilder::new().secret_key(""), &blank);
        assert_eq!(c.secret_key.expose(), key('f'));
    }

    #[test]
    fn organization_id_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_file(
            dir.path(),
            "c.json",
            &file_json(Some(&key('f')), Some("org-file")),
        );
        let env = env_of(&[(ENV_ORGANIZATION_ID, "org-env")]);
        let c = ConfigBuilder::new()
            .organization_id("org-arg")
            .config_file(&file)
            .build_with_env(&env)
            .unwrap();
        assert_eq!(c.organization_id.as_str(), "org-arg");
        let c = ConfigBuilder::new()
            .config_file(&file)
            .build_with_env(&env)
            .unwrap();
        assert_eq!(c.organization_id.as_str(), "org-env");
        let c = ConfigBuilder::new()
            .config_file(&file)
            .build_with_env(&env_of(&[(ENV_ORGANIZATION_ID, "")]))
            .unwrap();
        assert_eq!(c.organization_id.as_str(), "org-file");
        // Resolved independently: key from the builder, org from the env, trimmed.
        let c = ConfigBuilder::new()
            .secret_key(format!(" {}\n", key('b')))
            .build_with_env(&env_of(&[(ENV_ORGANIZATION_ID, " org-env\n")]))
            .unwrap();
        assert_eq!(c.secret_key.expose(), key('b'));
        assert_eq!(c.organization_id.as_str(), "org-env");
    }

    #[test]
    fn endpoint_precedence() {
        let env = env_of(&[
            (ENV_ENDPOINT, "http://127.0.0.1:9000"),
            (ENV_SECRET_KEY, &key('e')),
            (ENV_ORGANIZATION_ID, "org"),
        ]);
        let c = ConfigBuilder::new()
            .endpoint("http://localhost:8080/")
            .build_with_env(&env)
            .unwrap();
        assert_eq!(c.endpoint.as_str(), "http://localhost:8080/");
        let c = ConfigBuilder::new().build_with_env(&env).unwrap();
        assert_eq!(c.endpoint.as_str(), "http://127.0.0.1:9000/");
        let env = env_of(&[
            (ENV_ENDPOINT, ""),
            (ENV_SECRET_KEY, &key('e')),
            (ENV_ORGANIZATION_ID, "org"),
        ]);
        let c = ConfigBuilder::new().build_with_env(&env).unwrap();
        assert_eq!(c.endpoint.as_str(), DEFAULT_ENDPOINT);
    }

    fn with_endpoint(url: &str) -> Result<Config, Error> {
        ConfigBuilder::new()
            .endpoint(url)
            .secret_key(key('a'))
            .organization_id("org")
            .build_with_env(&no_env)
    }

    #[test]
    fn endpoint_keeps_only_the_origin() {
        for (input, origin) in [
            ("https://api.vi.datature.com", "https://api.vi.datature.com"),
            (
                "https://api.vi.datature.com/",
                "https://api.vi.datature.com",
            ),
            (
                "https://api.vi.datature.com:443/",
                "https://api.vi.datature.com",
            ),
            ("http://127.0.0.1:8080/api/v1/", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080"),
            ("http://user:pw@host.example/x?y=1#z", "http://host.example"),
            ("HTTP://Example.COM:80", "http://example.com"),
            ("http://[::1]:9000/p", "http://[::1]:9000"),
        ] {
            let c = with_endpoint(input).unwrap();
            assert_eq!(c.origin(), origin, "{input}");
            assert_eq!(c.endpoint.as_str(), format!("{origin}/"), "{input}");
            assert_eq!(
                c.api_url("/workspaces/o/datasets?s=10"),
                format!("{origin}/workspaces/o/datasets?s=10")
            );
        }
    }

    #[test]
    fn api_url_joining() {
        let c = with_endpoint("http://localhost:8080/").unwrap();
        assert_eq!(
            c.api_url("/workspaces/org/datasets"),
            "http://localhost:8080/workspaces/org/datasets"
        );
        assert_eq!(
            c.api_url("workspaces/org"),
            "http://localhost:8080/workspaces/org"
        );
        assert_eq!(c.api_url(""), "http://localhost:8080/");
        assert_eq!(c.api_url("/"), "http://localhost:8080/");
    }

    #[test]
    fn bad_endpoints_rejected() {
        for (input, needle) in [
            ("ftp://example.com", "only http and https"),
            ("file:///tmp/x", "only http and https"),
            ("localhost:8080", "only http and https"),
            ("api.vi.datature.com", "not a valid URL"),
            ("http://", "not a valid URL"),
            ("https://exa mple.com", "not a valid URL"),
        ] {
            let msg = message(with_endpoint(input).unwrap_err());
            assert!(msg.contains(needle), "{input}: {msg}");
            assert!(msg.contains("passed to ConfigBuilder::endpoint"), "{msg}");
        }
        let env = env_of(&[(ENV_ENDPOINT, "ftp://x?sig=secret")]);
        let msg = message(
            ConfigBuilder::new()
                .secret_key(key('a'))
                .organization_id("o")
                .build_with_env(&env)
                .unwrap_err(),
        );
        assert!(msg.contains(ENV_ENDPOINT), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
    }

    #[test]
    fn missing_values_say_what_was_tried() {
        let msg = message(ConfigBuilder::new().build_with_env(&no_env).unwrap_err());
        assert!(msg.starts_with("no secret key"), "{msg}");
        for needle in [
            "ConfigBuilder::secret_key",
            "DATATURE_VI_SECRET_KEY is not set",
            "no config file was given",
            "Settings → Secret keys",
            "export DATATURE_VI_SECRET_KEY=",
        ] {
            assert!(msg.contains(needle), "missing {needle:?} in {msg}");
        }

        let msg = message(
            ConfigBuilder::new()
                .secret_key(key('a'))
                .build_with_env(&no_env)
                .unwrap_err(),
        );
        assert!(msg.starts_with("no organization id"), "{msg}");
        assert!(
            msg.contains("DATATURE_VI_ORGANIZATION_ID is not set"),
            "{msg}"
        );
        assert!(msg.contains("ConfigBuilder::organization_id"), "{msg}");

        let dir = tempfile::tempdir().unwrap();
        let file = write_file(dir.path(), "c.json", &file_json(Some(&key('f')), None));
        let msg = message(
            ConfigBuilder::new()
                .config_file(&file)
                .build_with_env(&no_env)
                .unwrap_err(),
        );
        assert!(msg.contains("has no \"organization_id\""), "{msg}");
        assert!(msg.contains(&file.display().to_string()), "{msg}");
    }

    #[test]
    fn file_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let bad_json = write_file(dir.path(), "bad.json", "{ \"secret_key\": ");
        let not_object = write_file(dir.path(), "array.json", "[1, 2]");
        let wrong_type = write_file(dir.path(), "num.json", "{\"secret_key\": 5}");
        for (path, needle) in [
            (&missing, "cannot read the config file"),
            (&bad_json, "is not valid JSON"),
            (&not_object, "is not a JSON object"),
            (&wrong_type, "\"secret_key\" must be a string"),
        ] {
            let msg = message(
                ConfigBuilder::new()
                    .config_file(path)
                    .build_with_env(&no_env)
                    .unwrap_err(),
            );
            assert!(msg.contains(needle), "{msg}");
            assert!(msg.contains(&path.display().to_string()), "{msg}");
        }
        // A file that is not needed is not read.
        let c = ConfigBuilder::new()
            .config_file(&missing)
            .build_with_env(&env_of(&[
                (ENV_SECRET_KEY, &key('e')),
                (ENV_ORGANIZATION_ID, "org"),
            ]))
            .unwrap();
        assert_eq!(c.organization_id.as_str(), "org");
    }

    #[test]
    fn tilde_is_expanded() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".vi")).unwrap();
        write_file(
            &home.path().join(".vi"),
            "config.json",
            &file_json(Some(&key('h')), Some("org-home")),
        );
        let home_str = home.path().to_str().unwrap().to_owned();
        let c = ConfigBuilder::new()
            .config_file("~/.vi/config.json")
            .build_with_env(&env_of(&[("HOME", &home_str)]))
            .unwrap();
        assert_eq!(c.secret_key.expose(), key('h'));
        assert_eq!(c.organization_id.as_str(), "org-home");
        // USERPROFILE when HOME is unset.
        let c = ConfigBuilder::new()
            .config_file("~/.vi/config.json")
            .build_with_env(&env_of(&[("USERPROFILE", &home_str)]))
            .unwrap();
        assert_eq!(c.organization_id.as_str(), "org-home");
        // A missing file under ~ is named by its expanded path.
        let msg = message(
            ConfigBuilder::new()
                .config_file("~/missing.json")
                .build_with_env(&env_of(&[("HOME", &home_str)]))
                .unwrap_err(),
        );
        assert!(
            msg.contains(&home.path().join("missing.json").display().to_string()),
            "{msg}"
        );
        // No home directory known.
        let msg = message(
            ConfigBuilder::new()
                .config_file("~/x.json")
                .build_with_env(&no_env)
                .unwrap_err(),
        );
        assert!(msg.contains("cannot expand \"~\""), "{msg}");
        assert_eq!(
            expand_tilde(Path::new("~"), &env_of(&[("HOME", "/h")])).unwrap(),
            PathBuf::from("/h")
        );
        assert_eq!(
            expand_tilde(Path::new("~user/x"), &no_env).unwrap(),
            PathBuf::from("~user/x")
        );
    }

    #[test]
    fn bad_keys_never_echoed() {
        let long = format!("{}zz", key('q'));
        let cases = [
            (
                "wrong prefix",
                format!("dtva_{}", &key('q')[5..]),
                "does not start with",
            ),
            (
                "too short",
                "dtvi_qqqqqqqq".to_owned(),
                "13 characters long, not 103",
            ),
            ("too long", long.clone(), "105 characters long, not 103"),
            ("bad chars", format!("dtvi_{}", "é".repeat(98)), "non-ASCII"),
        ];
        for (what, bad, needle) in cases {
            for err in [
                SecretKey::new(bad.clone()).unwrap_err(),
                ConfigBuilder::new()
                    .organization_id("o")
                    .build_with_env(&env_of(&[(ENV_SECRET_KEY, &bad)]))
                    .unwrap_err(),
            ] {
                let msg = message(err);
                assert!(msg.contains(needle), "{what}: {msg}");
                assert!(!msg.contains(&bad), "{what}: key echoed in {msg}");
                assert!(
                    !msg.contains("qqqq"),
                    "{what}: key fragment echoed in {msg}"
                );
            }
        }
        let msg = message(
            ConfigBuilder::new()
                .organization_id("o")
                .build_with_env(&env_of(&[(ENV_SECRET_KEY, "dtvi_qqqqqqqq")]))
                .unwrap_err(),
        );
        assert!(msg.contains("from DATATURE_VI_SECRET_KEY"), "{msg}");
        assert!(msg.contains("prefix is right"), "{msg}");
        let msg = message(SecretKey::new("x".repeat(103)).unwrap_err());
        assert!(!msg.contains("prefix is right"), "{msg}");
        assert!(msg.contains("does not start with"), "{msg}");
    }

    #[test]
    fn secrets_never_printed() {
        let secret = key('s');
        let k = SecretKey::new(secret.clone()).unwrap();
        assert_eq!(format!("{k}"), "dtvi_…(redacted)");
        assert_eq!(format!("{k:?}"), "dtvi_…(redacted)");
        let builder = ConfigBuilder::new()
            .secret_key(secret.clone())
            .organization_id("org");
        assert!(!format!("{builder:?}").contains("sssss"));
        let config = builder.build_with_env(&no_env).unwrap();
        for text in [format!("{config:?}"), format!("{config:#?}")] {
            assert!(!text.contains(&secret), "{text}");
            assert!(!text.contains("sssss"), "{text}");
            assert!(text.contains("redacted"), "{text}");
        }
        let headers = config.auth_headers();
        assert!(!format!("{headers:?}").contains("sssss"));
    }

    #[test]
    fn auth_headers_contents() {
        let config = ConfigBuilder::new()
            .secret_key(key('a'))
            .organization_id("5c1d7e2a-93f4")
            .user_agent("my-tool/1.2")
            .build_with_env(&no_env)
            .unwrap();
        let h = config.auth_headers();
        let auth = h.get(header::AUTHORIZATION).unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().unwrap(), format!("Bearer {}", key('a')));
        assert_eq!(h.get("Organization-Id").unwrap(), "5c1d7e2a-93f4");
        assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
        assert_eq!(h.get(header::ACCEPT).unwrap(), "application/json");
        assert_eq!(
            h.get(header::USER_AGENT).unwrap().to_str().unwrap(),
            format!("{} my-tool/1.2", default_user_agent())
        );
        assert_eq!(h.len(), 5);
    }

    #[test]
    fn other_validation() {
        let base = || {
            ConfigBuilder::new()
                .secret_key(key('a'))
                .organization_id("o")
        };
        let msg = message(
            base()
                .user_agent("bad\nagent")
                .build_with_env(&no_env)
                .unwrap_err(),
        );
        assert!(msg.contains("user agent"), "{msg}");
        let msg = message(
            base()
                .connect_timeout(Duration::ZERO)
                .build_with_env(&no_env)
                .unwrap_err(),
        );
        assert!(msg.contains("connect timeout is zero"), "{msg}");
        let msg = message(
            ConfigBuilder::new()
                .secret_key(key('a'))
                .organization_id("a/b")
                .build_with_env(&no_env)
                .unwrap_err(),
        );
        assert!(
            msg.contains("organization id (passed to ConfigBuilder::organization_id)"),
            "{msg}"
        );
        let msg = message(
            ConfigBuilder::new()
                .secret_key(key('a'))
                .organization_id("orgé")
                .build_with_env(&no_env)
                .unwrap_err(),
        );
        assert!(msg.contains("non-ASCII"), "{msg}");
        let c = base()
            .read_timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::none())
            .build_with_env(&no_env)
            .unwrap();
        assert_eq!(c.read_timeout, Duration::from_secs(5));
        assert_eq!(c.retry, RetryPolicy::none());
    }
}
