//! One file: the single path every download takes (a dataset's assets, one chosen asset,
//! a bare signed URL). Download into a partial file, verify, put in place:
//!
//! 1. GET the signed URL into the partial file, continuing it with `Range` when it holds
//!    the start of the asset (the size must be known for that);
//! 2. verify: the size (the asset's, else the response's `Content-Length`) and the CRC32C
//!    when the asset gives one; a mismatch is an [`Error::Verification`] and the next
//!    attempt starts over (or continues a short file);
//! 3. rename into place, so the final name never holds a partial file.
//!
//! Transient failures are retried under the policy for signed downloads; a refused or
//! expired URL is signed again when the caller says where a fresh one comes from.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::endpoints::GetAsset;
use crate::engine::{Attempt, Core};
use crate::error::{Error, Mismatch, Result};
use crate::ids::{AssetId, DatasetId};
use crate::models::SignedUrl;
use crate::retry::{Safety, Target};
use crate::runtime::run_blocking;
use crate::signed::{SignedKind, SignedRequest};
use crate::transport::{Body, DownloadHead, DownloadTarget, Meter, TransportErrorKind};

const OPERATION: &str = "download";

/// The folder, inside a download folder, that holds the partial files. No asset's local
/// name can be it or reach into it: local names never start with a dot (see [`super::names`]).
pub const PARTIAL_DIR: &str = ".vi-partial";

/// Where the partial file of `asset` lives while version `version` of its content
/// ([`content_version`]) downloads into `directory`: keyed by the asset id, so no other
/// asset's name, whatever it is, can meet it, and by the version, so a partial file is
/// continued only with bytes of the content it was started for.
///
/// The version is in the name rather than in a note beside the file: a note cost two
/// more file creations and removals per asset in the one partial-file folder, where
/// parallel downloads contend for the folder's lock.
pub fn asset_part_path(directory: &Path, asset: &AssetId, version: u64) -> PathBuf {
    directory
        .join(PARTIAL_DIR)
        .join(format!("{asset}.{version:016x}.part"))
}

/// Where the partial file of a download to an explicit `destination` lives: in the
/// partial-file folder beside it, keyed by the destination's name.
pub fn part_path(destination: &Path) -> PathBuf {
    let name = destination
        .file_name()
        .unwrap_or_default()
        .as_encoded_bytes();
    let key = format!("file-{:08x}-{}.part", crc32c::crc32c(name), name.len());
    let folder = destination.parent().unwrap_or(Path::new(""));
    folder.join(PARTIAL_DIR).join(key)
}

/// Creates the partial-file folder that holds `part` if needed; a link in its place is
/// refused, so partial files are never written outside the download folder.
pub(crate) fn ensure_partial_dir(part: &Path) -> Result<()> {
    let Some(folder) = part.parent() else {
        return Ok(());
    };
    match std::fs::symlink_metadata(folder) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::io(
            folder,
            std::io::Error::other(
                "is a link or a file where the SDK keeps partial downloads; remove it and run \
                 again",
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir(folder) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => ensure_partial_dir(part),
            Err(e) => Err(Error::io(folder, e)),
        },
        Err(e) => Err(Error::io(folder, e)),
    }
}

/// Removes the partial files left in `directory` for the assets in `done` (put in place or
/// found complete by this run: what is left for them is of another version of their
/// content, or from an SDK that named partial files otherwise), then the partial-file
/// folder itself when nothing is left in it.
pub(crate) fn tidy_partial_dir(directory: &Path, done: &HashSet<String>) {
    let folder = directory.join(PARTIAL_DIR);
    if std::fs::remove_dir(&folder).is_ok() {
        return;
    }
    super::folder::sweep(&folder, done);
    let _ = std::fs::remove_dir(&folder);
}

/// What the finished file must be.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Expected {
    /// Its size, when known beforehand (an asset's); only then can a partial file be
    /// continued. Otherwise the response's `Content-Length` is checked.
    pub size: Option<u64>,
    /// Its CRC32C, when the asset gives one.
    pub crc: Option<u32>,
}

/// A number that changes when an asset's content changes: its CRC32C when the service
/// gives one, else a digest of its content generation, content time and size. It is part
/// of the partial file's name ([`asset_part_path`]), so a partial download is continued
/// only for the asset's current content.
pub fn content_version(asset: &crate::models::Asset) -> u64 {
    let m = &asset.metadata;
    match m.hash.crc32c() {
        Some(crc) => (1 << 32) | u64::from(crc),
        None => {
            let key = format!(
                "{}:{}:{}",
                m.generations.asset,
                m.contents_last_updated.as_millis(),
                m.file_size
            );
            (2 << 32) | u64::from(crc32c::crc32c(key.as_bytes()))
        }
    }
}

/// Where a file comes from.
pub(crate) struct Source {
    /// The signed URL to start with.
    pub url: SignedUrl,
    /// The asset, when a refused or expired URL can be signed again by fetching it anew.
    pub asset: Option<(DatasetId, AssetId)>,
    /// Where the transport counts the bytes it writes, if anywhere.
    pub meter: Option<Meter>,
}

/// A file put in place.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fetched {
    /// The file's size.
    pub size: u64,
    /// The bytes of a partial file from an earlier attempt or run that were kept.
    pub resumed_from: u64,
}

/// Downloads `source` to `destination` through `part`, verified, retried and re-signed as
/// the policy allows.
///
/// # Errors
/// The last failure once the policy gives up: an API error from the storage,
/// [`Error::Verification`], a transport error, or [`Error::Io`] naming the file.
pub(crate) async fn fetch_into_place(
    core: &Core,
    source: Source,
    part: &Path,
    destination: &Path,
    expected: Expected,
) -> Result<Fetched> {
    let p = part.to_path_buf();
    run_blocking(core.runtime().as_ref(), move || ensure_partial_dir(&p)).await??;
    let can_resign = source.asset.is_some();
    let url = Mutex::new(source.url);
    let asset = source.asset.as_ref();
    let meter = source.meter.as_ref();
    core.retrying(
        Safety::Safe,
        Target::SignedDownload,
        can_resign,
        |_, resign| {
            let url = &url;
            async move {
                if resign {
                    if let Some((dataset, id)) = asset {
                        match fresh_url(core, dataset, id).await {
                            Ok(fresh) => *lock(url) = fresh,
                            Err(e) => return Attempt::Done(Err(e)),
                        }
                    }
                }
                let current = lock(url).clone();
                attempt(core, &current, part, destination, expected, meter).await
            }
        },
    )
    .await
}

/// A fresh signed URL for an asset whose URL expired or was refused.
async fn fresh_url(core: &Core, dataset: &DatasetId, id: &AssetId) -> Result<SignedUrl> {
    let asset = core.execute(&GetAsset::new(dataset, id, true)).await?;
    asset.download_url().cloned().ok_or_else(|| Error::Decode {
        operation: OPERATION.into(),
        message: format!("the service gave no download URL for asset {id}"),
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One GET into the partial file, then verification and the rename.
async fn attempt(
    core: &Core,
    url: &SignedUrl,
    part: &Path,
    destination: &Path,
    expected: Expected,
    meter: Option<&Meter>,
) -> Attempt<Fetched> {
    let signed = match SignedRequest::new(SignedKind::Download, url, None, core.config()) {
        Ok(signed) => signed,
        Err(e) => return Attempt::Done(Err(e)),
    };
    let runtime = core.runtime().as_ref();
    let have = match expected.size {
        Some(size) => {
            let p = part.to_path_buf();
            run_blocking(runtime, move || continuable_length(&p, size))
                .await
                .unwrap_or(0)
        }
        None => 0,
    };
    let mut request = signed.request(Body::Empty);
    if have > 0 {
        if let Ok(range) = http::HeaderValue::try_from(format!("bytes={have}-")) {
            request.headers_mut().insert(http::header::RANGE, range);
        }
    }
    let target = DownloadTarget {
        path: part.to_path_buf(),
        offset: have,
        max_len: expected.size,
        meter: meter.cloned(),
    };
    let head = match core.transport().download(request, target).await {
        Ok(head) => head,
        Err(e) if e.kind == TransportErrorKind::BodyTooLong => {
            // More than the asset's size, whatever the encoding: the bytes are not the
            // asset's. Start over.
            let p = part.to_path_buf();
            let _ = run_blocking(runtime, move || std::fs::remove_file(p)).await;
            let expected = expected.size.unwrap_or_default();
            let received = expected + 1;
            return Attempt::mismatch(destination, Mismatch::Long { received, expected });
        }
        Err(e) => return Attempt::from_transport(OPERATION, e),
    };
    if head.status == http::StatusCode::RANGE_NOT_SATISFIABLE {
        let p = part.to_path_buf();
        let _ = run_blocking(runtime, move || std::fs::remove_file(p)).await;
        return Attempt::mismatch(destination, Mismatch::ResumeRefused);
    }
    if !head.status.is_success() {
        return Attempt::from_response(OPERATION, &error_response(head));
    }
    let resumed = head.status == http::StatusCode::PARTIAL_CONTENT;
    let received = if resumed {
        have + head.written
    } else {
        head.written
    };
    let declared = expected
        .size
        .or_else(|| content_length(&head).map(|len| if resumed { have + len } else { len }));
    if let Some(size) = declared.filter(|&size| received < size) {
        // Short: keep the bytes; with a known size the next attempt continues them.
        return Attempt::mismatch(
            destination,
            Mismatch::Short {
                received,
                expected: size,
            },
        );
    }
    let (p, dest, crc) = (part.to_path_buf(), destination.to_path_buf(), expected.crc);
    let checked = run_blocking(runtime, move || finish(&p, &dest, received, declared, crc)).await;
    match checked {
        Ok(Ok(None)) => Attempt::Done(Ok(Fetched {
            size: received,
            resumed_from: if resumed { have } else { 0 },
        })),
        Ok(Ok(Some(mismatch))) => Attempt::mismatch(destination, mismatch),
        Ok(Err((at, e))) => Attempt::Done(Err(Error::io(at, e))),
        Err(e) => Attempt::Done(Err(e)),
    }
}

/// How much of the partial file can be continued: its length, or 0 (after removing it)
/// when it is as long as the whole file or longer.
fn continuable_length(part: &Path, size: u64) -> u64 {
    let len = length_of(part);
    if len >= size && len > 0 {
        let _ = std::fs::remove_file(part);
        0
    } else {
        len
    }
}

/// Checks a complete-looking partial file and renames it into place; a mismatch removes
/// it, so the next attempt starts over. A failure names the file it concerns: the partial
/// file when it could not be read or vanished, the destination when it could not be
/// replaced.
fn finish(
    part: &Path,
    destination: &Path,
    received: u64,
    declared: Option<u64>,
    crc: Option<u32>,
) -> Result<Option<Mismatch>, (PathBuf, std::io::Error)> {
    let at_part = |e| (part.to_path_buf(), e);
    if let Some(expected) = declared.filter(|&size| received > size) {
        std::fs::remove_file(part).map_err(at_part)?;
        return Ok(Some(Mismatch::Long { received, expected }));
    }
    if let Some(expected) = crc {
        let actual = file_crc(part).map_err(at_part)?;
        if actual != expected {
            std::fs::remove_file(part).map_err(at_part)?;
            return Ok(Some(Mismatch::Checksum { actual, expected }));
        }
    }
    match std::fs::rename(part, destination) {
        Ok(()) => Ok(None),
        Err(e) if std::fs::symlink_metadata(part).is_err() => Err((part.to_path_buf(), e)),
        Err(e) => Err((destination.to_path_buf(), e)),
    }
}

/// The storage's error answer as a response, for the error and the policy.
fn error_response(head: DownloadHead) -> http::Response<bytes::Bytes> {
    let mut response = http::Response::new(head.error_body);
    *response.status_mut() = head.status;
    *response.headers_mut() = head.headers;
    response
}

fn content_length(head: &DownloadHead) -> Option<u64> {
    head.headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// CRC32C of a file, streamed; opened without blocking and refused unless it is a regular
/// file (a FIFO swapped in for it would otherwise hang the read).
pub(crate) fn file_crc(path: &Path) -> std::io::Result<u32> {
    let (mut file, meta) = crate::fsguard::open_to_read(path)?;
    // Sized to the file (8 KiB to 256 KiB): a zeroed 1 MiB buffer per 2 KiB file cost a
    // megabyte of memset per file and kept megabytes in every worker's allocator arena.
    let len = Some(meta.len());
    let mut buf = vec![0u8; crate::transport::buffer_for(len)];
    let mut crc = 0u32;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(crc);
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
    }
}

/// Whether the file at `path` is a complete copy: same size, and same checksum if known.
/// `None` when there is no file.
pub(crate) fn is_complete_copy(
    path: &Path,
    size: u64,
    crc: Option<u32>,
) -> std::io::Result<Option<bool>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // A link (even to a good copy) or anything but a regular file is not a copy.
    if !meta.file_type().is_file() || meta.len() != size {
        return Ok(Some(false));
    }
    match crc {
        Some(expected) => Ok(Some(file_crc(path)? == expected)),
        None => Ok(Some(true)),
    }
}

pub(crate) fn length_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

impl Core {
    /// Downloads a signed URL to `destination` and returns the number of bytes written.
    ///
    /// The body goes to a partial file first and is renamed into place when its size
    /// matches the response's `Content-Length`. Transient failures are retried with
    /// backoff; a refused URL (403/400: tampered or expired) is final here, since a fresh
    /// URL can only come from the asset.
    ///
    /// # Errors
    /// [`Error::Api`] for an error status (e.g. 403 for an expired URL),
    /// [`Error::Transport`] / [`Error::RetriesExhausted`] for network trouble,
    /// [`Error::Verification`] when the body does not match its length,
    /// [`Error::Io`] when the file cannot be written.
    pub async fn download_url(&self, url: &SignedUrl, destination: &Path) -> Result<u64> {
        // Checked before any file is touched.
        SignedRequest::new(SignedKind::Download, url, None, self.config())?;
        let destination = destination.to_path_buf();
        let part = part_path(&destination);
        if let Some(parent) = destination.parent().map(Path::to_path_buf) {
            run_blocking(self.runtime().as_ref(), move || {
                std::fs::create_dir_all(&parent).map_err(|e| Error::io(parent, e))
            })
            .await??;
        }
        let source = Source {
            url: url.clone(),
            asset: None,
            meter: None,
        };
        let result = fetch_into_place(self, source, &part, &destination, Expected::default()).await;
        if result.is_err() {
            run_blocking(self.runtime().as_ref(), move || {
                let _ = std::fs::remove_file(part);
            })
            .await?;
        }
        result.map(|fetched| fetched.size)
    }
}
