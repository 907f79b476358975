//! Wire-model tests of assets and signed URLs against JSON fixtures (docs/protocol.md §3.3, §3.4,
//! §5): decoding, pages and their tokens, counts, rename bodies, URL expiry and redaction.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use vi_core::models::*;

use crate::models_support;

use models_support::{decode, fixture, round_trip};

#[test]
fn asset_decodes_every_key() {
    let asset: Asset = decode("asset.json");
    assert_eq!(asset.id().unwrap(), "as7f3k2m9x");
    assert_eq!(asset.dataset().unwrap(), "q8w4e2r7t1");
    assert_eq!(asset.filename, "sample_001.jpg");
    let m = &asset.metadata;
    assert_eq!(m.file_size, 45_678);
    assert_eq!(m.generations.asset, "g1");
    assert_eq!(m.annotations.with_tag["car"], 2);
    assert_eq!(m.annotations.total, 2);
    assert_eq!(m.cohorts, ["train"]);
    assert_eq!(
        m.dimensions,
        Dimensions {
            height: 600,
            width: 800,
            depth: None
        }
    );
    assert_eq!(m.pixel_ratio.height, 1);
    assert_eq!(m.hash.algorithm, "crc32c");
    assert_eq!(m.upload_status, "completed");
    assert_eq!(m.user_defined["camera"]["iso"], 200);
    assert_eq!(
        m.custom_metadata["quality"],
        CustomValue::String("high".into())
    );
    assert_eq!(m.custom_metadata["score"], CustomValue::Float(0.93));
    assert_eq!(m.custom_metadata["frameIndex"], CustomValue::Int(17));
    assert_eq!(m.custom_metadata["reviewed"], CustomValue::Bool(true));
    assert_eq!(m.contents_last_updated.as_millis(), 1_732_867_215_000);
    let url = asset.download_url().unwrap();
    assert_eq!(url.expiry.as_millis(), 1_732_871_400_000);
    assert!(asset.contents.as_ref().unwrap().thumbnail.is_some());

    let json = round_trip(&asset);
    assert_eq!(json["metadata"]["customMetadata"]["frameIndex"], 17);
    assert_eq!(json["metadata"]["customMetadata"]["score"], 0.93);
    assert_eq!(
        json["metadata"]["pixelRatio"],
        json!({"height": 1, "width": 1})
    );
    assert_eq!(json["metadata"]["mimeType"], "image/jpeg");
    assert!(json["contents"]["asset"].get("headers").is_none());
}

#[test]
fn asset_page_and_pagination_tokens() {
    let page: PageEnvelope<Asset> = decode("asset_page.json");
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next_token(), Some("eyJvIjoxMH0="));
    assert!(page.items[0].contents.as_ref().unwrap().thumbnail.is_none());
    assert!(page.items[1].contents.is_none());
    assert!(page.items[1].download_url().is_none());
    assert_eq!(page.items[1].metadata.dimensions.depth, Some(240));
    assert_eq!(page.items[1].metadata.file_size, 2_147_483_648);
    round_trip(&page);

    let last: PageEnvelope<Asset> = decode("asset_page_last.json");
    assert!(last.items.is_empty());
    assert_eq!(last.next_page.as_deref(), Some(""));
    assert_eq!(last.next_token(), None, "an empty token ends the listing");

    let bare: PageEnvelope<Asset> = serde_json::from_str("{}").unwrap();
    assert!(bare.items.is_empty() && bare.next_token().is_none());
    let null_items: PageEnvelope<Asset> = serde_json::from_str(r#"{"items": null}"#).unwrap();
    assert!(null_items.items.is_empty());
}

#[test]
fn asset_missing_identity_key_fails() {
    for missing in ["assetId", "filename", "datasetId"] {
        let mut doc: Value = serde_json::from_str(&fixture("asset.json")).unwrap();
        doc.as_object_mut().unwrap().remove(missing);
        assert!(serde_json::from_value::<Asset>(doc).is_err(), "{missing}");
    }
    let mut doc: Value = serde_json::from_str(&fixture("asset.json")).unwrap();
    doc["contents"]["asset"]
        .as_object_mut()
        .unwrap()
        .remove("expiry");
    assert!(
        serde_json::from_value::<Asset>(doc).is_err(),
        "url without expiry"
    );
    // A missing metadata block is tolerated.
    let asset: Asset = serde_json::from_value(json!({
        "assetId": "a1", "datasetId": "x_y", "filename": "f.jpg"
    }))
    .unwrap();
    assert_eq!(asset.metadata.file_size, 0);
}

#[test]
fn asset_count_accepts_both_forms() {
    let object: AssetCount = decode("count_object.json");
    let bare: AssetCount = decode("count_bare.json");
    assert_eq!(object.value(), 42);
    assert_eq!(bare.value(), 42);
    assert_eq!(serde_json::to_value(object).unwrap(), json!({"count": 42}));
    let text: AssetCount = serde_json::from_str(r#"{"count": "7"}"#).unwrap();
    assert_eq!(text.value(), 7);
    assert!(serde_json::from_str::<AssetCount>(r#"{"total": 3}"#).is_err());
    assert!(serde_json::from_str::<AssetCount>("-1").is_err());
}

#[test]
fn rename_asset_body_uses_filename() {
    let body = RenameAssetRequest {
        filename: "frame_001.jpg".into(),
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"filename": "frame_001.jpg"})
    );
}

// ---------------------------------------------------------------- signed URLs

#[test]
fn signed_url_debug_hides_the_signature() {
    let asset: Asset = decode("asset.json");
    let url = asset.download_url().unwrap();
    let debug = format!("{url:?}");
    assert!(!debug.contains("X-Goog-Signature"), "{debug}");
    assert!(!debug.contains("9f0e"), "{debug}");
    assert!(
        debug
            .contains("https://storage.example.com/vi-assets/q8w4e2r7t1/sample_001.jpg?<redacted>"),
        "{debug}"
    );
    assert_eq!(
        url.redacted_url(),
        "https://storage.example.com/vi-assets/q8w4e2r7t1/sample_001.jpg?<redacted>"
    );
    // The Debug of containing structs goes through the same redaction.
    let whole = format!("{asset:?}");
    assert!(
        !whole.contains("9f0e") && !whole.contains("77aa"),
        "{whole}"
    );

    let session: IngestionSession = decode("session_created.json");
    let debug = format!("{session:?}");
    for secret in ["c0ffee", "beef", "d00d", "X-Goog-Credential", "LSDKpw"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }

    let plain = SignedUrl {
        url: "http://127.0.0.1:8080/files/a.jpg".into(),
        expiry: Timestamp::from_millis(0),
        headers: None,
        method: None,
    };
    assert_eq!(plain.redacted_url(), "http://127.0.0.1:8080/files/a.jpg");
    let creds = SignedUrl {
        url: "https://user:pw@h.example/p?sig=1#frag".into(),
        ..plain.clone()
    };
    assert_eq!(creds.redacted_url(), "https://h.example/p?<redacted>");
    let relative = SignedUrl {
        url: "/not/absolute?sig=secret".into(),
        ..plain
    };
    assert_eq!(relative.redacted_url(), "/not/absolute?<redacted>");
}

#[test]
fn signed_url_expiry() {
    let url: SignedUrl = serde_json::from_value(json!({
        "url": "https://s.example/o?sig=1", "expiry": 1_732_871_400_000_i64
    }))
    .unwrap();
    let at = UNIX_EPOCH + Duration::from_millis(1_732_871_400_000);
    assert_eq!(url.expires_at(), at);
    assert!(!url.is_expired_at(at - Duration::from_secs(1)));
    assert!(url.is_expired_at(at));
    assert!(url.is_expired_at(at + Duration::from_secs(1)));
    assert_eq!(url.http_method(), "PUT");
    assert!(serde_json::from_value::<SignedUrl>(json!({"expiry": 1})).is_err());
    assert!(serde_json::from_value::<SignedUrl>(json!({"url": "https://x/"})).is_err());
}

#[test]
fn part_url_decodes_and_redacts() {
    let part: PartUploadUrl = decode("part_url.json");
    assert_eq!(part.signed.http_method(), "PUT");
    assert_eq!(part.response_headers, ["ETag"]);
    assert!(!part.response_body);
    assert_eq!(
        part.signed.headers.as_ref().unwrap()["Content-Type"],
        "video/mp4"
    );
    let debug = format!("{part:?}");
    assert!(
        !debug.contains("X-Amz-Signature") && !debug.contains("uploadId"),
        "{debug}"
    );
    assert_eq!(
        part.signed.redacted_url(),
        "https://storage.example.com/mpu/clip.mp4?<redacted>"
    );
    assert!(part.signed.is_expired_at(SystemTime::now()));
    let json = round_trip(&part);
    assert_eq!(json["responseHeaders"], json!(["ETag"]));
    assert_eq!(json["responseBody"], false);
}
