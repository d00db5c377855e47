//! Times what the child-process probe adds to loading the example plugin
//! (`probe-cost --fastforth PATH [--loads N]`): loads of new builds without a probe and with
//! one (`PATH __probe FILE`), then loads of the same builds again by a fresh loader, whose
//! probe finds the builds' markers. Prints one JSON object of medians in nanoseconds.

use anyhow::Context;
use fastforth_benches::{SwapFeed, example_plugin, quantile};
use fastforth_host::{Example, Loader, ProbeCommand};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let (fastforth, loads) = parse_args(std::env::args().skip(1))?;
    let mut feed = SwapFeed::new(&example_plugin()?)?;
    let builds: Vec<PathBuf> = (0..loads)
        .map(|_| feed.next_file())
        .collect::<anyhow::Result<_>>()?;
    let probe = Some(ProbeCommand::new(&fastforth, &["__probe"]));
    let plain = tempfile::tempdir()?;
    let probed = tempfile::tempdir()?;
    let unprobed_first = median_load(&Loader::new(plain.path()).with_probe(None), &builds)?;
    let probed_first = median_load(
        &Loader::new(probed.path()).with_probe(probe.clone()),
        &builds,
    )?;
    let unprobed_again = median_load(&Loader::new(plain.path()).with_probe(None), &builds)?;
    let probed_again = median_load(&Loader::new(probed.path()).with_probe(probe), &builds)?;
    println!(
        "{{\"loads\":{loads},\"first_load_ns\":{{\"no_probe\":{unprobed_first},\"probe\":{probed_first}}},\"known_build_ns\":{{\"no_probe\":{unprobed_again},\"probe_marker\":{probed_again}}}}}"
    );
    Ok(())
}

/// The median time `loader` takes to load each of `builds` (each dropped before the next).
fn median_load(loader: &Loader, builds: &[PathBuf]) -> anyhow::Result<u64> {
    let mut samples = Vec::with_capacity(builds.len());
    for build in builds {
        let start = Instant::now();
        let plugin = loader
            .load::<Example>(build)
            .with_context(|| format!("cannot load {}", build.display()))?;
        samples.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
        drop(plugin);
    }
    samples.sort_unstable();
    Ok(quantile(&samples, 0.5).unwrap_or(0))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<(PathBuf, usize)> {
    let usage = "usage: probe-cost --fastforth PATH [--loads N]";
    let mut fastforth = None;
    let mut loads = 50;
    while let Some(arg) = args.next() {
        let value = args.next().context(usage)?;
        match arg.as_str() {
            "--fastforth" => fastforth = Some(PathBuf::from(value)),
            "--loads" => {
                loads = value
                    .parse()
                    .with_context(|| format!("{usage}: --loads {value:?}"))?
            }
            _ => anyhow::bail!("{usage} (found {arg:?})"),
        }
    }
    let fastforth = fastforth.context(usage)?;
    anyhow::ensure!(
        Path::new(&fastforth).is_file(),
        "{}: no such file",
        fastforth.display()
    );
    Ok((fastforth, loads))
}
