//! `cargo xtask`: the workspace's automation, in rust-analyzer's shape. `flags.rs` declares
//! every command's flags; each command's module implements `run` on them; `main` parses
//! once, moves to the workspace root and dispatches. The commands with heavy dependencies
//! sit behind cargo features (see `relaunch.rs`), so a plain `cargo xtask` builds lean.

#[cfg(feature = "bench")]
mod bench;
mod build_all;
mod demo;
mod dist;
mod flags;
mod fuzz;
mod index;
#[cfg(feature = "release")]
mod keygen;
mod load_check;
mod plugins;
mod process;
mod progress;
#[cfg(not(all(feature = "bench", feature = "verify-symbols", feature = "release")))]
mod relaunch;
#[cfg(feature = "release")]
mod release;
#[cfg(feature = "release")]
mod root;
mod sanitize;
mod setup;
mod soak;
mod targets;
mod toolchain;
#[cfg(feature = "verify-symbols")]
mod verify_symbols;

use clap::Parser;
use flags::Command;
use xshell::Shell;

fn main() -> anyhow::Result<()> {
    let flags = flags::Xtask::parse();
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match flags.command {
        Command::Bench(cmd) => cmd.run(&sh),
        Command::BuildAll(cmd) => cmd.run(&sh),
        Command::Demo(cmd) => cmd.run(&sh),
        Command::Dist(cmd) => cmd.run(&sh),
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
