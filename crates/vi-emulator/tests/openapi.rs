//! The emulator agrees with `api/vi.openapi.yaml`: the main calls, driven over real HTTP,
//! answer with a status the document lists for the operation and a JSON body that its
//! schema for that status accepts (validated with `jsonschema`, draft 2020-12, which is
//! what OpenAPI 3.1 schemas are).

mod common;

use common::{Client, Reply, jpeg};
use serde_json::{Value, json};
use vi_emulator::{Emulator, EmulatorConfig};

/// The document, as JSON.
fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../api/vi.openapi.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    yaml_serde::from_str(&text).expect("the document is YAML")
}

/// Checks replies against the document.
struct Conformance {
    doc: Value,
    checked: usize,
}

impl Conformance {
    fn new() -> Self {
        Conformance {
            doc: document(),
            checked: 0,
        }
    }

    /// Follows a `$ref` into the document (`#/components/...`).
    fn follow<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {pointer}")),
            None => value,
        }
    }

    /// The problems of `reply` as the answer of `method template`; empty when it conforms.
    fn problems(&self, method: &str, template: &str, status: u16, body: &[u8]) -> Vec<String> {
        let operation = &self.doc["paths"][template][method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not in the document"
        );
        let Some(response) = operation["responses"].get(status.to_string()) else {
            return vec![format!(
                "{method} {template}: status {status} is not documented"
            )];
        };
        let response = self.follow(response);
        let Some(schema) = response.pointer("/content/application~1json/schema") else {
            return if body.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "{method} {template} {status}: the document promises no body, got {} bytes",
                    body.len()
                )]
            };
        };
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return vec![format!("{method} {template} {status}: not JSON: {e}")],
        };
        // The operation's schema, with the document's components beside it so that
        // `#/components/schemas/...` references resolve.
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::validator_for(&root).expect("the schema compiles");
        validator
            .iter_errors(&instance)
            .map(|e| format!("{method} {template} {status}: {e} at {}", e.instance_path()))
            .collect()
    }

    /// Asserts that `reply` conforms; returns it for further use.
    #[track_caller]
    fn check(&mut self, method: &str, template: &str, reply: Reply) -> Reply {
        let problems = self.problems(method, template, reply.status, &reply.body);
        assert!(
            problems.is_empty(),
            "the emulator disagrees with the document:\n{}\nbody: {}",
            problems.join("\n"),
            reply.text()
        );
        self.checked += 1;
        reply
    }
}

const DATASETS: &str = "/workspaces/{org}/datasets";
const DATASET: &str = "/workspaces/{org}/datasets/{dsc}";
const ASSETS: &str = "/workspaces/{org}/datasets/{dsc}/assets";
const ASSET: &str = "/workspaces/{org}/datasets/{dsc}/assets/{asset}";
const SRC: &str = "/workspaces/{org}/datasets/{dsc}/assetSources/managed/datature/default";

fn src(rest: &str) -> String {
    format!("{SRC}{rest}")
}

#[test]
fn the_checker_rejects_what_the_document_forbids() {
    let c = Conformance::new();
    let missing_id = br#"{"name": "x"}"#;
    assert!(!c.problems("GET", DATASET, 200, missing_id).is_empty());
    let bad_enum = br#"{"kind": "Dataset", "datasetId": "o_d", "name": "x", "type": "nope"}"#;
    assert!(!c.problems("GET", DATASET, 200, bad_enum).is_empty());
    assert!(!c.problems("GET", DATASET, 418, b"{}").is_empty());
    assert!(!c.problems("DELETE", ASSET, 204, b"{}").is_empty());
    assert!(c.problems("DELETE", ASSET, 204, b"").is_empty());
    assert!(
        !c.problems("GET", DATASET, 404, br#"{"message": 1}"#)
            .is_empty()
    );
}

#[test]
fn emulator_responses_match_the_document() {
    let emu = Emulator::start_with(EmulatorConfig {
        multipart_part_size: 1000,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let mut v = Conformance::new();

    // Datasets: create, list, get, and the error bodies of 404, 401 and 400.
    let created = v.check(
        "POST",
        DATASETS,
        c.post(
            &c.ws("/datasets"),
            &json!({"name": "conformance", "owner": c.org, "description": "", "type": "vqa",
                    "content": "Image", "localization": "Datature/Multi",
                    "dataLocalization": "Datature/Multi", "status": 0, "tags": {}}),
        ),
    );
    let dsc = created.json()["datasetId"].as_str().unwrap().to_owned();
    let ds = dsc.rsplit('_').next().unwrap().to_owned();
    v.check("GET", DATASETS, c.get(&c.ws("/datasets?s=1")));
    v.check("GET", DATASET, c.get(&c.ds(&ds, "")));
    v.check("GET", DATASET, c.get(&c.ds("nosuchds", "")).expect(404));
    v.check("GET", DATASETS, c.get(&c.ws("/datasets?s=0")).expect(400));
    let mut stranger = Client::new(&emu);
    stranger.key = format!("dtvi_{}", "x".repeat(98));
    v.check(
        "GET",
        DATASETS,
        stranger.get(&c.ws("/datasets")).expect(401),
    );
    v.check(
        "PATCH",
        DATASET,
        c.patch(&c.ds(&ds, ""), &json!({"description": "d"})),
    );

    // Upload two files through a session, then the asset calls.
    let a = jpeg(40, 30, 300);
    let b = jpeg(20, 20, 400);
    let session = v.check(
        "POST",
        &src("/assetIngestionSessions"),
        c.post(
            &c.src(&ds, "/assetIngestionSessions"),
            &json!({"spec": {"assets": [common::declaration("a.jpg", &a), common::declaration("b.jpg", &b)],
                             "kind": "Upload", "failureMode": "FailAfterAll",
                             "onAssetOverwritten": "KeepLinkedResource"}}),
        ),
    );
    let session = session.json();
    c.put_file(&session, "a.jpg", &a).expect(200);
    c.put_file(&session, "b.jpg", &b).expect(200);
    let sid = session["assetIngestionSessionId"].as_str().unwrap();
    v.check(
        "GET",
        &src("/assetIngestionSessions/{sessionId}"),
        c.get(&c.src(&ds, &format!("/assetIngestionSessions/{sid}"))),
    );
    v.check(
        "GET",
        &src("/assetIngestionSessions"),
        c.get(&c.src(&ds, "/assetIngestionSessions")),
    );
    let listed = v.check(
        "GET",
        ASSETS,
        c.get(&c.ds(&ds, "/assets?s=1&contents=y&sortBy=filename&o=desc")),
    );
    let first = listed.json()["items"][0]["assetId"]
        .as_str()
        .unwrap()
        .to_owned();
    v.check(
        "GET",
        ASSETS,
        c.get(&c.ds(&ds, "/assets?contents=true")).expect(400),
    );
    v.check(
        "GET",
        "/workspaces/{org}/datasets/{dsc}/assets:count",
        c.get(&c.ds(&ds, "/assets:count?strictQuery=n")),
    );
    v.check(
        "GET",
        ASSET,
        c.get(&c.ds(&ds, &format!("/assets/{first}?contents=y"))),
    );
    v.check(
        "GET",
        ASSET,
        c.get(&c.ds(&ds, "/assets/nosuchasset")).expect(404),
    );
    v.check(
        "POST",
        &format!("{ASSET}/name"),
        c.post(
            &c.ds(&ds, &format!("/assets/{first}/name")),
            &json!({"filename": "renamed.jpg"}),
        ),
    );
    v.check(
        "POST",
        "/workspaces/{org}/datasets/{dsc}/assetFiles/{filename}/name",
        c.post(
            &c.ds(&ds, "/assetFiles/renamed.jpg/name"),
            &json!({"name": "wrong key"}),
        )
        .expect(400),
    );
    v.check(
        "DELETE",
        ASSET,
        c.delete(&c.ds(&ds, &format!("/assets/{first}"))),
    );

    // Multipart M1–M5 for a declared file, then cancel a session.
    let big = jpeg(60, 40, 2500);
    let s2 = c.create_session(&ds, &[("big.jpg", &big)], "FailAfterOne");
    let mp = v
        .check(
            "POST",
            &src("/multipartUploads"),
            c.post(
                &c.src(&ds, "/multipartUploads"),
                &json!({"spec": {"ingestionId": s2["ingestionId"], "filename": "big.jpg",
                             "contentType": "image/jpeg", "sizeBytes": big.len()}}),
            ),
        )
        .json();
    let mp_id = mp["multipartUploadId"].as_str().unwrap().to_owned();
    let parts = mp["status"]["partCount"].as_u64().unwrap() as usize;
    let base = big.len() / parts;
    for n in 1..=parts {
        let part = v
            .check(
                "POST",
                &src("/multipartUploads/{mpId}/parts/{partNumber}"),
                c.post(
                    &c.src(&ds, &format!("/multipartUploads/{mp_id}/parts/{n}")),
                    &json!({}),
                ),
            )
            .json();
        let end = if n == parts { big.len() } else { n * base };
        let put = c
            .put_signed(
                part["url"].as_str().unwrap(),
                &[],
                &big[(n - 1) * base..end],
            )
            .expect(200);
        let etag = put.header("etag").unwrap();
        v.check(
            "POST",
            &src("/multipartUploads/{mpId}/parts/{partNumber}/completion"),
            c.post(
                &c.src(
                    &ds,
                    &format!("/multipartUploads/{mp_id}/parts/{n}/completion"),
                ),
                &json!({"responseHeaders": {"ETag": etag}}),
            ),
        );
    }
    v.check(
        "POST",
        &src("/multipartUploads/{mpId}/completion"),
        c.post_empty(&c.src(&ds, &format!("/multipartUploads/{mp_id}/completion"))),
    );
    v.check(
        "DELETE",
        &src("/multipartUploads/{mpId}"),
        c.delete(&c.src(&ds, &format!("/multipartUploads/{mp_id}")))
            .expect(409),
    );
    let s3 = c.create_session(&ds, &[("late.jpg", &b)], "FailAfterOne");
    let s3_id = s3["assetIngestionSessionId"].as_str().unwrap();
    v.check(
        "POST",
        &src("/assetIngestionSessions/{sessionId}:cancel"),
        c.post_empty(&c.src(&ds, &format!("/assetIngestionSessions/{s3_id}:cancel"))),
    );

    // Deleting the dataset, and its deletion operation.
    v.check("DELETE", DATASET, c.delete(&c.ds(&ds, "")));
    v.check(
        "GET",
        "/workspaces/{org}/datasets/{dsc}/deleteOperation",
        c.get(&c.ds(&ds, "/deleteOperation")),
    );
    assert!(v.checked >= 30, "only {} replies checked", v.checked);
}
