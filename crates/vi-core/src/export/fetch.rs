//! Reading an export archive from its signed URL: its size from `HEAD` (or a one-byte
//! range when `HEAD` is refused), then ranged `GET`s in parallel through the runtime,
//! each answer checked against the range asked for and written at its offset, with a
//! state file beside the archive so that a later run continues where this one stopped.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::endpoints::GetExport;
use crate::engine::{Attempt, Core};
use crate::error::{Error, Mismatch, Result};
use crate::ids::{DatasetId, ExportId};
use crate::models::{AssetHash, ExportDownloadUrl};
use crate::pool::TaskSet;
use crate::retry::{Safety, Target};
use crate::runtime::run_blocking;
use crate::signed::{SignedKind, SignedRequest};
use crate::transport::{Body, Response};

use super::{ExportEvent, ProgressFn};

const OPERATION: &str = "download export archive";

/// The most range bytes held in memory at once when the concurrency is left to the SDK.
const RANGE_MEMORY: u64 = 128 << 20;

/// The chunk size for an archive of `size` bytes: 64 KiB below 10 MiB, 256 KiB below
/// 100 MiB, 4 MiB below 5 GiB, 8 MiB below 20 GiB, 16 MiB from there (the official
/// client's plan; any size works, the storage sees only ranges).
pub fn chunk_size(size: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    match size {
        s if s < 10 * MIB => 64 << 10,
        s if s < 100 * MIB => 256 << 10,
        s if s < 5 * GIB => 4 * MIB,
        s if s < 20 * GIB => 8 * MIB,
        _ => 16 * MIB,
    }
}

/// How many ranged reads run at once for an archive of `size` bytes.
pub fn parallelism(size: u64) -> usize {
    const GIB: u64 = 1 << 30;
    match size {
        s if s < 5 * GIB => 8,
        s if s < 20 * GIB => 16,
        _ => 32,
    }
}

/// The byte ranges `[start, end]` (inclusive) of `size` bytes in chunks of `chunk`.
pub fn ranges(size: u64, chunk: u64) -> Vec<(u64, u64)> {
    let chunk = chunk.max(1);
    (0..size.div_ceil(chunk))
        .map(|i| (i * chunk, ((i + 1) * chunk).min(size) - 1))
        .collect()
}

/// Whether an answer to `Range: bytes=start-end` of a `total`-byte object is exactly
/// those bytes: `206` with `Content-Range: bytes start-end/total` and as many bytes, or
/// a `200` with the whole object when the whole object was asked for.
///
/// # Errors
/// What came back instead, for the error message.
pub fn check_range(
    status: http::StatusCode,
    content_range: Option<&str>,
    received: u64,
    (start, end): (u64, u64),
    total: u64,
) -> std::result::Result<(), String> {
    let want = end - start + 1;
    let ok = match status.as_u16() {
        206 => {
            content_range.map(str::trim) == Some(format!("bytes {start}-{end}/{total}").as_str())
                && received == want
        }
        200 => start == 0 && end + 1 == total && received == total,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(format!(
        "{status} with Content-Range {} and {received} bytes",
        content_range.map_or_else(
            || "none".to_owned(),
            |r| crate::redact::printable(r, false).into_owned()
        )
    ))
}

/// What is kept beside the archive between runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct State {
    /// The export the archive comes from.
    pub export: String,
    /// The settings it was created with (format, normalized, split ratio), to reuse it
    /// only for the same request.
    pub settings: String,
    /// The archive's size, once known.
    pub size: Option<u64>,
    /// The storage's version tag of the archive, when it gives one.
    pub etag: Option<String>,
    /// The chunk size the ranges were planned with.
    pub chunk_size: u64,
    /// The CRC32C of every chunk written, by index.
    pub done: BTreeMap<u64, u32>,
}

/// Where the archive and its state live while downloading: beside the dataset's folder,
/// never inside it.
#[derive(Clone, Debug)]
pub(crate) struct WorkDir {
    pub dir: PathBuf,
}

impl WorkDir {
    pub(crate) fn archive(&self) -> PathBuf {
        self.dir.join("archive.zip")
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The state left by an earlier run, if any and readable.
    pub(crate) fn load(&self) -> Option<State> {
        let text = std::fs::read(self.state_path()).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Writes the state atomically (a temporary file renamed over the old one).
    pub(crate) fn save(&self, state: &State) -> Result<()> {
        ensure_dir(&self.dir)?;
        let tmp = self.dir.join("state.json.tmp");
        let bytes = serde_json::to_vec(state).unwrap_or_default();
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, self.state_path()).map_err(|e| Error::io(self.state_path(), e))
    }

    /// Removes the folder and everything in it.
    pub(crate) fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates `dir` if needed; a link or a file in its place is refused.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::io(
            dir,
            std::io::Error::other("is a link or a file where the SDK keeps a download; remove it"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(dir).or_else(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(Error::io(dir, e)),
            })
        }
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// What the archive's `HEAD` said.
struct Probe {
    size: u64,
    etag: Option<String>,
    crc32c: Option<u32>,
}

/// The URL of an export, refreshed from the API when the storage refuses it.
#[derive(Clone)]
pub(crate) struct ArchiveSource {
    pub core: Core,
    pub dataset: DatasetId,
    pub export: ExportId,
    pub url: Arc<Mutex<ExportDownloadUrl>>,
}

impl ArchiveSource {
    fn current(&self) -> ExportDownloadUrl {
        lock(&self.url).clone()
    }

    async fn refresh(&self) -> Result<()> {
        let get = GetExport {
            dataset: self.dataset.clone(),
            export: self.export.clone(),
        };
        let export = self.core.execute(&get).await?;
        let url = export
            .download_url()
            .cloned()
            .ok_or_else(|| Error::Decode {
                operation: OPERATION.into(),
                message: format!("export {} no longer has a download URL", self.export),
            })?;
        *lock(&self.url) = url;
        Ok(())
    }

    /// One request to the archive: `HEAD`, or `GET` of a range, without credentials and
    /// without transfer compression (a compressed range would not match its offsets).
    async fn send(&self, head: bool, range: Option<(u64, u64)>) -> Attempt<Response> {
        let url = self.current().to_signed();
        let signed = match SignedRequest::new(SignedKind::Download, &url, None, self.core.config())
        {
            Ok(s) => s,
            Err(e) => return Attempt::Done(Err(e)),
        };
        let mut request = signed.request(Body::Empty);
        if head {
            *request.method_mut() = http::Method::HEAD;
        }
        let headers = request.headers_mut();
        headers.insert(
            http::header::ACCEPT_ENCODING,
            http::HeaderValue::from_static("identity"),
        );
        if let Some((start, end)) = range {
            if let Ok(v) = http::HeaderValue::try_from(format!("bytes={start}-{end}")) {
                headers.insert(http::header::RANGE, v);
            }
        }
        let result = self.core.transport().send(request).await;
        Attempt::from_exchange(OPERATION, result, Ok)
    }

    /// Runs `attempt` under the retry policy for signed downloads, signing the URL again
    /// (through the export) when the storage refuses it.
    async fn retried<T, F, Fut>(&self, attempt: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let attempt = &attempt;
        self.core
            .retrying(
                Safety::Safe,
                Target::SignedDownload,
                true,
                |_, resign| async move {
                    if resign {
                        if let Err(e) = self.refresh().await {
                            return Attempt::Done(Err(e));
                        }
                    }
                    attempt().await
                },
            )
            .await
    }

    /// The archive's size (and version tag and checksum when given).
    async fn probe(&self) -> Result<Probe> {
        let head = self.retried(|| self.send(true, None)).await;
        let from_head = match &head {
            Ok(r) => header_u64(r, http::header::CONTENT_LENGTH).filter(|&n| n > 0),
            Err(_) => None,
        };
        if let (Ok(response), Some(size)) = (&head, from_head) {
            return Ok(probe_of(response, size));
        }
        // No usable HEAD: one byte, whose Content-Range gives the size.
        let response = self.retried(|| self.send(false, Some((0, 0)))).await?;
        let size = response
            .headers()
            .get(http::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit_once('/'))
            .and_then(|(_, total)| total.trim().parse::<u64>().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| Error::Decode {
                operation: OPERATION.into(),
                message: format!(
                    "the storage gave no size for the archive (no Content-Length on HEAD, no \
                     Content-Range on a ranged GET) at {}",
                    self.current().redacted_url()
                ),
            })?;
        Ok(probe_of(&response, size))
    }
}

fn probe_of(response: &Response, size: u64) -> Probe {
    let etag = response
        .headers()
        .get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let crc32c = response
        .headers()
        .get_all("x-goog-hash")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (alg, value) = part.trim().split_once('=')?;
            AssetHash {
                algorithm: alg.to_owned(),
                contents: value.to_owned(),
            }
            .crc32c()
        });
    Probe { size, etag, crc32c }
}

fn header_u64(response: &Response, name: http::header::HeaderName) -> Option<u64> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How the archive was obtained.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fetched {
    pub size: u64,
    pub resumed: u64,
}

/// Downloads the archive of `source` into `work`, continuing what an earlier run left
/// when it is of the same export and size, and verifies it as a whole when the storage
/// gives a checksum.
pub(crate) async fn fetch_archive(
    source: &ArchiveSource,
    work: &WorkDir,
    mut state: State,
    chunk_override: Option<u64>,
    concurrency: Option<usize>,
    progress: &ProgressFn,
) -> Result<Fetched> {
    let runtime = source.core.runtime().clone();
    let probe = source.probe().await?;
    let chunk = chunk_override
        .unwrap_or_else(|| chunk_size(probe.size))
        .max(1);
    let plan = ranges(probe.size, chunk);
    let archive = work.archive();
    let same =
        state.size == Some(probe.size) && state.chunk_size == chunk && state.etag == probe.etag;
    if !same {
        state.done.clear();
    }
    state.size = Some(probe.size);
    state.etag = probe.etag.clone();
    state.chunk_size = chunk;
    // Check what an earlier run wrote: a chunk counts only if its bytes still match.
    let (a, s, p) = (archive.clone(), state.clone(), plan.clone());
    let (state_checked, kept) =
        run_blocking(runtime.as_ref(), move || prepare(&a, s, &p, probe.size)).await??;
    state = state_checked;
    let wd = work.clone();
    let st = state.clone();
    run_blocking(runtime.as_ref(), move || wd.save(&st)).await??;
    let resumed: u64 = kept;
    let mut received = resumed;
    progress(&ExportEvent::Downloading {
        received,
        total: probe.size,
    });
    let todo: Vec<(u64, (u64, u64))> = plan
        .iter()
        .copied()
        .enumerate()
        .map(|(i, r)| (i as u64, r))
        .filter(|(i, _)| !state.done.contains_key(i))
        .collect();
    // Each range is held in memory until written: at most RANGE_MEMORY bytes at once.
    let by_memory = usize::try_from(RANGE_MEMORY / chunk).unwrap_or(usize::MAX);
    let limit = concurrency
        .unwrap_or_else(|| parallelism(probe.size).min(by_memory))
        .max(1);
    let mut tasks: TaskSet<(u64, Result<(u64, u32)>)> = TaskSet::new(runtime.clone());
    let mut queue = todo.into_iter();
    let mut failure: Option<Error> = None;
    loop {
        while failure.is_none() && tasks.len() < limit {
            let Some((index, range)) = queue.next() else {
                break;
            };
            let source = source.clone();
            let archive = archive.clone();
            let total = probe.size;
            tasks.spawn(async move { (index, fetch_chunk(&source, &archive, range, total).await) });
        }
        let Some(result) = tasks.next().await else {
            break;
        };
        match result {
            Ok((index, Ok((len, crc)))) => {
                state.done.insert(index, crc);
                received += len;
                let wd = work.clone();
                let st = state.clone();
                run_blocking(runtime.as_ref(), move || wd.save(&st)).await??;
                progress(&ExportEvent::Downloading {
                    received,
                    total: probe.size,
                });
            }
            Ok((_, Err(e))) | Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(expected) = probe.crc32c {
        let a = archive.clone();
        let actual = run_blocking(runtime.as_ref(), move || crate::download::file_crc(&a))
            .await?
            .map_err(|e| Error::io(&archive, e))?;
        if actual != expected {
            work.remove();
            return Err(Error::Verification {
                path: archive,
                mismatch: Mismatch::Checksum { actual, expected },
            });
        }
    }
    Ok(Fetched {
        size: probe.size,
        resumed,
    })
}

/// Makes the archive file `size` bytes long and keeps, of the chunks `state` says are
/// written, those whose bytes still have their CRC32C. Returns the state and the bytes
/// kept.
fn prepare(
    archive: &Path,
    mut state: State,
    plan: &[(u64, u64)],
    size: u64,
) -> Result<(State, u64)> {
    let mut file =
        crate::fsguard::open_own(archive, true, true).map_err(|e| Error::io(archive, e))?;
    let len = file.metadata().map_err(|e| Error::io(archive, e))?.len();
    if len != size {
        state.done.clear();
        file.set_len(0).map_err(|e| Error::io(archive, e))?;
        file.set_len(size).map_err(|e| Error::io(archive, e))?;
    }
    let mut kept = 0;
    let mut buf = Vec::new();
    let done = std::mem::take(&mut state.done);
    for (index, crc) in done {
        let Some(&(start, end)) = usize::try_from(index).ok().and_then(|i| plan.get(i)) else {
            continue;
        };
        buf.resize(usize::try_from(end - start + 1).unwrap_or(0), 0);
        file.seek(SeekFrom::Start(start))
            .map_err(|e| Error::io(archive, e))?;
        file.read_exact(&mut buf)
            .map_err(|e| Error::io(archive, e))?;
        if crc32c::crc32c(&buf) == crc {
            state.done.insert(index, crc);
            kept += end - start + 1;
        }
    }
    Ok((state, kept))
}

/// One ranged read, checked and written at its offset; returns its length and CRC32C.
async fn fetch_chunk(
    source: &ArchiveSource,
    archive: &Path,
    (start, end): (u64, u64),
    total: u64,
) -> Result<(u64, u32)> {
    let runtime = source.core.runtime().clone();
    source
        .retried(|| {
            let runtime = runtime.clone();
            async move {
                let response = match source.send(false, Some((start, end))).await {
                    Attempt::Done(Ok(r)) => r,
                    Attempt::Done(Err(e)) => return Attempt::Done(Err(e)),
                    Attempt::Failed { outcome, error } => {
                        return Attempt::Failed { outcome, error };
                    }
                };
                let content_range = response
                    .headers()
                    .get(http::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok());
                let body = response.body().clone();
                if let Err(got) = check_range(
                    response.status(),
                    content_range,
                    body.len() as u64,
                    (start, end),
                    total,
                ) {
                    return Attempt::mismatch(
                        archive,
                        Mismatch::Range {
                            asked: format!("bytes={start}-{end}"),
                            got,
                        },
                    );
                }
                let crc = crc32c::crc32c(&body);
                let path = archive.to_path_buf();
                let written =
                    run_blocking(runtime.as_ref(), move || write_at(&path, start, &body)).await;
                match written {
                    Ok(Ok(())) => Attempt::Done(Ok((end - start + 1, crc))),
                    Ok(Err(e)) => Attempt::Done(Err(e)),
                    Err(e) => Attempt::Done(Err(e)),
                }
            }
        })
        .await
}

fn write_at(path: &Path, offset: u64, bytes: &[u8]) -> Result<()> {
    let mut file = crate::fsguard::open_own(path, false, false).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_byte_once() {
        assert_eq!(ranges(10, 4), vec![(0, 3), (4, 7), (8, 9)]);
        assert_eq!(ranges(8, 4), vec![(0, 3), (4, 7)]);
        assert!(ranges(0, 4).is_empty());
        assert_eq!(chunk_size(1), 64 << 10);
        assert_eq!(chunk_size(200 << 20), 4 << 20);
        assert_eq!(parallelism(6 << 30), 16);
    }

    #[test]
    fn only_the_exact_range_is_accepted() {
        let ok = http::StatusCode::PARTIAL_CONTENT;
        assert!(check_range(ok, Some("bytes 4-7/10"), 4, (4, 7), 10).is_ok());
        assert!(check_range(ok, Some("bytes 5-8/10"), 4, (4, 7), 10).is_err());
        assert!(check_range(ok, Some("bytes 4-7/11"), 4, (4, 7), 10).is_err());
        assert!(check_range(ok, Some("bytes 4-7/10"), 3, (4, 7), 10).is_err());
        assert!(check_range(ok, None, 4, (4, 7), 10).is_err());
        let whole = http::StatusCode::OK;
        assert!(check_range(whole, None, 10, (0, 9), 10).is_ok());
        let e = check_range(whole, None, 10, (4, 7), 10).unwrap_err();
        assert!(e.contains("200"), "{e}");
    }
}
