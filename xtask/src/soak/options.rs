//! The soak's command line: its options, their defaults and the usage text.

/// The soak's options, with their defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub files: u32,
    pub size_kib: u32,
    pub fault_rate: f64,
    pub fault_seed: u64,
    pub latency_ms: u64,
    pub bandwidth: u64,
    pub url_ttl_secs: u64,
    pub expired_status: u16,
    pub stall_ms: u64,
    pub read_timeout_secs: u64,
    pub rounds: u32,
    pub facades: Vec<String>,
    pub deferred: bool,
    /// Use debug builds (CI builds one profile only).
    pub debug: bool,
    /// Transfers at once per client (`None`: the SDK's default).
    pub concurrency: Option<u64>,
    /// The emulator's `--missing-file-timeout-secs`: idle time after which the files
    /// of a session that never arrived fail with ETIMEOUT.
    pub missing_file_timeout_secs: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            files: 20_000,
            size_kib: 2,
            fault_rate: 0.2,
            fault_seed: 1,
            latency_ms: 20,
            bandwidth: 1_000_000,
            url_ttl_secs: 60,
            expired_status: 403,
            stall_ms: 10_000,
            read_timeout_secs: 5,
            rounds: 3,
            facades: vec!["blocking".into(), "async".into()],
            deferred: false,
            debug: false,
            concurrency: None,
            missing_file_timeout_secs: 600,
        }
    }
}

/// The command line of `cargo xtask soak`.
pub const USAGE: &str = "usage: cargo xtask soak [--files N (20000)] [--size-kib K (2)] [--fault-rate P (0.2)]\n\
     \x20      [--fault-seed S (1)] [--latency-ms MS (20)] [--bandwidth BYTES_PER_SEC (1000000)]\n\
     \x20      [--url-ttl-secs T (60)] [--expired-status 403|400] [--stall-ms MS (10000)]\n\
     \x20      [--read-timeout-secs T (5)] [--rounds R (3)] [--facades blocking,async]\n\
     \x20      [--verdicts sync|deferred] [--concurrency C]\n\
     \x20      [--missing-file-timeout-secs T (600)] [--debug]";

pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--debug" {
            o.debug = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} {v:?}: expected a number"))
        };
        match flag.as_str() {
            "--files" => o.files = u32::try_from(num(value)?.max(1)).unwrap_or(u32::MAX),
            "--size-kib" => o.size_kib = u32::try_from(num(value)?.max(1)).unwrap_or(1024),
            "--fault-rate" => {
                o.fault_rate = value
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| format!("--fault-rate {value:?}: expected 0 to 1"))?;
            }
            "--fault-seed" => o.fault_seed = num(value)?,
            "--latency-ms" => o.latency_ms = num(value)?,
            "--bandwidth" => o.bandwidth = num(value)?.max(1),
            "--url-ttl-secs" => o.url_ttl_secs = num(value)?,
            "--expired-status" => {
                o.expired_status = match value.as_str() {
                    "403" => 403,
                    "400" => 400,
                    _ => return Err("--expired-status: 403 or 400".into()),
                }
            }
            "--stall-ms" => o.stall_ms = num(value)?,
            "--read-timeout-secs" => o.read_timeout_secs = num(value)?.max(1),
            "--rounds" => o.rounds = u32::try_from(num(value)?.max(1)).unwrap_or(1),
            "--facades" => {
                o.facades = value.split(',').map(str::to_owned).collect();
                if o.facades.iter().any(|f| f != "blocking" && f != "async") {
                    return Err("--facades: blocking, async or both".into());
                }
            }
            "--verdicts" => o.deferred = value == "deferred",
            "--concurrency" => o.concurrency = Some(num(value)?.max(1)),
            "--missing-file-timeout-secs" => o.missing_file_timeout_secs = num(value)?.max(1),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok(o)
}
