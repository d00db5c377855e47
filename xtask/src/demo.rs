//! `cargo xtask demo`: builds the plugins and runs the demos end to end.

use crate::flags;
use xshell::{Shell, cmd};

impl flags::Demo {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = crate::toolchain::cargo();
        let release = ["--release", "--quiet"];
        let plugins = [
            "-p",
            "fastforth-example-plugin",
            "-p",
            "fastforth-forth-plugin",
            "-p",
            "fastforth-optimizer-plugin",
            "-p",
            "fastforth-parser-plugin",
            "-p",
            "fastforth-compiler-plugin",
            "-p",
            "fastforth-backend-plugin",
        ];
        println!("== building the plugins and the fastforth binaries (release)");
        cmd!(
            sh,
            "{cargo} build {release...} {plugins...} -p fastforth -p fastforth-demos"
        )
        .run()?;
        for demo in [
            "plugin_test",
            "hotswap_demo",
            "engine_swap_demo",
            "stage_swap_demo",
        ] {
            println!("\n== {demo}");
            cmd!(
                sh,
                "{cargo} run {release...} -p fastforth-demos --bin {demo}"
            )
            .run()?;
        }
        println!("\n== fastforth run benches/forth/fib.fs -e main");
        cmd!(
            sh,
            "{cargo} run {release...} -p fastforth -- run benches/forth/fib.fs -e main"
        )
        .run()?;
        let demo_dir = crate::project_root().join("target/demo");
        std::fs::create_dir_all(&demo_dir)?;
        let native = demo_dir.join("fib-native.so");
        // cargo puts the backend stage plugin beside the binary, where `compile` looks.
        println!(
            "\n== fastforth compile benches/forth/fib.fs (backend stage plugin beside the \
             binary), then run --native"
        );
        cmd!(
            sh,
            "{cargo} run {release...} -p fastforth -- compile benches/forth/fib.fs -o {native}"
        )
        .run()?;
        cmd!(
            sh,
            "{cargo} run {release...} -p fastforth -- run --native {native}"
        )
        .run()?;
        let loop_code = ": fibs 15 0 do i fib . loop cr ; fibs";
        println!("\n== fastforth run --link fib-native.so -e '{loop_code}'");
        cmd!(
            sh,
            "{cargo} run {release...} -p fastforth -- run --link {native} -e {loop_code}"
        )
        .run()?;
        Ok(())
    }
}
