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

/// The soak's options as given (unset ones take [`Options::default`]'s values).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files each facade moves (default 20000).
    #[arg(long, value_name = "N")]
    files: Option<u64>,
    /// Size of each file in KiB (default 2).
    #[arg(long, value_name = "K")]
    size_kib: Option<u64>,
    /// Probability of a fault per request, 0 to 1 (default 0.2).
    #[arg(long, value_name = "P", value_parser = fault_rate)]
    fault_rate: Option<f64>,
    /// Seed of the faults (default 1).
    #[arg(long, value_name = "S")]
    fault_seed: Option<u64>,
    /// Latency before every response head, in ms (default 20).
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// Bandwidth per connection, bytes per second (default 1000000).
    #[arg(long, value_name = "BYTES_PER_SEC")]
    bandwidth: Option<u64>,
    /// Lifetime of signed URLs in seconds (default 60).
    #[arg(long, value_name = "T")]
    url_ttl_secs: Option<u64>,
    /// Status of an expired signed URL: 403 or 400 (default 403).
    #[arg(long, value_name = "STATUS", value_parser = ["403", "400"])]
    expired_status: Option<String>,
    /// How long a stalled body stalls, in ms (default 10000).
    #[arg(long, value_name = "MS")]
    stall_ms: Option<u64>,
    /// The clients' read timeout in seconds (default 5).
    #[arg(long, value_name = "T")]
    read_timeout_secs: Option<u64>,
    /// Rounds of re-running what failed (default 3).
    #[arg(long, value_name = "R")]
    rounds: Option<u64>,
    /// The facades to soak: blocking, async or both (default blocking,async).
    #[arg(long, value_name = "LIST")]
    facades: Option<String>,
    /// When the storage judges the files: sync, or deferred (in the session).
    #[arg(long, value_name = "sync|deferred")]
    verdicts: Option<String>,
    /// Transfers at once per client (default: the SDK's).
    #[arg(long, value_name = "C")]
    concurrency: Option<u64>,
    /// Idle seconds after which never-uploaded files fail with ETIMEOUT (default 600).
    #[arg(long, value_name = "T")]
    missing_file_timeout_secs: Option<u64>,
    /// Use debug builds (CI builds one profile only).
    #[arg(long)]
    debug: bool,
}

fn fault_rate(value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("{value:?}: expected 0 to 1"))
}

impl Args {
    /// The options, with the defaults and the lower bounds applied.
    pub fn options(self) -> Result<Options, String> {
        let d = Options::default();
        let at_least_one = |v: u64| v.max(1);
        let facades = match self.facades {
            Some(list) => {
                let facades: Vec<String> = list.split(',').map(str::to_owned).collect();
                if facades.iter().any(|f| f != "blocking" && f != "async") {
                    return Err("--facades: blocking, async or both".into());
                }
                facades
            }
            None => d.facades,
        };
        Ok(Options {
            files: self.files.map_or(d.files, |v| {
                u32::try_from(at_least_one(v)).unwrap_or(u32::MAX)
            }),
            size_kib: self.size_kib.map_or(d.size_kib, |v| {
                u32::try_from(at_least_one(v)).unwrap_or(1024)
            }),
            fault_rate: self.fault_rate.unwrap_or(d.fault_rate),
            fault_seed: self.fault_seed.unwrap_or(d.fault_seed),
            latency_ms: self.latency_ms.unwrap_or(d.latency_ms),
            bandwidth: self.bandwidth.map_or(d.bandwidth, at_least_one),
            url_ttl_secs: self.url_ttl_secs.unwrap_or(d.url_ttl_secs),
            expired_status: match self.expired_status.as_deref() {
                Some("400") => 400,
                Some(_) => 403,
                None => d.expired_status,
            },
            stall_ms: self.stall_ms.unwrap_or(d.stall_ms),
            read_timeout_secs: self
                .read_timeout_secs
                .map_or(d.read_timeout_secs, at_least_one),
            rounds: self
                .rounds
                .map_or(d.rounds, |v| u32::try_from(at_least_one(v)).unwrap_or(1)),
            facades,
            deferred: self.verdicts.map_or(d.deferred, |v| v == "deferred"),
            debug: self.debug,
            concurrency: self.concurrency.map(at_least_one).or(d.concurrency),
            missing_file_timeout_secs: self
                .missing_file_timeout_secs
                .map_or(d.missing_file_timeout_secs, at_least_one),
        })
    }
}
