//! The results of one bench run and their JSON file, `results/<UTC date>-<rev>-<host>.json`.
//! Everything a report needs is in here; nothing here measures anything.

use super::host::Host;
use anyhow::Context;
use fastforth_update::time::format_rfc3339;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

/// Bumped whenever a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// One bench run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Run {
    pub schema_version: u32,
    /// Short git revision of the measured tree.
    pub revision: String,
    /// Whether the tree had uncommitted changes.
    pub dirty: bool,
    /// UTC start of the run, RFC 3339.
    pub timestamp: String,
    pub quick: bool,
    pub host: Host,
    pub rustc: String,
    pub profile: String,
    pub benchmarks: Vec<Estimate>,
    pub swap_latency: Option<SwapLatency>,
    pub update_cost: Option<UpdateCost>,
    pub sizes: Vec<Size>,
    pub references: Vec<Reference>,
    /// `fastforth compile` of each Forth workload (empty in runs made before it was measured).
    #[serde(default)]
    pub aot_compile: Vec<AotCompile>,
    /// `cargo xtask dist`'s install (absent in runs made before it was measured).
    #[serde(default)]
    pub install: Option<Install>,
    /// gforth's classic programs timed whole process (empty in runs made before it was
    /// measured).
    #[serde(default)]
    pub whole_process: Vec<WholeProcess>,
}

/// One criterion benchmark, read from its `estimates.json` (times in `unit`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Estimate {
    pub id: String,
    pub mean: f64,
    pub median: f64,
    /// 95 % confidence interval of the mean.
    pub ci95: [f64; 2],
    pub unit: String,
}

/// Individually timed swaps of the example plugin (nanoseconds).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SwapLatency {
    pub swaps: usize,
    pub artifact_bytes: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
    /// Median of each phase of a swap, in order, each timed on a build of its own.
    pub phases: Vec<Phase>,
    /// SHA-256 (which names the copy) against BLAKE3 on plugins of two sizes; absent from
    /// runs before they were measured.
    #[serde(default)]
    pub hashes: Vec<HashTiming>,
}

/// Median times of two content hashes over one plugin file's bytes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HashTiming {
    pub bytes: u64,
    pub sha256_p50_ns: u64,
    pub blake3_p50_ns: u64,
}

/// One phase of a swap.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Phase {
    pub phase: String,
    pub p50_ns: u64,
}

/// Wall time and download size of updating after a one-line change to the example plugin.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UpdateCost {
    pub repetitions: usize,
    /// Rebuild the plugin (release) and swap it into a running host, seconds.
    pub plugin_seconds: Spread,
    /// Rebuild and relink the statically linked binary and restart it, seconds.
    pub monolith_seconds: Spread,
    pub plugin_bytes: Download,
    pub monolith_bytes: Download,
    /// The delta patch from the previous build to the last one (`fastforth update`'s),
    /// bytes; absent in runs made before patches existed.
    #[serde(default)]
    pub plugin_patch_bytes: Option<u64>,
}

/// One of gforth's classic programs timed whole process, as a user runs it: medians of
/// alternating runs, in milliseconds, of its C reference, of the executable `fastforth
/// compile --exe main` built, of `fastforth run --native` of its plugin, of the interpreter
/// (`fastforth run P.fs -e "main bye"`) and of gforth-fast; `None` for what was not run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WholeProcess {
    pub program: String,
    pub runs: usize,
    pub c_ms: Option<Spread>,
    pub executable_ms: Option<Spread>,
    pub native_ms: Option<Spread>,
    pub interpreted_ms: Option<Spread>,
    pub gforth_ms: Option<Spread>,
    /// What was not run, and why.
    pub skipped: Vec<String>,
}

/// Median and range of repeated measurements.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `samples`; all zero when there are none.
    pub fn of(samples: &[f64]) -> Spread {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => 0.0,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Spread {
            median,
            min: sorted.first().copied().unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
        }
    }
}

/// The bytes a user downloads: the artifact as built, stripped, and stripped + gzip -9.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Download {
    pub raw: u64,
    pub stripped: u64,
    pub gzip: u64,
}

/// The size of one artifact for one target triple.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Size {
    pub artifact: String,
    pub triple: String,
    pub bytes: u64,
    /// `None` when no strip tool for this format was found.
    pub stripped: Option<u64>,
}

/// A reference implementation's time for one workload, or why it was skipped.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Reference {
    /// `gforth-fast` or `cc -O2`.
    pub tool: String,
    pub workload: String,
    /// Median over the processes of the in-program time per run, nanoseconds.
    pub median_ns: Option<f64>,
    /// Each process's time per run, nanoseconds.
    pub runs_ns: Vec<f64>,
    pub skipped: Option<String>,
}

/// What `fastforth compile` of one Forth workload costs (wall seconds of the process), or why
/// it was skipped.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AotCompile {
    pub workload: String,
    /// Into an empty cache: cargo also builds fastforth-abi and fastforth-native-runtime.
    pub cold_seconds: Option<f64>,
    /// Into a cache where another workload was compiled: only this program's crate is built.
    pub new_program_seconds: Option<f64>,
    /// The same program again: found in the cache, cargo does not run.
    pub cached_seconds: Option<f64>,
    /// The plugin file written (stripped by the generated crate's profile).
    pub plugin_bytes: Option<u64>,
    pub skipped: Option<String>,
}

/// The install `cargo xtask dist` lays out for the host triple.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Install {
    pub triple: String,
    /// Each installed file: `fastforth`, the shared runtime, the plugins.
    pub files: Vec<InstalledFile>,
    /// `fastforth` on the shared runtime instead (`None`: not built, as in a quick run).
    pub shared_fastforth_bytes: Option<u64>,
    /// Start-ups of `fastforth run -e bye` per binary, alternating, milliseconds.
    pub startup_runs: usize,
    pub startup_static_ms: Spread,
    pub startup_shared_ms: Option<Spread>,
    /// Start-ups of `fastforth run --native` of an empty `main`, in the same alternation
    /// (absent in runs made before it was measured, or when compiling was skipped).
    #[serde(default)]
    pub startup_native_ms: Option<Spread>,
    /// Symbol bytes of `fastforth` per crate, largest first (empty: not measured).
    pub breakdown: Vec<CrateBytes>,
}

impl Install {
    /// Binary, runtime and plugins together.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.bytes).sum()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InstalledFile {
    pub file: String,
    pub bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CrateBytes {
    pub krate: String,
    pub bytes: u64,
}

impl Run {
    /// A run starting now on this host, with no figures yet.
    pub fn start(sh: &Shell, quick: bool) -> anyhow::Result<Run> {
        let revision = cmd!(sh, "git rev-parse --short HEAD")
            .read()
            .unwrap_or_else(|_| "unknown".to_owned());
        let dirty = cmd!(sh, "git status --porcelain --untracked-files=no")
            .read()
            .map(|status| !status.trim().is_empty())
            .unwrap_or(true);
        let rustc = cmd!(sh, "rustc -V").read().context("cannot run rustc -V")?;
        Ok(Run {
            schema_version: SCHEMA_VERSION,
            revision,
            dirty,
            timestamp: format_rfc3339(std::time::SystemTime::now()),
            quick,
            host: Host::detect(),
            rustc,
            profile: bench_profile(&sh.current_dir().join("Cargo.toml")),
            benchmarks: Vec::new(),
            swap_latency: None,
            update_cost: None,
            sizes: Vec::new(),
            references: Vec::new(),
            aot_compile: Vec::new(),
            install: None,
            whole_process: Vec::new(),
        })
    }

    /// Records the load average at the end of the run.
    pub fn finish(&mut self) {
        self.host.loadavg_after = super::host::loadavg();
    }

    /// The criterion estimate with this id.
    pub fn benchmark(&self, id: &str) -> Option<&Estimate> {
        self.benchmarks.iter().find(|estimate| estimate.id == id)
    }

    /// `<UTC date>-<short rev>-<host id>.json`.
    pub fn file_name(&self) -> String {
        let date = self.timestamp.get(..10).unwrap_or("unknown-date");
        format!("{date}-{}-{}.json", self.revision, self.host.id)
    }
}

impl SwapLatency {
    /// Parses the `swap-latency` probe's JSON line.
    pub fn from_probe(output: &str) -> anyhow::Result<SwapLatency> {
        #[derive(Deserialize)]
        struct Probe {
            swaps: usize,
            artifact_bytes: u64,
            phases: Vec<Phase>,
            #[serde(default)]
            hashes: Vec<HashTiming>,
            samples_ns: Vec<u64>,
        }
        let line = output
            .lines()
            .rfind(|line| line.starts_with('{'))
            .context("swap-latency printed no JSON")?;
        let probe: Probe =
            serde_json::from_str(line).context("cannot parse swap-latency output")?;
        let mut sorted = probe.samples_ns;
        sorted.sort_unstable();
        let at = |q: f64| {
            let rank = (q * sorted.len() as f64).ceil() as usize;
            sorted
                .get(rank.clamp(1, sorted.len().max(1)) - 1)
                .copied()
                .unwrap_or(0)
        };
        Ok(SwapLatency {
            swaps: probe.swaps,
            artifact_bytes: probe.artifact_bytes,
            p50_ns: at(0.5),
            p90_ns: at(0.9),
            p99_ns: at(0.99),
            max_ns: sorted.last().copied().unwrap_or(0),
            phases: probe.phases,
            hashes: probe.hashes,
        })
    }
}

/// The settings the bench profile inherits from `[profile.release]` in `manifest`.
fn bench_profile(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    let settings: Vec<&str> = text
        .lines()
        .skip_while(|line| line.trim() != "[profile.release]")
        .skip(1)
        .take_while(|line| !line.trim().is_empty() && !line.starts_with('['))
        .map(str::trim)
        .collect();
    format!("bench (inherits release: {})", settings.join(", "))
}

/// Writes `run` as pretty JSON into `dir` and returns the file's path.
pub fn write(run: &Run, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(run.file_name());
    let mut json = serde_json::to_string_pretty(run).context("cannot encode the results")?;
    json.push('\n');
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Reads a results file written by [`write`].
pub fn read(path: &Path) -> anyhow::Result<Run> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let run: Run = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bench results file", path.display()))?;
    anyhow::ensure!(
        run.schema_version == SCHEMA_VERSION,
        "{} has schema version {}, expected {SCHEMA_VERSION}",
        path.display(),
        run.schema_version
    );
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_the_middle_of_odd_and_even_samples() {
        assert_eq!(Spread::of(&[3.0, 1.0, 2.0]).median, 2.0);
        let even = Spread::of(&[4.0, 1.0, 2.0, 3.0]);
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
    }

    #[test]
    fn swap_probe_output_becomes_percentiles() {
        let samples: Vec<String> = (1..=1000).map(|n| (n * 1000).to_string()).collect();
        let output = format!(
            "progress\n{{\"swaps\":1000,\"artifact_bytes\":7,\"phases\":[{{\"phase\":\"sha256\",\"p50_ns\":5}}],\"hashes\":[{{\"bytes\":7,\"sha256_p50_ns\":9,\"blake3_p50_ns\":4}}],\"samples_ns\":[{}]}}\n",
            samples.join(",")
        );
        let latency = SwapLatency::from_probe(&output).unwrap();
        assert_eq!(
            (
                latency.p50_ns,
                latency.p90_ns,
                latency.p99_ns,
                latency.max_ns
            ),
            (500_000, 900_000, 990_000, 1_000_000)
        );
        assert_eq!(latency.phases[0].p50_ns, 5);
        assert_eq!(
            latency.hashes,
            [HashTiming {
                bytes: 7,
                sha256_p50_ns: 9,
                blake3_p50_ns: 4
            }]
        );
    }
}
