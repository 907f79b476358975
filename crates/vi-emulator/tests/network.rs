//! Network shaping and random faults: latency, bandwidth, seeded faults, request
//! counters, and the binary's flags for all of them.
//!
//! Times are only checked from below (a shaped request cannot be faster than its
//! shaping); nothing asserts that something is fast.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use vi_emulator::{Emulator, EmulatorConfig};

#[test]
fn latency_delays_api_and_storage_requests() {
    let emu = Emulator::start_with(EmulatorConfig {
        latency: Duration::from_millis(150),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("latency");
    let start = Instant::now();
    c.get(&c.ws("/datasets")).expect(200);
    assert!(start.elapsed() >= Duration::from_millis(150));
    let data = jpeg(8, 8, 10);
    let session = c.create_session(&ds, &[("a.jpg", &data)], "FailAfterAll");
    let start = Instant::now();
    c.put_file(&session, "a.jpg", &data).expect(200);
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[test]
fn bandwidth_paces_uploads_and_downloads() {
    let emu = Emulator::start_with(EmulatorConfig {
        bandwidth: Some(64 * 1024),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("bandwidth");
    // 96 KiB each way: at 64 KiB/s each transfer takes at least 1.5 s.
    let data = jpeg(16, 16, 96 * 1024);
    let session = c.create_session(&ds, &[("big.jpg", &data)], "FailAfterAll");
    let start = Instant::now();
    c.put_file(&session, "big.jpg", &data).expect(200);
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "upload was not paced"
    );
    let id = c.assets(&ds)[0]["assetId"].as_str().unwrap().to_owned();
    let url = c
        .get(&c.ds(&ds, &format!("/assets/{id}?contents=y")))
        .expect(200)
        .json()["contents"]["asset"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // API calls are not paced; the download is, and arrives whole.
    let start = Instant::now();
    let r = c.get_plain(&url, &[]).expect(200);
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "download was not paced"
    );
    assert_eq!(r.body, data);
}

/// What a client sees of one request.
fn outcome(agent: &ureq::Agent, c: &Client) -> String {
    let result = agent
        .get(c.url(&c.ws("/datasets")))
        .header("Authorization", format!("Bearer {}", c.key))
        .header("Organization-Id", &c.org)
        .call();
    match result {
        Err(_) => "closed".to_owned(),
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match resp.body_mut().read_to_vec() {
                Err(_) => format!("{status} cut"),
                Ok(body) => match (status, retry_after) {
                    (429, Some(after)) => format!("429 after {after}"),
                    (200, _) => {
                        serde_json::from_slice::<Value>(&body).expect("whole body");
                        "ok".to_owned()
                    }
                    (s, _) => s.to_string(),
                },
            }
        }
    }
}

fn fault_run(rate: f64, seed: u64, requests: usize) -> (Vec<String>, vi_emulator::Stats) {
    let emu = Emulator::start_with(EmulatorConfig {
        fault_rate: rate,
        fault_seed: seed,
        fault_stall: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = Client::new(&emu);
    // A fresh connection per request: a fault that closes one does not touch the next.
    let outcomes = (0..requests)
        .map(|_| {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into();
            outcome(&agent, &c)
        })
        .collect();
    (outcomes, emu.stats())
}

#[test]
fn random_faults_are_seeded_and_cover_every_kind() {
    let (a, stats) = fault_run(1.0, 42, 60);
    let (b, _) = fault_run(1.0, 42, 60);
    assert_eq!(a, b, "same seed, same faults");
    assert_eq!(stats.random_faults, 60);
    assert_eq!(stats.api_requests, 60);
    for kind in ["500", "502", "503", "429 after 1", "closed", "200 cut"] {
        assert!(a.iter().any(|o| o == kind), "{kind} missing from {a:?}");
    }
    assert!(!a.iter().any(|o| o == "ok"));
    let (c, _) = fault_run(1.0, 43, 60);
    assert_ne!(a, c, "another seed, other faults");
    // A rate of 0.3 hits some requests, not all.
    let (d, stats) = fault_run(0.3, 7, 60);
    let hit = d.iter().filter(|o| *o != "ok").count() as u64;
    assert_eq!(hit, stats.random_faults);
    assert!(hit > 0 && hit < 60, "{d:?}");
    // The default is no fault at all.
    let (e, stats) = fault_run(0.0, 42, 20);
    assert!(e.iter().all(|o| o == "ok"));
    assert_eq!(stats.random_faults, 0);
}

#[test]
fn random_faults_reach_storage_too() {
    let emu = Emulator::start_with(EmulatorConfig {
        fault_rate: 1.0,
        fault_seed: 5,
        fault_stall: Duration::from_millis(50),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let agent = agent();
    for _ in 0..10 {
        // Without faults each would be a 403 (bad signature); the answer itself
        // depends on the fault drawn.
        let _ = agent
            .put(format!(
                "{}/_storage/upload/ingest-x/a.jpg?expires=1&signature=00",
                emu.url()
            ))
            .send(&b"12345"[..])
            .and_then(|mut r| r.body_mut().read_to_vec());
    }
    let stats = emu.stats();
    assert_eq!(stats.upload_requests, 10);
    assert_eq!(stats.random_faults, 10);
}

#[test]
fn stats_count_requests_per_class() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("stats");
    let data = jpeg(8, 8, 10);
    c.upload(&ds, &[("a.jpg", &data), ("b.jpg", &data)]);
    let r = c
        .get_plain(&format!("{}/_emulator/stats", emu.url()), &[])
        .expect(200);
    let v = r.json();
    assert_eq!(v["uploadRequests"], 2);
    assert_eq!(v["downloadRequests"], 0);
    // dataset, session, get session: three API calls; the stats call is not counted.
    assert_eq!(v["apiRequests"], 3);
    assert_eq!(v["requests"], 5);
    assert_eq!(emu.stats().requests, 5);
}

/// The binary accepts every shaping and realism flag and applies them.
#[test]
fn binary_flags() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vi-emulator"))
        .args([
            "--port",
            "0",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--latency-ms",
            "20",
            "--bandwidth",
            "1000000",
            "--fault-rate",
            "0",
            "--fault-seed",
            "9",
            "--fault-stall-ms",
            "100",
            "--expired-status",
            "400",
            "--verdicts",
            "deferred",
            "--part-response-body",
            "--require-part-etag",
            "--sessions-per-window",
            "1",
            "--session-window-secs",
            "300",
            "--signed-url-ttl-secs",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.strip_prefix("listening on ").unwrap().to_owned();
    let mut key = String::new();
    let mut org = String::new();
    for line in lines.by_ref().take(3) {
        let line = line.unwrap();
        if let Some(k) = line.strip_prefix("secret key: ") {
            key = k.to_owned();
        }
        if let Some(o) = line.strip_prefix("organization id: ") {
            org = o.to_owned();
        }
    }
    let c = Client {
        agent: agent(),
        base: url.clone(),
        key,
        org,
    };
    let ds = c.create_dataset("flags");
    let data = jpeg(8, 8, 10);
    let session = c.create_session(&ds, &[("a.jpg", &data)], "FailAfterAll");
    // --sessions-per-window 1: the second session waits for the window.
    let r = c
        .post(
            &c.src(&ds, "/assetIngestionSessions"),
            &json!({"spec": {"kind": "Upload", "assets": [declaration("b.jpg", &data)]}}),
        )
        .expect(429);
    assert!(r.header("retry-after").is_some());
    // --signed-url-ttl-secs 0 with --expired-status 400: the URL is already expired.
    std::thread::sleep(Duration::from_millis(5));
    let r = c.put_file(&session, "a.jpg", &data).expect(400);
    assert_eq!(r.json()["reason"], "ExpiredToken");
    let stats = c
        .get_plain(&format!("{url}/_emulator/stats"), &[])
        .expect(200)
        .json();
    assert_eq!(stats["uploadRequests"], 1);
    // SIGTERM: the emulator prints its counters on the way out.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let _ = child.wait();
    assert!(
        rest.iter()
            .any(|l| l.starts_with("requests: ") && l.contains("upload 1")),
        "{rest:?}"
    );
}

/// A request with wrong credentials is answered 401 from its head alone: the emulator does
/// not read (up to 64 MiB of) a body for a caller who may not send one. The body here is
/// announced but never sent, so only an answer before the body passes.
#[test]
fn wrong_credentials_are_refused_before_the_body_is_read() {
    use std::io::{Read, Write};
    let emulator = Emulator::start_with(EmulatorConfig::default()).unwrap();
    let address = emulator.url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let path = format!("/workspaces/{}/datasets", emulator.organization_id());
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer dtvi_wrong\r\n\
         Organization-Id: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 60000000\r\n\r\n",
        emulator.organization_id()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = [0u8; 64];
    let n = stream
        .read(&mut answer)
        .expect("an answer before any body byte");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

/// A client that trickles its request head (one header line, then nothing) is disconnected
/// after the header timeout instead of holding a connection forever.
#[test]
fn a_client_that_trickles_its_head_is_disconnected() {
    use std::io::{Read, Write};
    let emulator = Emulator::start_with(EmulatorConfig {
        header_timeout: Duration::from_millis(500),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let address = emulator.url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /workspaces HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    // Either an error status or a closed connection ends the read; a timeout does not.
    let outcome = stream.read_to_end(&mut answer);
    assert!(
        outcome.is_ok(),
        "the connection was not closed: {outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}
