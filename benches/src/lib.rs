//! Shared pieces of the FastForth benches and measurement probes: building the example
//! plugin, feeding the hot-swap path a fresh build per swap, the `#[inline(never)]` static
//! baselines, and the Forth workload sources. It measures nothing itself and knows nothing
//! of how results are reported (that is `cargo xtask bench`).

use anyhow::Context;
use fastforth_host::{Example, HotSwap, Loader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Set (to anything) by `cargo xtask bench --quick`: fewer sizes, shorter runs.
pub const QUICK_ENV: &str = "FASTFORTH_BENCH_QUICK";

/// Whether this is a quick run (see [`QUICK_ENV`]).
pub fn quick() -> bool {
    std::env::var_os(QUICK_ENV).is_some()
}

/// The Fibonacci sizes measured: all of them, or the two the targets name in a quick run.
pub fn fib_sizes() -> &'static [i32] {
    if quick() {
        &[10, 25]
    } else {
        &[10, 20, 25, 30]
    }
}

/// Builds (or finds up to date) the release build of the example plugin, version 1.0.0.
pub fn example_plugin() -> anyhow::Result<PathBuf> {
    fastforth_plugin_build::PluginBuild::new("fastforth-example-plugin", &[])
        .build()
        .context("cannot build the example plugin")
}

/// Builds (or finds up to date) the release build of the example plugin's second release,
/// version 1.0.1 (its `v2` feature).
pub fn example_plugin_v2() -> anyhow::Result<PathBuf> {
    fastforth_plugin_build::PluginBuild::new("fastforth-example-plugin", &["v2"])
        .build()
        .context("cannot build version 1.0.1 of the example plugin")
}

/// Builds (or finds up to date) the release build of the Forth engine plugin.
pub fn forth_plugin() -> anyhow::Result<PathBuf> {
    fastforth_plugin_build::PluginBuild::new("fastforth-forth-plugin", &[])
        .build()
        .context("cannot build the forth plugin")
}

/// Builds (or finds up to date) the release build of the optimizer stage plugin.
pub fn optimizer_plugin() -> anyhow::Result<PathBuf> {
    fastforth_plugin_build::PluginBuild::new("fastforth-optimizer-plugin", &[])
        .build()
        .context("cannot build the optimizer stage plugin")
}

/// Builds (or finds up to date) the release build of the parser stage plugin.
pub fn parser_plugin() -> anyhow::Result<PathBuf> {
    fastforth_plugin_build::PluginBuild::new("fastforth-parser-plugin", &[])
        .build()
        .context("cannot build the parser stage plugin")
}

/// Builds (or finds up to date) the release build of the compiler stage plugin.
pub fn compiler_plugin() -> anyhow::Result<PathBuf> {
    fastforth_plugin_build::PluginBuild::new("fastforth-compiler-plugin", &[])
        .build()
        .context("cannot build the compiler stage plugin")
}

/// A Forth source of `lines` lines for compile throughput: five-line colon definitions with
/// a conditional exit, arithmetic, a DO loop and a call of the definition before (which the
/// optimizer inlines while it is short).
pub fn compile_source(lines: usize) -> String {
    let mut source = String::from(": w0 ( n -- n' ) 1+ ;\n");
    for n in 1..lines / 5 {
        source += &format!(
            ": w{n} ( n -- n' )\n  dup 3 < if exit then\n  dup 1- swap {n} + over *\n  \
             0 10 0 do i + loop\n  + w{} ;\n",
            n - 1
        );
    }
    source
}

/// The Forth workloads of `benches/forth/`, each defining `main`, in report order: the
/// names listed in `benches/forth/workloads.txt`, which `cargo xtask bench` reads too.
pub fn forth_workloads() -> impl Iterator<Item = &'static str> {
    include_str!("../forth/workloads.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// The source of the Forth workload `name` (`benches/forth/<name>.fs`).
pub fn forth_source(name: &str) -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("forth")
        .join(format!("{name}.fs"));
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// gforth's classic benchmark programs, in report order: the names listed in
/// `benches/forth/classic/programs.txt`, which `cargo xtask bench` reads too.
pub fn classic_programs() -> impl Iterator<Item = &'static str> {
    include_str!("../forth/classic/programs.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Where the gforth package installs its benchmark programs
/// (`/usr/share/gforth/<version>/`, the newest version if there are several), if it does.
pub fn gforth_programs_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/share/gforth")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|dir| dir.join("siev.fs").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// The source of the classic program `name` as the bench runs it: `gforth-compat.fs`, then
/// the program as the gforth package installs it.
pub fn classic_source(name: &str) -> anyhow::Result<String> {
    let dir = gforth_programs_dir()
        .context("gforth's benchmark programs are not installed (apt-get install gforth)")?;
    let path = dir.join(format!("{name}.fs"));
    let program = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(format!(
        "{}\n{program}",
        include_str!("../forth/classic/gforth-compat.fs")
    ))
}

/// The statically linked baseline that is never inlined into the caller: a direct call to
/// the same `add_numbers` code the plugin exports.
#[inline(never)]
pub fn add_numbers_noinline(a: i32, b: i32) -> i32 {
    fastforth_example_plugin::add_numbers(a, b)
}

/// The never-inlined static baseline for `fibonacci`.
#[inline(never)]
pub fn fibonacci_noinline(n: i32) -> i64 {
    fastforth_example_plugin::fibonacci(n)
}

/// Fresh plugin files with distinct bytes, made from one release build: each is the
/// artifact followed by an 8-byte counter (ELF ignores trailing bytes). A swap to such a
/// file pays the whole path a new release pays: read, structural check, SHA-256, the
/// content-addressed copy, `dlopen`, descriptor validation and self-test.
pub struct SwapFeed {
    artifact: Vec<u8>,
    file_name: String,
    dir: tempfile::TempDir,
    next: u64,
}

impl SwapFeed {
    /// A feed of copies of the plugin at `artifact`, written to a new temporary directory.
    pub fn new(artifact: &Path) -> anyhow::Result<SwapFeed> {
        let bytes = std::fs::read(artifact)
            .with_context(|| format!("cannot read plugin {}", artifact.display()))?;
        let file_name = artifact
            .file_name()
            .and_then(|name| name.to_str())
            .context("plugin path has no file name")?
            .to_owned();
        let dir = tempfile::tempdir().context("cannot create a directory for plugin copies")?;
        Ok(SwapFeed {
            artifact: bytes,
            file_name,
            dir,
            next: 0,
        })
    }

    /// Writes the next distinct copy and returns its path.
    pub fn next_file(&mut self) -> anyhow::Result<PathBuf> {
        self.next += 1;
        let dir = self.dir.path().join(self.next.to_string());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(&self.file_name);
        self.write_next(&path)?;
        Ok(path)
    }

    /// Writes the next distinct copy over one of two files that it rewrites in turn (same
    /// inode, new bytes) and returns its path: the file stays valid until the second call
    /// after this one. A feed of new files creates and deletes inodes at the rate of the
    /// swaps, which on a filesystem that scans past recently deleted inodes (ext4 without a
    /// journal) slows every file the host creates; a real host sees one new build per swap.
    pub fn next_in_place(&mut self) -> anyhow::Result<PathBuf> {
        let dir = self.dir.path().join(format!("in-place-{}", self.next % 2));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        self.next += 1;
        let path = dir.join(&self.file_name);
        self.write_next(&path)?;
        Ok(path)
    }

    /// Writes the artifact followed by the current counter to `path`.
    fn write_next(&self, path: &Path) -> anyhow::Result<()> {
        let mut bytes = Vec::with_capacity(self.artifact.len() + 8);
        bytes.extend_from_slice(&self.artifact);
        bytes.extend_from_slice(&self.next.to_le_bytes());
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// A hot-swap handle on the example plugin whose shadow copies live in a temporary cache
/// directory, plus a [`SwapFeed`] of new builds written in place, with the shadow copies of
/// retired versions removed after each swap so that thousands of swaps use bounded disk
/// space.
pub struct SwapRig {
    pub hotswap: Arc<HotSwap<Example>>,
    feed: SwapFeed,
    _cache: tempfile::TempDir,
    /// Shadow files of the versions still possibly loaded, oldest first.
    loaded: Vec<PathBuf>,
}

impl SwapRig {
    /// Loads a first copy of the plugin at `artifact`.
    pub fn new(artifact: &Path) -> anyhow::Result<SwapRig> {
        let cache = tempfile::tempdir().context("cannot create a shadow cache directory")?;
        let loader = Arc::new(Loader::new(cache.path()));
        let mut feed = SwapFeed::new(artifact)?;
        let first = feed.next_in_place()?;
        let hotswap = HotSwap::<Example>::load(loader, &first)
            .with_context(|| format!("cannot load {}", first.display()))?;
        let mut rig = SwapRig {
            hotswap: Arc::new(hotswap),
            feed,
            _cache: cache,
            loaded: Vec::new(),
        };
        rig.record_current();
        Ok(rig)
    }

    /// Writes the next build (not timed by the caller), then returns it for [`SwapRig::swap`];
    /// the file is rewritten by the second `prepare` after this one (see
    /// [`SwapFeed::next_in_place`]).
    pub fn prepare(&mut self) -> anyhow::Result<PathBuf> {
        self.feed.next_in_place()
    }

    /// Swaps `path` in and returns how long `HotSwap::swap` took.
    pub fn swap(&mut self, path: PathBuf) -> anyhow::Result<std::time::Duration> {
        let start = std::time::Instant::now();
        self.hotswap
            .swap(&path)
            .with_context(|| format!("cannot swap in {}", path.display()))?;
        let elapsed = start.elapsed();
        self.record_current();
        Ok(elapsed)
    }

    /// Remembers the serving version's shadow copy and deletes those of versions already
    /// retired: everything but the serving version and the last-known-good one.
    fn record_current(&mut self) {
        self.loaded
            .push(self.hotswap.current().info().shadow.clone());
        while self.loaded.len() > 2 {
            // Best effort: a leftover file only costs disk space in a temporary directory.
            let _ = std::fs::remove_file(self.loaded.remove(0));
        }
    }
}

/// The sample at quantile `q` (0.0 to 1.0) of `sorted`, nearest-rank; `None` when empty.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&samples, 0.5), Some(50));
        assert_eq!(quantile(&samples, 0.99), Some(99));
        assert_eq!(quantile(&samples, 1.0), Some(100));
        assert_eq!(quantile(&samples, 0.0), Some(1));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn feed_files_differ_only_in_their_trailer() {
        let dir = tempfile::tempdir().unwrap();
        let artifact = dir.path().join("libdemo.so");
        std::fs::write(&artifact, b"ELF").unwrap();
        let mut feed = SwapFeed::new(&artifact).unwrap();
        let one = std::fs::read(feed.next_file().unwrap()).unwrap();
        let two = std::fs::read(feed.next_file().unwrap()).unwrap();
        assert_eq!(&one[..3], b"ELF");
        assert_eq!(&two[..3], b"ELF");
        assert_ne!(one, two);
        assert_eq!(one.len(), 11);
    }

    #[test]
    fn in_place_copies_alternate_between_two_files_with_new_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let artifact = dir.path().join("libdemo.so");
        std::fs::write(&artifact, b"ELF").unwrap();
        let mut feed = SwapFeed::new(&artifact).unwrap();
        let paths: Vec<PathBuf> = (0..3).map(|_| feed.next_in_place().unwrap()).collect();
        assert_ne!(paths[0], paths[1]);
        assert_eq!(paths[0], paths[2]);
        assert!(paths[0].ends_with("libdemo.so"));
        let (second, third) = (
            std::fs::read(&paths[1]).unwrap(),
            std::fs::read(&paths[2]).unwrap(),
        );
        assert_eq!(&second[..3], b"ELF");
        assert_ne!(second[3..], third[3..]);
    }
}
