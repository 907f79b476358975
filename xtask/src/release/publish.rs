//! `cargo publish` in dependency order, each crate awaited on the crates.io index before the
//! next one, stopping at the first failure.

use std::process::Command;
use std::time::{Duration, Instant};

/// The crates.io sparse index.
const INDEX: &str = "https://index.crates.io";
/// How long a published crate may take to appear on the index.
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(600);
const POLL_EVERY: Duration = Duration::from_secs(10);

/// The path of a crate's file in a sparse index (`vi-core` → `vi/-c/vi-core`).
pub fn index_path(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.len() {
        0..=2 => format!("{}/{name}", name.len()),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// Whether a sparse index file (one JSON object per line) lists `version`.
pub fn index_lists(body: &str, version: &str) -> bool {
    body.lines().any(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|entry| {
                entry
                    .get("vers")
                    .and_then(|v| v.as_str())
                    .map(|v| v == version)
            })
            .unwrap_or(false)
    })
}

/// Whether crates.io's index lists `name` at `version` (a crate it does not know is `false`).
///
/// # Errors
/// A message when the index cannot be reached.
pub fn on_index(agent: &ureq::Agent, name: &str, version: &str) -> Result<bool, String> {
    let url = format!("{INDEX}/{}", index_path(name));
    let mut response = agent
        .get(&url)
        .header("Cache-Control", "no-cache")
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    match response.status().as_u16() {
        200 => {
            let body = response
                .body_mut()
                .read_to_string()
                .map_err(|e| format!("GET {url}: {e}"))?;
            Ok(index_lists(&body, version))
        }
        404 | 410 | 451 => Ok(false),
        status => Err(format!("GET {url}: HTTP {status}")),
    }
}

/// An agent for the index: plain status codes, the platform's certificates.
pub fn agent() -> ureq::Agent {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .tls_config(tls)
        .build()
        .new_agent()
}

/// Publishes `crates` (in dependency order) at `version`. A crate already on the index is
/// skipped, so a run stopped by a failure can be run again. Returns what was published.
///
/// # Errors
/// A message saying which crate failed, what was published before it and what was not.
pub fn publish_all(
    root: &std::path::Path,
    crates: &[String],
    version: &str,
) -> Result<Vec<String>, String> {
    let agent = agent();
    let cargo = crate::cargo();
    let mut published = Vec::new();
    for (i, name) in crates.iter().enumerate() {
        let stop = |why: String, published: &[String]| {
            format!(
                "{why}\npublished by this run: {}\nnot published: {}\nFix the cause and run the same command again: crates already on crates.io are skipped.",
                list_or_none(published),
                crates[i..].join(", ")
            )
        };
        match on_index(&agent, name, version) {
            Ok(true) => {
                println!("{name} {version} is already on crates.io: skipped");
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                return Err(stop(
                    format!("cannot read the crates.io index: {e}"),
                    &published,
                ));
            }
        }
        println!("publishing {name} {version}");
        // The sources were built from their packaged form (with the packaged versions of
        // their dependencies) by the packaging step of this run, from this same commit:
        // no second verification build.
        let status = Command::new(&cargo)
            .current_dir(root)
            .args(["publish", "--locked", "--no-verify", "--package", name])
            .status()
            .map_err(|e| stop(format!("cannot run cargo publish: {e}"), &published))?;
        if !status.success() {
            return Err(stop(
                format!("cargo publish --package {name} failed ({status})"),
                &published,
            ));
        }
        published.push(name.clone());
        let started = Instant::now();
        loop {
            match on_index(&agent, name, version) {
                Ok(true) => {
                    println!(
                        "{name} {version} is on the index ({} s)",
                        started.elapsed().as_secs()
                    );
                    break;
                }
                Ok(false) | Err(_) if started.elapsed() < VISIBLE_TIMEOUT => {
                    std::thread::sleep(POLL_EVERY)
                }
                Ok(false) => {
                    return Err(stop(
                        format!(
                            "{name} {version} was published but is not on the index after {} s",
                            VISIBLE_TIMEOUT.as_secs()
                        ),
                        &published,
                    ));
                }
                Err(e) => return Err(stop(e, &published)),
            }
        }
    }
    Ok(published)
}

/// `a, b` or `none`.
pub fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_index_paths_follow_the_registry_layout() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("vi"), "2/vi");
        assert_eq!(index_path("Vix"), "3/v/vix");
        assert_eq!(index_path("vi-core"), "vi/-c/vi-core");
        assert_eq!(index_path("vi-cli"), "vi/-c/vi-cli");
    }

    #[test]
    fn index_files_are_read_line_by_line() {
        let body = "{\"name\":\"vi-core\",\"vers\":\"0.1.0\",\"deps\":[]}\n{\"name\":\"vi-core\",\"vers\":\"0.2.0-rc.1\"}\nnot json\n";
        assert!(index_lists(body, "0.1.0"));
        assert!(index_lists(body, "0.2.0-rc.1"));
        assert!(!index_lists(body, "0.2.0"));
        assert!(!index_lists("", "0.1.0"));
    }

    /// Reads the real crates.io index: `cargo test -p xtask -- --ignored index_lookup`.
    #[test]
    #[ignore = "needs the network"]
    fn index_lookup_against_crates_io() {
        let agent = agent();
        assert_eq!(on_index(&agent, "serde", "1.0.0"), Ok(true));
        assert_eq!(on_index(&agent, "serde", "0.0.0-not-a-release"), Ok(false));
        assert_eq!(
            on_index(&agent, "vi-rs-no-such-crate-xtask", "0.1.0"),
            Ok(false)
        );
    }
}
