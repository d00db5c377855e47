//! Times individual hot swaps of the example plugin (`swap-latency [--swaps N]`), for the
//! percentiles that criterion's mean cannot give, and splits the median swap into its
//! phases (each timed on a build of its own): read + structural check, SHA-256, the
//! content-addressed copy, and the rest (dlopen, validation, self-test, store,
//! retiring the version two swaps back). It also times SHA-256, which names the copy, against
//! BLAKE3 on the example plugin and on the engine plugin, to show what a faster hash would
//! save at each size. Prints one JSON object; knows nothing of where the figures go.

use anyhow::Context;
use fastforth_benches::{SwapRig, example_plugin, forth_plugin, quantile};
use fastforth_host::{inspect, shadow, spare::SpareFiles};
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
    let spares = SpareFiles::new(copies.path().to_path_buf());
    let mut samples = Vec::with_capacity(swaps);
    let mut phases = Phases::default();
    for done in 0..swaps {
        let path = rig.prepare()?;
        time_phases(&rig.prepare()?, copies.path(), &spares, &mut phases)?;
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
    let engine = forth_plugin()?;
    let hashes = [&artifact, &engine]
        .map(|plugin| time_hashes(plugin))
        .into_iter()
        .collect::<anyhow::Result<Vec<String>>>()?;
    println!(
        "{{\"swaps\":{swaps},\"artifact_bytes\":{},\"phases\":[{}],\"hashes\":[{}],\"samples_ns\":[{}]}}",
        std::fs::metadata(&artifact)?.len(),
        phases.join(","),
        hashes.join(","),
        list.join(",")
    );
    Ok(())
}

fn time_phases(
    path: &std::path::Path,
    cache: &std::path::Path,
    spares: &SpareFiles,
    phases: &mut Phases,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let bytes = inspect::read_and_check(path)?;
    let checked = Instant::now();
    let sha256 = shadow::sha256_hex(&bytes);
    let hashed = Instant::now();
    let copy = shadow::place(cache, path, &bytes, &sha256, &|| spares.take())?.path;
    let copied = Instant::now();
    phases.check.push(nanos(checked - start));
    phases.hash.push(nanos(hashed - checked));
    phases.copy.push(nanos(copied - hashed));
    std::fs::remove_file(&copy).with_context(|| format!("cannot remove {}", copy.display()))?;
    spares.make_next();
    Ok(())
}

/// Median times of SHA-256 and BLAKE3 over the bytes of `plugin`, as a JSON object.
fn time_hashes(plugin: &std::path::Path) -> anyhow::Result<String> {
    const ROUNDS: usize = 201;
    let bytes =
        std::fs::read(plugin).with_context(|| format!("cannot read {}", plugin.display()))?;
    let (mut sha256, mut blake3) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        std::hint::black_box(shadow::sha256_hex(std::hint::black_box(&bytes)));
        let between = Instant::now();
        std::hint::black_box(blake3::hash(std::hint::black_box(&bytes)).to_hex());
        sha256.push(nanos(between - start));
        blake3.push(nanos(between.elapsed()));
    }
    Ok(format!(
        "{{\"bytes\":{},\"sha256_p50_ns\":{},\"blake3_p50_ns\":{}}}",
        bytes.len(),
        median(&mut sha256),
        median(&mut blake3)
    ))
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
