//! What machine a run was measured on, read from `/proc` and `/etc` (Linux); fields this
//! host does not expose are left as "unknown" rather than failing the run.

use serde::{Deserialize, Serialize};

/// The measuring machine, with its load at the start and end of the run (other processes
/// compiling on a 2-core machine make every figure noisier; ratios from one run matter).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Host {
    /// A short stable identifier: the first 8 hex digits of the machine id, else the
    /// host name.
    pub id: String,
    pub os: String,
    pub cpu: String,
    pub cores: usize,
    pub memory_bytes: u64,
    /// 1, 5 and 15 minute load averages.
    pub loadavg_before: [f64; 3],
    pub loadavg_after: [f64; 3],
}

impl Host {
    pub fn detect() -> Host {
        Host {
            id: host_id(),
            os: os(),
            cpu: field("/proc/cpuinfo", "model name").unwrap_or_else(unknown),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_bytes: field("/proc/meminfo", "MemTotal")
                .and_then(|kib| kib.trim_end_matches(" kB").trim().parse::<u64>().ok())
                .map_or(0, |kib| kib * 1024),
            loadavg_before: loadavg(),
            loadavg_after: [0.0; 3],
        }
    }
}

fn unknown() -> String {
    "unknown".to_owned()
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The value of the first `key: value` (or `key=value`) line of `path` whose key is `key`.
fn field(path: &str, key: &str) -> Option<String> {
    read(path)?.lines().find_map(|line| {
        let (name, value) = line.split_once([':', '='])?;
        (name.trim() == key).then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn host_id() -> String {
    let machine = read("/etc/machine-id").map(|id| id.trim().chars().take(8).collect::<String>());
    let name = || read("/proc/sys/kernel/hostname").map(|name| name.trim().to_owned());
    machine
        .filter(|id| !id.is_empty())
        .or_else(name)
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(unknown)
}

fn os() -> String {
    let distribution =
        field("/etc/os-release", "PRETTY_NAME").unwrap_or_else(|| std::env::consts::OS.to_owned());
    match read("/proc/sys/kernel/osrelease") {
        Some(kernel) => format!(
            "{distribution}, kernel {}, {}",
            kernel.trim(),
            std::env::consts::ARCH
        ),
        None => format!("{distribution}, {}", std::env::consts::ARCH),
    }
}

/// The 1, 5 and 15 minute load averages, zeros where unavailable.
pub fn loadavg() -> [f64; 3] {
    let text = read("/proc/loadavg").unwrap_or_default();
    let mut values = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [(); 3].map(|()| values.next().unwrap_or(0.0))
}
