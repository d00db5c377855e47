//! Finding the tools other commands run: cargo and rustc as cargo names them, the
//! machine's own triple and Rust sysroot, and programs on `PATH` (`ld64.lld` under its
//! Debian versioned names too). It knows no command and installs nothing (that is `setup`).

use anyhow::Context;
use std::path::PathBuf;
use xshell::{Shell, cmd};

/// The cargo that runs us, for nested invocations: `$CARGO` when set.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The rustc cargo uses: `$RUSTC` when set, as cargo does.
pub fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned())
}

/// The machine's own triple, from `rustc -vV`.
pub fn host_triple(sh: &Shell) -> anyhow::Result<String> {
    let rustc = rustc();
    let version = cmd!(sh, "{rustc} -vV")
        .quiet()
        .read()
        .context("cannot run `rustc -vV`")?;
    version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` names no host triple")
}

/// The Rust sysroot, under which each installed target's std lives.
pub fn rustc_sysroot(sh: &Shell) -> anyhow::Result<PathBuf> {
    let rustc = rustc();
    let sysroot = cmd!(sh, "{rustc} --print sysroot")
        .quiet()
        .read()
        .context("cannot run `rustc --print sysroot`")?;
    Ok(PathBuf::from(sysroot.trim()))
}

/// `program` on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `ld64.lld`, or a versioned `ld64.lld-N` as Debian installs it.
pub fn find_ld64_lld() -> Option<PathBuf> {
    if let Some(found) = find_program("ld64.lld") {
        return Some(found);
    }
    let path = std::env::var_os("PATH")?;
    let mut versioned: Vec<PathBuf> = std::env::split_paths(&path)
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("ld64.lld-"))
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    versioned.sort();
    versioned.pop()
}
