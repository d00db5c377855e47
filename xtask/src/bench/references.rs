//! Reference times for the Forth workloads: `gforth-fast` on `benches/forth/<w>.fs` and the C
//! versions in `benches/c/<w>.c` built with `cc -O2`; and for gforth's classic programs,
//! `gforth-fast` on the programs as the gforth package installs them and the C versions in
//! `benches/c/classic/<p>.c`. All are timed the same way: each process runs the workload
//! several times and reports the in-program time, and the median over processes is kept. A
//! missing tool or source is recorded as skipped, not an error.

use super::results::Reference;
use super::{CLASSIC_PREFIX, classic_workloads, workloads};
use std::path::{Path, PathBuf};
use xshell::{Cmd, Shell, cmd};

const GFORTH: &str = "gforth-fast";
const CC: &str = "cc -O2";
/// The line each reference program prints: this word, then the total time of its runs.
const MARK: &str = "ff-bench-us";
/// Where the gforth package installs its benchmark programs, in a directory per version.
const GFORTH_PROGRAMS: &str = "/usr/share/gforth";

/// `processes` runs of each workload under each reference tool.
pub fn measure(
    sh: &Shell,
    root: &Path,
    processes: usize,
    runs_per_process: usize,
) -> Vec<Reference> {
    let mut references = Vec::new();
    let mut measure_pair = |workload: &str, forth: Option<PathBuf>, c: PathBuf| {
        references.push(gforth_reference(
            sh,
            workload,
            forth,
            processes,
            runs_per_process,
        ));
        references.push(c_reference(
            sh,
            root,
            workload,
            &c,
            processes,
            runs_per_process,
        ));
    };
    for workload in workloads() {
        let forth = root.join("benches/forth").join(format!("{workload}.fs"));
        measure_pair(
            workload,
            Some(forth),
            root.join("benches/c").join(format!("{workload}.c")),
        );
    }
    for workload in classic_workloads() {
        let program = &workload[CLASSIC_PREFIX.len()..];
        let forth = gforth_programs_dir().map(|dir| dir.join(format!("{program}.fs")));
        measure_pair(
            &workload,
            forth,
            root.join("benches/c/classic").join(format!("{program}.c")),
        );
    }
    references
}

/// The newest `/usr/share/gforth/<version>/` that holds gforth's benchmark programs.
pub(super) fn gforth_programs_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(GFORTH_PROGRAMS)
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|dir| dir.join("siev.fs").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// gforth-fast on `forth`; `None` when gforth's own programs are not installed.
fn gforth_reference(
    sh: &Shell,
    workload: &str,
    forth: Option<PathBuf>,
    processes: usize,
    runs: usize,
) -> Reference {
    match (tool_version(sh, GFORTH), forth) {
        (None, _) => skipped(
            GFORTH,
            workload,
            "gforth-fast is not installed (apt-get install gforth)".into(),
        ),
        (Some(_), None) => skipped(
            GFORTH,
            workload,
            "gforth's benchmark programs are not installed (apt-get install gforth)".into(),
        ),
        (Some(_), Some(forth)) if forth.is_file() => {
            time_processes(GFORTH, workload, processes, runs, |runs| {
                gforth_command(sh, &forth, runs)
            })
        }
        (Some(_), Some(forth)) => {
            skipped(GFORTH, workload, format!("{} is missing", forth.display()))
        }
    }
}

fn c_reference(
    sh: &Shell,
    root: &Path,
    workload: &str,
    source: &Path,
    processes: usize,
    runs: usize,
) -> Reference {
    if !source.is_file() {
        return skipped(CC, workload, format!("{} is missing", source.display()));
    }
    let binary = root.join("target/bench/c").join(workload);
    if let Err(why) = compile_c(sh, source, &binary) {
        return skipped(CC, workload, why);
    }
    time_processes(CC, workload, processes, runs, |runs| {
        let runs = runs.to_string();
        cmd!(sh, "{binary} {runs}")
    })
}

pub(super) fn compile_c(sh: &Shell, source: &Path, binary: &Path) -> Result<(), String> {
    if let Some(dir) = binary.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let output = cmd!(sh, "cc -O2 -o {binary} {source}")
        .quiet()
        .ignore_status()
        .output()
        .map_err(|e| format!("cc is not available ({e}); apt-get install gcc"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cc -O2 failed on {}: {}",
            source.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// gforth-fast loads the workload, then times `runs` executions of `main` with `utime`.
fn gforth_command<'a>(sh: &'a Shell, source: &Path, runs: usize) -> Cmd<'a> {
    let timing = format!(
        "2variable ff-t0 : ff-bench utime ff-t0 2! {runs} 0 do main loop utime ff-t0 2@ d- \
         cr .\" {MARK} \" d. cr ; ff-bench bye"
    );
    cmd!(sh, "{GFORTH} {source} -e {timing}")
}

fn time_processes<'a>(
    tool: &str,
    workload: &str,
    processes: usize,
    runs: usize,
    command: impl Fn(usize) -> Cmd<'a>,
) -> Reference {
    let mut times = Vec::new();
    for _ in 0..processes {
        match run_once(command(runs)) {
            Ok(total_us) => times.push(total_us * 1000.0 / runs as f64),
            Err(why) => return skipped(tool, workload, why),
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    Reference {
        tool: tool.to_owned(),
        workload: workload.to_owned(),
        median_ns: sorted.get(sorted.len() / 2).copied(),
        runs_ns: times,
        skipped: None,
    }
}

/// Runs one process and returns the total microseconds it reported.
fn run_once(command: Cmd<'_>) -> Result<f64, String> {
    let shown = command.to_string();
    let output = command
        .quiet()
        .ignore_status()
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{shown} exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse_total(&stdout).ok_or_else(|| format!("{shown} printed no `{MARK} N` line"))
}

/// The number after the last `ff-bench-us` mark in `output`.
pub fn parse_total(output: &str) -> Option<f64> {
    let after = output.rsplit_once(MARK)?.1;
    after.split_whitespace().next()?.parse().ok()
}

fn tool_version(sh: &Shell, tool: &str) -> Option<String> {
    let output = cmd!(sh, "{tool} --version")
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn skipped(tool: &str, workload: &str, why: String) -> Reference {
    eprintln!("skipped {tool} {workload}: {why}");
    Reference {
        tool: tool.to_owned(),
        workload: workload.to_owned(),
        median_ns: None,
        runs_ns: Vec::new(),
        skipped: Some(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_mark_carries_the_total() {
        assert_eq!(
            parse_total("1229 primes\nff-bench-us 159321 \n"),
            Some(159_321.0)
        );
        assert_eq!(parse_total("ff-bench-us 1\nff-bench-us 2"), Some(2.0));
        assert_eq!(parse_total("no timing here"), None);
    }
}
