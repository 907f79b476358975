//! Skip-existing against a scripted service whose hashes the emulator never produces:
//! assets without a usable CRC-32C are compared by size alone, and the report says so.
//! Dry runs keep the script to the listing alone (no session, no PUT).

use vi_core::api::{ComparedBy, SkipReason, UploadOptions, UploadSources};
use vi_core::retry::RetryPolicy;
use vi_core::{ConfigBuilder, DatasetId};
use vi_testkit::scripted::{Harness, Step};

fn harness(steps: Vec<Step>) -> Harness {
    let config = ConfigBuilder::default()
        .endpoint("https://api.example.test/")
        .secret_key(format!("dtvi_{}", "k".repeat(98)))
        .organization_id("org-1")
        .retry_policy(RetryPolicy::default())
        .build_with_env(&|_| None)
        .unwrap();
    Harness::new(config, steps)
}

fn asset(id: &str, name: &str, size: usize, algorithm: &str, contents: &str) -> String {
    serde_json::json!({
        "assetId": id, "datasetId": "org-1_ds1", "workspaceId": "org-1", "filename": name,
        "metadata": {"fileSize": size, "hash": {"algorithm": algorithm, "contents": contents}},
    })
    .to_string()
}

#[test]
fn without_a_usable_crc_the_size_decides_and_the_report_says_so() {
    let a = vi_testkit::png(6, 4, 1);
    let b = vi_testkit::png(6, 4, 2);
    let c = vi_testkit::png(7, 4, 3);
    let crc_c = crc32c::crc32c(&c);
    // Two pages: a.png has an MD5 (unusable) and b.png no hash at all, c.png its CRC-32C
    // in hex; d.png's asset has another size.
    let first = format!(
        r#"{{"items":[{},{}],"nextPage":"t1"}}"#,
        asset(
            "as1",
            "a.png",
            a.len(),
            "md5",
            "0cc175b9c0f1b6a831c399e269772661"
        ),
        asset("as2", "b.png", b.len(), "", ""),
    );
    let second = format!(
        r#"{{"items":[{},{}]}}"#,
        asset("as3", "c.png", c.len(), "crc32c", &format!("{crc_c:08x}")),
        asset("as4", "d.png", 1, "crc32c", "00000000"),
    );
    let h = harness(vec![Step::ok(first), Step::ok(second)]);
    let sources = UploadSources::new()
        .bytes("a.png", a)
        .bytes("b.png", b)
        .bytes("c.png", c)
        .bytes("d.png", vi_testkit::png(3, 3, 4))
        .bytes("e.png", vi_testkit::png(3, 3, 5));
    let options = UploadOptions::new().skip_existing(true).dry_run(true);
    let report = h
        .block_on(
            h.core
                .upload(&DatasetId::new("ds1").unwrap(), sources, options),
        )
        .unwrap();

    // Only the two listing pages were requested, in bounded pages of 500.
    let seen = h.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].uri.ends_with("/datasets/org-1_ds1/assets?s=500"),
        "{}",
        seen[0].uri
    );
    assert!(seen[1].uri.contains("p=t1"), "{}", seen[1].uri);

    let reasons: Vec<(&str, &SkipReason)> = report
        .skipped
        .iter()
        .map(|s| (s.filename.as_str(), &s.reason))
        .collect();
    let present = |id: &str, by| SkipReason::AlreadyPresent {
        asset: vi_core::AssetId::new(id).unwrap(),
        compared_by: by,
    };
    assert_eq!(
        reasons,
        [
            ("a.png", &present("as1", ComparedBy::SizeOnly)),
            ("b.png", &present("as2", ComparedBy::SizeOnly)),
            ("c.png", &present("as3", ComparedBy::SizeAndCrc32c)),
        ]
    );
    assert_eq!(report.compared_by_size_only(), 2);
    assert_eq!(report.assets_listed, Some(4));
    let planned: Vec<(&str, Option<&str>)> = report
        .planned
        .iter()
        .map(|p| (p.filename.as_str(), p.replaces.as_ref().map(|a| a.as_str())))
        .collect();
    assert_eq!(planned, [("d.png", Some("as4")), ("e.png", None)]);
    assert!(report.is_success() && report.dry_run);
    let summary = report.summary();
    assert!(summary.contains("not sent again: 3 files"), "{summary}");
    assert!(summary.contains("2 compared by size only"), "{summary}");
    assert!(
        report.skipped[0].reason.to_string().contains("size only"),
        "{}",
        report.skipped[0].reason
    );
}

#[test]
fn an_unknown_dataset_stops_a_skip_existing_upload_before_anything_is_sent() {
    let h = harness(vec![Step::status(
        404,
        r#"{"message":"dataset not found","error":"NotFound","statusCode":404}"#,
    )]);
    let err = h
        .block_on(h.core.upload(
            &DatasetId::new("ds1").unwrap(),
            UploadSources::new().bytes("a.png", vi_testkit::png(2, 2, 1)),
            UploadOptions::new().skip_existing(true),
        ))
        .unwrap_err();
    assert_eq!(err.kind(), vi_core::ErrorKind::NotFound, "{err}");
    assert_eq!(h.seen().len(), 1, "only the listing was tried");
}
