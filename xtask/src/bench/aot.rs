//! The ahead-of-time compile cost of each Forth workload: `fastforth compile
//! benches/forth/<w>.fs`, timed around the process, cold (an empty native cache, so cargo
//! also builds fastforth-abi and fastforth-native-runtime), as a new program (into the cache
//! of another workload: dependencies built, this program not) and cached (the same program
//! again: no cargo run), and the size of the plugin written. Everything happens under
//! `target/bench/aot/`; a compile that fails is recorded as skipped, not an error.

use super::results::AotCompile;
use super::sizes::build_fastforth;
use super::workloads;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;
use xshell::{Shell, cmd};

/// Compiles every workload cold into a cache of its own, then into the next workload's
/// cache (new program) and there again (cached).
pub fn measure(sh: &Shell, root: &Path) -> Vec<AotCompile> {
    let compiler = match Compiler::new(sh, root) {
        Ok(compiler) => compiler,
        Err(why) => return workloads().map(|w| skipped(w, why.clone())).collect(),
    };
    let names: Vec<&str> = workloads().collect();
    let mut costs: Vec<AotCompile> = names.iter().map(|w| compiler.cold(sh, w)).collect();
    let compiled: Vec<usize> = (0..costs.len())
        .filter(|&i| costs[i].skipped.is_none())
        .collect();
    for (n, &index) in compiled.iter().enumerate() {
        let other = compiled[(n + 1) % compiled.len()];
        compiler.warm(sh, &mut costs[index], names[other]);
    }
    costs
}

/// The release `fastforth` binary and the directory it compiles in.
struct Compiler {
    binary: PathBuf,
    forth: PathBuf,
    dir: PathBuf,
}

impl Compiler {
    /// Builds `fastforth` and the backend stage plugin beside it (where `compile` looks),
    /// and empties `target/bench/aot/`; the reason if any fails.
    fn new(sh: &Shell, root: &Path) -> Result<Compiler, String> {
        let binary = build_fastforth(sh, root, &[]).map_err(|e| format!("{e:#}"))?;
        let cargo = crate::toolchain::cargo();
        cmd!(
            sh,
            "{cargo} build --quiet --release -p fastforth-backend-plugin"
        )
        .run()
        .map_err(|e| format!("cannot build the backend stage plugin: {e}"))?;
        let dir = root.join("target/bench/aot");
        empty_dir(&dir)?;
        empty_dir(&dir.join("plugins"))?;
        Ok(Compiler {
            binary,
            forth: root.join("benches/forth"),
            dir,
        })
    }

    /// Into a fresh cache of its own, which the warm compiles of another workload reuse.
    fn cold(&self, sh: &Shell, workload: &str) -> AotCompile {
        match self.cold_seconds_and_bytes(sh, workload) {
            Ok((seconds, bytes)) => {
                println!("    {workload}: cold {seconds:.2} s, plugin {bytes} bytes");
                AotCompile {
                    cold_seconds: Some(seconds),
                    plugin_bytes: Some(bytes),
                    ..unmeasured(workload)
                }
            }
            Err(why) => skipped(workload, why),
        }
    }

    fn cold_seconds_and_bytes(&self, sh: &Shell, workload: &str) -> Result<(f64, u64), String> {
        let cache = self.cache(workload);
        empty_dir(&cache)?;
        let (seconds, _) = self.compile(sh, workload, &cache)?;
        let plugin = self.plugin(workload);
        let bytes = std::fs::metadata(&plugin)
            .map_err(|e| format!("cannot read {}: {e}", plugin.display()))?
            .len();
        Ok((seconds, bytes))
    }

    /// Into the cache where `other` was compiled (new program), then there again (cached).
    fn warm(&self, sh: &Shell, cost: &mut AotCompile, other: &str) {
        let workload = cost.workload.clone();
        match self.new_then_cached(sh, &workload, other) {
            Ok((new, cached)) => {
                println!("    {workload}: new program {new:.2} s, cached {cached:.3} s");
                cost.new_program_seconds = Some(new);
                cost.cached_seconds = Some(cached);
            }
            Err(why) => skip(cost, why),
        }
    }

    fn new_then_cached(
        &self,
        sh: &Shell,
        workload: &str,
        other: &str,
    ) -> Result<(f64, f64), String> {
        if workload == other {
            return Err("no other workload compiled to warm a cache with".to_owned());
        }
        let cache = self.cache(other);
        let (new, _) = self.compile(sh, workload, &cache)?;
        let (cached, stdout) = self.compile(sh, workload, &cache)?;
        if !stdout.contains("(cached)") {
            return Err(format!(
                "the second compile of {workload}.fs was not cached (no \"(cached)\" in {stdout:?})"
            ));
        }
        Ok((new, cached))
    }

    /// One `fastforth compile` of `workload` with `cache` as its native cache: its wall
    /// time in seconds and its standard output.
    fn compile(&self, sh: &Shell, workload: &str, cache: &Path) -> Result<(f64, String), String> {
        let (binary, plugin) = (&self.binary, self.plugin(workload));
        let source = self.forth.join(format!("{workload}.fs"));
        if !source.is_file() {
            return Err(format!("{} is missing", source.display()));
        }
        let start = Instant::now();
        let output = cmd!(sh, "{binary} compile {source} -o {plugin}")
            .env("FASTFORTH_NATIVE_CACHE", cache)
            .quiet()
            .ignore_status()
            .output()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let seconds = start.elapsed().as_secs_f64();
        if !output.status.success() {
            return Err(failure(workload, &output));
        }
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        Ok((seconds, stdout))
    }

    fn cache(&self, workload: &str) -> PathBuf {
        self.dir.join("cache").join(workload)
    }

    fn plugin(&self, workload: &str) -> PathBuf {
        let file = format!("{workload}.{}", std::env::consts::DLL_EXTENSION);
        self.dir.join("plugins").join(file)
    }
}

/// Why a compile failed, in one line (the whole of its standard error is printed).
fn failure(workload: &str, output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{}", stderr.trim_end());
    let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    format!(
        "fastforth compile {workload}.fs exited with {}: {}",
        output.status,
        first.trim()
    )
}

/// Removes `dir` if it exists and creates it empty.
fn empty_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn skipped(workload: &str, why: String) -> AotCompile {
    let mut cost = unmeasured(workload);
    skip(&mut cost, why);
    cost
}

/// Records why the rest of `cost` was not measured.
fn skip(cost: &mut AotCompile, why: String) {
    eprintln!("skipped fastforth compile {}: {why}", cost.workload);
    cost.skipped = Some(why);
}

fn unmeasured(workload: &str) -> AotCompile {
    AotCompile {
        workload: workload.to_owned(),
        cold_seconds: None,
        new_program_seconds: None,
        cached_seconds: None,
        plugin_bytes: None,
        skipped: None,
    }
}
