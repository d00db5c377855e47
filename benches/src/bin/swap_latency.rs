//! Times individual hot swaps of the example plugin (`swap-latency [--swaps N]`), for the
//! percentiles that criterion's mean cannot give, and splits the median swap into its
//! phases (each timed on a build of its own): read + structural check, SHA-256, the
//! content-addressed copy, and the rest (dlopen, validation, self-test, store,
//! retiring the version two swaps back). Prints one JSON object; knows nothing of where
//! the figures go.

use anyhow::Context;
use fastforth_benches::{SwapRig, example_plugin, quantile};
use fastforth_host::{inspect, shadow};
use std::time::{Duration, Instant};

/// Timings of one build's phases, in nanoseconds.
#[derive(Default)]
struct Phases {
    check: Vec<u64>,
    hash: Vec<u64>,
    copy: Vec<u64>,
}

fn main() -> anyhow::Result<()> {
    let swaps = parse_swaps(std::env::args().skip(1))?;
    let artifact = example_plugin()?;
    let mut rig = SwapRig::new(&artifact)?;
    let copies = tempfile::tempdir().context("cannot create a directory for phase copies")?;
    let mut samples = Vec::with_capacity(swaps);
    let mut phases = Phases::default();
    for done in 0..swaps {
        let path = rig.prepare()?;
        time_phases(&rig.prepare()?, copies.path(), &mut phases)?;
        samples.push(nanos(rig.swap(path)?));
        if (done + 1) % 100 == 0 {
            eprint!("\rswap latency: {}/{swaps} swaps", done + 1);
        }
    }
    eprintln!();
    let list: Vec<String> = samples.iter().map(u64::to_string).collect();
    let p50 = median(&mut samples.clone());
    let (check, hash, copy) = (
        median(&mut phases.check),
        median(&mut phases.hash),
        median(&mut phases.copy),
    );
    let rest = p50.saturating_sub(check + hash + copy);
    let phases = [
        ("read_and_check", check),
        ("sha256", hash),
        ("shadow_copy", copy),
        ("open_validate_self_test_store_retire", rest),
    ]
    .map(|(phase, ns)| format!("{{\"phase\":\"{phase}\",\"p50_ns\":{ns}}}"));
    println!(
        "{{\"swaps\":{swaps},\"artifact_bytes\":{},\"phases\":[{}],\"samples_ns\":[{}]}}",
        std::fs::metadata(&artifact)?.len(),
        phases.join(","),
        list.join(",")
    );
    Ok(())
}

fn time_phases(
    path: &std::path::Path,
    cache: &std::path::Path,
    phases: &mut Phases,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let bytes = inspect::read_and_check(path)?;
    let checked = Instant::now();
    let sha256 = shadow::sha256_hex(&bytes);
    let hashed = Instant::now();
    let copy = shadow::place(cache, path, &bytes, &sha256)?;
    let copied = Instant::now();
    phases.check.push(nanos(checked - start));
    phases.hash.push(nanos(hashed - checked));
    phases.copy.push(nanos(copied - hashed));
    std::fs::remove_file(&copy).with_context(|| format!("cannot remove {}", copy.display()))?;
    std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    Ok(())
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn median(samples: &mut [u64]) -> u64 {
    samples.sort_unstable();
    quantile(samples, 0.5).unwrap_or(0)
}

fn parse_swaps(mut args: impl Iterator<Item = String>) -> anyhow::Result<usize> {
    match (args.next().as_deref(), args.next()) {
        (None, _) => Ok(1000),
        (Some("--swaps"), Some(count)) => count
            .parse()
            .with_context(|| format!("--swaps expects a count, found {count:?}")),
        (Some(other), _) => anyhow::bail!("usage: swap-latency [--swaps N] (found {other:?})"),
    }
}
