//! File specs: what the create-ingestion-session call declares about each file (docs/protocol.md §6.3).
//!
//! For every upload source this module works out the upload name, the MIME type, the asset
//! kind, the size and the CRC-32C, or the reason why the source cannot be uploaded
//! ([`SkipReason`]). It follows the official client:
//!
//! 1. the lower-cased final extension of the upload name must be in the extension map
//!    (docs/protocol.md §12.2, [`mime_for_extension`]); the MIME type that is sent is always the
//!    extension's (for in-memory bytes without a known extension, the sniffed one);
//! 2. the first [`SNIFF_WINDOW`] bytes are sniffed for magic numbers (the `infer` crate);
//!    content that is not recognised is skipped;
//! 3. only the top-level types (`image`, `video`, …) of the extension's MIME type and the
//!    sniffed one are compared: a `.png` that is really a JPEG passes, a `.jpg` that is
//!    really an MP4 is skipped;
//! 4. the kind follows the MIME type: `image/*` is an image, `video/*` a video, anything
//!    else cannot be uploaded;
//! 5. the CRC-32C covers the whole file and is sent as `crc as i32`, except for files
//!    larger than [`CRC_SIZE_LIMIT`], whose CRC is left out (`null`).
//!
//! # Deviations from the official client
//!
//! * **Video containers the sniffer does not know.** `infer` 0.19 recognises MP4 (common
//!   brands), M4V, QuickTime (`ftypqt`, or a leading `moov`/`mdat`/`wide` atom), Matroska
//!   and WebM, AVI, ASF/WMV, FLV and MPEG program/elementary streams, but not 3GP/3G2
//!   (`ftyp3gp*`), F4V files with the lower-case `f4v ` brand, MP4 files with uncommon
//!   brands (e.g. `XAVC`), or QuickTime files that start with a `free`/`skip` atom. When
//!   nothing at all is recognised in a file whose extension maps to `video/*`, the
//!   extension is trusted and the file is kept (docs/protocol.md §15 #18); the service remains the
//!   judge of the content. Images get no such fallback: unrecognised image content is
//!   skipped, as in the official client (this affects raw JPEG 2000 codestreams named
//!   `.j2k`, and HEIF files whose brand is neither `heic`/`heix` nor `mif1`/`msf1` listing
//!   `heic`).
//! * **Kind checked first.** A file whose extension maps outside `image/`/`video/`
//!   (`.rm`, `.rmv`) is skipped as [`SkipReason::UnsupportedType`] before it is read,
//!   instead of aborting the whole call as the official client does.
//! * **Fewer reads.** The file is read once: the sniff window comes from the first chunk
//!   of the CRC pass, and a file rejected by sniffing is not read any further.
//!
//! Everything here is **blocking** (`std::fs`): call it on a blocking worker (the
//! runtime's `spawn_blocking`), never on an async executor thread. Memory stays bounded:
//! files are streamed through a 1 MiB buffer, never read whole.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::ids::AssetId;
use crate::models::{AssetKind, AssetSpec};

/// Files strictly larger than this (1 GiB) are declared without a CRC-32C (docs/protocol.md §6.3).
pub const CRC_SIZE_LIMIT: u64 = 1 << 30;

/// Files of at least this size (1 GiB) are uploaded in parts (docs/protocol.md §6.8).
pub const MULTIPART_THRESHOLD: u64 = 1 << 30;

/// How many leading bytes are examined to recognise the content (docs/protocol.md §6.3).
pub const SNIFF_WINDOW: usize = 8192;

/// The largest image the service is documented to accept (256 MiB). Declared by the
/// official client but not enforced; see [`FileSpec::size_warning`] (docs/protocol.md §15 #17).
pub const IMAGE_SIZE_LIMIT: u64 = 256 << 20;

/// The largest video the service is documented to accept (512 GiB). Declared by the
/// official client but not enforced; see [`FileSpec::size_warning`] (docs/protocol.md §15 #17).
pub const VIDEO_SIZE_LIMIT: u64 = 512 << 30;

/// The read buffer for the CRC pass.
const CHUNK: usize = 1 << 20;

/// The extension map (docs/protocol.md §12.2), lower-case extensions without the dot.
const EXTENSION_MAP: &[(&str, &str)] = &[
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("gif", "image/gif"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("jfif", "image/jpeg"),
    ("jp2", "image/jp2"),
    ("j2k", "image/jp2"),
    ("png", "image/png"),
    ("tiff", "image/tiff"),
    ("tif", "image/tiff"),
    ("webp", "image/webp"),
    ("3gp", "video/3gpp"),
    ("3gpp", "video/3gpp"),
    ("asf", "video/x-ms-asf"),
    ("avi", "video/x-msvideo"),
    ("f4v", "video/mp4"),
    ("flv", "video/x-flv"),
    ("m4v", "video/x-m4v"),
    ("mkv", "video/matroska"),
    ("mov", "video/quicktime"),
    ("movie", "video/quicktime"),
    ("mp4", "video/mp4"),
    ("mpg", "video/mpeg"),
    ("ogg", "video/ogg"),
    ("ogv", "video/ogg"),
    ("qt", "video/quicktime"),
    ("rm", "application/vnd.rn-realmedia"),
    ("rmv", "application/vnd.rn-realmedia"),
    ("webm", "video/webm"),
    ("wmv", "video/x-ms-asf"),
];

/// The MIME type for a file extension (without the dot), compared case-insensitively,
/// from the exact map of docs/protocol.md §12.2; `None` for any other extension.
///
/// Note that `rm`/`rmv` are in the map but their MIME type is neither an image nor a
/// video, so such files are never uploadable.
pub fn mime_for_extension(ext: &str) -> Option<&'static str> {
    EXTENSION_MAP
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(ext))
        .map(|(_, mime)| *mime)
}

/// True when `ext` (without the dot, any case) is in the extension map of docs/protocol.md §12.2.
///
/// Directory scans keep exactly the files with such extensions, `rm`/`rmv` included
/// (those are then skipped as [`SkipReason::UnsupportedType`]).
pub fn is_listed_extension(ext: &str) -> bool {
    mime_for_extension(ext).is_some()
}

/// Where the bytes of an upload come from.
#[derive(Clone, PartialEq, Eq)]
pub enum SpecSource {
    /// A file on disk, read again when it is uploaded.
    File(PathBuf),
    /// Bytes held in memory.
    Bytes(Bytes),
}

impl fmt::Debug for SpecSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecSource::File(path) => f.debug_tuple("File").field(path).finish(),
            SpecSource::Bytes(data) => write!(f, "Bytes({} bytes)", data.len()),
        }
    }
}

/// One uploadable source, with everything the create-ingestion-session call declares
/// about it (docs/protocol.md §6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    /// The upload name (the asset's file name in the dataset).
    pub filename: String,
    /// The MIME type that is declared: the extension's, or the sniffed one for in-memory
    /// bytes without a known extension.
    pub mime: &'static str,
    /// Image or video, from `mime`.
    pub kind: AssetKind,
    /// The size in bytes.
    pub size: u64,
    /// The CRC-32C of the whole content as `crc as i32`; `None` for files larger than
    /// [`CRC_SIZE_LIMIT`].
    pub crc32c: Option<i32>,
    /// Where the bytes come from.
    pub source: SpecSource,
    /// For a file, what it was when it was read for this spec: it must be the same when
    /// it is sent (see [`crate::fsguard`]).
    pub stamp: Option<crate::fsguard::FileStamp>,
}

impl FileSpec {
    /// The declaration sent in the create-ingestion-session request (no custom metadata).
    pub fn to_asset_spec(&self) -> AssetSpec {
        AssetSpec {
            filename: self.filename.clone(),
            mime: self.mime.to_owned(),
            size: self.size,
            crc32c: self.crc32c,
            custom_metadata: None,
            kind: self.kind,
        }
    }

    /// True when the file is uploaded in parts: a file (never in-memory bytes) of at
    /// least [`MULTIPART_THRESHOLD`] bytes (docs/protocol.md §6.8).
    pub fn is_multipart(&self) -> bool {
        matches!(self.source, SpecSource::File(_)) && self.size >= MULTIPART_THRESHOLD
    }

    /// A warning when the size is over the limit the service is documented to accept for
    /// its kind ([`IMAGE_SIZE_LIMIT`], [`VIDEO_SIZE_LIMIT`]). The limit is not enforced
    /// here: the file is still uploaded and the service decides (docs/protocol.md §15 #17).
    pub fn size_warning(&self) -> Option<String> {
        let (limit, what, limit_text) = match self.kind {
            AssetKind::Image => (IMAGE_SIZE_LIMIT, "images", "256 MiB"),
            AssetKind::Video => (VIDEO_SIZE_LIMIT, "videos", "512 GiB"),
        };
        (self.size > limit).then(|| {
            format!(
                "{} is {} bytes, over the {limit_text} documented for {what}; the service may \
                 reject it (reduce its size if it does)",
                self.filename, self.size
            )
        })
    }
}

/// How the text of [`SkipReason::AlreadyPresent`] starts (for programs that tell these
/// skips, which are not problems, from the others in progress events).
pub const ALREADY_PRESENT: &str = "already in the dataset";

/// Why a source is not uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The upload name has no extension, or one that is not in the extension map.
    UnsupportedExtension {
        /// The lower-cased extension, without the dot; `None` when there is none.
        extension: Option<String>,
    },
    /// The content is empty.
    EmptyFile,
    /// The content was not recognised as any known format.
    UnrecognizedContent,
    /// The content's type and the extension's type disagree at the top level
    /// (`image` vs `video`, …).
    ContentMismatch {
        /// The MIME type of the extension.
        expected: String,
        /// The MIME type recognised in the content.
        found: String,
    },
    /// The MIME type is neither an image nor a video (`.rm`, or in-memory bytes that are
    /// a PDF, …).
    UnsupportedType {
        /// The MIME type concerned.
        mime: String,
    },
    /// The source could not be read.
    Unreadable {
        /// What went wrong (the operating system's error, not the path: the path is
        /// reported next to the reason).
        message: String,
    },
    /// Another source with the same upload name is uploaded instead (see
    /// [`dedupe_names`](super::discover::dedupe_names)).
    DuplicateName {
        /// The source that is uploaded under that name.
        first: PathBuf,
    },
    /// The dataset already holds an asset with this name and the same content, so the
    /// file is not sent again ([`UploadOptions::skip_existing`](super::UploadOptions::skip_existing)).
    AlreadyPresent {
        /// The asset that holds this content.
        asset: AssetId,
        /// How the content was compared.
        compared_by: ComparedBy,
    },
}

/// How a local file was found to match an asset already in the dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ComparedBy {
    /// Same name, same size and same CRC-32C.
    SizeAndCrc32c,
    /// Same name and same size only: the service gave no usable CRC-32C for the asset
    /// (or the file is over [`CRC_SIZE_LIMIT`], whose CRC-32C is not computed), so a
    /// changed file of exactly the same size would not be noticed.
    SizeOnly,
}

impl fmt::Display for ComparedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ComparedBy::SizeAndCrc32c => "same size and CRC-32C",
            ComparedBy::SizeOnly => "same size; compared by size only, no CRC-32C available",
        })
    }
}

impl SkipReason {
    /// A stable snake-case identifier of the reason, for programs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::UnsupportedExtension { .. } => "unsupported_extension",
            SkipReason::EmptyFile => "empty_file",
            SkipReason::UnrecognizedContent => "unrecognized_content",
            SkipReason::ContentMismatch { .. } => "content_mismatch",
            SkipReason::UnsupportedType { .. } => "unsupported_type",
            SkipReason::Unreadable { .. } => "unreadable",
            SkipReason::DuplicateName { .. } => "duplicate_name",
            SkipReason::AlreadyPresent { .. } => "already_present",
        }
    }
}

/// A word for a MIME type's top level, for messages.
fn describe_top(mime: &str) -> String {
    match top_level(mime).to_ascii_lowercase().as_str() {
        "image" => "an image".to_owned(),
        "video" => "a video".to_owned(),
        "audio" => "audio".to_owned(),
        "text" => "text".to_owned(),
        other => format!("{other} data"),
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::UnsupportedExtension {
                extension: Some(ext),
            } => write!(
                f,
                "the extension .{ext} is not a supported image or video extension; if the \
                 file is an image or a video, rename it with a matching extension such as \
                 .jpg, .png or .mp4"
            ),
            SkipReason::UnsupportedExtension { extension: None } => f.write_str(
                "the file name has no extension; add a supported image or video extension \
                 such as .jpg, .png or .mp4",
            ),
            SkipReason::EmptyFile => f.write_str(
                "the file is empty; leave it out or replace it with a real image or video",
            ),
            SkipReason::UnrecognizedContent => f.write_str(
                "the content is not a recognised image or video format; check that the file \
                 is not corrupt, truncated or mislabelled",
            ),
            SkipReason::ContentMismatch { expected, found } => write!(
                f,
                "the content is {} ({found}) but the extension says {} ({expected}); rename \
                 the file to match its content or fix its content",
                describe_top(found),
                describe_top(expected),
            ),
            SkipReason::UnsupportedType { mime } => write!(
                f,
                "the type {mime} is neither an image nor a video and cannot be uploaded; \
                 convert it to a supported image or video format"
            ),
            SkipReason::Unreadable { message } => {
                write!(f, "the file could not be read: {message}")
            }
            SkipReason::DuplicateName { first } => write!(
                f,
                "{} has the same upload name and is uploaded instead, because names are \
                 unique within a dataset; rename this file to upload it too",
                first.display()
            ),
            SkipReason::AlreadyPresent { asset, compared_by } => write!(
                f,
                "{ALREADY_PRESENT} as asset {asset} ({compared_by}); not sent again"
            ),
        }
    }
}

impl std::error::Error for SkipReason {}

/// The part of a MIME type before the `/`.
fn top_level(mime: &str) -> &str {
    mime.split('/').next().unwrap_or("")
}

/// The lower-cased final extension of an upload name, `None` when it has none.
fn extension_of(filename: &str) -> Option<String> {
    Path::new(filename)
        .extension()
        .and_then(|ext| ext.to_str())
        .map(str::to_ascii_lowercase)
}

/// The message of an I/O error, with advice.
fn io_message(error: &io::Error) -> String {
    format!("{error}; check that the file exists and that you are allowed to read it")
}

fn unreadable(error: &io::Error) -> SkipReason {
    SkipReason::Unreadable {
        message: io_message(error),
    }
}

fn changed_while_reading(expected: u64) -> SkipReason {
    SkipReason::Unreadable {
        message: format!(
            "its size changed while it was being read (it was {expected} bytes); wait until \
             it is completely written and try again"
        ),
    }
}

/// Checks the sniffed content against the extension's MIME type (`mime_ext`, already known
/// to be an image or video type).
fn check_content(mime_ext: &str, kind: AssetKind, window: &[u8]) -> Result<(), SkipReason> {
    match infer::get(window) {
        Some(found) => {
            let found = found.mime_type();
            if top_level(found).eq_ignore_ascii_case(top_level(mime_ext)) {
                Ok(())
            } else {
                Err(SkipReason::ContentMismatch {
                    expected: mime_ext.to_owned(),
                    found: found.to_owned(),
                })
            }
        }
        // Deviation (docs/protocol.md §15 #18): `infer` misses some video containers (3GP, lower-case
        // F4V brands, uncommon MP4 brands, QuickTime files starting with a `free` atom).
        // For a video extension, trust the extension; the service checks the content.
        // Images get no fallback, as in the official client.
        None if kind == AssetKind::Video => Ok(()),
        None => Err(SkipReason::UnrecognizedContent),
    }
}

/// Reads until `buf` is full or the end of the file; returns how many bytes were read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The spec of a file on disk (docs/protocol.md §6.3, "from a file path"), uploaded as `filename`.
///
/// The extension is taken from `filename` (for discovered files, the file's own name).
/// The size comes from the file; the first [`SNIFF_WINDOW`] bytes are sniffed; the whole
/// file is streamed once through a 1 MiB buffer for the CRC-32C, unless it is larger than
/// [`CRC_SIZE_LIMIT`], in which case only the sniff window is read and `crc32c` is `None`.
/// Video files whose content is not recognised are kept on their extension (see the
/// module docs).
///
/// **Blocking**: this reads the file with `std::fs`; run it on a blocking worker
/// (`spawn_blocking`), never on an async executor thread.
///
/// # Errors
/// The [`SkipReason`] when the file cannot be uploaded: an unknown or missing extension,
/// an empty file, unrecognised or mismatching content, a type that is neither image nor
/// video, or a read error (including the file changing size while it is read).
pub fn spec_for_file(path: impl Into<PathBuf>, filename: String) -> Result<FileSpec, SkipReason> {
    // The path is moved into the spec, not copied: this runs on worker threads, and a
    // long-lived copy made there would scatter 100,000 small allocations over every
    // worker's allocator arena (peak memory of large uploads).
    let owned: PathBuf = path.into();
    let path = owned.as_path();
    let extension = extension_of(&filename);
    let Some(mime_ext) = extension.as_deref().and_then(mime_for_extension) else {
        return Err(SkipReason::UnsupportedExtension { extension });
    };
    let Some(kind) = AssetKind::from_mime(mime_ext) else {
        return Err(SkipReason::UnsupportedType {
            mime: mime_ext.to_owned(),
        });
    };

    // Opened without blocking and checked through the open file: a look at the path
    // first could be answered by a file that a FIFO replaces before the open.
    let (mut file, meta) = crate::fsguard::open_to_read(path).map_err(|e| {
        if crate::fsguard::is_refusal(&e) {
            SkipReason::Unreadable {
                message: format!("{e}; give image or video files"),
            }
        } else {
            unreadable(&e)
        }
    })?;
    let stamp = crate::fsguard::FileStamp::of(&meta);
    let size = meta.len();
    if size == 0 {
        return Err(SkipReason::EmptyFile);
    }
    let with_crc = size <= CRC_SIZE_LIMIT;

    // One more byte than the file holds lets a small file's growth show in the first read.
    let first_len = if with_crc {
        usize::try_from(size)
            .map_or(CHUNK, |s| s.saturating_add(1))
            .min(CHUNK)
    } else {
        SNIFF_WINDOW
    };
    let mut buf = vec![0u8; first_len];
    let first = read_full(&mut file, &mut buf).map_err(|e| unreadable(&e))?;
    let expected_window = usize::try_from(size).map_or(SNIFF_WINDOW, |s| s.min(SNIFF_WINDOW));
    if first < expected_window {
        return Err(changed_while_reading(size));
    }
    check_content(mime_ext, kind, &buf[..first.min(SNIFF_WINDOW)])?;

    let crc32c = if with_crc {
        let mut crc = crc32c::crc32c_append(0, &buf[..first]);
        let mut total = first as u64;
        if first == buf.len() {
            if buf.len() < CHUNK {
                buf.resize(CHUNK, 0);
            }
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(unreadable(&e)),
                };
                total += n as u64;
                if total > size {
                    break;
                }
                crc = crc32c::crc32c_append(crc, &buf[..n]);
            }
        }
        if total != size {
            return Err(changed_while_reading(size));
        }
        // Bit pattern reinterpreted as signed, as the API expects (docs/protocol.md §6.3).
        Some(crc as i32)
    } else {
        None
    };

    Ok(FileSpec {
        filename,
        mime: mime_ext,
        kind,
        size,
        crc32c,
        source: SpecSource::File(owned),
        stamp: Some(stamp),
    })
}

/// The spec of in-memory bytes uploaded as `filename` (docs/protocol.md §6.3, "from in-memory bytes").
///
/// The first [`SNIFF_WINDOW`] bytes are sniffed. When the name's extension is in the map,
/// its MIME type is sent and the top-level types must agree (videos the sniffer does not
/// recognise are kept, see the module docs); otherwise the sniffed MIME type is sent. The
/// CRC-32C always covers all the bytes (in-memory bytes are never uploaded in parts).
///
/// This does no I/O but hashes all of `data`, which takes time for large buffers: run it
/// on a blocking worker (`spawn_blocking`) like [`spec_for_file`].
///
/// # Errors
/// The [`SkipReason`] when the bytes cannot be uploaded: empty, unrecognised content,
/// content that contradicts the extension, or a type that is neither image nor video.
pub fn spec_for_bytes(filename: String, data: Bytes) -> Result<FileSpec, SkipReason> {
    if data.is_empty() {
        return Err(SkipReason::EmptyFile);
    }
    let window = &data[..data.len().min(SNIFF_WINDOW)];
    let (mime, kind) = match extension_of(&filename)
        .as_deref()
        .and_then(mime_for_extension)
    {
        Some(mime_ext) => {
            let Some(kind) = AssetKind::from_mime(mime_ext) else {
                return Err(SkipReason::UnsupportedType {
                    mime: mime_ext.to_owned(),
                });
            };
            check_content(mime_ext, kind, window)?;
            (mime_ext, kind)
        }
        None => {
            let Some(found) = infer::get(window) else {
                return Err(SkipReason::UnrecognizedContent);
            };
            let found = found.mime_type();
            let Some(kind) = AssetKind::from_mime(found) else {
                return Err(SkipReason::UnsupportedType {
                    mime: found.to_owned(),
                });
            };
            (found, kind)
        }
    };
    let crc = crc32c::crc32c(&data);
    Ok(FileSpec {
        filename,
        mime,
        kind,
        size: data.len() as u64,
        // Bit pattern reinterpreted as signed, as the API expects (docs/protocol.md §6.3).
        crc32c: Some(crc as i32),
        source: SpecSource::Bytes(data),
        stamp: None,
    })
}
