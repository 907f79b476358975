//! Helpers shared by the integration tests: a tiny HTTP client, image makers, upload
//! shortcuts and, in [`session`], readers of an ingestion session.
#![allow(dead_code)]

pub mod session;

use serde_json::{Value, json};
use ureq::http::HeaderMap;
use vi_emulator::Emulator;

/// A reply, fully read.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts the status and, for errors, the JSON error shape.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        if status >= 400 && status != 416 {
            let v = self.json();
            assert!(v["message"].is_string(), "error body without message: {v}");
            assert!(v["error"].is_string(), "error body without error: {v}");
        }
        self
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into()
}

fn read(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut resp = resp.expect("request failed at the transport level");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .expect("cannot read body");
    Reply {
        status,
        headers,
        body,
    }
}

/// An authenticated API client for one emulator.
pub struct Client {
    pub agent: ureq::Agent,
    pub base: String,
    pub key: String,
    pub org: String,
}

impl Client {
    pub fn new(emu: &Emulator) -> Client {
        Client {
            agent: agent(),
            base: emu.url().to_owned(),
            key: emu.secret_key().to_owned(),
            org: emu.organization_id().to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `/workspaces/{org}` + rest.
    pub fn ws(&self, rest: &str) -> String {
        format!("/workspaces/{}{}", self.org, rest)
    }

    pub fn dsc(&self, short: &str) -> String {
        format!("{}_{}", self.org, short)
    }

    /// `/workspaces/{org}/datasets/{org}_{ds}` + rest.
    pub fn ds(&self, short: &str, rest: &str) -> String {
        format!(
            "/workspaces/{}/datasets/{}{}",
            self.org,
            self.dsc(short),
            rest
        )
    }

    pub fn src(&self, short: &str, rest: &str) -> String {
        self.ds(
            short,
            &format!("/assetSources/managed/datature/default{rest}"),
        )
    }

    pub fn get(&self, path: &str) -> Reply {
        read(
            self.agent
                .get(self.url(path))
                .header("Authorization", format!("Bearer {}", self.key))
                .header("Organization-Id", &self.org)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .call(),
        )
    }

    pub fn delete(&self, path: &str) -> Reply {
        read(
            self.agent
                .delete(self.url(path))
                .header("Authorization", format!("Bearer {}", self.key))
                .header("Organization-Id", &self.org)
                .header("Content-Type", "application/json")
                .call(),
        )
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        read(
            self.agent
                .post(self.url(path))
                .header("Authorization", format!("Bearer {}", self.key))
                .header("Organization-Id", &self.org)
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
        )
    }

    pub fn post_empty(&self, path: &str) -> Reply {
        read(
            self.agent
                .post(self.url(path))
                .header("Authorization", format!("Bearer {}", self.key))
                .header("Organization-Id", &self.org)
                .header("Content-Type", "application/json")
                .send_empty(),
        )
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        read(
            self.agent
                .patch(self.url(path))
                .header("Authorization", format!("Bearer {}", self.key))
                .header("Organization-Id", &self.org)
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
        )
    }

    /// A PUT to a signed URL with the given headers and a Content-Length body.
    pub fn put_signed(&self, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut req = self.agent.put(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send(body))
    }

    /// A PUT with `Transfer-Encoding: chunked`.
    pub fn put_chunked(&self, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut req = self.agent.put(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut reader = std::io::Cursor::new(body.to_vec());
        read(req.send(ureq::SendBody::from_reader(&mut reader)))
    }

    pub fn get_plain(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.agent.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.call())
    }

    /// Creates a dataset the way the Python SDK does; returns its short id.
    pub fn create_dataset(&self, name: &str) -> String {
        let reply = self
            .post(
                &self.ws("/datasets"),
                &json!({
                    "name": name,
                    "owner": self.org,
                    "description": "",
                    "type": "phrase-grounding",
                    "content": "Image",
                    "localization": "Datature/Multi",
                    "dataLocalization": "Datature/Multi",
                    "status": 0,
                    "tags": {},
                }),
            )
            .expect(200);
        let dsc = reply.json()["datasetId"]
            .as_str()
            .expect("datasetId")
            .to_owned();
        dsc.rsplit('_').next().expect("short id").to_owned()
    }

    /// U1 with the given files (`FailAfterAll`), returns the session JSON.
    pub fn create_session(&self, ds: &str, files: &[(&str, &[u8])], mode: &str) -> Value {
        let assets: Vec<Value> = files
            .iter()
            .map(|(name, bytes)| declaration(name, bytes))
            .collect();
        self.post(
            &self.src(ds, "/assetIngestionSessions"),
            &json!({"spec": {
                "assets": assets,
                "kind": "Upload",
                "failureMode": mode,
                "onAssetOverwritten": "RemoveLinkedResource",
            }}),
        )
        .expect(200)
        .json()
    }

    /// PUTs `bytes` to the upload URL of `name` in a U1 response.
    pub fn put_file(&self, session: &Value, name: &str, bytes: &[u8]) -> Reply {
        let entry = session["status"]["assets"]
            .as_array()
            .expect("status.assets")
            .iter()
            .find(|a| a["metadata"]["filename"] == name)
            .unwrap_or_else(|| panic!("no upload entry for {name}"))
            .clone();
        let url = entry["upload"]["url"].as_str().expect("url");
        let headers: Vec<(String, String)> = entry["upload"]["headers"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.put_signed(url, &refs, bytes)
    }

    pub fn session(&self, ds: &str, id: &str) -> Value {
        self.get(&self.src(ds, &format!("/assetIngestionSessions/{id}")))
            .expect(200)
            .json()
    }

    /// Uploads files through one session and checks it finished `Reached`.
    pub fn upload(&self, ds: &str, files: &[(&str, &[u8])]) -> Value {
        let session = self.create_session(ds, files, "FailAfterAll");
        for (name, bytes) in files {
            self.put_file(&session, name, bytes).expect(200);
        }
        let id = session["assetIngestionSessionId"].as_str().expect("id");
        let done = self.session(ds, id);
        assert_eq!(finished_status(&done), Some("Reached".to_owned()), "{done}");
        done
    }

    /// All assets of a dataset (one `s=1000` page).
    pub fn assets(&self, ds: &str) -> Vec<Value> {
        self.get(&self.ds(ds, "/assets?s=1000")).expect(200).json()["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

pub fn mime_of(name: &str) -> &'static str {
    if name.ends_with(".png") {
        "image/png"
    } else if name.ends_with(".jpg") || name.ends_with(".jpeg") {
        "image/jpeg"
    } else if name.ends_with(".mp4") {
        "video/mp4"
    } else {
        "image/png"
    }
}

/// A U1 declaration the way the Python SDK writes it.
pub fn declaration(name: &str, bytes: &[u8]) -> Value {
    let mime = mime_of(name);
    json!({
        "filename": name,
        "mime": mime,
        "size": bytes.len(),
        "crc32c": crc32c::crc32c(bytes) as i32,
        "customMetadata": null,
        "kind": if mime.starts_with("video/") { "Video" } else { "Image" },
    })
}

/// The status of the `Finished` condition, if any.
pub fn finished_status(session: &Value) -> Option<String> {
    session["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["condition"] == "Finished")
        .and_then(|c| c["status"].as_str())
        .map(str::to_owned)
}

/// A valid PNG of the given size; `seed` varies the pixels so two images of the same
/// size differ (the workspace's one image generator, `vi_testkit::png`).
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    vi_testkit::png(width, height, u32::from(seed))
}

/// A JPEG whose header (JFIF + SOF0) declares the given size; enough for header
/// readers, followed by `padding` filler bytes and EOI.
pub fn jpeg(width: u16, height: u16, padding: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
    out.extend_from_slice(b"JFIF\0");
    out.extend_from_slice(&[1, 1, 0, 0, 1, 0, 1, 0, 0]);
    out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 8]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend(std::iter::repeat_n(0u8, padding));
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Keys every Asset object must carry (docs/protocol.md §5.6).
pub const ASSET_KEYS: &[&str] = &[
    "assetId",
    "datasetId",
    "workspaceId",
    "filename",
    "kind",
    "owner",
    "metadata",
    "selfLink",
    "etag",
];

pub const ASSET_METADATA_KEYS: &[&str] = &[
    "generations",
    "insertedBy",
    "annotations",
    "frames",
    "cohorts",
    "fileSize",
    "height",
    "width",
    "mimeType",
    "source",
    "status",
    "uploadStatus",
    "visibility",
    "userDefined",
    "customMetadata",
    "dimensions",
    "pixelRatio",
    "comments",
    "customMetadataCount",
    "hash",
    "contentsFrom",
    "framesChange",
    "timeCreated",
    "lastUpdated",
    "contentsLastUpdated",
];

#[track_caller]
pub fn assert_keys(v: &Value, keys: &[&str]) {
    for k in keys {
        assert!(v.get(*k).is_some(), "missing key {k} in {v}");
    }
}

#[track_caller]
pub fn assert_int(v: &Value) {
    assert!(v.is_i64() || v.is_u64(), "not an integer: {v}");
}
