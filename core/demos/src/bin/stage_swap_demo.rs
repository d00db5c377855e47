//! Swaps the optimizer stage of a running session: a word compiled by optimizer 1.0.0, then
//! the swap to 1.1.0 (one more fusion, `SWAP OVER` to `TUCK`) and a word compiled by it, both
//! working; then a stage built for another IR version is refused and 1.1.0 keeps serving.

use fastforth_engine::{Forth, Limits, StdConsole};
use fastforth_host::Loader;
use fastforth_plugin_build::PluginBuild;
use fastforth_session::OptimizerPlugin;
use fastforth_session::stage::DEFAULT_BUDGET;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    let build =
        |features: &[&str]| PluginBuild::new("fastforth-optimizer-plugin", features).build();
    let (v1, v2, other_ir) = (build(&[])?, build(&["v2"])?, build(&["fault-ir-version"])?);
    let scratch = tempfile::tempdir()?;
    let loader = Arc::new(Loader::new(scratch.path().join("cache")));
    let stage = Arc::new(OptimizerPlugin::load(loader, &v1, DEFAULT_BUDGET)?);
    let mut forth = Forth::new(Limits::default());
    forth.set_optimizer_stage(Some(stage.clone()));
    println!("Optimizer stage: {}", version(&stage));
    run(
        &mut forth,
        ": under ( a b -- b a b ) swap over ;  see under",
    )?;

    let report = stage.swap(&v2)?;
    println!(
        "Swapped optimizer {} -> {}",
        report.from_version, report.to_version
    );
    run(
        &mut forth,
        ": under2 ( a b -- b a b ) swap over ;  see under2",
    )?;
    run(&mut forth, "1 2 under . . .  3 4 under2 . . . cr")?;

    if let Err(error) = stage.swap(&other_ir) {
        println!("Refused a stage for another IR version: {error}");
    }
    println!("Optimizer stage: {}", version(&stage));
    Ok(())
}

fn version(stage: &OptimizerPlugin) -> String {
    let plugin = stage.current();
    format!(
        "{} {} (IR version {})",
        plugin.name(),
        plugin.version(),
        plugin.info().ir_version
    )
}

fn run(forth: &mut Forth, source: &str) -> anyhow::Result<()> {
    println!("> {source}");
    forth.evaluate(source, "demo", &mut StdConsole)?;
    for fault in forth.take_stage_faults() {
        println!("warning: {fault}");
    }
    Ok(())
}
