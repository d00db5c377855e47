//! `cargo xtask fuzz`: builds the cargo-fuzz targets of `fuzz/` on nightly and runs each for
//! a fixed time or number of executions from its committed seeds plus a working corpus under
//! `target/fuzz/`, then reports executions, rate and findings per target. Nothing here knows
//! what a target tests, only which ones run without a sanitizer.

use crate::flags;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xshell::{Shell, cmd};

/// What one target's run found.
struct Outcome {
    target: String,
    sanitizer: &'static str,
    seconds: f64,
    executions: u64,
    corpus_files: usize,
    findings: Vec<PathBuf>,
}

/// When a target's run stops.
#[derive(Clone, Copy)]
enum Bound {
    Seconds(u64),
    Runs(u64),
}

impl Bound {
    fn libfuzzer_option(self) -> String {
        match self {
            Bound::Seconds(seconds) => format!("-max_total_time={seconds}"),
            Bound::Runs(runs) => format!("-runs={runs}"),
        }
    }

    fn describe(self) -> String {
        match self {
            Bound::Seconds(seconds) => format!("for {seconds} s"),
            Bound::Runs(runs) => format!("for {runs} executions"),
        }
    }
}

/// The targets that run without a sanitizer: they test only `fastforth-engine`, which
/// forbids unsafe code, so AddressSanitizer could find nothing there that a bounds check
/// does not, and it slows them three- to fivefold (every engine is a fresh allocation).
/// The others reach unsafe code (plugin files, signature crates) and keep it; they alone
/// need the `host` feature of `fuzz/Cargo.toml`, so the build without sanitizer is the
/// engine alone.
const WITHOUT_SANITIZER: &[&str] = &[
    "forth_source",
    "engine_image",
    "stage_unit",
    "parser_line",
    "compiler_run",
    "program",
];

/// cargo-fuzz's sanitizer for a target, and the options that build and run it so (a build
/// without sanitizer has its own target directory, or each switch would rebuild everything).
fn sanitizer_options(root: &Path, target: &str) -> (&'static str, Vec<String>) {
    if WITHOUT_SANITIZER.contains(&target) {
        let dir = root.join("fuzz/target/no-sanitizer");
        let options = [
            "--sanitizer=none".to_owned(),
            format!("--target-dir={}", dir.display()),
        ];
        ("none", options.into())
    } else {
        let options = ["--sanitizer=address", "--features=host"].map(str::to_owned);
        ("address", options.into())
    }
}

impl flags::Fuzz {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        require_cargo_fuzz(sh)?;
        let targets = if self.targets.is_empty() {
            list_targets(sh)?
        } else {
            self.targets.clone()
        };
        let bound = match self.runs {
            Some(runs) => Bound::Runs(runs),
            None => Bound::Seconds(self.seconds.unwrap_or(60)),
        };
        let root = sh.current_dir();
        for target in &targets {
            let (sanitizer, build) = sanitizer_options(&root, target);
            println!("== building fuzz target {target} (nightly, sanitizer: {sanitizer})");
            cmd!(
                sh,
                "rustup run nightly cargo fuzz build -O {build...} {target}"
            )
            .run()?;
        }
        let example = example_plugin(sh)?;
        let outcomes = targets
            .iter()
            .map(|target| run_target(sh, target, &example, bound))
            .collect::<anyhow::Result<Vec<_>>>()?;
        report(&outcomes)
    }
}

fn run_target(sh: &Shell, target: &str, example: &Path, bound: Bound) -> anyhow::Result<Outcome> {
    let root = sh.current_dir();
    let corpus = root.join("target/fuzz/corpus").join(target);
    let seeds = root.join("fuzz/corpus").join(target);
    let artifacts = root.join("fuzz/artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for seed in built_seeds(&root, target, example) {
        let name = seed.file_name().context("a seed file has a name")?;
        std::fs::copy(&seed, corpus.join(name))
            .with_context(|| format!("cannot copy {}", seed.display()))?;
    }
    let before = list_files(&artifacts);
    println!("\n== fuzz {target} {}", bound.describe());
    let (sanitizer, build) = sanitizer_options(&root, target);
    let options = [
        bound.libfuzzer_option(),
        "-timeout=10".to_owned(),
        "-rss_limit_mb=2048".to_owned(),
        "-print_final_stats=1".to_owned(),
    ];
    let started = Instant::now();
    let output = cmd!(
        sh,
        "rustup run nightly cargo fuzz run -O {build...} {target} {corpus} {seeds} -- {options...}"
    )
    .ignore_status()
    .output()
    .with_context(|| format!("cannot run fuzz target {target}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&output.stderr);
    let findings: Vec<PathBuf> = list_files(&artifacts)
        .into_iter()
        .filter(|file| !before.contains(file))
        .collect();
    if !output.status.success() && findings.is_empty() {
        bail!(
            "fuzz target {target} failed without a finding:\n{}",
            tail(&log, 30)
        );
    }
    if !findings.is_empty() {
        eprintln!("{}\n{}", panic_messages(&log), tail(&log, 40));
    }
    Ok(Outcome {
        target: target.to_owned(),
        sanitizer,
        seconds,
        executions: final_stat(&log, "number_of_executed_units").unwrap_or(0),
        corpus_files: list_files(&corpus).len(),
        findings,
    })
}

fn require_cargo_fuzz(sh: &Shell) -> anyhow::Result<()> {
    cmd!(sh, "rustup run nightly cargo fuzz --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .context(
            "cargo-fuzz on nightly is needed: `rustup toolchain install nightly` and \
             `cargo install cargo-fuzz`",
        )
}

/// The targets `fuzz/Cargo.toml` declares, as cargo-fuzz reads them.
fn list_targets(sh: &Shell) -> anyhow::Result<Vec<String>> {
    let list = cmd!(sh, "rustup run nightly cargo fuzz list").read()?;
    Ok(list.lines().map(str::to_owned).collect())
}

/// The release build of the example plugin, a seed for the inspection target.
fn example_plugin(sh: &Shell) -> anyhow::Result<PathBuf> {
    let cargo = crate::toolchain::cargo();
    cmd!(
        sh,
        "{cargo} build --quiet --release -p fastforth-example-plugin"
    )
    .run()?;
    Ok(sh
        .current_dir()
        .join("target/release/libfastforth_example_plugin.so"))
}

/// Seeds that live elsewhere in the tree, copied into the working corpus: the real plugin
/// (mutations then start from a whole Rust cdylib) and the benchmark programs.
fn built_seeds(root: &Path, target: &str, example: &Path) -> Vec<PathBuf> {
    match target {
        "plugin_inspect" => vec![example.to_path_buf()],
        "forth_source" => list_files(&root.join("benches/forth"))
            .into_iter()
            .filter(|file| file.extension().is_some_and(|ext| ext == "fs"))
            .collect(),
        _ => Vec::new(),
    }
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| Some(entry.ok()?.path()))
                .collect()
        })
        .unwrap_or_default()
}

/// A `stat::NAME: VALUE` line of libFuzzer's final statistics.
fn final_stat(log: &str, name: &str) -> Option<u64> {
    let prefix = format!("stat::{name}:");
    log.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|value| value.trim().parse().ok())
}

/// Each `panicked at` line of the log with the message line after it: the tail alone may be
/// only the failing input's bytes.
fn panic_messages(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.contains(" panicked at "))
        .flat_map(|(at, _)| lines[at..(at + 2).min(lines.len())].iter().copied())
        .collect::<Vec<_>>()
        .join("\n")
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn report(outcomes: &[Outcome]) -> anyhow::Result<()> {
    println!("\n| target | sanitizer | executions | seconds | exec/s | corpus files | findings |");
    println!("|---|---|---|---|---|---|---|");
    for outcome in outcomes {
        println!(
            "| {} | {} | {} | {:.0} | {:.0} | {} | {} |",
            outcome.target,
            outcome.sanitizer,
            outcome.executions,
            outcome.seconds,
            outcome.executions as f64 / outcome.seconds.max(1.0),
            outcome.corpus_files,
            outcome.findings.len()
        );
    }
    let findings: Vec<String> = outcomes
        .iter()
        .flat_map(|outcome| &outcome.findings)
        .map(|file| file.display().to_string())
        .collect();
    if !findings.is_empty() {
        bail!(
            "fuzzing found {} input(s) that fail; reproduce with `cargo +nightly fuzz run TARGET FILE`, \
             fix, then add each to fuzz/corpus/TARGET:\n{}",
            findings.len(),
            findings.join("\n")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_bounded_by_time_or_by_executions() {
        assert_eq!(Bound::Seconds(30).libfuzzer_option(), "-max_total_time=30");
        assert_eq!(Bound::Runs(10_000_000).libfuzzer_option(), "-runs=10000000");
        assert_eq!(Bound::Runs(5).describe(), "for 5 executions");
    }

    #[test]
    fn only_the_engines_targets_run_without_a_sanitizer() {
        let root = Path::new("/repo");
        let (sanitizer, options) = sanitizer_options(root, "forth_source");
        assert_eq!(sanitizer, "none");
        assert_eq!(
            options,
            [
                "--sanitizer=none",
                "--target-dir=/repo/fuzz/target/no-sanitizer"
            ]
        );
        assert_eq!(sanitizer_options(root, "engine_image").0, "none");
        for target in ["plugin_inspect", "manifest", "a_new_target"] {
            let (sanitizer, options) = sanitizer_options(root, target);
            assert_eq!(sanitizer, "address");
            assert_eq!(options, ["--sanitizer=address", "--features=host"]);
        }
    }

    #[test]
    fn the_panic_message_is_picked_out_of_the_log() {
        let log = "Running: crash-1\n\nthread '<unnamed>' (8949) panicked at fuzz_targets/x.rs:30:5:\n\
                   an image saved by the engine is refused by it\nstack backtrace:\n[70, 70, 73]\n";
        assert_eq!(
            panic_messages(log),
            "thread '<unnamed>' (8949) panicked at fuzz_targets/x.rs:30:5:\n\
             an image saved by the engine is refused by it"
        );
        assert_eq!(panic_messages("==1== ERROR: libFuzzer: timeout"), "");
    }

    #[test]
    fn executions_are_read_from_libfuzzers_final_statistics() {
        let log = "#2 INITED cov: 10\nDone 1234 runs in 2 second(s)\n\
                   stat::number_of_executed_units: 1234\nstat::peak_rss_mb: 80\n";
        assert_eq!(final_stat(log, "number_of_executed_units"), Some(1234));
        assert_eq!(final_stat(log, "peak_rss_mb"), Some(80));
        assert_eq!(
            final_stat("crashed early", "number_of_executed_units"),
            None
        );
    }
}
