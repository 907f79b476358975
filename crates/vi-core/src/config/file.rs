//! The optional JSON config file: read at most once, only when a value falls through to it.

use std::path::{Path, PathBuf};

use super::{config_error, non_empty};
use crate::error::Error;

/// The config file, read at most once and only if a value falls through to it.
pub(super) struct ConfigFile {
    path: Option<PathBuf>,
    loaded: Option<FileValues>,
}

pub(super) struct FileValues {
    /// The expanded, absolute path.
    pub(super) path: PathBuf,
    pub(super) secret_key: Option<String>,
    pub(super) organization_id: Option<String>,
    pub(super) endpoint: Option<String>,
}

/// The keys a config file may hold.
const KNOWN_KEYS: [&str; 3] = ["secret_key", "organization_id", "endpoint"];

impl ConfigFile {
    pub(super) fn new(path: Option<PathBuf>) -> Self {
        ConfigFile {
            path: path.filter(|p| !p.as_os_str().is_empty()),
            loaded: None,
        }
    }

    /// `None` when no file was given.
    pub(super) fn load(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<&FileValues>, Error> {
        let Some(given) = &self.path else {
            return Ok(None);
        };
        if self.loaded.is_none() {
            self.loaded = Some(read_config_file(given, env)?);
        }
        Ok(self.loaded.as_ref())
    }
}

impl ConfigFile {
    /// As [`load`](Self::load), but a file that does not exist counts as no file.
    pub(super) fn load_if_present(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<&FileValues>, Error> {
        if self.loaded.is_none() {
            let Some(given) = &self.path else {
                return Ok(None);
            };
            let expanded = expand_tilde(given, env)?;
            if !expanded.exists() {
                return Ok(None);
            }
        }
        self.load(env)
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
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN_KEYS.contains(k))
        .collect();
    if !unknown.is_empty() {
        // A misspelt key would otherwise be ignored without a word.
        tracing::warn!(
            "the config file {shown} has unknown keys ({}), which are ignored; it may hold \
             \"secret_key\", \"organization_id\" and \"endpoint\"",
            unknown.join(", ")
        );
    }
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
        endpoint: field("endpoint")?,
        path: path.clone(),
    })
}

/// Expands a leading `~` (alone, or followed by a path separator) to the home directory,
/// taken from `HOME`, then `USERPROFILE`. `~user` forms are left alone.
pub(super) fn expand_tilde(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf, Error> {
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
