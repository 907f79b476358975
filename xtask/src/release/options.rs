//! The command line of `cargo xtask release`: the options, the VERSION given, and whether
//! the run is in CI.

pub const USAGE: &str = "usage: cargo xtask release --dry-run [VERSION]\n       cargo xtask release VERSION [--publish]";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub dry_run: bool,
    pub publish: bool,
    pub version: Option<semver::Version>,
}

/// Parses the arguments; `Ok(None)` for `--help`.
pub fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let mut dry_run = false;
    let mut publish = false;
    let mut version = None;
    for arg in args {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--publish" => publish = true,
            "-h" | "--help" => return Ok(None),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            v if version.is_none() => version = Some(parse_version(v)?),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    if dry_run && publish {
        return Err("--publish cannot be combined with --dry-run".to_owned());
    }
    if !dry_run && version.is_none() {
        return Err("give the VERSION to release (e.g. 0.2.0), or --dry-run".to_owned());
    }
    Ok(Some(Options {
        dry_run,
        publish,
        version,
    }))
}

/// A release version: `MAJOR.MINOR.PATCH[-PRE]`.
pub fn parse_version(text: &str) -> Result<semver::Version, String> {
    if let Some(rest) = text.strip_prefix(['v', 'V']) {
        return Err(format!(
            "VERSION is written without the tag's `v`: {rest} (the tag will be v{rest})"
        ));
    }
    let version = semver::Version::parse(text).map_err(|e| {
        format!("VERSION {text:?} is not a semantic version like 0.2.0 or 1.0.0-rc.1: {e}")
    })?;
    if !version.build.is_empty() {
        return Err(format!(
            "VERSION {text:?} has build metadata (+{}), which crates.io ignores: leave it out",
            version.build
        ));
    }
    Ok(version)
}

/// Whether we run in CI (the `CI` variable most CI systems set).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments() {
        let o = parse_args(&args(&["--dry-run"])).unwrap().unwrap();
        assert!(o.dry_run && !o.publish && o.version.is_none());
        let o = parse_args(&args(&["0.2.0", "--publish"])).unwrap().unwrap();
        assert_eq!(o.version, Some(semver::Version::new(0, 2, 0)));
        assert!(o.publish && !o.dry_run);
        assert_eq!(parse_args(&args(&["--help"])), Ok(None));
        assert!(
            parse_args(&args(&[]))
                .unwrap_err()
                .contains("give the VERSION")
        );
        assert!(parse_args(&args(&["--dry-run", "--publish"])).is_err());
        assert!(
            parse_args(&args(&["0.2.0", "0.3.0"]))
                .unwrap_err()
                .contains("unexpected")
        );
        assert!(
            parse_args(&args(&["--force"]))
                .unwrap_err()
                .contains("unknown option")
        );
    }

    #[test]
    fn bad_versions_get_clear_errors() {
        assert!(
            parse_version("v0.2.0")
                .unwrap_err()
                .contains("without the tag's `v`")
        );
        assert!(
            parse_version("0.2")
                .unwrap_err()
                .contains("not a semantic version")
        );
        assert!(
            parse_version("banana")
                .unwrap_err()
                .contains("not a semantic version")
        );
        assert!(
            parse_version("1.0.0+build.5")
                .unwrap_err()
                .contains("build metadata")
        );
        assert_eq!(parse_version("1.0.0-rc.1").unwrap().pre.as_str(), "rc.1");
    }
}
