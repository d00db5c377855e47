//! `cargo xtask demo`: builds the plugins and runs the demos end to end.

use xshell::{Shell, cmd};

/// Build the plugins, then run `plugin_test` and `hotswap_demo`.
#[derive(clap::Args)]
pub struct Demo {}

impl Demo {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = crate::cargo();
        println!("== building the example plugin and the demos (release)");
        cmd!(
            sh,
            "{cargo} build --release --quiet -p fastforth-example-plugin -p fastforth"
        )
        .run()?;
        println!("\n== plugin_test");
        cmd!(
            sh,
            "{cargo} run --release --quiet -p fastforth --bin plugin_test"
        )
        .run()?;
        println!("\n== hotswap_demo");
        cmd!(
            sh,
            "{cargo} run --release --quiet -p fastforth --bin hotswap_demo"
        )
        .run()?;
        Ok(())
    }
}
