//! File discovery for uploads (docs/protocol.md §6.2, §6.6, §12.2): recursive folder scans, explicit
//! files, missing paths, `~`, symbolic links, non-UTF-8 names and duplicate names.

use std::fs;
use std::path::{Path, PathBuf};

use vi_core::ErrorKind;
use vi_core::upload::discover::{DiscoveredFile, Discovery, dedupe_names, discover};
use vi_core::upload::spec::{SkipReason, spec_for_file};

use crate::upload_support;

use upload_support::{PNG, TEXT, jpeg, mp4, write};

fn names(discovery: &Discovery) -> Vec<&str> {
    discovery
        .files
        .iter()
        .map(|f| f.filename.as_str())
        .collect()
}

#[test]
fn directory_scan_is_recursive_filtered_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "z.png", PNG);
    write(root, "a/b/c/deep.jpg", &jpeg());
    write(root, "IMG.JPG", &jpeg());
    write(root, ".hidden.png", PNG);
    write(root, ".hiddendir/clip.mp4", &mp4());
    write(root, "notes.txt", TEXT);
    write(root, "README", TEXT);
    write(root, ".jpg", &jpeg());
    write(root, "movie.rm", TEXT);
    write(root, "archive.tar.gz", TEXT);
    fs::create_dir_all(root.join("empty-dir.png")).unwrap();

    let found = discover(&[root.to_path_buf()]).unwrap();
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    let canonical = fs::canonicalize(root).unwrap();
    let paths: Vec<PathBuf> = found.files.iter().map(|f| f.path.clone()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let mut expected = vec![
        canonical.join(".hidden.png"),
        canonical.join(".hiddendir/clip.mp4"),
        canonical.join("IMG.JPG"),
        canonical.join("a/b/c/deep.jpg"),
        canonical.join("movie.rm"),
        canonical.join("z.png"),
    ];
    expected.sort();
    assert_eq!(paths, expected);
    for file in &found.files {
        assert_eq!(
            file.path.file_name().unwrap().to_str().unwrap(),
            file.filename
        );
    }
    assert!(names(&found).contains(&"deep.jpg"));
}

#[test]
fn explicit_files_are_kept_whatever_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let notes = write(dir.path(), "notes.txt", TEXT);
    let found = discover(&[notes]).unwrap();
    assert_eq!(names(&found), ["notes.txt"]);
    // ... and judged later.
    let file = &found.files[0];
    assert!(matches!(
        spec_for_file(&file.path, file.filename.clone()),
        Err(SkipReason::UnsupportedExtension { .. })
    ));
}

#[test]
fn missing_path_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "ok.png", PNG);
    let missing = dir.path().join("no-such-file.png");
    let err = discover(&[good, missing.clone()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(text.contains(missing.to_str().unwrap()), "{text}");
    assert!(text.contains("does not exist"), "{text}");

    let err = discover(&[PathBuf::from("relative-missing-dir/x.jpg")]).unwrap_err();
    assert!(
        err.to_string().contains("relative-missing-dir/x.jpg"),
        "{err}"
    );

    let err = discover(&[PathBuf::new()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn tilde_is_expanded_from_home() {
    let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
        return;
    };
    let err = discover(&[PathBuf::from("~/vi-sdk-surely-missing-8d1f/x.png")]).unwrap_err();
    let expanded = PathBuf::from(home).join("vi-sdk-surely-missing-8d1f/x.png");
    assert!(
        err.to_string().contains(expanded.to_str().unwrap()),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn neither_file_nor_folder_is_rejected() {
    let err = discover(&[PathBuf::from("/dev/null")]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("/dev/null"), "{err}");
}

#[test]
fn the_same_file_reached_twice_appears_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.png", PNG);
    write(dir.path(), "sub/b.png", PNG);
    let dotted = dir.path().join("sub/../a.png");
    let found = discover(&[
        a.clone(),
        dir.path().to_path_buf(),
        a,
        dotted,
        dir.path().join("sub"),
    ])
    .unwrap();
    assert_eq!(names(&found), ["a.png", "b.png"]);
}

#[cfg(unix)]
#[test]
fn symlinks_inside_folders_keep_their_names_explicit_ones_are_resolved() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let target = write(dir.path(), "elsewhere/real.png", PNG);
    let scanned = dir.path().join("scanned");
    fs::create_dir(&scanned).unwrap();
    symlink(&target, scanned.join("link.png")).unwrap();
    // Links to folders are not followed.
    symlink(dir.path().join("elsewhere"), scanned.join("folder-link")).unwrap();
    // A broken link with a listed extension is reported.
    symlink(dir.path().join("nothing.png"), scanned.join("broken.png")).unwrap();

    let found = discover(std::slice::from_ref(&scanned)).unwrap();
    assert_eq!(names(&found), ["link.png"]);
    assert_eq!(found.skipped.len(), 1, "{:?}", found.skipped);
    assert!(found.skipped[0].0.ends_with("broken.png"));
    assert!(matches!(found.skipped[0].1, SkipReason::Unreadable { .. }));
    // The link is read through to its target.
    let file = &found.files[0];
    let spec = spec_for_file(&file.path, file.filename.clone()).unwrap();
    assert_eq!(spec.size, PNG.len() as u64);

    let explicit = discover(&[scanned.join("link.png")]).unwrap();
    assert_eq!(names(&explicit), ["real.png"]);
    assert_eq!(explicit.files[0].path, fs::canonicalize(&target).unwrap());
}

#[cfg(target_os = "linux")]
#[test]
fn non_utf8_names_are_reported() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(OsStr::from_bytes(b"bad\xFF.png")), PNG).unwrap();
    write(dir.path(), "good.png", PNG);
    let found = discover(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(names(&found), ["good.png"]);
    assert_eq!(found.skipped.len(), 1);
    let SkipReason::Unreadable { message } = &found.skipped[0].1 else {
        panic!("{:?}", found.skipped);
    };
    assert!(message.contains("UTF-8"), "{message}");
}

#[test]
fn duplicate_names_keep_the_first_in_path_order() {
    let file = |p: &str| DiscoveredFile {
        path: PathBuf::from(p),
        filename: Path::new(p)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned(),
    };
    let (kept, skipped) = dedupe_names(vec![
        file("/d/c/img.jpg"),
        file("/d/b/IMG.jpg"),
        file("/d/a/img.jpg"),
        file("/d/a/other.png"),
    ]);
    assert_eq!(
        kept,
        vec![
            file("/d/a/img.jpg"),
            file("/d/a/other.png"),
            file("/d/b/IMG.jpg")
        ]
    );
    assert_eq!(
        skipped,
        vec![(
            PathBuf::from("/d/c/img.jpg"),
            SkipReason::DuplicateName {
                first: PathBuf::from("/d/a/img.jpg")
            }
        )]
    );
    assert_eq!(skipped[0].1.code(), "duplicate_name");
}

#[test]
fn duplicate_names_found_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/img.jpg", &jpeg());
    write(dir.path(), "b/img.jpg", &jpeg());
    let found = discover(&[dir.path().to_path_buf()]).unwrap();
    let (kept, skipped) = dedupe_names(found.files);
    assert_eq!(kept.len(), 1);
    assert!(kept[0].path.ends_with("a/img.jpg"));
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].0.ends_with("b/img.jpg"));
    assert_eq!(
        skipped[0].1,
        SkipReason::DuplicateName {
            first: kept[0].path.clone()
        }
    );
}
