//! Swaps the Forth engine plugin mid-session: defines words and data on engine 1.0.0,
//! swaps to 1.1.0 and keeps using them, then shows a broken engine being refused.

use fastforth_host::Loader;
use fastforth_plugin_build::PluginBuild;
use fastforth_session::{Evaluation, ForthConsole, ForthLimits, ForthSession};
use std::sync::Arc;

/// Prints program output as it comes.
struct Stdout;

impl ForthConsole for Stdout {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stdout().lock().write_all(bytes)
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        None
    }
    fn read_key(&mut self) -> Option<u8> {
        None
    }
}

fn main() -> anyhow::Result<()> {
    let v1 = PluginBuild::new("fastforth-forth-plugin", &[]).build()?;
    let v2 = PluginBuild::new("fastforth-forth-plugin", &["v2"]).build()?;
    let scratch = tempfile::tempdir()?;
    let loader = Arc::new(Loader::new(scratch.path().join("cache")));
    let limits = ForthLimits {
        data_stack_cells: 1024,
        return_stack_cells: 1024,
        data_space_bytes: 1 << 20,
        max_steps: 0,
    };
    let session = ForthSession::start(loader, &v1, limits)?;
    println!("Engine: {}", session.engine_version());
    run(
        &session,
        ": square ( n -- n*n ) dup * ;  variable hits  3 hits !  10 20 30",
    )?;

    let report = session.swap_engine(&v2)?;
    println!(
        "Swapped engine {} -> {}",
        report.from_version, report.to_version
    );
    run(&session, "7 square .  hits @ .  .s cr")?;

    let broken = scratch.path().join("libfastforth_forth_plugin.so");
    let bytes = std::fs::read(&v2)?;
    std::fs::write(&broken, &bytes[..bytes.len() / 2])?;
    if let Err(error) = session.swap_engine(&broken) {
        println!("Refused a broken engine: {error}");
    }
    println!("Engine: {}", session.engine_version());
    run(&session, "hits @ square .  cr")
}

fn run(session: &ForthSession, source: &str) -> anyhow::Result<()> {
    println!("> {source}");
    let evaluation =
        session.with_instance(|engine| engine.evaluate(source, "demo", &mut Stdout))?;
    match evaluation {
        Evaluation::Error { message, .. } => anyhow::bail!("{message}"),
        Evaluation::Continue | Evaluation::Bye => Ok(()),
    }
}
