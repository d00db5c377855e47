//! gforth's classic programs timed as a user runs them, whole process, start-up included:
//! the C reference's executable, the executable `fastforth compile --exe main` builds,
//! `fastforth run --native` of the program's plugin, the interpreter (`fastforth run P.fs -e
//! "main bye"`) and `gforth-fast P.fs -e "main bye"`, each run in turn. FastForth reads the
//! program after `benches/forth/classic/gforth-compat.fs`, as the forth bench does.

use super::references::{compile_c, gforth_programs_dir};
use super::results::WholeProcess;
use super::timing::{self, Timed};
use super::{CLASSIC_PREFIX, classic_workloads};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;
use xshell::Shell;

/// Each classic program timed `runs` times with `binary`, the installed `fastforth` (which
/// finds the backend stage beside it).
pub fn measure(sh: &Shell, root: &Path, binary: &Path, runs: usize) -> Vec<WholeProcess> {
    let work = root.join("target/bench/whole");
    classic_workloads()
        .map(|workload| {
            let name = &workload[CLASSIC_PREFIX.len()..];
            program(sh, root, &work, binary, name, runs)
        })
        .collect()
}

/// One program: what could be built, timed alternately.
fn program(
    sh: &Shell,
    root: &Path,
    work: &Path,
    binary: &Path,
    name: &str,
    runs: usize,
) -> WholeProcess {
    let mut skipped = Vec::new();
    let source = found(&mut skipped, "the program", forth_source(root, work, name));
    let c = found(&mut skipped, "C", c_executable(sh, root, work, name));
    let (mut executable, mut native, mut interpreted, mut gforth) = (None, None, None, None);
    if let Some((original, source)) = &source {
        let exe = work.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        executable = found(
            &mut skipped,
            "fastforth compile --exe",
            compile(binary, work, &["--exe", "main"], source, &exe).map(|()| Timed::new(&exe, &[])),
        );
        let plugin = work.join(format!(
            "{}{name}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        native = found(
            &mut skipped,
            "fastforth run --native",
            compile(binary, work, &[], source, &plugin).map(|()| {
                let plugin = plugin.to_string_lossy();
                Timed::new(binary, &["run", "--native", &plugin, "-e", "main"])
            }),
        );
        let source = source.to_string_lossy();
        interpreted = Some(Timed::new(binary, &["run", &source, "-e", "main bye"]));
        let original = original.to_string_lossy();
        gforth = found(
            &mut skipped,
            "gforth-fast",
            which("gforth-fast").map(|gforth| Timed::new(&gforth, &[&original, "-e", "main bye"])),
        );
    }
    let slots = [c, executable, native, interpreted, gforth];
    let present: Vec<Timed> = slots.iter().flatten().map(Timed::clone).collect();
    let mut spreads = match timing::alternately(&present, runs) {
        Ok(spreads) => spreads.into_iter(),
        Err(error) => {
            skipped.push(format!("timing: {error:#}"));
            Vec::new().into_iter()
        }
    };
    let mut next = |slot: &Option<Timed>| slot.as_ref().and_then(|_| spreads.next());
    WholeProcess {
        program: name.to_owned(),
        runs,
        c_ms: next(&slots[0]),
        executable_ms: next(&slots[1]),
        native_ms: next(&slots[2]),
        interpreted_ms: next(&slots[3]),
        gforth_ms: next(&slots[4]),
        skipped,
    }
}

/// What was built, or `None` with why not added to `skipped`.
fn found<T>(skipped: &mut Vec<String>, what: &str, built: anyhow::Result<T>) -> Option<T> {
    built
        .map_err(|error| skipped.push(format!("{what}: {error:#}")))
        .ok()
}

/// gforth's program as installed, and FastForth's copy with the compatibility words first.
fn forth_source(root: &Path, work: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = gforth_programs_dir()
        .context("gforth's benchmark programs are not installed (apt-get install gforth)")?;
    let original = dir.join(format!("{name}.fs"));
    let program = std::fs::read_to_string(&original)
        .with_context(|| format!("cannot read {}", original.display()))?;
    let compat = root.join("benches/forth/classic/gforth-compat.fs");
    let compat = std::fs::read_to_string(&compat)
        .with_context(|| format!("cannot read {}", compat.display()))?;
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let source = work.join(format!("{name}.fs"));
    std::fs::write(&source, format!("{compat}\n{program}"))
        .with_context(|| format!("cannot write {}", source.display()))?;
    Ok((original, source))
}

/// The C reference built with `cc -O2`, run once per process.
fn c_executable(sh: &Shell, root: &Path, work: &Path, name: &str) -> anyhow::Result<Timed> {
    let source = root.join("benches/c/classic").join(format!("{name}.c"));
    let executable = work.join(format!("{name}-c"));
    compile_c(sh, &source, &executable).map_err(anyhow::Error::msg)?;
    Ok(Timed::new(&executable, &[]))
}

/// `fastforth compile [ARGS] SOURCE -o OUTPUT` into a native cache of the bench's own.
fn compile(
    binary: &Path,
    work: &Path,
    args: &[&str],
    source: &Path,
    output: &Path,
) -> anyhow::Result<()> {
    let done = Command::new(binary)
        .arg("compile")
        .args(args)
        .arg(source)
        .arg("-o")
        .arg(output)
        .env("FASTFORTH_NATIVE_CACHE", work.join("cache"))
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    anyhow::ensure!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr).trim()
    );
    Ok(())
}

/// Where `tool` is on the PATH.
fn which(tool: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("{tool} is not installed (apt-get install gforth)"))
}
