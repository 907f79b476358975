//! Resolving one value from its sources (builder, environment, config file), and parsing
//! the endpoint and the organization id with errors that name the source and the fix.

use std::fmt;
use std::path::PathBuf;

use super::{ConfigFile, config_error};
use crate::error::Error;
use crate::ids::OrganizationId;

/// Trims a value; empty counts as unset.
pub(super) fn non_empty(value: Option<String>) -> Option<String> {
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
pub(super) enum Source {
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

pub(super) enum Resolved {
    Found(String, Source),
    /// Every source was tried; the text lists them.
    Missing(String),
}

#[derive(Clone, Copy)]
pub(super) enum FileKey {
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

pub(super) fn resolve(
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

pub(super) fn parse_organization_id(
    value: String,
    source: &Source,
) -> Result<OrganizationId, Error> {
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
pub(super) fn parse_endpoint(value: &str, source: &str) -> Result<url::Url, Error> {
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

/// Refuses an `http` endpoint on a host other than this machine unless the caller opted in:
/// the secret key would cross the network in clear.
pub(super) fn refuse_cleartext(endpoint: &url::Url, allowed: bool) -> Result<(), Error> {
    if endpoint.scheme() != "http" || allowed || is_loopback(endpoint) {
        return Ok(());
    }
    Err(config_error(format!(
        "the endpoint {} uses plain http on a host other than this machine, so the secret \
         key would cross the network unencrypted; use https, or opt in with \
         ConfigBuilder::allow_insecure_http(true) if the network is trusted",
        endpoint.origin().ascii_serialization()
    )))
}

/// True for `localhost` and loopback addresses.
pub(super) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
