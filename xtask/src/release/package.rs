//! What goes into each `.crate`: the file list `cargo package --list` gives, checked for
//! large files, files from outside the crate and files git does not know.

use std::collections::BTreeSet;
use std::path::Path;

/// A file above this size is refused (the sources of these crates are far smaller; a big
/// file is a fixture, a build output or a data set that slipped in).
pub const MAX_FILE_BYTES: u64 = 512 * 1024;
/// The whole package, before compression, may not exceed this.
pub const MAX_PACKAGE_BYTES: u64 = 4 * 1024 * 1024;
/// crates.io's limit for a compressed `.crate`.
pub const MAX_CRATE_BYTES: u64 = 10 * 1024 * 1024;

/// Files cargo writes into every package itself.
const GENERATED: &[&str] = &[".cargo_vcs_info.json", "Cargo.toml", "Cargo.lock"];

/// One file of a package, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path inside the package, `/`-separated.
    pub path: String,
    /// Where it comes from.
    pub origin: Origin,
}

/// Where a packaged file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written by cargo (`Cargo.toml` normalised, `Cargo.lock`, `.cargo_vcs_info.json`).
    Generated,
    /// A file of the crate's directory.
    Crate {
        /// Its size in bytes.
        size: u64,
        /// Whether git tracks it.
        tracked: bool,
    },
    /// Not in the crate's directory, or a symbolic link that leads out of it.
    Outside(String),
}

/// What is wrong with a package's file list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Problems that stop the release.
    pub errors: Vec<String>,
    /// Problems a dry run only reports.
    pub warnings: Vec<String>,
    /// The size of the crate's own files.
    pub total: u64,
}

/// Finds each listed file of the crate in `dir` (`root` is the repository, `tracked` the
/// paths git knows, relative to `root`).
pub fn inspect(
    listed: &[String],
    dir: &Path,
    root: &Path,
    tracked: &BTreeSet<String>,
) -> Vec<Entry> {
    let canonical_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    listed
        .iter()
        .map(|path| {
            let origin = if GENERATED.contains(&path.as_str()) {
                Origin::Generated
            } else {
                // `Cargo.toml.orig` is the crate's own manifest, as written.
                let on_disk = if path == "Cargo.toml.orig" { "Cargo.toml" } else { path };
                let file = dir.join(on_disk);
                match (file.canonicalize(), std::fs::metadata(&file)) {
                    (Ok(real), Ok(meta)) if real.starts_with(&canonical_dir) => {
                        let relative = file
                            .strip_prefix(root)
                            .map(|p| p.to_string_lossy().replace('\\', "/"))
                            .unwrap_or_default();
                        Origin::Crate {
                            size: meta.len(),
                            tracked: tracked.contains(&relative),
                        }
                    }
                    (Ok(real), _) => Origin::Outside(real.display().to_string()),
                    (Err(_), _) => Origin::Outside(
                        "not in the crate's directory (a readme or license-file path leading out of it?)"
                            .to_owned(),
                    ),
                }
            };
            Entry {
                path: path.clone(),
                origin,
            }
        })
        .collect()
}

/// Judges a package's file list: large files and files from outside the crate are errors;
/// files git does not track are errors too unless `dirty_allowed` (a dry run), when they are
/// warnings. The crate must ship a license file.
pub fn judge(entries: &[Entry], dirty_allowed: bool) -> Verdict {
    let mut verdict = Verdict::default();
    for entry in entries {
        match &entry.origin {
            Origin::Generated => {}
            Origin::Crate { size, tracked } => {
                verdict.total += size;
                if *size > MAX_FILE_BYTES {
                    verdict.errors.push(format!(
                        "{} is {} (limit {}): a stray large file? Leave it out with `include`/`exclude` in the crate's Cargo.toml",
                        entry.path,
                        human(*size),
                        human(MAX_FILE_BYTES)
                    ));
                }
                if !tracked {
                    let message = format!(
                        "{} is not tracked by git: it would be packaged from this working tree only",
                        entry.path
                    );
                    if dirty_allowed {
                        verdict.warnings.push(message);
                    } else {
                        verdict.errors.push(message);
                    }
                }
            }
            Origin::Outside(from) => verdict.errors.push(format!(
                "{} comes from outside the crate: {from}",
                entry.path
            )),
        }
    }
    if verdict.total > MAX_PACKAGE_BYTES {
        verdict.errors.push(format!(
            "the package holds {} of files (limit {})",
            human(verdict.total),
            human(MAX_PACKAGE_BYTES)
        ));
    }
    if !entries.iter().any(|e| is_license_file(&e.path)) {
        verdict.errors.push(
            "no license file (LICENSE*, LICENCE*, COPYING*) is packaged: copy the repository's LICENSE into the crate's directory and include it"
                .to_owned(),
        );
    }
    verdict
}

/// `LICENSE`, `LICENSE-APACHE`, `LICENCE.md`, `COPYING`… at the top of the package.
pub fn is_license_file(path: &str) -> bool {
    !path.contains('/') && {
        let upper = path.to_ascii_uppercase();
        upper.starts_with("LICENSE") || upper.starts_with("LICENCE") || upper.starts_with("COPYING")
    }
}

/// `1.5 KiB`, `2.0 MiB`.
pub fn human(bytes: u64) -> String {
    // Display only: the precision lost by the conversion does not matter.
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, tracked: bool) -> Entry {
        Entry {
            path: path.to_owned(),
            origin: Origin::Crate { size, tracked },
        }
    }

    fn generated(path: &str) -> Entry {
        Entry {
            path: path.to_owned(),
            origin: Origin::Generated,
        }
    }

    #[test]
    fn a_normal_package_passes() {
        let entries = [
            generated("Cargo.toml"),
            generated("Cargo.lock"),
            file("Cargo.toml.orig", 900, true),
            file("LICENSE", 11_358, true),
            file("README.md", 1_000, true),
            file("src/lib.rs", 20_000, true),
        ];
        let verdict = judge(&entries, false);
        assert_eq!(verdict.errors, Vec::<String>::new());
        assert_eq!(verdict.total, 33_258);
    }

    #[test]
    fn large_outside_untracked_and_unlicensed_files_are_reported() {
        let entries = [
            file("src/lib.rs", 2_000, true),
            file("data/model.bin", 3 * 1024 * 1024, true),
            file("src/scratch.rs", 10, false),
            Entry {
                path: "README.md".to_owned(),
                origin: Origin::Outside("/repo/README.md".to_owned()),
            },
        ];
        let verdict = judge(&entries, false);
        assert_eq!(verdict.errors.len(), 4, "{:?}", verdict.errors);
        assert!(verdict.errors[0].contains("data/model.bin is 3.0 MiB"));
        assert!(verdict.errors[1].contains("src/scratch.rs is not tracked"));
        assert!(verdict.errors[2].contains("README.md comes from outside the crate"));
        assert!(verdict.errors[3].contains("no license file"));
        // A dry run only warns about untracked files.
        let verdict = judge(&entries, true);
        assert_eq!(verdict.errors.len(), 3);
        assert_eq!(verdict.warnings.len(), 1);
    }

    #[test]
    fn the_whole_package_has_a_limit_too() {
        let mut entries: Vec<Entry> = (0..10)
            .map(|i| file(&format!("src/f{i}.rs"), 500 * 1024, true))
            .collect();
        entries.push(file("LICENSE-APACHE", 10, true));
        let verdict = judge(&entries, false);
        assert_eq!(verdict.errors.len(), 1, "{:?}", verdict.errors);
        assert!(verdict.errors[0].contains("limit 4.0 MiB"));
    }

    #[test]
    fn license_files_are_recognised_at_the_top_only() {
        assert!(is_license_file("LICENSE"));
        assert!(is_license_file("LICENSE-MIT"));
        assert!(is_license_file("licence.md"));
        assert!(is_license_file("COPYING"));
        assert!(!is_license_file("src/LICENSE"));
        assert!(!is_license_file("README.md"));
    }

    #[test]
    fn inspect_finds_files_and_their_origin() {
        let root =
            std::env::temp_dir().join(format!("xtask-release-inspect-{}", std::process::id()));
        let dir = root.join("crates/c");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[package]").unwrap();
        std::fs::write(dir.join("src/lib.rs"), "//! x").unwrap();
        std::fs::write(root.join("README.md"), "# r").unwrap();
        let tracked: BTreeSet<String> = ["crates/c/Cargo.toml".to_owned()].into();
        let listed: Vec<String> = ["Cargo.lock", "Cargo.toml.orig", "src/lib.rs", "README.md"]
            .map(str::to_owned)
            .to_vec();
        let entries = inspect(&listed, &dir, &root, &tracked);
        assert_eq!(entries[0].origin, Origin::Generated);
        assert_eq!(
            entries[1].origin,
            Origin::Crate {
                size: 9,
                tracked: true
            }
        );
        assert_eq!(
            entries[2].origin,
            Origin::Crate {
                size: 5,
                tracked: false
            }
        );
        assert!(matches!(entries[3].origin, Origin::Outside(_)));
        let _ = std::fs::remove_dir_all(&root);
    }
}
