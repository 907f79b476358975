//! The allow-list of `cargo xtask interop` (`interop/allowlist.json`): the differences
//! from the official client that are accepted, each with its reason, matched by globs.

use std::path::Path;

use serde_json::Value;

use super::recording::OpKey;

#[derive(Debug, Clone)]
pub(super) struct Allowed {
    /// Glob (`*`) over the operation's spec id (`A1`, `U2`, `S*`, `*`).
    pub(super) operation: String,
    /// Glob over the query keys of the operation (`p&s`); `*` or absent: any.
    pub(super) query: String,
    /// Glob over the difference (`count`, `only-ours`, `header:User-Agent`, `body:a.b`, …).
    pub(super) difference: String,
    /// Globs over the values shown for each side (`*` or absent: any).
    pub(super) official: String,
    pub(super) ours: String,
    pub(super) reason: String,
}

#[derive(Debug, Default)]
pub(super) struct Allowlist {
    pub(super) entries: Vec<Allowed>,
}

impl Allowlist {
    pub(super) fn load(path: &Path) -> Result<Allowlist, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the allow-list {}: {e}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
        let mut entries = Vec::new();
        for (i, entry) in value
            .get("allow")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{}: expected an \"allow\" array", path.display()))?
            .iter()
            .enumerate()
        {
            let get = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_owned);
            let (Some(operation), Some(difference), Some(reason)) =
                (get("operation"), get("difference"), get("reason"))
            else {
                return Err(format!(
                    "{}: allow[{i}] needs \"operation\", \"difference\" and \"reason\"",
                    path.display()
                ));
            };
            if reason.trim().is_empty() {
                return Err(format!(
                    "{}: allow[{i}] has an empty reason",
                    path.display()
                ));
            }
            entries.push(Allowed {
                operation,
                query: get("query").unwrap_or_else(|| "*".to_owned()),
                difference,
                official: get("official").unwrap_or_else(|| "*".to_owned()),
                ours: get("ours").unwrap_or_else(|| "*".to_owned()),
                reason,
            });
        }
        Ok(Allowlist { entries })
    }

    pub(super) fn find(
        &self,
        op: &OpKey,
        difference: &str,
        official: &str,
        ours: &str,
    ) -> Option<usize> {
        self.entries.iter().position(|e| {
            glob(&e.operation, op.id())
                && glob(&e.query, &op.query)
                && glob(&e.difference, difference)
                && glob(&e.official, official)
                && glob(&e.ours, ours)
        })
    }
}

/// `*` matches any run of characters, `[abc]` any one of the characters listed;
/// everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let p = tokens(pattern);
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        match p.get(pi) {
            Some(Token::One(set)) if set.contains(&t[ti]) => {
                pi += 1;
                ti += 1;
            }
            Some(Token::Any) => {
                star = Some(pi);
                mark = ti;
                pi += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    ti = mark;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| matches!(t, Token::Any))
}

/// One element of a glob: `*`, or one character out of a set (a plain character is a
/// set of one).
enum Token {
    Any,
    One(Vec<char>),
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push(Token::Any),
            '[' => {
                let set: Vec<char> = chars.by_ref().take_while(|&c| c != ']').collect();
                out.push(Token::One(set));
            }
            c => out.push(Token::One(vec![c])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interop::repo_root;

    #[test]
    fn glob_matches() {
        assert!(glob("*", "anything"));
        assert!(glob("header:*", "header:User-Agent"));
        assert!(glob("S*", "S3"));
        assert!(!glob("S*", "A1"));
        assert!(glob("p&*", "p&s"));
        assert!(glob("", ""));
        assert!(!glob("", "x"));
        assert!(glob("[34]", "3") && glob("[34]", "4") && !glob("[34]", "2"));
    }

    #[test]
    fn the_allow_list_parses() {
        let path = repo_root().join("interop").join("allowlist.json");
        let allow = Allowlist::load(&path).expect("allow-list");
        assert!(!allow.entries.is_empty());
    }
}
