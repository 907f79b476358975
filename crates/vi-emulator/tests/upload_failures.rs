//! What fails an uploaded file or a signed PUT: CRC and size mismatches, the failure
//! models of a session, and the storage's checks of signed upload URLs.

use crate::common;

use std::time::Duration;

use common::session::{errors_of, progress, session_id};
use common::*;
use vi_emulator::{Emulator, EmulatorConfig, FailureModel, Fault, FaultKind, FaultTarget};

#[test]
fn crc_and_size_mismatches_fail_the_file() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("failures");
    let good = png(5, 5, 1);
    let bad = png(6, 6, 2);
    let short = png(7, 7, 3);
    let notimg = b"definitely not an image".to_vec();
    let session = c.create_session(
        &ds,
        &[
            ("good.png", &good),
            ("bad.png", &bad),
            ("short.png", &short),
            ("text.png", &notimg),
        ],
        "FailAfterAll",
    );
    // Same length, different content → ECORRUPT.
    let mut corrupted = bad.clone();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 0xFF;
    let r = c.put_file(&session, "bad.png", &corrupted).expect(400);
    assert_eq!(r.json()["fileError"], "ECORRUPT");
    // A failed file is final: a retry gets the same per-file error.
    let r = c.put_file(&session, "bad.png", &bad).expect(400);
    assert_eq!(r.json()["fileError"], "ECORRUPT");
    // Wrong length → EBADSIZE.
    let r = c.put_file(&session, "short.png", &short[..10]).expect(400);
    assert_eq!(r.json()["fileError"], "EBADSIZE");
    // Unreadable image header → ECORRUPT.
    let r = c.put_file(&session, "text.png", &notimg).expect(400);
    assert_eq!(r.json()["fileError"], "ECORRUPT");
    c.put_file(&session, "good.png", &good).expect(200);

    let done = c.session(&ds, &session_id(&session));
    assert_eq!(finished_status(&done).as_deref(), Some("Reached"));
    assert_eq!(progress(&done), (4, 1, 3));
    let mut errors = errors_of(&done);
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("bad.png".to_owned(), "ECORRUPT".to_owned()),
            ("short.png".to_owned(), "EBADSIZE".to_owned()),
            ("text.png".to_owned(), "ECORRUPT".to_owned()),
        ]
    );
    let assets = c.assets(&ds);
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0]["filename"], "good.png");
}

#[test]
fn fail_after_one_and_failure_models() {
    for (model, expected) in [
        (FailureModel::ReachedWithErrors, "Reached"),
        (FailureModel::FailedReachOnFirstError, "FailedReach"),
    ] {
        let emu = Emulator::start_with(EmulatorConfig {
            failure_model: model,
            ..EmulatorConfig::default()
        })
        .unwrap();
        let c = Client::new(&emu);
        let ds = c.create_dataset("models");
        let a = png(3, 3, 0);
        let b = png(4, 4, 0);
        let s = c.create_session(&ds, &[("a.png", &a), ("b.png", &b)], "FailAfterOne");
        emu.inject(Fault {
            target: FaultTarget::Upload,
            kind: FaultKind::CorruptUploadCheck,
            times: 1,
        });
        assert_eq!(
            c.put_file(&s, "a.png", &a).expect(400).json()["fileError"],
            "ECORRUPT"
        );
        // FailAfterOne: the rest is marked errored and the session is over.
        let r = c.put_file(&s, "b.png", &b).expect(400);
        assert_eq!(r.json()["fileError"], "EUNKNOWN");
        let r = c.put_file(&s, "a.png", &a).expect(400);
        assert_eq!(r.json()["fileError"], "ECORRUPT");
        let done = c.session(&ds, &session_id(&s));
        assert_eq!(finished_status(&done).as_deref(), Some(expected));
        assert_eq!(progress(&done), (2, 0, 2));
        let errors = errors_of(&done);
        assert!(errors.contains(&("a.png".into(), "ECORRUPT".into())));
        assert!(errors.contains(&("b.png".into(), "EUNKNOWN".into())));
    }
}

#[test]
fn signed_upload_checks() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("signed");
    let a = png(3, 3, 0);
    let s = c.create_session(&ds, &[("a b+c.png", &a)], "FailAfterAll");
    let url = s["status"]["assets"][0]["upload"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("/a%20b%2Bc.png?"), "{url}");
    let ct = [("Content-Type", "image/png")];
    // Chunked single uploads are refused (411); a wrong Content-Type is a signature error.
    c.put_chunked(&url, &ct, &a).expect(411);
    c.put_signed(&url, &[("Content-Type", "image/jpeg")], &a)
        .expect(403);
    c.put_signed(&url, &[], &a).expect(403);
    // Tampered path or signature.
    let other = url.replace("a%20b%2Bc.png", "z.png");
    c.put_signed(&other, &ct, &a).expect(403);
    let (base, query) = url.split_once("signature=").unwrap();
    let flipped: String = query
        .chars()
        .enumerate()
        .map(|(i, ch)| {
            if i == 0 {
                if ch == '0' { '1' } else { '0' }
            } else {
                ch
            }
        })
        .collect();
    c.put_signed(&format!("{base}signature={flipped}"), &ct, &a)
        .expect(403);
    c.put_signed(url.split('?').next().unwrap(), &ct, &a)
        .expect(403);
    // Upload faults fire before normal handling, then clear.
    emu.inject(Fault {
        target: FaultTarget::Upload,
        kind: FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        times: 2,
    });
    c.put_signed(&url, &ct, &a).expect(503);
    c.put_signed(&url, &ct, &a).expect(503);
    c.put_signed(&url, &ct, &a).expect(200);
    assert_eq!(c.assets(&ds)[0]["filename"], "a b+c.png");

    // Expired upload URLs are refused.
    let b = png(4, 4, 0);
    let s = c.create_session(&ds, &[("b.png", &b)], "FailAfterAll");
    emu.advance_clock(Duration::from_secs(3601));
    let r = c.put_file(&s, "b.png", &b).expect(403);
    assert_eq!(r.json()["reason"], "ExpiredToken");
}
