//! Opening files that may fight back.
//!
//! Every file the SDK opens, to read an upload or to write a download, goes through here:
//!
//! * it is opened **without blocking** (`O_NONBLOCK`), so a FIFO or a device put where a
//!   file was expected can never hang the call (opening a FIFO blocks until its other end
//!   is opened; with `O_NONBLOCK` it returns at once or fails);
//! * it is then **checked through the open descriptor** (`fstat`), never by a look at the
//!   path beforehand (which a swap between the look and the open would defeat): it must be
//!   a regular file; a partial download must also not be a link of any kind (no symbolic
//!   link is followed, and a file with more than one hard link is refused, so a download
//!   never writes into a file that has another name elsewhere);
//! * an upload's file must still be the one that was scanned ([`FileStamp`]: the same
//!   device and inode, size and modification time), when it is opened and again after its
//!   last byte is read, and the bytes sent must have the CRC32C declared for them
//!   ([`SliceReader`]).
//!
//! Anything else is that one file's failure, with a reason naming the file and what it
//! is. A file that changed is failed ("changed while uploading") rather than scanned and
//! sent again: the new content may still be changing (a file being written, a log being
//! appended to), so a second attempt could meet the same race, and a failure names the
//! file so the user can upload it again once it is complete; a silent re-send would
//! instead upload whichever content happened to be there.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::transport::{FileSlice, TransportError, TransportErrorKind};

/// What a file was when it was scanned for upload: checked again when it is sent, so a
/// file replaced, grown, shrunk or rewritten since is noticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileStamp {
    device: u64,
    inode: u64,
    size: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    /// The stamp of a file from its metadata (taken through the open file).
    pub fn of(meta: &Metadata) -> Self {
        let (device, inode) = identity(meta);
        FileStamp {
            device,
            inode,
            size: meta.len(),
            modified: meta.modified().ok(),
        }
    }

    /// The file's size when it was scanned.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How `now` differs from this stamp, as the end of a sentence; `None` when it does
    /// not.
    fn change(&self, now: &Metadata) -> Option<String> {
        let (device, inode) = identity(now);
        if (device, inode) != (self.device, self.inode) {
            return Some("it was replaced by another file after it was scanned".to_owned());
        }
        if now.len() != self.size {
            return Some(format!(
                "it was {} bytes when it was scanned and is {} bytes now",
                self.size,
                now.len()
            ));
        }
        if now.modified().ok() != self.modified {
            return Some("it was modified after it was scanned".to_owned());
        }
        None
    }
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(unix)]
fn link_count(meta: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

#[cfg(not(unix))]
fn link_count(_meta: &Metadata) -> u64 {
    1
}

/// What a file system entry is, for messages ("a FIFO (named pipe)").
pub(crate) fn what_it_is(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a folder"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The error for an entry that is not a regular file.
fn not_regular(file_type: std::fs::FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {}, not a regular file", what_it_is(file_type)),
    )
}

/// True when `error` came from this module's checks (the entry is not a regular file, has
/// other links or changed), rather than from the operating system.
pub(crate) fn is_refusal(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::InvalidInput && error.raw_os_error().is_none()
}

#[cfg(unix)]
fn no_block(options: &mut OpenOptions, follow: bool) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    options.custom_flags(flags);
}

#[cfg(not(unix))]
fn no_block(_options: &mut OpenOptions, _follow: bool) {}

/// Makes reads and writes of an opened regular file block again, as ordinary file I/O
/// does (`O_NONBLOCK` was only for the open).
#[cfg(unix)]
fn blocking_again(file: &File) -> io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    fcntl_setfl(file, flags.difference(OFlags::NONBLOCK))?;
    Ok(())
}

#[cfg(not(unix))]
fn blocking_again(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Says what is at `path` when opening it failed: the open's own error, or what the entry
/// is when that explains the failure better (`ENXIO` for a FIFO without a reader, `ELOOP`
/// for a link with `O_NOFOLLOW`, `EISDIR`).
fn explain_open_failure(path: &Path, error: io::Error) -> io::Error {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => not_regular(meta.file_type()),
        _ => error,
    }
}

/// Opens an upload's file for reading (following links, as the scan did), without
/// blocking on a FIFO or device, and checks through the open file that it is a regular
/// file. Returns the file (reads block normally) and its metadata.
///
/// # Errors
/// The operating system's error, or one for which [`is_refusal`] holds ("it is a FIFO
/// (named pipe), not a regular file").
pub(crate) fn open_to_read(path: &Path) -> io::Result<(File, Metadata)> {
    let mut options = OpenOptions::new();
    options.read(true);
    no_block(&mut options, true);
    let (file, meta) = open_regular(path, &options)?;
    blocking_again(&file)?;
    Ok((file, meta))
}

/// Opens `path` with `options` (which include `O_NONBLOCK`) and checks through the open
/// file that it is a regular file.
fn open_regular(path: &Path, options: &OpenOptions) -> io::Result<(File, Metadata)> {
    let file = options
        .open(path)
        .map_err(|e| explain_open_failure(path, e))?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    Ok((file, meta))
}

/// Opens a file the SDK owns (a partial download, the folder's lock) for writing, and
/// for reading when `read`: never through a symbolic link, without blocking on a FIFO or
/// device, created when `create`; refused unless it is a regular file with no other hard
/// link. Nothing is cut or written before these checks.
///
/// # Errors
/// The operating system's error (a symbolic link gives `ELOOP` on Unix), or one for which
/// [`is_refusal`] holds.
pub(crate) fn open_own(path: &Path, create: bool, read: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).read(read).create(create);
    no_block(&mut options, false);
    if !cfg!(unix) && crate::transport::is_link(path) {
        return Err(not_regular(std::fs::symlink_metadata(path)?.file_type()));
    }
    let (file, meta) = open_regular(path, &options)?;
    let links = link_count(&meta);
    if links != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "it has {links} hard links: another name elsewhere shares its content, so \
                 the SDK will not write into it"
            ),
        ));
    }
    blocking_again(&file)?;
    Ok(file)
}

/// Creates a new file of the SDK's own (an entry unpacked from an archive): never through
/// a link, and failing with `AlreadyExists` if anything at all is already at `path`.
///
/// # Errors
/// The operating system's error.
pub(crate) fn create_new_own(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    no_block(&mut options, false);
    let file = options.open(path)?;
    blocking_again(&file)?;
    Ok(file)
}

/// Reads an upload's byte range ([`FileSlice`]) for a transport, checking as it goes:
///
/// * opened without blocking (no hang on a FIFO, a regular file only) and, when the
///   slice has a [`FileStamp`], still the scanned file, unchanged;
/// * exactly `len` bytes from `offset`: a file that ends early fails the read;
/// * before the last byte is handed over, the file is checked against its stamp again and
///   the CRC32C of the bytes read against the declared one, so a file that changed while
///   it was being sent fails with "changed while uploading" and the request never carries
///   a complete body.
///
/// Both facades stream every file body through this reader (the async one on its
/// blocking pool).
#[derive(Debug)]
pub struct SliceReader {
    file: File,
    path: PathBuf,
    remaining: u64,
    stamp: Option<FileStamp>,
    /// The declared CRC32C and the one of the bytes read so far.
    crc: Option<(u32, u32)>,
}

impl SliceReader {
    /// Opens `slice` for reading.
    ///
    /// # Errors
    /// [`TransportErrorKind::BodyRead`] naming the file: it cannot be opened, is not a
    /// regular file, changed since it was scanned, or is shorter than the slice's start.
    pub fn open(slice: &FileSlice) -> Result<Self, TransportError> {
        let failed = |e: io::Error| read_error(&slice.path, &e);
        let (mut file, meta) = open_to_read(&slice.path).map_err(failed)?;
        if let Some(change) = slice.stamp.as_ref().and_then(|s| s.change(&meta)) {
            return Err(changed(&slice.path, &change));
        }
        if slice.offset > 0 {
            file.seek(SeekFrom::Start(slice.offset)).map_err(failed)?;
        }
        Ok(SliceReader {
            file,
            path: slice.path.clone(),
            remaining: slice.len,
            stamp: slice.stamp,
            crc: slice.crc32c.map(|expected| (expected, 0)),
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The checks after the last byte: same file, same size and time, declared CRC32C.
    fn check_end(&self) -> io::Result<()> {
        if let Some(stamp) = &self.stamp {
            let now = self.file.metadata()?;
            if let Some(change) = stamp.change(&now) {
                return Err(changed_error(&change));
            }
        }
        if let Some((expected, actual)) = self.crc {
            if expected != actual {
                return Err(changed_error(&format!(
                    "the bytes read have CRC32C {actual:08x}, not the {expected:08x} computed \
                     when it was scanned"
                )));
            }
        }
        Ok(())
    }
}

impl Read for SliceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let n = loop {
            match self.file.read(&mut buf[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the file ended {} bytes before the end of the slice; it changed while \
                     uploading",
                    self.remaining
                ),
            ));
        }
        self.remaining -= n as u64;
        if let Some((_, crc)) = &mut self.crc {
            *crc = crc32c::crc32c_append(*crc, &buf[..n]);
        }
        if self.remaining == 0 {
            // Held back until checked: a request whose body stops short is never taken
            // as a complete upload.
            self.check_end()?;
        }
        Ok(n)
    }
}

fn changed_error(change: &str) -> io::Error {
    io::Error::other(format!(
        "changed while uploading: {change}; nothing was kept, upload it again once it is \
         complete"
    ))
}

fn changed(path: &Path, change: &str) -> TransportError {
    read_error(path, &changed_error(change))
}

fn read_error(path: &Path, error: &io::Error) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyRead,
        format!("{}: {error}", path.display()),
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::{Duration, Instant};

    fn fifo(path: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }

    /// Runs `f` on a thread and fails the test, rather than hanging it, if `f` blocks.
    fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()));
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the open blocked")
    }

    fn slice(path: &Path, len: u64, stamp: Option<FileStamp>, crc: Option<u32>) -> FileSlice {
        let mut slice = FileSlice::new(path, 0, len);
        slice.stamp = stamp;
        slice.crc32c = crc;
        slice
    }

    fn read_all(slice: &FileSlice) -> Result<Vec<u8>, String> {
        let mut reader = SliceReader::open(slice).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        reader
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())
            .map(|_| out)
    }

    #[test]
    fn a_fifo_is_refused_for_reading_and_writing_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pipe.part");
        fifo(&path);
        let p = path.clone();
        let started = Instant::now();
        let read = within_a_minute(move || open_to_read(&p).map(|_| ()));
        let err = read.unwrap_err();
        assert!(is_refusal(&err), "{err}");
        assert!(err.to_string().contains("FIFO"), "{err}");
        let p = path.clone();
        // No reader: the open fails at once (ENXIO), explained as a FIFO.
        let err = within_a_minute(move || open_own(&p, true, false).map(|_| ())).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        // With a reader at the other end the open succeeds, and the check refuses it.
        let p = path.clone();
        let reader = std::thread::spawn(move || {
            let mut options = OpenOptions::new();
            options.read(true);
            no_block(&mut options, false);
            options.open(&p).unwrap()
        })
        .join()
        .unwrap();
        let p = path.clone();
        let err = within_a_minute(move || open_own(&p, false, false).map(|_| ())).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        drop(reader);
        let slice_err = read_all(&slice(&path, 4, None, None)).unwrap_err();
        assert!(slice_err.contains("FIFO"), "{slice_err}");
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn a_file_with_another_hard_link_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        let part = dir.path().join("x.part");
        std::fs::hard_link(&victim, &part).unwrap();
        let err = open_own(&part, true, false).unwrap_err();
        assert!(is_refusal(&err), "{err}");
        assert!(err.to_string().contains("2 hard links"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn a_symbolic_link_and_a_folder_are_refused_as_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, b"t").unwrap();
        let link = dir.path().join("l.part");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open_own(&link, true, false).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let folder = dir.path().join("d.part");
        std::fs::create_dir(&folder).unwrap();
        let err = open_own(&folder, true, false).unwrap_err();
        assert!(err.to_string().contains("a folder"), "{err}");
        let err = open_to_read(&folder).unwrap_err();
        assert!(err.to_string().contains("a folder"), "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"t");
    }

    #[test]
    fn a_character_device_is_refused_for_reading() {
        let err = open_to_read(Path::new("/dev/null")).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
    }

    #[test]
    fn an_unchanged_file_reads_whole_with_its_crc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, b"hello world").unwrap();
        let (_, meta) = open_to_read(&path).unwrap();
        let crc = crc32c::crc32c(b"hello world");
        let got = read_all(&slice(&path, 11, Some(FileStamp::of(&meta)), Some(crc))).unwrap();
        assert_eq!(got, b"hello world");
    }

    #[test]
    fn a_file_appended_to_while_it_is_read_fails_before_its_last_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grows.bin");
        let data = vec![7u8; 100_000];
        std::fs::write(&path, &data).unwrap();
        let (_, meta) = open_to_read(&path).unwrap();
        let s = slice(
            &path,
            data.len() as u64,
            Some(FileStamp::of(&meta)),
            Some(crc32c::crc32c(&data)),
        );
        let mut reader = SliceReader::open(&s).unwrap();
        let mut first = vec![0u8; 50_000];
        reader.read_exact(&mut first).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"more").unwrap();
        let mut rest = Vec::new();
        let err = reader.read_to_end(&mut rest).unwrap_err();
        assert!(err.to_string().contains("changed while uploading"), "{err}");
        assert!(err.to_string().contains("100004 bytes now"), "{err}");
        assert!(rest.len() < 50_000, "the last byte was held back");
    }

    #[test]
    fn bytes_rewritten_in_place_fail_on_the_crc_or_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edit.bin");
        std::fs::write(&path, b"aaaaaaaa").unwrap();
        let (_, meta) = open_to_read(&path).unwrap();
        let stamp = FileStamp::of(&meta);
        // Same size, other bytes, and the time put back: only the CRC32C can tell.
        std::fs::write(&path, b"bbbbbbbb").unwrap();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_modified(meta.modified().unwrap()).unwrap();
        let err = read_all(&slice(
            &path,
            8,
            Some(stamp),
            Some(crc32c::crc32c(b"aaaaaaaa")),
        ))
        .unwrap_err();
        assert!(err.contains("changed while uploading"), "{err}");
        assert!(err.contains("CRC32C"), "{err}");
        // Another time: refused when opened.
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(5))
            .unwrap();
        let err = SliceReader::open(&slice(&path, 8, Some(stamp), None)).unwrap_err();
        assert!(
            err.to_string().contains("modified after it was scanned"),
            "{err}"
        );
    }

    #[test]
    fn a_file_replaced_after_its_scan_is_refused_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swap.bin");
        std::fs::write(&path, b"first").unwrap();
        let (_, meta) = open_to_read(&path).unwrap();
        let other = dir.path().join("other.bin");
        std::fs::write(&other, b"first").unwrap();
        std::fs::rename(&other, &path).unwrap();
        let err =
            SliceReader::open(&slice(&path, 5, Some(FileStamp::of(&meta)), None)).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::BodyRead);
        assert!(err.message.contains("replaced by another file"), "{err}");
    }

    #[test]
    fn a_file_that_shrinks_fails_as_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.bin");
        std::fs::write(&path, b"0123456789").unwrap();
        let err = read_all(&slice(&path, 20, None, None)).unwrap_err();
        assert!(err.contains("ended 10 bytes before"), "{err}");
    }
}
