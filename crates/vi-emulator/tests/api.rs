//! Auth, datasets and asset listing over real HTTP.

mod common;

use common::*;
use serde_json::{Value, json};
use vi_emulator::{Emulator, EmulatorConfig, Fault, FaultKind, FaultTarget};

#[test]
fn credentials_are_generated_in_the_documented_shape() {
    let emu = Emulator::start().unwrap();
    assert_eq!(emu.secret_key().len(), 103);
    assert!(emu.secret_key().starts_with("dtvi_"));
    assert_eq!(emu.organization_id().len(), 36);
    assert!(emu.url().starts_with("http://127.0.0.1:"));
    assert!(!emu.url().ends_with('/'));
}

#[test]
fn authentication_is_enforced() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let url = c.url(&c.ws("/datasets"));
    let call = |headers: &[(&str, &str)]| c.get_plain(&url, headers);

    let r = call(&[]).expect(401);
    assert_eq!(r.json()["error"], "AuthenticationFailed");
    let bearer = format!("Bearer {}", c.key);
    call(&[("Authorization", &bearer)]).expect(401);
    call(&[("Organization-Id", &c.org)]).expect(401);
    call(&[
        ("Authorization", "Bearer dtvi_wrong"),
        ("Organization-Id", &c.org),
    ])
    .expect(401);
    call(&[("Authorization", &c.key), ("Organization-Id", &c.org)]).expect(401);
    call(&[
        ("Authorization", &bearer),
        ("Organization-Id", "someone-else"),
    ])
    .expect(401);
    call(&[("Authorization", &bearer), ("Organization-Id", &c.org)]).expect(200);

    // Valid credentials, but another organization in the path: 403 (§15 #21).
    let other = c.url("/workspaces/another-org/datasets");
    let r = c
        .get_plain(
            &other,
            &[("Authorization", &bearer), ("Organization-Id", &c.org)],
        )
        .expect(403);
    assert_eq!(r.json()["error"], "PermissionDenied");

    // Unknown routes are JSON 404s; wrong methods 405.
    let r = c.get("/nope").expect(404);
    assert_eq!(r.json()["error"], "ResourceNotFound");
    c.get(&c.ws("/datasets/x/unknown")).expect(404);
    c.delete(&c.ws("/datasets")).expect(405);
}

#[test]
fn dataset_crud_and_shape() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("Drone survey");
    assert_eq!(ds.len(), 10);
    assert!(
        ds.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
    );

    let d = c.get(&c.ds(&ds, "")).expect(200).json();
    assert_keys(
        &d,
        &[
            "datasetId",
            "name",
            "owner",
            "workspaceId",
            "type",
            "content",
            "createDate",
            "statistic",
            "users",
            "tags",
            "cohorts",
            "status",
            "lastAccessed",
            "isLocked",
            "access",
            "preference",
            "assetStatuses",
            "selfLink",
            "etag",
        ],
    );
    assert_eq!(d["kind"], "Dataset");
    assert_eq!(d["datasetId"], c.dsc(&ds));
    assert_eq!(d["workspaceId"], c.org.as_str());
    assert_eq!(d["type"], "phrase-grounding");
    assert_eq!(d["content"], "Image");
    assert_eq!(d["localization"], "Datature/Multi");
    assert_int(&d["createDate"]);
    assert_int(&d["lastAccessed"]);
    assert_int(&d["status"]);
    for k in ["assetTotal", "annotationTotal", "assetAnnotated"] {
        assert_int(&d["statistic"][k]);
    }
    assert!(d["statistic"]["tagsCount"].is_object());
    assert!(d["access"].get("isPublic").is_some() && d["access"].get("isReadOnly").is_some());
    assert_eq!(d["statistic"]["assetTotal"], 0);

    // List (D1), lightweight list (D7), update (D6).
    let list = c.get(&c.ws("/datasets?s=10")).expect(200).json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["nextPage"].is_null());
    let simple = c.get(&c.ws("/simpleDatasets?s=10")).expect(200).json();
    assert_eq!(simple["items"][0]["datasetId"], c.dsc(&ds));
    let patched = c
        .patch(
            &c.ds(&ds, ""),
            &json!({"name": "Renamed", "description": "d"}),
        )
        .expect(200)
        .json();
    assert_eq!(patched["name"], "Renamed");
    c.patch(&c.ds(&ds, ""), &json!({"nmae": "x"})).expect(400);

    // Unknown and malformed dataset ids.
    c.get(&c.ds("nosuchid00", "")).expect(404);
    c.get(&c.ws("/datasets/not-composite")).expect(404);
    c.get(&c.ds(&ds, "/deleteOperation")).expect(404);

    // Delete (D4) and its operation (D5).
    let del = c.delete(&c.ds(&ds, "")).expect(200).json();
    assert_keys(
        &del,
        &[
            "kind",
            "user",
            "workspaceId",
            "datasetId",
            "selfLink",
            "etag",
            "metadata",
            "status",
        ],
    );
    assert_eq!(del["kind"], "DatasetDeleteOperation");
    assert_eq!(del["datasetId"], c.dsc(&ds));
    let op = c.get(&c.ds(&ds, "/deleteOperation")).expect(200).json();
    let conditions = op["status"]["conditions"].as_array().unwrap();
    assert!(!conditions.is_empty());
    assert!(conditions.iter().all(|c| c["status"] == "Reached"));
    c.get(&c.ds(&ds, "")).expect(404);
    c.get(&c.ds(&ds, "/assets")).expect(404);
    c.delete(&c.ds(&ds, "")).expect(404);
}

#[test]
fn dataset_create_is_strict() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let path = c.ws("/datasets");
    let msg = |body: Value| {
        c.post(&path, &body).expect(400).json()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    assert!(msg(json!({"nmae": "x"})).contains("unknown field \"nmae\""));
    assert!(msg(json!({"description": "x"})).contains("missing field \"name\""));
    assert!(msg(json!({"name": ""})).contains("\"name\""));
    assert!(msg(json!({"name": 5})).contains("\"name\" must be a string"));
    assert!(msg(json!({"name": "x", "status": "0"})).contains("\"status\" must be an integer"));
    assert!(msg(json!({"name": "x", "type": "detection"})).contains("\"type\""));
    assert!(msg(json!({"name": "x", "content": "Video"})).contains("\"content\""));
    assert!(msg(json!({"name": "x", "localization": "Elsewhere"})).contains("\"localization\""));
    assert!(
        msg(json!({"name": "x", "tags": {"a": "b"}})).contains("\"tags.a\" must be an integer")
    );
    assert!(
        msg(json!({"name": "x", "metadata": {"attributes": {"k": 1}}}))
            .contains("metadata.attributes.k")
    );
    assert!(msg(json!(["x"])).contains("JSON object"));
    let r = c.post(
        &path,
        &json!({"name": "x", "metadata": {"attributes": {"k": "v"}}, "type": "vqa"}),
    );
    assert_eq!(r.expect(200).json()["type"], "vqa");
}

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

#[test]
fn api_faults_fire_then_clear() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    emu.inject(Fault {
        target: FaultTarget::Api,
        kind: FaultKind::Status {
            status: 429,
            retry_after: Some(3),
        },
        times: 2,
    });
    for _ in 0..2 {
        let r = c.get(&c.ws("/datasets")).expect(429);
        assert_eq!(r.header("retry-after").as_deref(), Some("3"));
        assert_eq!(r.json()["error"], "RateLimitExceeded");
    }
    c.get(&c.ws("/datasets")).expect(200);

    emu.inject(Fault {
        target: FaultTarget::ApiMatching {
            method: Some("POST".into()),
            path_contains: Some("/datasets".into()),
        },
        kind: FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        times: 1,
    });
    c.get(&c.ws("/datasets")).expect(200);
    c.post(&c.ws("/datasets"), &json!({"name": "x"}))
        .expect(503);
    c.post(&c.ws("/datasets"), &json!({"name": "x"}))
        .expect(200);

    emu.inject(Fault {
        target: FaultTarget::Api,
        kind: FaultKind::TruncateBody { after_bytes: 5 },
        times: 1,
    });
    let truncated = c
        .agent
        .get(c.url(&c.ws("/datasets")))
        .header("Authorization", format!("Bearer {}", c.key))
        .header("Organization-Id", &c.org)
        .call()
        .and_then(|mut r| r.body_mut().read_to_vec());
    assert!(truncated.is_err(), "a truncated body must fail to read");
    c.get(&c.ws("/datasets")).expect(200);
}

#[test]
fn recording_describes_requests_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let emu = Emulator::start_with(EmulatorConfig {
        record_to: Some(log.clone()),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("rec");
    c.get(&c.ds(
        &ds,
        "/assets?s=10&contents=y&filter=filename+%3D%3D+%22a%22",
    ))
    .expect(200);
    let data = png(2, 2, 0);
    c.upload(&ds, &[("a.png", &data)]);
    drop(emu);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&c.key), "secret key leaked");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let list = lines
        .iter()
        .find(|l| l["route"] == "/workspaces/{org}/datasets/{dsc}/assets")
        .unwrap();
    assert_eq!(list["query"]["s"], "int");
    assert_eq!(list["query"]["contents"], "y");
    assert_eq!(list["query"]["filter"], "string");
    assert_eq!(list["headers"]["Organization-Id"], "<present>");
    let create = lines
        .iter()
        .find(|l| l["method"] == "POST" && l["route"] == "/workspaces/{org}/datasets")
        .unwrap();
    assert_eq!(create["body"]["status"], "int");
    assert_eq!(create["body"]["tags"], json!({}));
    let u1 = lines
        .iter()
        .find(|l| {
            l["route"]
                .as_str()
                .unwrap()
                .ends_with("/assetIngestionSessions")
        })
        .unwrap();
    assert_eq!(u1["body"]["spec"]["assets"][0]["crc32c"], "int");
    assert_eq!(u1["body"]["spec"]["assets"][0]["customMetadata"], "null");
    let put = lines.iter().find(|l| l["method"] == "PUT").unwrap();
    assert_eq!(put["route"], "/_storage/upload/{ingestionId}/{filename}");
    assert_eq!(put["query"]["signature"], "signature");
    assert_eq!(put["status"], 200);
}

#[test]
fn emulator_is_send_sync_and_usable_from_async_code() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Emulator>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emu = Emulator::start().unwrap();
        let url = emu.url().to_owned();
        let status = tokio::task::spawn_blocking(move || {
            agent()
                .get(&format!("{url}/nope"))
                .call()
                .unwrap()
                .status()
                .as_u16()
        })
        .await
        .unwrap();
        assert_eq!(status, 404);
        drop(emu);
    });
}

#[test]
fn delay_fault_slows_one_request() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    emu.inject(Fault {
        target: FaultTarget::Api,
        kind: FaultKind::Delay(std::time::Duration::from_millis(300)),
        times: 1,
    });
    let t = std::time::Instant::now();
    c.get(&c.ws("/datasets")).expect(200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
    // That `times` is honoured is checked by the status-fault tests, without clocks.
    c.get(&c.ws("/datasets")).expect(200);
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
