//! The emulator process the soak runs against: started with the shaping and fault flags,
//! a dataset per facade, and its request counters (`/_emulator/stats`).

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::options::Options;
use crate::procs::EmulatorProcess;

pub fn start_emulator(bin: &Path, data: &Path, o: &Options) -> Result<EmulatorProcess, String> {
    let mut args: Vec<String> = vec![
        "--fault-rate".into(),
        o.fault_rate.to_string(),
        "--fault-seed".into(),
        o.fault_seed.to_string(),
        "--latency-ms".into(),
        o.latency_ms.to_string(),
        "--bandwidth".into(),
        o.bandwidth.to_string(),
        "--signed-url-ttl-secs".into(),
        o.url_ttl_secs.to_string(),
        "--expired-status".into(),
        o.expired_status.to_string(),
        "--fault-stall-ms".into(),
        o.stall_ms.to_string(),
        // Files whose uploads the client gave up on fail after this idle time, which
        // also ends the client's wait for their session.
        "--missing-file-timeout-secs".into(),
        o.missing_file_timeout_secs.to_string(),
    ];
    if o.deferred {
        args.extend(["--verdicts".into(), "deferred".into()]);
    }
    crate::procs::start_emulator(bin, data, &args)
}

fn client_config(
    emu: &EmulatorProcess,
    read_timeout: Duration,
) -> Result<vi_blocking::Config, String> {
    vi_core::ConfigBuilder::default()
        .endpoint(emu.url.clone())
        .secret_key(emu.key.clone())
        .organization_id(emu.org.clone())
        .read_timeout(read_timeout)
        .build()
        .map_err(|e| e.to_string())
}

/// Creates the facade's dataset; a POST that meets a random fault is not retried by
/// the SDK (docs/protocol.md §10.1), so the soak tries a few times.
pub fn create_dataset(emu: &EmulatorProcess, facade: &str) -> Result<String, String> {
    let client = vi_blocking::Client::from_config(client_config(emu, Duration::from_secs(5))?)
        .map_err(|e| e.to_string())?;
    let mut last = String::new();
    for _ in 0..20 {
        match client.datasets().create(format!("soak {facade}").as_str()) {
            Ok(ds) => return ds.id().map(|id| id.to_string()).map_err(|e| e.to_string()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("cannot create a dataset: {last}"))
}

/// `GET /_emulator/stats` over a plain socket.
pub fn stats(emu: &EmulatorProcess) -> Result<Value, String> {
    let addr = emu.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /_emulator/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).map_err(|e| format!("stats: {e}: {body:?}"))
}

pub fn counter(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}
