//! The emulator agrees with `api/vi.openapi.yaml`: the main calls, driven over real HTTP,
//! answer with a status the document lists for the operation and a JSON body that its
//! schema for that status accepts (validated with `jsonschema`, draft 2020-12, which is
//! what OpenAPI 3.1 schemas are).

use crate::common;

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

/// The base64 of the big-endian CRC-32C of `bytes` (annotation file declarations).
fn crc_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(bytes).to_be_bytes())
}

#[test]
fn annotation_and_curation_replies_match_the_document() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let mut v = Conformance::new();
    let ds = c.create_dataset("labels");
    let img = jpeg(40, 30, 100);
    c.upload(&ds, &[("a.jpg", &img)]);
    let asset = c.assets(&ds)[0]["assetId"].as_str().unwrap().to_owned();
    let imports = format!("{DATASET}/annotationImportSessions");

    let body = json!({"spec": {"uploadBefore": 4_102_444_800_000_i64,
        "failurePolicies": {"onBadAnnotation": "RejectSession", "onBadFile": "RejectSession",
                            "onOverwritten": "RejectSession"},
        "source": "UploadedIndividualFiles"}, "metadata": {"attributes": {}}});
    let created = v.check(
        "POST",
        &imports,
        c.post(&c.ds(&ds, "/annotationImportSessions"), &body),
    );
    let id = created.json()["annotationImportSessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bad = body.clone();
    bad["spec"]["failurePolicies"]["onBadFile"] = json!("Skip");
    v.check(
        "POST",
        &imports,
        c.post(&c.ds(&ds, "/annotationImportSessions"), &bad)
            .expect(400),
    );
    v.check(
        "GET",
        &imports,
        c.get(&c.ds(&ds, "/annotationImportSessions?s=5")),
    );

    let line = br#"{"id":7,"asset":{"type":"Image","filename":"a.jpg","width":40,"height":30},"contents":{"type":"PhraseGrounding","caption":"a cat","groundedPhrases":[{"phrase":"a cat","startTokenIndex":0,"endTokenIndex":2,"bounds":[[0.1,0.1,0.5,0.5]]}]}}
"#;
    let files = format!("{imports}/{{aisId}}/files");
    let declared = v.check(
        "POST",
        &files,
        c.post(
            &c.ds(&ds, &format!("/annotationImportSessions/{id}/files")),
            &json!({"files": {"l.jsonl": {"sizeBytes": line.len(), "crc32c": crc_b64(line), "kind": "Unknown"}}}),
        ),
    );
    let declared = declared.json();
    assert_eq!(declared["files"].as_object().unwrap().len(), 1);
    let url = declared["files"]["l.jsonl"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("/_storage/upload/annotations/"), "{url}");
    v.check(
        "POST",
        &files,
        c.post(
            &c.ds(&ds, &format!("/annotationImportSessions/{id}/files")),
            &json!({"files": {}}),
        )
        .expect(400),
    );
    // Wrong bytes for the declared CRC, an unsigned URL, then the right bytes.
    c.put_signed(&url, &[], b"{\"id\":\"x\"}\n").expect(400);
    let unsigned = url.split('?').next().unwrap();
    c.put_signed(unsigned, &[], line).expect(403);
    c.put_signed(&url, &[], line).expect(200);
    let status = format!("{imports}/{{aisId}}/status");
    let report = |state: &str| json!({"status": {"conditions": [{"condition": "FilesInserted", "status": state, "lastTransitionTime": 1}]}});
    v.check(
        "PATCH",
        &status,
        c.patch(
            &c.ds(&ds, &format!("/annotationImportSessions/{id}/status")),
            &report("Reached"),
        ),
    );
    v.check(
        "PATCH",
        &status,
        c.patch(
            &c.ds(&ds, &format!("/annotationImportSessions/{id}/status")),
            &report("Reached"),
        )
        .expect(409),
    );
    let done = v.check(
        "GET",
        &format!("{imports}/{{aisId}}"),
        c.get(&c.ds(&ds, &format!("/annotationImportSessions/{id}"))),
    );
    let done = done.json();
    assert_eq!(
        done["status"]["annotations"]["statusCount"]["Created"], 1,
        "{done}"
    );
    assert!(
        done["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "Reached")
    );

    let parts_path = format!("{ASSET}/annotations");
    let part_path = format!("{ASSET}/annotations/{{annId}}");
    let parts = v.check(
        "GET",
        &parts_path,
        c.get(&c.ds(&ds, &format!("/assets/{asset}/annotations?s=1"))),
    );
    let parts = parts.json();
    assert!(
        parts["nextPage"].is_string(),
        "two parts, one per page: {parts}"
    );
    let caption = parts["items"][0]["annotationId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(parts["items"][0]["spec"]["aggregation"]["whole"]["id"], "7");
    let one = |rest: &str| c.ds(&ds, &format!("/assets/{asset}/annotations/{rest}"));
    v.check("GET", &part_path, c.get(&one(&caption)));
    v.check("GET", &part_path, c.get(&one("nope")).expect(404));
    v.check(
        "PATCH",
        &part_path,
        c.patch(
            &one(&caption),
            &json!({"spec": {"contents": {"kind": "Caption", "contents": "a dog"}}}),
        ),
    );
    let boxed = c
        .get(&c.ds(&ds, &format!("/assets/{asset}/annotations")))
        .json()["items"][1]
        .clone();
    let box_id = boxed["annotationId"].as_str().unwrap().to_owned();
    let mut moved = boxed.clone();
    moved["spec"]["contents"]["target"] = json!([1, 2]);
    let auth = format!("Bearer {}", c.key);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Organization-Id", c.org.as_str()),
        ("Content-Type", "application/json"),
    ];
    let put = v.check(
        "PUT",
        &part_path,
        c.put_signed(
            &c.url(&one(&box_id)),
            &headers,
            moved.to_string().as_bytes(),
        ),
    );
    assert_eq!(put.json()["spec"]["contents"]["target"], json!([1, 2]));
    v.check("DELETE", &part_path, c.delete(&one(&box_id)));
    v.check(
        "GET",
        &format!("{DATASET}/assetsWithObjects"),
        c.get(&c.ds(&ds, "/assetsWithObjects?contents=n&s=5")),
    );
    let with = v.check(
        "GET",
        &format!("{DATASET}/assetsWithObjects/{{asset}}"),
        c.get(&c.ds(&ds, &format!("/assetsWithObjects/{asset}?contents=y"))),
    );
    assert_eq!(with.json()["objects"].as_array().unwrap().len(), 1);

    let deletions = format!("{DATASET}/deleteManyAssetsSessions");
    let none = json!({"spec": {"filter": null, "metadataQuery": null, "ruleQuery": null, "strictQuery": null}});
    v.check(
        "POST",
        &deletions,
        c.post(&c.ds(&ds, "/deleteManyAssetsSessions"), &none)
            .expect(400),
    );
    let started = v.check(
        "POST",
        &deletions,
        c.post(
            &c.ds(&ds, "/deleteManyAssetsSessions"),
            &json!({"spec": {"filter": "filename == \"a.jpg\"", "metadataQuery": null, "ruleQuery": null, "strictQuery": true}}),
        ),
    );
    let dms = started.json()["deleteManyAssetsSessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let finished = v.check(
        "GET",
        &format!("{deletions}/{{dmsId}}"),
        c.get(&c.ds(&ds, &format!("/deleteManyAssetsSessions/{dms}"))),
    );
    assert!(
        finished.json()["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "Reached")
    );
    v.check(
        "GET",
        &deletions,
        c.get(&c.ds(&ds, "/deleteManyAssetsSessions?s=2")),
    );
    assert!(c.assets(&ds).is_empty());
    v.check(
        "GET",
        "/workspaces/{org}/simpleDatasets",
        c.get(&c.ws("/simpleDatasets?s=5")),
    );
    assert!(v.checked >= 20, "only {} replies checked", v.checked);
}
