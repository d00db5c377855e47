//! `cargo xtask demo`: builds the plugins and runs the demos end to end.

use xshell::{Shell, cmd};

/// Build the plugins, then run `plugin_test`, `hotswap_demo`, `engine_swap_demo` and a
/// Forth program.
#[derive(clap::Args)]
pub struct Demo {}

impl Demo {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = crate::cargo();
        let release = ["--release", "--quiet"];
        let plugins = [
            "-p",
            "fastforth-example-plugin",
            "-p",
            "fastforth-forth-plugin",
        ];
        println!("== building the plugins and the fastforth binaries (release)");
        cmd!(sh, "{cargo} build {release...} {plugins...} -p fastforth").run()?;
        for demo in ["plugin_test", "hotswap_demo", "engine_swap_demo"] {
            println!("\n== {demo}");
            cmd!(sh, "{cargo} run {release...} -p fastforth --bin {demo}").run()?;
        }
        println!("\n== fastforth run benches/forth/fib.fs -e main");
        cmd!(
            sh,
            "{cargo} run {release...} -p fastforth -- run benches/forth/fib.fs -e main"
        )
        .run()?;
        Ok(())
    }
}
