//! `CHANGELOG.md` in the [Keep a Changelog](https://keepachangelog.com/en/1.1.0/) form: the
//! Unreleased section moves under the new version and date.

use std::fmt::Write as _;

/// The result of moving the Unreleased section under a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The whole new `CHANGELOG.md`.
    pub text: String,
    /// The notes of the release (the former Unreleased body, trimmed), for the tag message.
    pub notes: String,
}

/// Moves the body of `## [Unreleased]` under a new `## [version] - date` heading and leaves
/// an empty Unreleased section above it.
///
/// When the file ends with link definitions, `[Unreleased]: …` is pointed at
/// `repository/compare/vVERSION...HEAD` and a `[VERSION]: …` link is added: a compare link from
/// the previous base when the old Unreleased link was a compare link, else the tag's release
/// page.
///
/// # Errors
/// A message when there is no Unreleased section, when it lists no change (an empty release
/// is refused) or when the version already has a section.
pub fn release(
    text: &str,
    version: &str,
    date: &str,
    repository: &str,
) -> Result<Released, String> {
    let lines: Vec<&str> = text.lines().collect();
    let (start, end) = unreleased_span(&lines)?;
    if lines
        .iter()
        .any(|line| section_version(line).is_some_and(|v| v == version))
    {
        return Err(format!("CHANGELOG.md already has a section for {version}"));
    }
    let body = &lines[start + 1..end];
    if entry_count(body) == 0 {
        return Err(format!(
            "CHANGELOG.md: the Unreleased section lists no change; write what {version} changes \
             under `## [Unreleased]` (Added / Changed / Fixed …) before releasing it"
        ));
    }
    // The body without its leading and trailing blank lines.
    let first = body.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
    let last = body
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    let notes: Vec<&str> = body[first..last].to_vec();

    let mut out = String::with_capacity(text.len() + 200);
    for line in &lines[..start] {
        out.push_str(line);
        out.push('\n');
    }
    let _ = write!(
        out,
        "{}\n\n## [{version}] - {date}\n\n",
        lines[start].trim_end()
    );
    for line in &notes {
        out.push_str(line);
        out.push('\n');
    }
    if end < lines.len() {
        out.push('\n');
    }
    let repository = repository.trim_end_matches('/');
    let tag = format!("v{version}");
    for line in &lines[end..] {
        if let Some(url) = link_target(line, "Unreleased") {
            let version_link = match url.split_once("/compare/") {
                Some((_, range)) => match range.split_once("...") {
                    Some((base, _)) => format!("{repository}/compare/{base}...{tag}"),
                    None => format!("{repository}/releases/tag/{tag}"),
                },
                None => format!("{repository}/releases/tag/{tag}"),
            };
            let label = &line[1..line.find(']').unwrap_or(1)];
            let _ = writeln!(out, "[{label}]: {repository}/compare/{tag}...HEAD");
            let _ = writeln!(out, "[{version}]: {version_link}");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(Released {
        text: out,
        notes: notes.join("\n"),
    })
}

/// The number of entries (non-blank lines other than headings and comments) in the
/// Unreleased section.
///
/// # Errors
/// A message when there is no Unreleased section.
pub fn unreleased_entries(text: &str) -> Result<usize, String> {
    let lines: Vec<&str> = text.lines().collect();
    let (start, end) = unreleased_span(&lines)?;
    Ok(entry_count(&lines[start + 1..end]))
}

/// The line of the Unreleased heading and the end (exclusive) of its body.
fn unreleased_span(lines: &[&str]) -> Result<(usize, usize), String> {
    let start = lines
        .iter()
        .position(|line| is_unreleased_heading(line))
        .ok_or("CHANGELOG.md has no `## [Unreleased]` section (Keep a Changelog form)")?;
    let end = lines[start + 1..]
        .iter()
        .position(|line| line.starts_with("## ") || is_link_definition(line))
        .map_or(lines.len(), |offset| start + 1 + offset);
    Ok((start, end))
}

fn entry_count(body: &[&str]) -> usize {
    body.iter()
        .filter(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#') && !line.starts_with("<!--")
        })
        .count()
}

/// `## [Unreleased]` or `## Unreleased`, any case.
fn is_unreleased_heading(line: &str) -> bool {
    line.strip_prefix("## ").is_some_and(|rest| {
        let rest = rest.trim();
        let name = rest
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map_or(rest, |(name, _)| name);
        name.eq_ignore_ascii_case("unreleased")
    })
}

/// The version of a `## [1.2.3] - date` heading.
fn section_version(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("## ")?.trim();
    let rest = rest.strip_prefix('[').unwrap_or(rest);
    let end = rest.find([']', ' ']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// A Markdown link reference definition: `[label]: target`.
fn is_link_definition(line: &str) -> bool {
    line.starts_with('[')
        && line
            .split_once("]:")
            .is_some_and(|(label, target)| !label.contains(']') && !target.trim().is_empty())
}

/// The target of `[label]: target` when the label is `label` (any case).
fn link_target<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let (found, target) = line.strip_prefix('[')?.split_once("]:")?;
    found
        .eq_ignore_ascii_case(label)
        .then(|| target.trim())
        .filter(|t| !t.is_empty())
}

/// The UTC calendar date `YYYY-MM-DD` of a count of seconds since the Unix epoch.
pub fn utc_date(unix_seconds: u64) -> String {
    // Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX / 2);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "https://github.com/datature/vi-rs";

    const FIRST: &str = "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n### Added\n\n- Uploads.\n- Downloads.\n\n[Unreleased]: https://github.com/datature/vi-rs/commits/HEAD\n";

    #[test]
    fn first_release_moves_the_body_and_links_the_tag() {
        let out = release(FIRST, "0.2.0", "2026-11-30", REPO).unwrap();
        assert_eq!(
            out.text,
            "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n## [0.2.0] - 2026-11-30\n\n### Added\n\n- Uploads.\n- Downloads.\n\n\
             [Unreleased]: https://github.com/datature/vi-rs/compare/v0.2.0...HEAD\n\
             [0.2.0]: https://github.com/datature/vi-rs/releases/tag/v0.2.0\n"
        );
        assert_eq!(out.notes, "### Added\n\n- Uploads.\n- Downloads.");
    }

    #[test]
    fn next_release_compares_with_the_previous_tag_and_keeps_older_sections() {
        let text = "# Changelog\n\n## [Unreleased]\n### Fixed\n- A bug.\n\n## [0.2.0] - 2026-11-30\n### Added\n- Uploads.\n\n\
                    [Unreleased]: https://github.com/datature/vi-rs/compare/v0.2.0...HEAD\n\
                    [0.2.0]: https://github.com/datature/vi-rs/releases/tag/v0.2.0\n";
        let out = release(text, "0.2.1", "2027-01-02", REPO).unwrap();
        assert_eq!(
            out.text,
            "# Changelog\n\n## [Unreleased]\n\n## [0.2.1] - 2027-01-02\n\n### Fixed\n- A bug.\n\n## [0.2.0] - 2026-11-30\n### Added\n- Uploads.\n\n\
             [Unreleased]: https://github.com/datature/vi-rs/compare/v0.2.1...HEAD\n\
             [0.2.1]: https://github.com/datature/vi-rs/compare/v0.2.0...v0.2.1\n\
             [0.2.0]: https://github.com/datature/vi-rs/releases/tag/v0.2.0\n"
        );
    }

    #[test]
    fn without_links_nothing_is_added() {
        let text = "# Changelog\n\n## Unreleased\n\n- One change.\n";
        let out = release(text, "1.0.0", "2026-01-01", REPO).unwrap();
        assert_eq!(
            out.text,
            "# Changelog\n\n## Unreleased\n\n## [1.0.0] - 2026-01-01\n\n- One change.\n"
        );
    }

    #[test]
    fn an_empty_unreleased_section_is_refused() {
        let text = "# Changelog\n\n## [Unreleased]\n\n### Added\n\n<!-- nothing yet -->\n\n## [0.2.0] - 2026-11-30\n- Uploads.\n";
        let err = release(text, "0.3.0", "2026-12-01", REPO).unwrap_err();
        assert!(err.contains("lists no change"), "{err}");
        let err = release("# Changelog\n\n## [Unreleased]\n", "0.3.0", "d", REPO).unwrap_err();
        assert!(err.contains("lists no change"), "{err}");
        assert_eq!(unreleased_entries(text), Ok(0));
        assert_eq!(unreleased_entries(FIRST), Ok(2));
    }

    #[test]
    fn a_missing_section_or_a_released_version_is_refused() {
        let err = release("# Changelog\n\n- x\n", "0.2.0", "d", REPO).unwrap_err();
        assert!(err.contains("no `## [Unreleased]`"), "{err}");
        let text = "## [Unreleased]\n- x\n\n## [0.2.0] - 2026-11-30\n- y\n";
        let err = release(text, "0.2.0", "d", REPO).unwrap_err();
        assert!(err.contains("already has a section for 0.2.0"), "{err}");
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_798_761_599), "2026-12-31");
        assert_eq!(utc_date(1_798_761_600), "2027-01-01");
    }
}
