//! Asset listing over real HTTP: pages, sorts, filters, metadata queries, and keyset
//! pages over a seeded dataset.

use crate::common;

use common::*;
use serde_json::{Value, json};
use vi_emulator::Emulator;

fn dims(i: usize) -> (u32, u32) {
    (2 + (i % 4) as u32, 2 + (i % 3) as u32)
}

/// Uploads `n` PNGs named img00.png… (sizes vary) with custom metadata on some.
fn seed_assets(c: &Client, ds: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    let files: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| {
            let (w, h) = dims(i);
            (format!("img{i:02}.png"), png(w, h, i as u8))
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    c.upload(ds, &refs);
    files
}

fn collect_pages(c: &Client, ds: &str, query: &str, size: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let mut path = c.ds(ds, &format!("/assets?s={size}{query}"));
        if let Some(t) = &token {
            path.push_str(&format!("&p={}", urlencode(t)));
        }
        let page = c.get(&path).expect(200).json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= size);
        names.extend(
            items
                .iter()
                .map(|a| a["filename"].as_str().unwrap().to_owned()),
        );
        match page["nextPage"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return names,
        }
    }
    panic!("too many pages");
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn asset_listing_pages_sorts_and_filters() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("paging");
    let files = seed_assets(&c, &ds, 7);
    let mut expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();

    for size in [1, 2, 3, 6, 7, 10, 1000] {
        let names = collect_pages(&c, &ds, "&sortBy=filename&o=asc", size);
        assert_eq!(names, expected, "page size {size}");
    }
    let desc = collect_pages(&c, &ds, "&sortBy=filename&o=desc", 3);
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);
    assert_eq!(
        collect_pages(&c, &ds, "&sortBy=metadata.fileSize&o=d", 4).len(),
        7
    );

    // s=1000 returns everything in one page (§13.6).
    let all = c
        .get(&c.ds(&ds, "/assets?s=1000&contents=y"))
        .expect(200)
        .json();
    assert_eq!(all["items"].as_array().unwrap().len(), 7);
    assert!(all.get("nextPage").is_none_or(Value::is_null));
    for a in all["items"].as_array().unwrap() {
        assert_keys(a, ASSET_KEYS);
        assert_keys(&a["metadata"], ASSET_METADATA_KEYS);
        assert!(a["contents"]["asset"]["url"].is_string());
        assert_int(&a["contents"]["asset"]["expiry"]);
    }

    // Bad tokens and parameters.
    let page = c
        .get(&c.ds(&ds, "/assets?s=2&sortBy=filename"))
        .expect(200)
        .json();
    let token = page["nextPage"].as_str().unwrap().to_owned();
    c.get(&c.ds(&ds, "/assets?s=2&sortBy=filename&p=garbage"))
        .expect(400);
    let mut tampered = token.clone();
    tampered.replace_range(2..3, if &token[2..3] == "A" { "B" } else { "A" });
    c.get(&c.ds(
        &ds,
        &format!("/assets?s=2&sortBy=filename&p={}", urlencode(&tampered)),
    ))
    .expect(400);
    // A token belongs to its query.
    let r = c
        .get(&c.ds(
            &ds,
            &format!("/assets?s=2&sortBy=assetId&p={}", urlencode(&token)),
        ))
        .expect(400);
    assert!(r.json()["message"].as_str().unwrap().contains("\"p\""));
    c.get(&c.ds(
        &ds,
        &format!("/assets?s=2&sortBy=filename&p={}", urlencode(&token)),
    ))
    .expect(200);
    for bad in [
        "s=0",
        "s=1001",
        "s=x",
        "contents=true",
        "contents=n",
        "sortBy=size",
        "o=up",
        "bogus=1",
        "s=1&s=2",
    ] {
        let r = c.get(&c.ds(&ds, &format!("/assets?{bad}"))).expect(400);
        let key = bad.split('=').next().unwrap();
        assert!(
            r.json()["message"].as_str().unwrap().contains(key),
            "{bad}: {}",
            r.text()
        );
    }
    c.get(&c.ds(&ds, "/assets?pageAfter=y&ruleQuery=anything&strictQuery=y"))
        .expect(200);

    // Filters (list and count).
    let count = |q: &str| -> u64 {
        c.get(&c.ds(&ds, &format!("/assets:count{q}")))
            .expect(200)
            .json()["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(count(""), 7);
    let expect = |pred: &dyn Fn(usize, u32, u32) -> bool| -> u64 {
        (0..7).filter(|&i| pred(i, dims(i).0, dims(i).1)).count() as u64
    };
    let q = format!("?filter={}", urlencode("metadata.width == metadata.height"));
    assert_eq!(count(&q), expect(&|_, w, h| w == h));
    assert!(count(&q) >= 2);
    let q = format!("?filter={}", urlencode("filename == \"img03.png\""));
    assert_eq!(count(&q), 1);
    let q = format!(
        "?filter={}&strictQuery=n",
        urlencode("metadata.width >= 4 and metadata.mimeType == \"image/png\"")
    );
    assert_eq!(count(&q), expect(&|_, w, _| w >= 4));
    let listed = c
        .get(&c.ds(
            &ds,
            &format!(
                "/assets?filter={}",
                urlencode("metadata.width < 4 && filename != \"img00.png\"")
            ),
        ))
        .expect(200)
        .json();
    assert_eq!(
        listed["items"].as_array().unwrap().len() as u64,
        expect(&|i, w, _| w < 4 && i != 0)
    );
    for bad in [
        "{'a': 1}",
        "filename ==",
        "size == 3",
        "filename == 3",
        "filename = \"a\"",
    ] {
        let r = c
            .get(&c.ds(&ds, &format!("/assets:count?filter={}", urlencode(bad))))
            .expect(400);
        assert!(
            r.json()["message"].as_str().unwrap().contains("filter"),
            "{bad}"
        );
    }
    c.get(&c.ds(&ds, "/assets:count?strictQuery=true"))
        .expect(400);
    c.get(&c.ds(&ds, "/assets:count?s=1")).expect(400);
}

#[test]
fn metadata_query_on_custom_metadata() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("meta");
    let a = png(4, 4, 1);
    let b = png(4, 4, 2);
    let mut decl_a = declaration("a.png", &a);
    decl_a["customMetadata"] = json!({"quality": "High", "k": 1});
    let mut decl_b = declaration("b.png", &b);
    decl_b["customMetadata"] = json!({"quality": "low"});
    let session = c
        .post(
            &c.src(&ds, "/assetIngestionSessions"),
            &json!({"spec": {"assets": [decl_a, decl_b], "kind": "Upload", "failureMode": "FailAfterAll", "onAssetOverwritten": "KeepLinkedResource"}}),
        )
        .expect(200)
        .json();
    assert_eq!(session["spec"]["onAssetOverwritten"], "KeepLinkedResources");
    c.put_file(&session, "a.png", &a).expect(200);
    c.put_file(&session, "b.png", &b).expect(200);
    let count = |q: &str| -> u64 {
        c.get(&c.ds(
            &ds,
            &format!("/assets:count?metadataQuery={}", urlencode(q)),
        ))
        .expect(200)
        .json()["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(count("quality == \"high\""), 1);
    assert_eq!(count("k == 1"), 1);
    assert_eq!(count("quality != \"x\""), 2);
    let strict = c
        .get(&c.ds(
            &ds,
            &format!(
                "/assets:count?metadataQuery={}&strictQuery=y",
                urlencode("quality == \"high\"")
            ),
        ))
        .expect(200)
        .json();
    assert_eq!(strict["count"], 0);
    // '+' in the query decodes to a space (form encoding).
    let plus = c
        .get(&c.ds(&ds, "/assets?metadataQuery=k+%3D%3D+1"))
        .expect(200)
        .json();
    assert_eq!(plus["items"][0]["filename"], "a.png");
    assert_eq!(plus["items"][0]["metadata"]["customMetadataCount"], 2);
    c.get(&c.ds(&ds, "/assets?metadataQuery=k%3A1")).expect(400);
}

/// Keyset pages over a seeded dataset: every asset exactly once, in order, for every
/// sort and direction, with the count from the index.
#[test]
fn keyset_pages_walk_a_seeded_dataset() {
    let emu = Emulator::start().unwrap();
    let dsc = emu.seed_assets("seeded", 2_345).unwrap();
    let ds = dsc.rsplit('_').next().unwrap().to_owned();
    let c = Client::new(&emu);
    let count = c.get(&c.ds(&ds, "/assets:count")).expect(200).json();
    assert_eq!(count["count"], 2_345);
    let d = c.get(&c.ds(&ds, "")).expect(200).json();
    assert_eq!(d["statistic"]["assetTotal"], 2_345);
    let expected: Vec<String> = (0..2_345).map(|n| format!("seed-{n:09}.jpg")).collect();
    for sort in [
        "default",
        "assetId",
        "filename",
        "metadata.fileSize",
        "lastModified.contents",
    ] {
        for (order, reversed) in [("asc", false), ("desc", true)] {
            let names = collect_pages(&c, &ds, &format!("&sortBy={sort}&o={order}"), 100);
            let mut want = expected.clone();
            if reversed {
                want.reverse();
            }
            assert_eq!(names, want, "sortBy={sort}&o={order}");
        }
    }
    // A filter walks the index too, keeping what matches.
    let names = collect_pages(
        &c,
        &ds,
        &format!(
            "&filter={}",
            urlencode("filename >= \"seed-000002000.jpg\"")
        ),
        100,
    );
    assert_eq!(names, expected[2000..].to_vec());
    // A seeded asset downloads like any other.
    let a = c
        .get(&c.ds(&ds, "/assets?s=1&contents=y"))
        .expect(200)
        .json();
    let url = a["items"][0]["contents"]["asset"]["url"].as_str().unwrap();
    assert_eq!(c.get_plain(url, &[]).expect(200).body, vec![0u8; 1000]);
}
