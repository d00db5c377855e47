//! `cargo xtask`: the workspace's automation. Each command is a module whose flags struct
//! has a `run` method; `main` parses once, moves to the workspace root and dispatches.

mod bench;
mod build_all;
mod demo;
mod fuzz;
mod index;
mod keygen;
mod plugins;
mod progress;
mod release;
mod root;
mod sanitize;
mod setup;
mod soak;
mod targets;
mod verify_symbols;

use clap::{Parser, Subcommand};
use xshell::Shell;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "FastForth workspace automation")]
struct Xtask {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Bench(bench::Bench),
    BuildAll(build_all::BuildAll),
    Demo(demo::Demo),
    Fuzz(fuzz::Fuzz),
    Keygen(keygen::Keygen),
    Release(release::Release),
    Root(root::RootCmd),
    Sanitize(sanitize::Sanitize),
    Setup(setup::Setup),
    Soak(soak::Soak),
    VerifySymbols(verify_symbols::VerifySymbols),
}

fn main() -> anyhow::Result<()> {
    let xtask = Xtask::parse();
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match xtask.command {
        Command::Bench(cmd) => cmd.run(&sh),
        Command::BuildAll(cmd) => cmd.run(&sh),
        Command::Demo(cmd) => cmd.run(&sh),
        Command::Fuzz(cmd) => cmd.run(&sh),
        Command::Keygen(cmd) => cmd.run(&sh),
        Command::Release(cmd) => cmd.run(&sh),
        Command::Root(cmd) => cmd.run(&sh),
        Command::Sanitize(cmd) => cmd.run(&sh),
        Command::Setup(cmd) => cmd.run(&sh),
        Command::Soak(cmd) => cmd.run(&sh),
        Command::VerifySymbols(cmd) => cmd.run(&sh),
    }
}

/// The workspace root (the parent of this crate's directory).
fn project_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

/// The cargo that runs us, for nested invocations.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
