//! The upload spec tables and in-memory sources (docs/protocol.md §6.3, §12.2): the extension-to-MIME
//! map, the CRC32C vectors, specs of in-memory bytes (sniffing, its window, no panics)
//! and the wording of every skip reason.

use std::path::PathBuf;

use bytes::Bytes;
use vi_core::models::AssetKind;
use vi_core::upload::spec::{
    SNIFF_WINDOW, SkipReason, SpecSource, is_listed_extension, mime_for_extension, spec_for_bytes,
};

use crate::upload_support;

use upload_support::{PNG, TEXT, jpeg, mp4};

// ---------------------------------------------------------------------------------------
// Extension map and CRC vectors

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
// Specs of in-memory bytes

#[test]
fn bytes_specs() {
    // No extension: the sniffed MIME is sent.
    let spec = spec_for_bytes("photo".into(), Bytes::from_static(PNG)).unwrap();
    assert_eq!((spec.mime, spec.kind), ("image/png", AssetKind::Image));
    assert_eq!(spec.crc32c, Some(crc32c::crc32c(PNG) as i32));
    assert_eq!(spec.size, PNG.len() as u64);
    assert!(!spec.is_multipart());
    assert_eq!(spec.source, SpecSource::Bytes(Bytes::from_static(PNG)));

    // Unknown extension: sniffed as well.
    let spec = spec_for_bytes("notes.txt".into(), Bytes::from(jpeg())).unwrap();
    assert_eq!(spec.mime, "image/jpeg");
    let spec = spec_for_bytes("clip".into(), Bytes::from(mp4())).unwrap();
    assert_eq!((spec.mime, spec.kind), ("video/mp4", AssetKind::Video));

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
