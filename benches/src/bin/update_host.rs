//! A running host for the update-cost measurement: loads the example plugin at the path
//! given, prints `ready VERSION`, then swaps in each plugin path read from standard input
//! and answers `swapped VERSION` once the new version serves a call (or `error MESSAGE`).
//! It ends at the end of its input. It knows nothing of how the plugin was built.

use anyhow::Context;
use fastforth_host::{Example, HotSwap, Loader};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(plugin), Some(cache)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: update-host PLUGIN CACHE_DIR");
    };
    let loader = Arc::new(Loader::new(cache));
    let hotswap = HotSwap::<Example>::load(loader, Path::new(&plugin))
        .with_context(|| format!("cannot load {plugin}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", hotswap.current().version())?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line.context("cannot read a plugin path")?;
        let answer = hotswap
            .swap(Path::new(line.trim()))
            .map_err(anyhow::Error::from)
            .and_then(|report| {
                hotswap.current().add_numbers(2, 3)?;
                Ok(report)
            });
        match answer {
            Ok(report) => writeln!(out, "swapped {}", report.to_version)?,
            Err(error) => writeln!(out, "error {error:#}")?,
        }
        out.flush()?;
    }
    Ok(())
}
