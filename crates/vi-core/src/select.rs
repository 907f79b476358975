//! Which files a transfer takes: shards for splitting one job across machines, include and
//! exclude patterns, and file lists. Everything here is pure (no I/O, no clock); the upload
//! applies it while gathering its inputs, the download while choosing what to fetch.
//!
//! # Shards
//!
//! A [`Shard`] `K/N` (0-based `K`) takes the files whose key hashes to `K` modulo `N`. The
//! key is the **asset filename** in both directions: it is the dataset's own key, so a
//! file uploaded by shard `K` is downloaded by shard `K` too, and every file sharing a name
//! lands in the same shard, where the usual "first in path order wins" rule picks the same
//! file it would pick in one process. A file's shard depends on its name alone, so adding
//! or removing other files never moves it.
//!
//! The hash is 64-bit FNV-1a over the name's UTF-8 bytes (offset basis
//! `0xcbf29ce484222325`, prime `0x100000001b3`), written out here rather than taken from
//! the standard library, whose `DefaultHasher` may change between Rust releases: machines
//! built with different toolchains must agree on every file's shard.
//!
//! [`Shard::from_env`] reads a job scheduler's variables: Slurm job arrays
//! (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`) and
//! Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX`, of a count given separately or in
//! `VI_SHARD_COUNT`, since the Job does not export its completions).
//!
//! # Patterns
//!
//! A [`Filter`] holds include and exclude glob patterns. A file is taken when it matches
//! at least one include pattern (or none were given) and no exclude pattern. As in rsync
//! and `.gitignore`, a pattern without `/` is matched against the file's base name
//! anywhere (`*.jpg`, `cat_??.png`); a pattern with `/` against its whole relative path
//! (`train/**/*.jpg`; a leading `/` is dropped). `*` and `?` never cross a `/`, `**` does,
//! `[abc]` and `{a,b}` work as usual, and matching is case-sensitive. Uploads match the
//! path relative to the folder given (a file given directly: the path as given), downloads
//! the asset filename.
//!
//! # File lists
//!
//! [`parse_file_list`] reads a list of paths, one per line or NUL-separated; empty entries
//! are skipped and a newline list also drops a trailing `\r`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

const SHARD: &str = "shard";

/// One part of a job split across `count` workers: the files whose name hashes to
/// `index` (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count` (0-based).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `count` is 0 or `index` is not below it.
    pub fn new(index: u32, count: u32) -> Result<Self> {
        if count == 0 {
            return Err(Error::invalid(
                SHARD,
                "the shard count must be at least 1 (K/N with N >= 1)",
            ));
        }
        if index >= count {
            return Err(Error::invalid(
                SHARD,
                format!(
                    "shard {index} of {count} does not exist: K is 0-based, from 0 to {}",
                    count - 1
                ),
            ));
        }
        Ok(Shard { index, count })
    }

    /// This shard's number, from 0.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many shards the job has.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// True when the file named `name` belongs to this shard.
    pub fn contains(&self, name: &str) -> bool {
        stable_hash(name.as_bytes()) % u64::from(self.count) == u64::from(self.index)
    }

    /// The shard a job scheduler assigned to this process, read through `var` (give
    /// `|k| std::env::var(k).ok()`): a Slurm array task, or a Kubernetes Indexed Job's
    /// completion index with `count` (or `VI_SHARD_COUNT`) shards.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the variables when none is set, or when a value is
    /// not a number or out of range.
    pub fn from_env(var: impl Fn(&str) -> Option<String>, count: Option<u32>) -> Result<Self> {
        let number = |key: &str| -> Result<Option<u32>> {
            match var(key).map(|v| v.trim().to_owned()) {
                None => Ok(None),
                Some(v) if v.is_empty() => Ok(None),
                Some(v) => v.parse::<u32>().map(Some).map_err(|_| {
                    Error::invalid(
                        SHARD,
                        format!("{key}={v:?} is not a whole number; check the job's environment"),
                    )
                }),
            }
        };
        if let Some(task) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let tasks = match count {
                Some(n) => n,
                None => number("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                    Error::invalid(
                        SHARD,
                        "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give \
                         the number of shards with --shard-count",
                    )
                })?,
            };
            let index = task.checked_sub(min).ok_or_else(|| {
                Error::invalid(
                    SHARD,
                    format!("SLURM_ARRAY_TASK_ID {task} is below SLURM_ARRAY_TASK_MIN {min}"),
                )
            })?;
            return Shard::new(index, tasks).map_err(|_| {
                Error::invalid(
                    SHARD,
                    format!(
                        "array task {task} (minimum {min}) is not one of {tasks} shards: submit \
                         a contiguous array such as --array=0-{}",
                        tasks.saturating_sub(1)
                    ),
                )
            });
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = match count {
                Some(n) => n,
                None => number("VI_SHARD_COUNT")?.ok_or_else(|| {
                    Error::invalid(
                        SHARD,
                        "JOB_COMPLETION_INDEX is set but the number of shards is not; give it \
                         with --shard-count or VI_SHARD_COUNT (the Job's completions)",
                    )
                })?,
            };
            return Shard::new(index, count);
        }
        Err(Error::invalid(
            SHARD,
            "--shard auto found no job scheduler: none of SLURM_ARRAY_TASK_ID (Slurm job \
             arrays) or JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) is set; give --shard \
             K/N instead",
        ))
    }
}

impl FromStr for Shard {
    type Err = Error;

    /// Parses `K/N`, e.g. `0/4`.
    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                SHARD,
                format!("{text:?} is not K/N (e.g. 0/4: the first of four shards)"),
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse::<u32>().map_err(|_| bad())?;
        let n = n.trim().parse::<u32>().map_err(|_| bad())?;
        Shard::new(k, n)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// 64-bit FNV-1a: fixed constants, so every machine and every Rust release agrees.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// One side of a [`Filter`]: the patterns matched on base names and those matched on
/// whole paths.
#[derive(Clone, Debug, Default)]
struct Patterns {
    given: Vec<String>,
    name_globs: Vec<Glob>,
    path_globs: Vec<Glob>,
    names: GlobSet,
    paths: GlobSet,
}

impl Patterns {
    fn add(&mut self, pattern: &str, what: &'static str) -> Result<()> {
        let trimmed = pattern.strip_prefix('/').unwrap_or(pattern);
        if trimmed.is_empty() {
            return Err(Error::invalid(
                what,
                "an empty pattern matches nothing; give a glob such as *.jpg",
            ));
        }
        let bad = |e: globset::Error| {
            Error::invalid(
                what,
                format!("{pattern:?} is not a valid glob pattern: {e}"),
            )
        };
        let glob = GlobBuilder::new(trimmed)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(bad)?;
        let (globs, set) = if trimmed.contains('/') {
            (&mut self.path_globs, &mut self.paths)
        } else {
            (&mut self.name_globs, &mut self.names)
        };
        globs.push(glob);
        let mut builder = GlobSetBuilder::new();
        for g in globs.iter() {
            builder.add(g.clone());
        }
        *set = builder.build().map_err(bad)?;
        self.given.push(pattern.to_owned());
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.given.is_empty()
    }

    fn matches(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.names.is_match(name) || self.paths.is_match(path)
    }
}

/// Include and exclude patterns (see the [module docs](self#patterns)).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    include: Patterns,
    exclude: Patterns,
    names: Option<std::collections::HashSet<String>>,
}

impl Filter {
    /// Takes everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes only files matching `pattern` (or another include pattern).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or malformed pattern.
    pub fn include(mut self, pattern: &str) -> Result<Self> {
        self.include.add(pattern, "include pattern")?;
        Ok(self)
    }

    /// Leaves out files matching `pattern`, even when an include pattern matches them.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or malformed pattern.
    pub fn exclude(mut self, pattern: &str) -> Result<Self> {
        self.exclude.add(pattern, "exclude pattern")?;
        Ok(self)
    }

    /// Takes only files whose path is exactly one of `names` (a file list; for
    /// downloads, asset filenames), patterns applying as well. Calling it again adds names.
    pub fn names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        let set = self.names.get_or_insert_with(Default::default);
        set.extend(names.into_iter().map(|n| {
            let n: String = n.into();
            n.strip_prefix("./").map(str::to_owned).unwrap_or(n)
        }));
        self
    }

    /// True when neither patterns nor names were given.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty() && self.names.is_none()
    }

    /// True when a file at `path` (`/`-separated, relative) is taken.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.strip_prefix("./").unwrap_or(path);
        self.names.as_ref().is_none_or(|n| n.contains(path))
            && (self.include.is_empty() || self.include.matches(path))
            && !self.exclude.matches(path)
    }

    /// The names given with [`names`](Self::names) that are not in `seen`, sorted.
    pub fn names_missing(&self, seen: &std::collections::HashSet<String>) -> Vec<String> {
        let mut missing: Vec<String> = self
            .names
            .iter()
            .flatten()
            .filter(|n| !seen.contains(*n))
            .cloned()
            .collect();
        missing.sort();
        missing
    }

    /// True when names were given.
    pub fn has_names(&self) -> bool {
        self.names.is_some()
    }

    /// The patterns, for messages: `include a, b; exclude c`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.include.is_empty() {
            parts.push(format!("include {}", self.include.given.join(", ")));
        }
        if !self.exclude.is_empty() {
            parts.push(format!("exclude {}", self.exclude.given.join(", ")));
        }
        if let Some(names) = &self.names {
            parts.push(format!("{} listed names", names.len()));
        }
        parts.join("; ")
    }
}

/// How the entries of a file list are separated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListSeparator {
    /// One path per line (`\n`, a trailing `\r` dropped).
    #[default]
    Newline,
    /// NUL bytes (`find -print0`), for names that contain newlines.
    Nul,
}

/// The paths of a file list (see the [module docs](self#file-lists)).
///
/// # Errors
/// [`Error::InvalidInput`] naming the entry's number when an entry is not UTF-8 or
/// contains a NUL byte in a newline list.
pub fn parse_file_list(bytes: &[u8], separator: ListSeparator) -> Result<Vec<PathBuf>> {
    let sep = match separator {
        ListSeparator::Newline => b'\n',
        ListSeparator::Nul => 0,
    };
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == sep).enumerate() {
        let raw = match separator {
            ListSeparator::Newline => raw.strip_suffix(b"\r").unwrap_or(raw),
            ListSeparator::Nul => raw,
        };
        if raw.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(raw).map_err(|_| {
            Error::invalid(
                "file list",
                format!(
                    "entry {} is not valid UTF-8; rename the file or list it by its folder",
                    i + 1
                ),
            )
        })?;
        if text.contains('\0') {
            return Err(Error::invalid(
                "file list",
                format!(
                    "entry {} contains a NUL byte: a NUL-separated list needs the NUL option (--null)",
                    i + 1
                ),
            ));
        }
        out.push(PathBuf::from(text));
    }
    Ok(out)
}

/// What a transfer takes: a shard and patterns. The default takes everything.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Selection {
    /// Only this shard's files.
    pub shard: Option<Shard>,
    /// Only files the patterns take.
    pub filter: Filter,
}

/// Why a file is or is not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Taken.
    Taken,
    /// Left out by the patterns.
    Filtered,
    /// Another shard's.
    OtherShard,
}

impl Selection {
    /// True when everything is taken.
    pub fn is_all(&self) -> bool {
        self.shard.is_none() && self.filter.is_empty()
    }

    /// The verdict on a file at `path` (what the patterns see) named `name` (the shard key).
    pub(crate) fn judge(&self, path: &str, name: &str) -> Verdict {
        if !self.filter.matches(path) {
            Verdict::Filtered
        } else if self.shard.is_some_and(|s| !s.contains(name)) {
            Verdict::OtherShard
        } else {
            Verdict::Taken
        }
    }

    /// The error for patterns that left nothing out of `seen` files.
    pub(crate) fn nothing_matched(&self, seen: u64, what: &str) -> Error {
        Error::invalid(
            "include/exclude patterns",
            format!(
                "no {what} matched ({}; {seen} seen): a pattern without '/' matches the file \
                 name, one with '/' the whole relative path, and '*' does not cross '/' \
                 (use '**')",
                self.filter.describe()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_hash_is_fnv1a_64() {
        // Published FNV-1a test vectors: a change here moves files between shards.
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_name_is_in_exactly_one_shard_and_stays_there() {
        let names: Vec<String> = (0..2000).map(|i| format!("img{i}.png")).collect();
        let shards: Vec<Shard> = (0..4).map(|k| Shard::new(k, 4).unwrap()).collect();
        let mut sizes = [0usize; 4];
        for name in &names {
            let owners: Vec<u32> = shards
                .iter()
                .filter(|s| s.contains(name))
                .map(Shard::index)
                .collect();
            assert_eq!(owners.len(), 1, "{name}: {owners:?}");
            sizes[owners[0] as usize] += 1;
        }
        // Roughly even (each of 4 shards gets 500 ± 15%).
        assert!(sizes.iter().all(|&n| (425..=575).contains(&n)), "{sizes:?}");
        // Fixed forever: these names are in these shards of 4.
        let fixed: Vec<u32> = ["a.jpg", "b.jpg", "img0.png", "img1.png"]
            .iter()
            .map(|n| shards.iter().find(|s| s.contains(n)).unwrap().index())
            .collect();
        assert_eq!(
            fixed,
            ["a.jpg", "b.jpg", "img0.png", "img1.png"]
                .iter()
                .map(|n| (stable_hash(n.as_bytes()) % 4) as u32)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn shards_parse_and_refuse_nonsense() {
        assert_eq!("3/4".parse::<Shard>().unwrap(), Shard::new(3, 4).unwrap());
        assert_eq!(Shard::new(0, 1).unwrap().to_string(), "0/1");
        for bad in ["4/4", "1/0", "x/4", "1", "-1/4", "1/4/2", ""] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad}");
        }
        assert!(Shard::new(0, 1).unwrap().contains("anything"));
    }

    #[test]
    fn slurm_and_kubernetes_variables() {
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_env(&slurm, None).unwrap(),
            Shard::new(2, 4).unwrap()
        );
        let slurm_no_min = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_env(&slurm_no_min, None).unwrap(),
            Shard::new(3, 4).unwrap()
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1"), ("VI_SHARD_COUNT", "3")]);
        assert_eq!(
            Shard::from_env(&k8s, None).unwrap(),
            Shard::new(1, 3).unwrap()
        );
        // The explicit count wins over VI_SHARD_COUNT.
        assert_eq!(
            Shard::from_env(&k8s, Some(2)).unwrap(),
            Shard::new(1, 2).unwrap()
        );

        let none = Shard::from_env(env(&[]), None).unwrap_err().to_string();
        assert!(
            none.contains("SLURM_ARRAY_TASK_ID") && none.contains("JOB_COMPLETION_INDEX"),
            "{none}"
        );
        let no_count = Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")]), None)
            .unwrap_err()
            .to_string();
        assert!(no_count.contains("VI_SHARD_COUNT"), "{no_count}");
        let out_of_range = env(&[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(Shard::from_env(out_of_range, None).is_err());
        let garbage = env(&[("JOB_COMPLETION_INDEX", "one"), ("VI_SHARD_COUNT", "3")]);
        assert!(
            Shard::from_env(garbage, None)
                .unwrap_err()
                .to_string()
                .contains("one")
        );
    }

    #[test]
    fn patterns_without_a_slash_match_names_anywhere() {
        let f = Filter::new().include("*.jpg").unwrap();
        assert!(f.matches("a.jpg"));
        assert!(f.matches("deep/er/a.jpg"));
        assert!(f.matches("./a.jpg"));
        assert!(!f.matches("a.png"));
        assert!(!f.matches("a.JPG"), "case-sensitive");
    }

    #[test]
    fn patterns_with_a_slash_match_whole_paths() {
        let f = Filter::new().include("train/*.jpg").unwrap();
        assert!(f.matches("train/a.jpg"));
        assert!(!f.matches("train/sub/a.jpg"), "* does not cross /");
        assert!(!f.matches("x/train/a.jpg"));
        let deep = Filter::new().include("/train/**/*.jpg").unwrap();
        assert!(deep.matches("train/a.jpg"));
        assert!(deep.matches("train/sub/a.jpg"));
        let any = Filter::new().include("**/cats/*").unwrap();
        assert!(any.matches("cats/a.png") && any.matches("x/y/cats/a.png"));
    }

    #[test]
    fn excludes_win_and_several_patterns_combine() {
        let f = Filter::new()
            .include("*.jpg")
            .unwrap()
            .include("*.png")
            .unwrap()
            .exclude("tmp/**")
            .unwrap()
            .exclude("*_draft.*")
            .unwrap();
        assert!(f.matches("a.jpg") && f.matches("b/c.png"));
        assert!(!f.matches("tmp/a.jpg"));
        assert!(!f.matches("a_draft.png"));
        assert!(!f.matches("a.gif"));
        assert_eq!(
            f.describe(),
            "include *.jpg, *.png; exclude tmp/**, *_draft.*"
        );
        let only_exclude = Filter::new().exclude("*.mp4").unwrap();
        assert!(only_exclude.matches("a.jpg") && !only_exclude.matches("v/a.mp4"));
        assert!(Filter::new().matches("anything"));
        let listed = Filter::new()
            .names(["a.jpg", "./b.jpg"])
            .exclude("b*")
            .unwrap();
        assert!(listed.matches("a.jpg") && listed.matches("./a.jpg"));
        assert!(!listed.matches("b.jpg") && !listed.matches("c.jpg"));
        let seen = ["a.jpg".to_owned()].into_iter().collect();
        assert_eq!(listed.names_missing(&seen), vec!["b.jpg".to_owned()]);
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["", "/", "[", "a{b"] {
            let e = Filter::new().include(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn file_lists_both_separators() {
        let lines =
            parse_file_list(b"a.jpg\r\nsub/b c.png\n\n./d.jpg", ListSeparator::Newline).unwrap();
        assert_eq!(
            lines,
            vec![
                PathBuf::from("a.jpg"),
                PathBuf::from("sub/b c.png"),
                PathBuf::from("./d.jpg")
            ]
        );
        let nul = parse_file_list(b"new\nline.jpg\0b.png\0\0", ListSeparator::Nul).unwrap();
        assert_eq!(
            nul,
            vec![PathBuf::from("new\nline.jpg"), PathBuf::from("b.png")]
        );
        let e = parse_file_list(b"a\0b\n", ListSeparator::Newline).unwrap_err();
        assert!(e.to_string().contains("--null"), "{e}");
        let e = parse_file_list(b"ok\n\xff\n", ListSeparator::Newline).unwrap_err();
        assert!(e.to_string().contains("entry 2"), "{e}");
        assert!(parse_file_list(b"", ListSeparator::Nul).unwrap().is_empty());
    }

    #[test]
    fn selection_judges_patterns_before_shards() {
        let sel = Selection {
            shard: Some(Shard::new(0, 2).unwrap()),
            filter: Filter::new().include("*.jpg").unwrap(),
        };
        assert_eq!(sel.judge("x.png", "x.png"), Verdict::Filtered);
        let (mine, theirs): (Vec<String>, Vec<String>) = (0..20)
            .map(|i| format!("{i}.jpg"))
            .partition(|n| Shard::new(0, 2).unwrap().contains(n));
        assert_eq!(sel.judge(&mine[0], &mine[0]), Verdict::Taken);
        assert_eq!(sel.judge(&theirs[0], &theirs[0]), Verdict::OtherShard);
        assert!(Selection::default().is_all());
    }
}
