//! The monolith: the host, the Forth engine and the example plugin (as an rlib) linked into
//! one binary, the way FastForth would ship without plugins. It loads any plugin files named
//! on the command line, uses the engine and the example functions once, prints
//! `ready VERSION ...` and serves until its input closes. `cargo xtask bench` rebuilds and
//! restarts it to measure what updating a statically linked program costs.

use anyhow::Context;
use fastforth_engine::{BufferConsole, Forth, Limits};
use fastforth_host::{Example, Loader};
use std::io::Read;
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let loader = Loader::new(fastforth_host::default_cache_dir()?);
    for path in std::env::args().skip(1) {
        let plugin = loader
            .load::<Example>(Path::new(&path))
            .with_context(|| format!("cannot load {path}"))?;
        println!("loaded {} {}", plugin.name(), plugin.version());
    }
    let sum = fastforth_example_plugin::add(5, 3);
    let fib = fastforth_example_plugin::fib(10);
    let mut console = BufferConsole::new();
    Forth::new(Limits::default())
        .evaluate(": square dup * ; 7 square .", "monolith", &mut console)
        .map_err(|error| anyhow::anyhow!("the engine failed: {error}"))?;
    let square = String::from_utf8_lossy(&console.output);
    println!(
        "ready {} {sum} {fib} {}",
        fastforth_example_plugin::VERSION,
        square.trim()
    );
    std::io::stdin()
        .read_to_end(&mut Vec::new())
        .context("cannot read standard input")?;
    Ok(())
}
