//! Loads the example plugin and calls it: `plugin_test [PLUGIN_FILE]`.

use anyhow::Context;
use fastforth_host::{Example, Loader, ProbeCommand};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let path = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => fastforth_demos::workspace_example_plugin().context(
            "the example plugin is not built: run `cargo build --release -p fastforth-example-plugin` \
             or pass the plugin file as the first argument",
        )?,
    };
    println!("Loading plugin...");
    // New builds are probed by the `fastforth` binary next to this one, when there is one.
    let probe = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(format!("fastforth{}", std::env::consts::EXE_SUFFIX)))
        .filter(|probe| probe.is_file())
        .map(|probe| ProbeCommand::new(probe, &[fastforth::PROBE_SUBCOMMAND]));
    let loader = Loader::new(fastforth_host::default_cache_dir()?).with_probe(probe);
    let plugin = loader.load::<Example>(&path)?;
    println!("Plugin version: {}", plugin.version());
    println!("5 + 3 = {}", plugin.add_numbers(5, 3)?);
    Ok(())
}
