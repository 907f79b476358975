//! File specs of files on disk (docs/protocol.md §6.3, §6.8, §12.2): MIME from the extension checked
//! against the content, kind, size, CRC32C, the multipart threshold, size warnings and
//! every reason a file is skipped.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use vi_core::models::AssetKind;
use vi_core::upload::spec::{
    CRC_SIZE_LIMIT, FileSpec, IMAGE_SIZE_LIMIT, MULTIPART_THRESHOLD, SkipReason, SpecSource,
    VIDEO_SIZE_LIMIT, spec_for_bytes, spec_for_file,
};

use crate::upload_support;

use upload_support::{PNG, TEXT, ftyp, jpeg, mp4, write};

fn gif() -> Vec<u8> {
    let mut v = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
    v.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0, 0, 0, 0x3B]);
    v
}

fn file_spec(dir: &Path, name: &str, data: &[u8]) -> Result<FileSpec, SkipReason> {
    let path = write(dir, name, data);
    spec_for_file(&path, name.to_owned())
}

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
    assert_eq!((jpg.mime, jpg.kind), ("image/jpeg", AssetKind::Image));
    let jfif = file_spec(dir.path(), "a.jfif", &jpeg()).unwrap();
    assert_eq!(jfif.mime, "image/jpeg");
    let gif = file_spec(dir.path(), "anim.gif", &gif()).unwrap();
    assert_eq!(gif.mime, "image/gif");
    let mp4 = file_spec(dir.path(), "clip.mp4", &mp4()).unwrap();
    assert_eq!((mp4.mime, mp4.kind), ("video/mp4", AssetKind::Video));
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
    // 3GP is not known to `infer`: trusted on its video extension (docs/protocol.md §15 #18).
    let spec = file_spec(dir.path(), "phone.3gp", &ftyp(b"3gp4")).unwrap();
    assert_eq!((spec.mime, spec.kind), ("video/3gpp", AssetKind::Video));
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
        mime: "image/png",
        kind,
        size,
        crc32c: None,
        source: SpecSource::Bytes(Bytes::new()),
        stamp: None,
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

/// A FIFO or a device given as a file (or swapped in for one just before its scan) is
/// skipped as what it is, at once: the scan opens without blocking and checks the open
/// file, so no look at the path can be answered by another file than the one read.
#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_is_skipped_as_what_it_is_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.png");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(spec_for_file(&path, "pipe.png".to_owned()));
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the scan of a FIFO blocked");
    match result {
        Err(SkipReason::Unreadable { message }) => {
            assert!(message.contains("FIFO"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match spec_for_file("/dev/zero", "zero.png".to_owned()) {
        Err(SkipReason::Unreadable { message }) => {
            assert!(message.contains("character device"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// The spec of a file carries its stamp (device, inode, size, time), which the upload
/// checks again when it sends the file.
#[test]
fn a_file_spec_carries_the_stamp_of_the_file_read() {
    let dir = tempfile::tempdir().unwrap();
    let spec = file_spec(dir.path(), "a.png", PNG).unwrap();
    assert_eq!(spec.stamp.map(|s| s.size()), Some(PNG.len() as u64));
}
