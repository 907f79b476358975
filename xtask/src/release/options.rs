//! The command line of `cargo xtask release`: the options, the VERSION given, and whether
//! the run is in CI.

pub const USAGE: &str = "usage: cargo xtask release --dry-run [VERSION]\n       cargo xtask release VERSION [--publish]";

/// What the command line asks for.
#[derive(clap::Args, Debug, PartialEq, Eq)]
pub struct Options {
    /// Run every check and build the artifacts, changing nothing (no bump, commit or tag).
    #[arg(long, conflicts_with = "publish")]
    pub dry_run: bool,
    /// After tagging, publish every crate to crates.io (refused when CI is set).
    #[arg(long)]
    pub publish: bool,
    /// The version to release, e.g. 0.2.0 (optional with --dry-run).
    #[arg(value_parser = parse_version, required_unless_present = "dry_run")]
    pub version: Option<semver::Version>,
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

    /// The options `cargo xtask release ARGS` gives, or clap's message.
    fn parse_args(a: &[&str]) -> Result<Options, String> {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Release {
            #[command(flatten)]
            options: Options,
        }
        Release::try_parse_from(std::iter::once("release").chain(a.iter().copied()))
            .map(|r| r.options)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn arguments() {
        let o = parse_args(&["--dry-run"]).unwrap();
        assert!(o.dry_run && !o.publish && o.version.is_none());
        let o = parse_args(&["0.2.0", "--publish"]).unwrap();
        assert_eq!(o.version, Some(semver::Version::new(0, 2, 0)));
        assert!(o.publish && !o.dry_run);
        assert!(parse_args(&[]).unwrap_err().contains("<VERSION>"));
        assert!(parse_args(&["--dry-run", "--publish"]).is_err());
        assert!(
            parse_args(&["0.2.0", "0.3.0"])
                .unwrap_err()
                .contains("unexpected argument")
        );
        assert!(
            parse_args(&["--force"])
                .unwrap_err()
                .contains("unexpected argument")
        );
        assert!(
            parse_args(&["v0.2.0"])
                .unwrap_err()
                .contains("without the tag's `v`")
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
