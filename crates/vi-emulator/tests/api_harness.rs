//! The emulator as a test harness: injected API faults and delays, the recording of
//! requests (without secrets), and use from async code.

use crate::common;

use common::*;
use serde_json::{Value, json};
use vi_emulator::{Emulator, EmulatorConfig, Fault, FaultKind, FaultTarget};

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
