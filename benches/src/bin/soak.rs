//! The soak probe (`soak --swaps N --threads T --report FILE`): T threads call the example
//! plugin non-stop and check every answer while the main thread hot-swaps N times, rotating
//! three distinct builds (so every swap retires a version and closes its library under
//! concurrent calls) and trying a build that fails its self-test every tenth swap. Writes
//! one JSON object of counts and process resources (RSS, open descriptors, mapped plugin
//! images, shadow-cache bytes) at the start and the end; judging them is `cargo xtask soak`'s
//! job. Version 1.0.1 prints on every `add_numbers`, so run it with standard output discarded.

use anyhow::{Context, bail};
use fastforth_benches::{SwapFeed, example_plugin, example_plugin_v2};
use fastforth_host::runtime::is_runtime_name;
use fastforth_host::{Example, HotSwap, Loader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Swaps done before the start figures are taken, so one-time allocations are not growth.
const WARM_UP_SWAPS: u64 = 30;

struct Flags {
    swaps: u64,
    threads: usize,
    report: PathBuf,
}

/// What the calling threads counted.
#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    wrong: AtomicU64,
    failed: AtomicU64,
}

/// The process's resources at one moment.
struct Resources {
    rss_bytes: u64,
    open_fds: usize,
    mapped_images: usize,
    cache_bytes: u64,
}

fn main() -> anyhow::Result<()> {
    let flags = parse_flags(std::env::args().skip(1))?;
    let (_feed, builds) = distinct_builds()?;
    let broken =
        fastforth_plugin_build::PluginBuild::new("fastforth-fixture-plugin", &["self-test-fails"])
            .build()
            .context("cannot build the fixture plugin that fails its self-test")?;
    let cache = tempfile::tempdir().context("cannot create a shadow cache directory")?;
    let loader = Arc::new(Loader::new(cache.path()));
    let slot = HotSwap::<Example>::load(loader.clone(), &builds[0])
        .with_context(|| format!("cannot load {}", builds[0].display()))?;
    let (stop, counters) = (AtomicBool::new(false), Counters::default());
    let started = Instant::now();
    let (start, refused) = std::thread::scope(|scope| -> anyhow::Result<_> {
        for thread in 0..flags.threads {
            let (slot, stop, counters) = (&slot, &stop, &counters);
            scope.spawn(move || call_until_stopped(slot, stop, counters, thread as i32));
        }
        let outcome = swap_loop(&flags, &slot, &builds, &broken, cache.path());
        stop.store(true, Ordering::Relaxed);
        outcome
    })?;
    let end = Resources::measure(cache.path());
    let report = format!(
        "{{\"swaps\":{},\"threads\":{},\"refused\":{refused},\"retired\":{},\"seconds\":{:.1},\
         \"calls\":{},\"wrong\":{},\"failed\":{},\"start\":{},\"end\":{}}}\n",
        flags.swaps,
        flags.threads,
        loader.retired_count(),
        started.elapsed().as_secs_f64(),
        counters.calls.load(Ordering::Relaxed),
        counters.wrong.load(Ordering::Relaxed),
        counters.failed.load(Ordering::Relaxed),
        start.to_json(),
        end.to_json(),
    );
    std::fs::write(&flags.report, report)
        .with_context(|| format!("cannot write {}", flags.report.display()))
}

/// Version 1.0.0, version 1.0.1, and 1.0.0 with a trailer: three files with distinct bytes,
/// hence three shadow copies and three images. The feed owns the third file's directory.
fn distinct_builds() -> anyhow::Result<(SwapFeed, [PathBuf; 3])> {
    let v1 = example_plugin()?;
    let mut feed = SwapFeed::new(&v1)?;
    let v1_trailer = feed.next_file()?;
    Ok((feed, [v1, example_plugin_v2()?, v1_trailer]))
}

/// Swaps `flags.swaps` times through `builds` in turn, trying `broken` before every tenth
/// swap. Returns the resources after the warm-up and how many swaps were refused.
fn swap_loop(
    flags: &Flags,
    slot: &HotSwap<Example>,
    builds: &[PathBuf; 3],
    broken: &Path,
    cache: &Path,
) -> anyhow::Result<(Resources, u64)> {
    let mut start = Resources::measure(cache);
    let mut refused = 0;
    for swap in 1..=flags.swaps {
        if swap % 10 == 0 {
            if slot.swap(broken).is_ok() {
                bail!("swap {swap}: the build that fails its self-test was accepted");
            }
            refused += 1;
        }
        let build = &builds[(swap % 3) as usize];
        slot.swap(build)
            .with_context(|| format!("swap {swap}: cannot swap in {}", build.display()))?;
        if swap == WARM_UP_SWAPS.min(flags.swaps) {
            start = Resources::measure(cache);
        }
        if swap % 1000 == 0 {
            eprint!("\rsoak: {swap}/{} swaps", flags.swaps);
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    eprintln!();
    Ok((start, refused))
}

fn call_until_stopped(slot: &HotSwap<Example>, stop: &AtomicBool, counters: &Counters, seed: i32) {
    let mut cache = slot.cache();
    let mut i = seed;
    while !stop.load(Ordering::Relaxed) {
        let plugin = cache.get();
        let answers = [
            plugin.add_numbers(i, 7).map(|sum| sum == i + 7),
            plugin
                .fibonacci(i % 16)
                .map(|fib| fib == FIB[(i % 16) as usize]),
        ];
        for answer in answers {
            match answer {
                Ok(true) => {}
                Ok(false) => _ = counters.wrong.fetch_add(1, Ordering::Relaxed),
                Err(_) => _ = counters.failed.fetch_add(1, Ordering::Relaxed),
            }
        }
        counters.calls.fetch_add(2, Ordering::Relaxed);
        i = (i + 1) % 100_000;
    }
}

const FIB: [i64; 16] = [
    1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987,
];

impl Resources {
    /// Reads this process's figures from `/proc/self` (zero where it does not exist).
    fn measure(cache: &Path) -> Resources {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(0);
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let cache_prefix = cache.to_string_lossy().into_owned();
        let mut images: Vec<&str> = maps
            .lines()
            .filter_map(|line| line.split_whitespace().nth(5))
            .filter(|path| path.starts_with(cache_prefix.as_str()))
            .filter(|path| !is_runtime_name(path.rsplit('/').next().unwrap_or_default()))
            .collect();
        images.sort_unstable();
        images.dedup();
        let cache_bytes = std::fs::read_dir(cache).map_or(0, |entries| {
            entries
                .filter_map(|entry| entry.ok()?.metadata().ok())
                .map(|metadata| metadata.len())
                .sum()
        });
        Resources {
            rss_bytes: rss_kib * 1024,
            open_fds,
            mapped_images: images.len(),
            cache_bytes,
        }
    }

    fn to_json(&self) -> String {
        format!(
            "{{\"rss_bytes\":{},\"open_fds\":{},\"mapped_images\":{},\"cache_bytes\":{}}}",
            self.rss_bytes, self.open_fds, self.mapped_images, self.cache_bytes
        )
    }
}

fn parse_flags(mut args: impl Iterator<Item = String>) -> anyhow::Result<Flags> {
    let mut flags = Flags {
        swaps: 1000,
        threads: 4,
        report: PathBuf::from("soak.json"),
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--swaps" => flags.swaps = value.parse().context("--swaps takes a count")?,
            "--threads" => flags.threads = value.parse().context("--threads takes a count")?,
            "--report" => flags.report = value.into(),
            _ => {
                bail!("unknown flag {flag}; usage: soak [--swaps N] [--threads T] [--report FILE]")
            }
        }
    }
    Ok(flags)
}
