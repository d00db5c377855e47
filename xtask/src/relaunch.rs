//! The commands whose dependencies sit behind a cargo feature of xtask: `bench` (plotters
//! for the chart), `verify-symbols` (object and goblin), `release` (keygen and release:
//! fastforth-update's signing). The `cargo xtask` alias builds xtask without default
//! features, so `cargo xtask demo` compiles none of them; built without its feature, such a
//! command runs this same command line again in an xtask built with it. Plain `cargo test`
//! and `cargo clippy` build every feature. It knows no command's work.

use crate::flags;
use xshell::{Shell, cmd};

/// Runs this process's command line again through `cargo run` with `feature`, and exits
/// with its exit code (`verify-symbols` tells a failed check, 1, from an error, 2).
fn with_feature(sh: &Shell, feature: &str) -> anyhow::Result<()> {
    let cargo = crate::toolchain::cargo();
    let args = std::env::args_os().skip(1);
    let mut command = std::process::Command::from(cmd!(
        sh,
        "{cargo} run --quiet --package xtask --no-default-features --features {feature} -- {args...}"
    ));
    let status = command
        .status()
        .map_err(|error| anyhow::anyhow!("cannot run {command:?}: {error}"))?;
    std::process::exit(status.code().unwrap_or(1))
}

#[cfg(not(feature = "bench"))]
impl flags::Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        with_feature(sh, "bench")
    }
}

#[cfg(not(feature = "verify-symbols"))]
impl flags::VerifySymbols {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        with_feature(sh, "verify-symbols")
    }
}

#[cfg(not(feature = "release"))]
impl flags::Keygen {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        with_feature(sh, "release")
    }
}

#[cfg(not(feature = "release"))]
impl flags::Release {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        with_feature(sh, "release")
    }
}

#[cfg(not(feature = "release"))]
impl flags::Root {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        with_feature(sh, "release")
    }
}
