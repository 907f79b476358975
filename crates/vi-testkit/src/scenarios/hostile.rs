//! The file system and the servers are hostile: links planted where partial files go,
//! asset names chosen to collide with partial files. Nothing may be written outside the
//! download folder, and no asset may damage another's file.

use vi_core::api::{DownloadFailure, DownloadOptions, UploadOptions};
use vi_core::download::{PARTIAL_DIR, asset_part_path, content_version};
use vi_core::{DatasetId, ListAssetsOptions};

use crate::TestEnv;
use crate::facade::{AssetOps, DatasetOps, Facade};

/// Creates a dataset holding `files` (name, bytes) and returns it.
fn dataset_of<F: Facade>(c: &F, files: &[(&str, Vec<u8>)]) -> DatasetId {
    let ds = c.datasets().create("hostile").unwrap().id().unwrap();
    let owned: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(name, bytes)| ((*name).to_owned(), bytes.clone()))
        .collect();
    let report = c.assets().upload(&ds, owned, UploadOptions::new()).unwrap();
    assert_eq!(report.succeeded.len(), files.len(), "{}", report.summary());
    ds
}

/// A symbolic link planted where an asset's partial file goes (pointing outside the
/// download folder) is refused with a clear reason; the file it points to is untouched,
/// neither appended to nor truncated. A link in place of the partial-file folder itself is
/// refused too.
#[cfg(unix)]
pub fn a_link_at_a_partial_file_is_refused_and_nothing_outside_changes<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = dataset_of(&c, &[("a.png", crate::png(40, 30, 1))]);
    let asset = c
        .assets()
        .page(&ds, ListAssetsOptions::new(), None)
        .unwrap()
        .items
        .remove(0);
    let id = asset.id().unwrap();
    let root = env.path("out");
    let dir = root.join(ds.as_str());
    let outside = env.path("precious.txt");
    std::fs::write(&outside, b"precious bytes").unwrap();
    let part = asset_part_path(&dir, &id, content_version(&asset));
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&outside, &part).unwrap();

    let report = c
        .assets()
        .download(&ds, &root, DownloadOptions::new())
        .unwrap();
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    let reason = report.failed[0].reason.to_string();
    assert!(reason.contains("symbolic link"), "{reason}");
    assert_eq!(std::fs::read(&outside).unwrap(), b"precious bytes");
    assert!(!dir.join("a.png").exists());

    // The folder itself replaced by a link to somewhere else: refused as well.
    std::fs::remove_file(&part).unwrap();
    std::fs::remove_dir(part.parent().unwrap()).unwrap();
    let elsewhere = env.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(PARTIAL_DIR)).unwrap();
    let report = c
        .assets()
        .download(&ds, &root, DownloadOptions::new())
        .unwrap();
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    assert!(
        matches!(report.failed[0].reason, DownloadFailure::Io { .. }),
        "{}",
        report.summary()
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    // With the link gone, the same download succeeds; a link at `<name>.part` beside the
    // file (where partial files used to go) is never written through.
    std::fs::remove_file(dir.join(PARTIAL_DIR)).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("a.png.part")).unwrap();
    let report = c
        .assets()
        .download(&ds, &root, DownloadOptions::new())
        .unwrap();
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert_eq!(std::fs::read(&outside).unwrap(), b"precious bytes");
}

/// Two assets `a.png` and `a.png.part`, uploaded in either order: both are downloaded
/// intact, and after `a.png` is removed locally, a second run restores it without touching
/// `a.png.part` (partial files live where no asset name can reach).
pub fn assets_named_like_partial_files_never_meet<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let image = crate::png(64, 48, 2);
    let other = crate::png(20, 10, 3);
    for (round, order) in [["a.png", "a.png.part"], ["a.png.part", "a.png"]]
        .iter()
        .enumerate()
    {
        let files: Vec<(&str, Vec<u8>)> = order
            .iter()
            .map(|name| {
                let bytes = if *name == "a.png" { &image } else { &other };
                (*name, bytes.clone())
            })
            .collect();
        let ds = dataset_of(&c, &files);
        let root = env.path(&format!("round{round}"));
        let dir = root.join(ds.as_str());
        let first = c
            .assets()
            .download(&ds, &root, DownloadOptions::new())
            .unwrap();
        assert_eq!(first.downloaded.len(), 2, "{}", first.summary());
        assert_eq!(std::fs::read(dir.join("a.png")).unwrap(), image);
        assert_eq!(std::fs::read(dir.join("a.png.part")).unwrap(), other);

        std::fs::remove_file(dir.join("a.png")).unwrap();
        let again = c
            .assets()
            .download(&ds, &root, DownloadOptions::new())
            .unwrap();
        assert_eq!(again.downloaded.len(), 1, "{}", again.summary());
        assert_eq!(again.skipped.len(), 1, "{}", again.summary());
        assert!(again.failed.is_empty(), "{}", again.summary());
        assert_eq!(std::fs::read(dir.join("a.png")).unwrap(), image);
        assert_eq!(std::fs::read(dir.join("a.png.part")).unwrap(), other);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "only the two assets remain: {names:?}");
    }
}
