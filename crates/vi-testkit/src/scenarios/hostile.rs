//! The file system and the servers are hostile: links and FIFOs planted where partial
//! files go, asset names chosen to collide with partial files, files swapped or grown
//! between their scan and their upload. Nothing may be written outside the download
//! folder, no asset may damage another's file, nothing may hang, and no file that changed
//! may be reported uploaded.

use vi_core::api::{DownloadOptions, UploadOptions};
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
    // The whole download is refused, once, before any asset is fetched.
    let err = c
        .assets()
        .download(&ds, &root, DownloadOptions::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(PARTIAL_DIR) && err.contains("is a link"),
        "{err}"
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

/// Makes a FIFO (named pipe) at `path`: opening it the ordinary way blocks until its other
/// end is opened.
#[cfg(unix)]
pub(crate) fn mkfifo(path: &std::path::Path) {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

/// Ends the whole test process, loudly, if the scenario it guards is still running after
/// two minutes: a hang is a failure, not a test that never ends.
pub(crate) struct Watchdog(Option<std::sync::mpsc::Sender<()>>);

impl Watchdog {
    pub(crate) fn new(what: &'static str) -> Self {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                wait.recv_timeout(std::time::Duration::from_secs(120))
            {
                eprintln!("HUNG: {what} did not finish in two minutes");
                std::process::abort();
            }
        });
        Watchdog(Some(done))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.send(());
        }
    }
}

/// The listed asset called `name`.
fn asset_named<F: Facade>(c: &F, ds: &DatasetId, name: &str) -> vi_core::models::Asset {
    c.assets()
        .page(ds, ListAssetsOptions::new(), None)
        .unwrap()
        .items
        .into_iter()
        .find(|a| a.filename == name)
        .unwrap_or_else(|| panic!("no asset {name}"))
}

/// Three images, as (name, bytes).
fn three_images() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a.png", crate::png(40, 30, 1)),
        ("b.png", crate::png(41, 30, 2)),
        ("c.png", crate::png(42, 30, 3)),
    ]
}

/// A FIFO planted where an asset's partial file goes fails that asset at once with a
/// reason naming the FIFO (it was opened without blocking and checked); the other assets
/// land, and the FIFO is left as it was. Before, the download hung in `open` for ever.
#[cfg(unix)]
pub fn a_fifo_at_a_partial_file_fails_that_asset_and_nothing_hangs<F: Facade>(env: &TestEnv) {
    use std::os::unix::fs::FileTypeExt;
    let c = F::connect(env);
    let files = three_images();
    let ds = dataset_of(&c, &files);
    let b = asset_named(&c, &ds, "b.png");
    let root = env.path("out");
    let dir = root.join(ds.as_str());
    let part = asset_part_path(&dir, &b.id().unwrap(), content_version(&b));
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    mkfifo(&part);

    let watchdog = Watchdog::new("a download with a FIFO at a partial file");
    let report = c
        .assets()
        .download(&ds, &root, DownloadOptions::new())
        .unwrap();
    drop(watchdog);
    assert_eq!(report.downloaded.len(), 2, "{}", report.summary());
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    let reason = report.failed[0].reason.to_string();
    assert!(reason.contains("FIFO"), "{reason}");
    assert!(reason.contains(&*part.to_string_lossy()), "{reason}");
    for (name, bytes) in files.iter().filter(|(n, _)| *n != "b.png") {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), *bytes, "{name}");
    }
    assert!(!dir.join("b.png").exists());
    let kind = std::fs::symlink_metadata(&part).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO is left alone");
}

/// A hard link planted at an asset's partial file (to a file outside the folder, with
/// bytes or empty) is refused: the other file keeps every byte and its own inode, and is
/// neither resumed into nor renamed into place. Before, the download appended to it with
/// `Range: bytes=<its length>-`, and an empty one became the downloaded asset.
#[cfg(unix)]
pub fn a_hard_link_at_a_partial_file_is_refused_and_the_other_file_unchanged<F: Facade>(
    env: &TestEnv,
) {
    use std::os::unix::fs::MetadataExt;
    let c = F::connect(env);
    let files = three_images();
    let ds = dataset_of(&c, &files);
    let root = env.path("out");
    let dir = root.join(ds.as_str());
    let victim = env.path("victim.txt");
    let empty = env.path("empty.txt");
    std::fs::write(&victim, b"38 bytes of someone else's notes.....\n").unwrap();
    std::fs::write(&empty, b"").unwrap();
    for (name, target) in [("a.png", &victim), ("b.png", &empty)] {
        let asset = asset_named(&c, &ds, name);
        let part = asset_part_path(&dir, &asset.id().unwrap(), content_version(&asset));
        std::fs::create_dir_all(part.parent().unwrap()).unwrap();
        std::fs::hard_link(target, &part).unwrap();
    }
    let inode = |p: &std::path::Path| std::fs::metadata(p).unwrap().ino();
    let (victim_inode, empty_inode) = (inode(&victim), inode(&empty));

    let report = c
        .assets()
        .download(&ds, &root, DownloadOptions::new())
        .unwrap();
    assert_eq!(report.downloaded.len(), 1, "{}", report.summary());
    assert_eq!(report.failed.len(), 2, "{}", report.summary());
    for failed in &report.failed {
        let reason = failed.reason.to_string();
        assert!(reason.contains("hard links"), "{reason}");
    }
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"38 bytes of someone else's notes.....\n"
    );
    assert_eq!(std::fs::read(&empty).unwrap(), b"");
    for name in ["a.png", "b.png"] {
        let local = dir.join(name);
        assert!(
            !local.exists() || ![victim_inode, empty_inode].contains(&inode(&local)),
            "{name} shares an inode with a file outside"
        );
    }
}

/// A file replaced by a FIFO between the scan and its send fails with a reason naming the
/// FIFO, at once; the other files land. Before, a worker blocked in `open` for ever and
/// cancel could not end it.
#[cfg(unix)]
pub fn a_fifo_swapped_in_after_the_scan_fails_that_file_and_nothing_hangs<F: Facade>(
    env: &TestEnv,
) {
    let c = F::connect(env);
    let ds = c.datasets().create("swapped").unwrap().id().unwrap();
    let src = env.path("swap-src");
    for (name, bytes) in three_images() {
        crate::write_file(&src.join(name), &bytes);
    }
    let target = src.join("b.png");
    let swapped = std::sync::atomic::AtomicBool::new(false);
    // Once b.png is scanned and about to be sent.
    let hook = move |event: &vi_core::progress::ProgressEvent<'_>| {
        let starts = matches!(event, vi_core::progress::ProgressEvent::FileStarted { name, .. } if *name == "b.png");
        if starts && !swapped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::fs::remove_file(&target).unwrap();
            mkfifo(&target);
        }
    };
    let watchdog = Watchdog::new("an upload with a FIFO swapped in after the scan");
    let report = c
        .assets()
        .upload(&ds, &src, UploadOptions::new().progress(hook))
        .unwrap();
    drop(watchdog);
    assert_eq!(report.succeeded.len(), 2, "{}", report.summary());
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    assert_eq!(report.failed[0].filename, "b.png");
    let reason = report.failed[0].reason.to_string();
    assert!(reason.contains("FIFO"), "{reason}");
    let names: Vec<String> = c
        .assets()
        .page(&ds, ListAssetsOptions::new(), None)
        .unwrap()
        .items
        .into_iter()
        .map(|a| a.filename)
        .collect();
    assert!(!names.contains(&"b.png".to_owned()), "{names:?}");
}

/// A file appended to after it was scanned fails "changed while uploading" and is not in
/// the dataset: neither the prefix declared at the scan nor anything else of it is
/// reported as a success. Before, the prefix was uploaded and reported succeeded.
pub fn a_file_appended_to_after_the_scan_fails_and_no_prefix_lands<F: Facade>(env: &TestEnv) {
    let c = F::connect(env);
    let ds = c.datasets().create("appended").unwrap().id().unwrap();
    let src = env.path("grow-src");
    for (name, bytes) in three_images() {
        crate::write_file(&src.join(name), &bytes);
    }
    let target = src.join("c.png");
    let grown = std::sync::atomic::AtomicBool::new(false);
    // Once c.png is scanned and about to be sent.
    let hook = move |event: &vi_core::progress::ProgressEvent<'_>| {
        let starts = matches!(event, vi_core::progress::ProgressEvent::FileStarted { name, .. } if *name == "c.png");
        if starts && !grown.swap(true, std::sync::atomic::Ordering::SeqCst) {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&target)
                .unwrap();
            file.write_all(&[0u8; 10_000]).unwrap();
        }
    };
    let report = c
        .assets()
        .upload(&ds, &src, UploadOptions::new().progress(hook))
        .unwrap();
    assert_eq!(report.succeeded.len(), 2, "{}", report.summary());
    assert_eq!(report.failed.len(), 1, "{}", report.summary());
    assert_eq!(report.failed[0].filename, "c.png");
    let reason = report.failed[0].reason.to_string();
    assert!(reason.contains("changed while uploading"), "{reason}");
    let listed = c
        .assets()
        .page(&ds, ListAssetsOptions::new(), None)
        .unwrap()
        .items;
    assert!(
        listed.iter().all(|a| a.filename != "c.png"),
        "no prefix of c.png is in the dataset"
    );
}
