//! File discovery and file specs for uploads (spec §6.2, §6.3, §6.6, §12.2), on real files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use vi_core::ErrorKind;
use vi_core::models::AssetKind;
use vi_core::upload::discover::{DiscoveredFile, Discovery, dedupe_names, discover};
use vi_core::upload::spec::{
    CRC_SIZE_LIMIT, FileSpec, IMAGE_SIZE_LIMIT, MULTIPART_THRESHOLD, SNIFF_WINDOW, SkipReason,
    SpecSource, VIDEO_SIZE_LIMIT, is_listed_extension, mime_for_extension, spec_for_bytes,
    spec_for_file,
};

// ---------------------------------------------------------------------------------------
// Sample content

/// A complete, valid 1×1 RGBA PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// The spec's third CRC vector: a JFIF header followed by 100 zero bytes (111 bytes).
fn jpeg() -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00,
    ];
    v.resize(111, 0);
    v
}

fn gif() -> Vec<u8> {
    let mut v = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
    v.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0, 0, 0, 0x3B]);
    v
}

/// An ISO-BMFF `ftyp` box with the given major brand, padded.
fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftyp");
    v.extend_from_slice(brand);
    v.extend_from_slice(&[0, 0, 2, 0]);
    v.extend_from_slice(brand);
    v.extend_from_slice(b"mp41");
    v.resize(256, 0);
    v
}

fn mp4() -> Vec<u8> {
    ftyp(b"isom")
}

const TEXT: &[u8] = b"just some plain text, nothing to see here\n";

fn write(dir: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, data).unwrap();
    path
}

fn file_spec(dir: &Path, name: &str, data: &[u8]) -> Result<FileSpec, SkipReason> {
    let path = write(dir, name, data);
    spec_for_file(&path, name.to_owned())
}

// ---------------------------------------------------------------------------------------
// Extension map

#[test]
fn extension_map_is_exactly_the_spec_table() {
    let table: &[(&str, &str)] = &[
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
    assert_eq!(table.len(), 33);
    for (ext, mime) in table {
        assert_eq!(mime_for_extension(ext), Some(*mime), "{ext}");
        assert_eq!(
            mime_for_extension(&ext.to_ascii_uppercase()),
            Some(*mime),
            "{ext} upper-case"
        );
        assert!(is_listed_extension(ext), "{ext}");
    }
    for other in [
        "", "txt", "pdf", "mpeg", "jpe", "tga", "svg", "mp3", ".jpg", "jpg ", "m2ts",
    ] {
        assert_eq!(mime_for_extension(other), None, "{other:?}");
        assert!(!is_listed_extension(other), "{other:?}");
    }
    assert_eq!(mime_for_extension("JpG"), Some("image/jpeg"));
    assert_eq!(mime_for_extension("Mp4"), Some("video/mp4"));
}

#[test]
fn crc_vectors_from_the_spec() {
    assert_eq!(crc32c::crc32c(b"123456789") as i32, -486_108_541);
    assert_eq!(crc32c::crc32c(b""), 0);
    // The JFIF vector goes through spec_for_bytes end to end.
    let spec = spec_for_bytes("v.jpg".into(), Bytes::from(jpeg())).unwrap();
    assert_eq!(spec.crc32c, Some(757_123_751));
    assert_eq!(spec.size, 111);
}

// ---------------------------------------------------------------------------------------
// Specs of files

#[test]
fn png_file_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = file_spec(dir.path(), "pixel.png", PNG).unwrap();
    assert_eq!(spec.filename, "pixel.png");
    assert_eq!(spec.mime, "image/png");
    assert_eq!(spec.kind, AssetKind::Image);
    assert_eq!(spec.size, PNG.len() as u64);
    assert_eq!(spec.crc32c, Some(crc32c::crc32c(PNG) as i32));
    assert_eq!(spec.source, SpecSource::File(dir.path().join("pixel.png")));
    assert!(!spec.is_multipart());
    assert_eq!(spec.size_warning(), None);

    let asset = spec.to_asset_spec();
    assert_eq!(asset.filename, "pixel.png");
    assert_eq!(asset.mime, "image/png");
    assert_eq!(asset.size, PNG.len() as u64);
    assert_eq!(asset.crc32c, spec.crc32c);
    assert_eq!(asset.kind, AssetKind::Image);
    assert_eq!(asset.custom_metadata, None);
}

#[test]
fn common_formats_are_accepted_with_the_extension_mime() {
    let dir = tempfile::tempdir().unwrap();
    let jpg = file_spec(dir.path(), "IMG.JPG", &jpeg()).unwrap();
    assert_eq!(
        (jpg.mime.as_str(), jpg.kind),
        ("image/jpeg", AssetKind::Image)
    );
    let jfif = file_spec(dir.path(), "a.jfif", &jpeg()).unwrap();
    assert_eq!(jfif.mime, "image/jpeg");
    let gif = file_spec(dir.path(), "anim.gif", &gif()).unwrap();
    assert_eq!(gif.mime, "image/gif");
    let mp4 = file_spec(dir.path(), "clip.mp4", &mp4()).unwrap();
    assert_eq!(
        (mp4.mime.as_str(), mp4.kind),
        ("video/mp4", AssetKind::Video)
    );
    // A MOV-branded file declared as .mp4: same top level, the extension's MIME is sent.
    let mov = file_spec(dir.path(), "clip2.mp4", &ftyp(b"qt  ")).unwrap();
    assert_eq!(mov.mime, "video/mp4");
}

#[test]
fn large_content_is_hashed_whole() {
    // Several read chunks, not a multiple of the buffer size.
    let dir = tempfile::tempdir().unwrap();
    let mut data = PNG.to_vec();
    let mut rng = fastrand::Rng::with_seed(7);
    data.extend((0..(2 << 20) + 12_345).map(|_| rng.u8(..)));
    let spec = file_spec(dir.path(), "big.png", &data).unwrap();
    assert_eq!(spec.size, data.len() as u64);
    assert_eq!(spec.crc32c, Some(crc32c::crc32c(&data) as i32));
    let from_bytes = spec_for_bytes("big.png".into(), Bytes::from(data.clone())).unwrap();
    assert_eq!(from_bytes.crc32c, spec.crc32c);
}

#[test]
fn png_named_file_holding_a_jpeg_passes_with_png_mime() {
    let dir = tempfile::tempdir().unwrap();
    let spec = file_spec(dir.path(), "really-jpeg.png", &jpeg()).unwrap();
    assert_eq!(spec.mime, "image/png");
    assert_eq!(spec.kind, AssetKind::Image);
}

#[test]
fn jpg_named_file_holding_an_mp4_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let err = file_spec(dir.path(), "really-mp4.jpg", &mp4()).unwrap_err();
    assert_eq!(
        err,
        SkipReason::ContentMismatch {
            expected: "image/jpeg".into(),
            found: "video/mp4".into()
        }
    );
    assert_eq!(err.code(), "content_mismatch");
    let text = err.to_string();
    assert!(text.contains("video") && text.contains("image"), "{text}");
}

#[test]
fn ogg_is_sniffed_as_audio_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut ogg = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    ogg.resize(200, 0);
    for name in ["a.ogg", "a.ogv"] {
        let err = file_spec(dir.path(), name, &ogg).unwrap_err();
        assert_eq!(
            err,
            SkipReason::ContentMismatch {
                expected: "video/ogg".into(),
                found: "audio/ogg".into()
            }
        );
    }
}

#[test]
fn unknown_or_missing_extension_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        file_spec(dir.path(), "notes.txt", TEXT).unwrap_err(),
        SkipReason::UnsupportedExtension {
            extension: Some("txt".into())
        }
    );
    // The extension is lower-cased in the reason; content does not matter.
    assert_eq!(
        file_spec(dir.path(), "photo.PSD", PNG).unwrap_err(),
        SkipReason::UnsupportedExtension {
            extension: Some("psd".into())
        }
    );
    assert_eq!(
        file_spec(dir.path(), "README", PNG).unwrap_err(),
        SkipReason::UnsupportedExtension { extension: None }
    );
    assert_eq!(
        file_spec(dir.path(), ".png", PNG).unwrap_err(),
        SkipReason::UnsupportedExtension { extension: None }
    );
}

#[test]
fn text_named_png_is_unrecognized() {
    let dir = tempfile::tempdir().unwrap();
    let err = file_spec(dir.path(), "fake.png", TEXT).unwrap_err();
    assert_eq!(err, SkipReason::UnrecognizedContent);
    assert_eq!(err.code(), "unrecognized_content");
}

#[test]
fn empty_file_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        file_spec(dir.path(), "empty.png", b"").unwrap_err(),
        SkipReason::EmptyFile
    );
    assert_eq!(
        file_spec(dir.path(), "empty.mp4", b"").unwrap_err(),
        SkipReason::EmptyFile
    );
}

#[test]
fn realmedia_is_not_an_uploadable_type() {
    let dir = tempfile::tempdir().unwrap();
    let mut rm = b".RMF\x00\x00\x00\x12\x00\x01".to_vec();
    rm.resize(100, 0);
    for name in ["movie.rm", "movie.RMV"] {
        let err = file_spec(dir.path(), name, &rm).unwrap_err();
        assert_eq!(
            err,
            SkipReason::UnsupportedType {
                mime: "application/vnd.rn-realmedia".into()
            }
        );
        assert_eq!(err.code(), "unsupported_type");
    }
}

#[test]
fn unrecognised_video_falls_back_to_the_extension_but_images_do_not() {
    let dir = tempfile::tempdir().unwrap();
    // 3GP is not known to `infer`: trusted on its video extension (spec §15 #18).
    let spec = file_spec(dir.path(), "phone.3gp", &ftyp(b"3gp4")).unwrap();
    assert_eq!(
        (spec.mime.as_str(), spec.kind),
        ("video/3gpp", AssetKind::Video)
    );
    // A raw JPEG 2000 codestream is not recognised: images get no fallback.
    let mut j2k = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x2F];
    j2k.resize(100, 0);
    assert_eq!(
        file_spec(dir.path(), "scan.j2k", &j2k).unwrap_err(),
        SkipReason::UnrecognizedContent
    );
    // Recognised non-video content under a video extension is still a mismatch.
    assert!(matches!(
        file_spec(dir.path(), "clip.mp4", &jpeg()).unwrap_err(),
        SkipReason::ContentMismatch { .. }
    ));
}

#[test]
fn unreadable_files_are_reported_without_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.png");
    let err = spec_for_file(&missing, "gone.png".into()).unwrap_err();
    let SkipReason::Unreadable { message } = &err else {
        panic!("expected Unreadable, got {err:?}");
    };
    assert!(!message.contains(dir.path().to_str().unwrap()), "{message}");
    assert!(message.contains("os error"), "{message}");
    assert_eq!(err.code(), "unreadable");

    let folder = dir.path().join("folder.png");
    fs::create_dir(&folder).unwrap();
    assert!(matches!(
        spec_for_file(&folder, "folder.png".into()).unwrap_err(),
        SkipReason::Unreadable { .. }
    ));
}

/// A sparse file of `len` bytes starting with a PNG header: cheap on disk.
fn sparse_png(dir: &Path, name: &str, len: u64) -> PathBuf {
    let path = dir.join(name);
    let mut file = fs::File::create(&path).unwrap();
    file.write_all(PNG).unwrap();
    file.set_len(len).unwrap();
    path
}

#[test]
fn files_over_the_crc_limit_have_no_crc_and_are_read_only_for_sniffing() {
    let dir = tempfile::tempdir().unwrap();
    let path = sparse_png(dir.path(), "huge.png", CRC_SIZE_LIMIT + 1);
    let spec = spec_for_file(&path, "huge.png".into()).unwrap();
    assert_eq!(spec.size, CRC_SIZE_LIMIT + 1);
    assert_eq!(spec.crc32c, None);
    assert!(spec.is_multipart());
    assert!(spec.size_warning().unwrap().contains("huge.png"));
    assert_eq!(spec.to_asset_spec().crc32c, None);

    // Sizes far beyond 4 GiB are carried exactly (only the sniff window is read; how long
    // that takes is for the benchmarks, not this test).
    let size = 64 << 30;
    let path = sparse_png(dir.path(), "vast.png", size);
    let spec = spec_for_file(&path, "vast.png".into()).unwrap();
    assert_eq!((spec.size, spec.crc32c), (size, None));
}

#[test]
fn a_file_of_exactly_the_limit_still_has_a_crc_and_is_multipart() {
    let dir = tempfile::tempdir().unwrap();
    let path = sparse_png(dir.path(), "limit.png", CRC_SIZE_LIMIT);
    let spec = spec_for_file(&path, "limit.png".into()).unwrap();
    assert_eq!(MULTIPART_THRESHOLD, CRC_SIZE_LIMIT);
    assert!(spec.is_multipart());
    // The PNG header, then zeros: 1 MiB blocks of zeros, less the header's length.
    let zeros = vec![0u8; 1 << 20];
    let zeros_crc = crc32c::crc32c(&zeros);
    let mut crc = crc32c::crc32c(PNG);
    crc = crc32c::crc32c_append(crc, &zeros[PNG.len()..]);
    for _ in 1..(CRC_SIZE_LIMIT >> 20) {
        crc = crc32c::crc32c_combine(crc, zeros_crc, zeros.len());
    }
    assert_eq!(spec.crc32c, Some(crc as i32));
}

#[test]
fn declared_size_limits_warn() {
    let spec = |kind, size| FileSpec {
        filename: "x".into(),
        mime: "image/png".into(),
        kind,
        size,
        crc32c: None,
        source: SpecSource::Bytes(Bytes::new()),
    };
    assert_eq!(
        spec(AssetKind::Image, IMAGE_SIZE_LIMIT).size_warning(),
        None
    );
    assert!(
        spec(AssetKind::Image, IMAGE_SIZE_LIMIT + 1)
            .size_warning()
            .is_some()
    );
    assert_eq!(
        spec(AssetKind::Video, IMAGE_SIZE_LIMIT + 1).size_warning(),
        None
    );
    assert_eq!(
        spec(AssetKind::Video, VIDEO_SIZE_LIMIT).size_warning(),
        None
    );
    assert!(
        spec(AssetKind::Video, VIDEO_SIZE_LIMIT + 1)
            .size_warning()
            .is_some()
    );
    // In-memory bytes are never multipart.
    assert!(!spec(AssetKind::Video, MULTIPART_THRESHOLD * 2).is_multipart());
}

// ---------------------------------------------------------------------------------------
// Specs of in-memory bytes

#[test]
fn bytes_specs() {
    // No extension: the sniffed MIME is sent.
    let spec = spec_for_bytes("photo".into(), Bytes::from_static(PNG)).unwrap();
    assert_eq!(
        (spec.mime.as_str(), spec.kind),
        ("image/png", AssetKind::Image)
    );
    assert_eq!(spec.crc32c, Some(crc32c::crc32c(PNG) as i32));
    assert_eq!(spec.size, PNG.len() as u64);
    assert!(!spec.is_multipart());
    assert_eq!(spec.source, SpecSource::Bytes(Bytes::from_static(PNG)));

    // Unknown extension: sniffed as well.
    let spec = spec_for_bytes("notes.txt".into(), Bytes::from(jpeg())).unwrap();
    assert_eq!(spec.mime, "image/jpeg");
    let spec = spec_for_bytes("clip".into(), Bytes::from(mp4())).unwrap();
    assert_eq!(
        (spec.mime.as_str(), spec.kind),
        ("video/mp4", AssetKind::Video)
    );

    // Known extension: the extension's MIME, after the top-level check.
    let spec = spec_for_bytes("x.jpg".into(), Bytes::from_static(PNG)).unwrap();
    assert_eq!(spec.mime, "image/jpeg");
    assert!(matches!(
        spec_for_bytes("x.mp4".into(), Bytes::from_static(PNG)).unwrap_err(),
        SkipReason::ContentMismatch { .. }
    ));

    assert_eq!(
        spec_for_bytes("x.png".into(), Bytes::new()).unwrap_err(),
        SkipReason::EmptyFile
    );
    assert_eq!(
        spec_for_bytes("x".into(), Bytes::from_static(TEXT)).unwrap_err(),
        SkipReason::UnrecognizedContent
    );
    assert_eq!(
        spec_for_bytes("x.png".into(), Bytes::from_static(TEXT)).unwrap_err(),
        SkipReason::UnrecognizedContent
    );
    let pdf = Bytes::from_static(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n");
    let err = spec_for_bytes("x.pdf".into(), pdf).unwrap_err();
    assert_eq!(
        err,
        SkipReason::UnsupportedType {
            mime: "application/pdf".into()
        }
    );
    let ogg = Bytes::from_static(b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    assert!(matches!(
        spec_for_bytes("sound".into(), ogg).unwrap_err(),
        SkipReason::UnsupportedType { .. }
    ));
}

#[test]
fn bytes_sniff_only_the_window() {
    // A PNG signature beyond the window is not seen.
    let mut data = TEXT.repeat(SNIFF_WINDOW / TEXT.len() + 1);
    data.extend_from_slice(PNG);
    assert_eq!(
        spec_for_bytes("late".into(), Bytes::from(data)).unwrap_err(),
        SkipReason::UnrecognizedContent
    );
}

#[test]
fn no_input_panics() {
    let prefixes: [&[u8]; 8] = [
        b"",
        &PNG[..8],
        &[0xFF, 0xD8, 0xFF],
        b"\x00\x00\x00\x18ftyp",
        b"\x00\x00\xFF\xFFftypmif1",
        b"RIFF",
        &[0x1A, 0x45, 0xDF, 0xA3],
        b"OggS",
    ];
    let names = [
        "a", "a.png", "a.mp4", "a.rm", "a.txt", ".jpg", "a.", "a.HEIC",
    ];
    let mut rng = fastrand::Rng::with_seed(42);
    for _ in 0..5000 {
        let mut data = prefixes[rng.usize(..prefixes.len())].to_vec();
        let extra = rng.usize(..40);
        data.extend((0..extra).map(|_| rng.u8(..)));
        let name = names[rng.usize(..names.len())];
        let _ = spec_for_bytes(name.into(), Bytes::from(data));
    }
}

#[test]
fn source_debug_hides_bytes() {
    let source = SpecSource::Bytes(Bytes::from(vec![7u8; 5]));
    assert_eq!(format!("{source:?}"), "Bytes(5 bytes)");
}

#[test]
fn every_reason_reads_as_one_actionable_sentence() {
    let reasons = [
        SkipReason::UnsupportedExtension {
            extension: Some("txt".into()),
        },
        SkipReason::UnsupportedExtension { extension: None },
        SkipReason::EmptyFile,
        SkipReason::UnrecognizedContent,
        SkipReason::ContentMismatch {
            expected: "video/mp4".into(),
            found: "image/jpeg".into(),
        },
        SkipReason::UnsupportedType {
            mime: "application/pdf".into(),
        },
        SkipReason::Unreadable {
            message: "Permission denied (os error 13); check that the file exists and that \
                      you are allowed to read it"
                .into(),
        },
        SkipReason::DuplicateName {
            first: PathBuf::from("/data/a/img.jpg"),
        },
    ];
    let mut codes = Vec::new();
    for reason in &reasons {
        let text = reason.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{text}");
        assert!(
            !text.trim_end().ends_with('.'),
            "no trailing period: {text}"
        );
        assert!(!text.contains(". "), "one sentence: {text}");
        assert!(text.contains(';'), "says what to do: {text}");
        let code = reason.code();
        assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        codes.push(code);
    }
    assert!(reasons[4].to_string().contains("image/jpeg"));
    assert!(reasons[7].to_string().contains("/data/a/img.jpg"));
    codes.dedup();
    assert_eq!(codes.len(), 7);
}

// ---------------------------------------------------------------------------------------
// Discovery

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
