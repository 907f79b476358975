//! Process helpers shared by the commands that start a `vi-emulator` process and measure
//! child processes (`bench`, `soak`): the emulator's start-up handshake, cleanup guards,
//! and the Linux memory counters of `/proc/<pid>/status`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// Kills and reaps a child process when dropped.
pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes a directory tree when dropped (nothing when `None`, e.g. to keep it).
pub(crate) struct RemoveOnDrop(pub(crate) Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// An emulator process and what it printed at start: its URL and the credentials it
/// generated. The secret key is only ever passed to clients, never printed.
pub(crate) struct EmulatorProcess {
    /// The process, killed when this is dropped.
    pub(crate) child: KillOnDrop,
    /// `http://HOST:PORT`.
    pub(crate) url: String,
    /// The secret key clients must present.
    pub(crate) key: String,
    /// The organization id clients must present.
    pub(crate) org: String,
}

impl EmulatorProcess {
    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.0.id()
    }
}

/// Starts `bin --port 0 --data-dir DATA EXTRA…` with generated credentials, reads the
/// first lines it prints (`listening on URL`, `secret key: …`, `organization id: …`)
/// and drains the rest of its output in a thread so that it never blocks on a full pipe.
pub(crate) fn start_emulator(
    bin: &Path,
    data: &Path,
    extra: &[String],
) -> Result<EmulatorProcess, String> {
    let mut child = Command::new(bin)
        .args(["--port", "0", "--data-dir"])
        .arg(data)
        .args(extra)
        .env_remove("DATATURE_VI_SECRET_KEY")
        .env_remove("DATATURE_VI_ORGANIZATION_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("the emulator has no stdout")?;
    let child = KillOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut next = || -> Result<String, String> {
        lines
            .next()
            .ok_or_else(|| "the emulator exited at start".to_owned())?
            .map_err(|e| e.to_string())
    };
    let first = next()?;
    let url = first
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line from the emulator: {first:?}"))?
        .to_owned();
    let (mut key, mut org) = (String::new(), String::new());
    while key.is_empty() || org.is_empty() {
        let line = next()?;
        if let Some(k) = line.strip_prefix("secret key: ") {
            key = k.to_owned();
        } else if let Some(v) = line.strip_prefix("organization id: ") {
            org = v.to_owned();
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Ok(EmulatorProcess {
        child,
        url,
        key,
        org,
    })
}

/// A `kB` field (`VmHWM:`, `VmRSS:`) of `/proc/<pid>/status`, in KiB; `pid` may be
/// `self`. `None` off Linux or once the process is gone.
pub(crate) fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Peak resident set size (`VmHWM`) of a process, in KiB (Linux).
pub(crate) fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(&pid.to_string(), "VmHWM:")
}

/// Current resident set size (`VmRSS`) of a process, in KiB (Linux).
pub(crate) fn current_rss_kib(pid: u32) -> Option<u64> {
    status_kib(&pid.to_string(), "VmRSS:")
}

/// Waits for `child` to exit, sampling its peak resident set size every 5 ms (`VmHWM`
/// only grows: its last value before the exit is the peak up to then). Returns the exit
/// status and that peak in KiB (`None` off Linux or when the child exited before the
/// first sample).
pub(crate) fn wait_with_peak_rss(child: &mut Child) -> Result<(ExitStatus, Option<u64>), String> {
    let mut peak = None;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok((status, peak));
        }
        peak = peak_rss_kib(child.id()).or(peak);
        std::thread::sleep(Duration::from_millis(5));
    }
}
