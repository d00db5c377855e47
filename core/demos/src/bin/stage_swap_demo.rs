//! Swaps the optimizer stage of a running session: a word compiled by optimizer 1.0.0, then
//! the swap to 1.1.0 (one more fusion, `SWAP OVER` to `TUCK`) and a word compiled by it, both
//! working; then a stage built for another IR version is refused and 1.1.0 keeps serving.
//! Then the parser stage of the same session: 1.0.0 reads `1_000` as no number, 1.1.0 as
//! 1000, and the words defined before the swap still run. Then its compiler stage: 1.0.0
//! compiles `8 *` as built in, 1.1.0 as `3 LSHIFT`.

use fastforth_engine::{Forth, Limits, StdConsole};
use fastforth_host::Loader;
use fastforth_plugin_build::PluginBuild;
use fastforth_session::stage::{DEFAULT_BUDGET, StageKind};
use fastforth_session::{CompilerPlugin, OptimizerPlugin, ParserPlugin, StagePlugin};
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

    let build = |features: &[&str]| PluginBuild::new("fastforth-parser-plugin", features).build();
    let (v1, v2) = (build(&[])?, build(&["v2"])?);
    let loader = Arc::new(Loader::new(scratch.path().join("parser-cache")));
    let parser = Arc::new(ParserPlugin::load(loader, &v1, DEFAULT_BUDGET)?);
    forth.set_parser_stage(Some(parser.clone()));
    println!("Parser stage: {}", version(&parser));
    if let Err(error) = run(&mut forth, "1_000 .") {
        println!("{error}");
    }
    forth.reset_after_error();
    let report = parser.swap(&v2)?;
    println!(
        "Swapped parser {} -> {}",
        report.from_version, report.to_version
    );
    run(&mut forth, "1_000 1_000 under2 . . . cr")?;

    let build = |features: &[&str]| PluginBuild::new("fastforth-compiler-plugin", features).build();
    let (v1, v2) = (build(&[])?, build(&["v2"])?);
    let loader = Arc::new(Loader::new(scratch.path().join("compiler-cache")));
    let compiler = Arc::new(CompilerPlugin::load(loader, &v1, DEFAULT_BUDGET)?);
    forth.set_compiler_stage(Some(compiler.clone()));
    println!("Compiler stage: {}", version(&compiler));
    run(&mut forth, ": eight* 8 * ;  see eight*")?;
    let report = compiler.swap(&v2)?;
    println!(
        "Swapped compiler {} -> {}",
        report.from_version, report.to_version
    );
    run(&mut forth, ": eight*2 8 * ;  see eight*2")?;
    run(&mut forth, "5 eight* . 5 eight*2 . 1_0 eight*2 . cr")?;
    Ok(())
}

fn version<K: StageKind>(stage: &StagePlugin<K>) -> String {
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
