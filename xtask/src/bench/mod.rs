//! `cargo xtask bench`: runs the criterion benches (signed update over loopback included) and
//! the measurements criterion cannot make (swap-latency percentiles, update cost, sizes,
//! gforth-fast and C references, the compile time and plugin size of `fastforth compile`,
//! gforth's classic programs timed whole process),
//! then writes `results/` (a JSON file per run, `latest.md`, `latest.svg`). A quick run
//! writes to `target/bench/quick/` instead, so its figures are never committed.

mod aot;
mod chart;
mod compare;
mod criterion;
mod host;
mod install;
mod ratios;
mod references;
mod report;
mod results;
mod sizes;
mod timing;
mod update;
mod whole;

use crate::flags;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xshell::{Shell, cmd};

/// The Forth workloads, in report order: the one list, `benches/forth/workloads.txt`, which
/// the forth bench reads too.
pub fn workloads() -> impl Iterator<Item = &'static str> {
    include_str!("../../../benches/forth/workloads.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// gforth's classic benchmark programs as workloads, `classic-<program>`, in report order:
/// the one list, `benches/forth/classic/programs.txt`, which the forth bench reads too.
pub fn classic_workloads() -> impl Iterator<Item = String> {
    include_str!("../../../benches/forth/classic/programs.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|program| format!("{CLASSIC_PREFIX}{program}"))
}

/// What names a classic program as a workload.
pub const CLASSIC_PREFIX: &str = "classic-";

/// The steps of a run, for the progress lines.
const STEPS: usize = 8;

impl flags::Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let started = Instant::now();
        let root = sh.current_dir();
        let mode = if self.quick { "quick" } else { "full" };
        let out_dir = self.output_dir(&root);
        let mut run = results::Run::start(sh, self.quick).context("cannot describe this host")?;
        step(1, &format!("criterion benches ({mode} run)"));
        let criterion_home = root.join("target/bench").join(mode).join("criterion");
        self.run_criterion(sh, &criterion_home)?;
        run.benchmarks = criterion::read_all(&criterion_home)?;
        if self.filter.is_none() {
            step(2, "swap latency: 1,000 individual swaps");
            run.swap_latency = Some(self.swap_latency(sh)?);
            step(
                3,
                "update cost: plugin rebuild + swap vs monolith rebuild + restart",
            );
            run.update_cost = Some(update::measure(sh, &root, self.repetitions())?);
            step(
                4,
                "sizes of the plugins, the fastforth binary (three feature sets) and the install",
            );
            run.sizes = sizes::measure(sh, &root)?;
            let (install, fastforth) = install::measure(sh, &root, self.quick)?;
            run.install = Some(install);
            step(5, "references: gforth-fast and cc -O2");
            run.references = references::measure(sh, &root, self.repetitions(), self.repetitions());
            step(
                6,
                "ahead-of-time compilation: fastforth compile of the Forth workloads",
            );
            run.aot_compile = aot::measure(sh, &root);
            step(
                7,
                "whole process: gforth's classic programs as a user runs them",
            );
            let runs = if self.quick { 5 } else { 21 };
            run.whole_process = whole::measure(sh, &root, &fastforth, runs);
        }
        run.finish();
        step(STEPS, &format!("writing {}", out_dir.display()));
        let json = results::write(&run, &out_dir)?;
        let markdown = report::markdown(&run);
        write_file(&out_dir.join("latest.md"), &markdown)?;
        chart::draw(&ratios::ratios(&run), &out_dir.join("latest.svg"))?;
        println!("\n{}", report::ratio_table(&ratios::ratios(&run)));
        println!("wrote {}, latest.md and latest.svg", json.display());
        if let Some(earlier) = &self.compare {
            let earlier = results::read(earlier)?;
            print!("{}", compare::changes(&earlier, &run));
        }
        println!("bench finished in {:.0} s", started.elapsed().as_secs_f64());
        Ok(())
    }

    fn output_dir(&self, root: &Path) -> PathBuf {
        if self.quick {
            root.join("target/bench/quick/results")
        } else {
            root.join("results")
        }
    }

    fn repetitions(&self) -> usize {
        if self.quick { 1 } else { 5 }
    }

    /// Runs every bench target; criterion writes its estimates under `criterion_home`,
    /// emptied first so that only this run's benchmarks are read back.
    fn run_criterion(&self, sh: &Shell, criterion_home: &Path) -> anyhow::Result<()> {
        if criterion_home.exists() {
            std::fs::remove_dir_all(criterion_home)
                .with_context(|| format!("cannot empty {}", criterion_home.display()))?;
        }
        let cargo = crate::toolchain::cargo();
        let mut args: Vec<String> = vec!["--noplot".into()];
        if self.quick {
            args.extend(
                [
                    "--warm-up-time",
                    "0.3",
                    "--measurement-time",
                    "0.7",
                    "--sample-size",
                    "10",
                ]
                .map(String::from),
            );
        }
        args.extend(self.filter.clone());
        let _home = sh.push_env("CRITERION_HOME", criterion_home);
        let _quick = self
            .quick
            .then(|| sh.push_env("FASTFORTH_BENCH_QUICK", "1"));
        let benches = ["calls", "swap", "forth", "update"]
            .into_iter()
            .filter(|bench| root_has_bench(sh, bench))
            .flat_map(|bench| ["--bench", bench]);
        cmd!(
            sh,
            "{cargo} bench --quiet -p fastforth-benches {benches...} -- {args...}"
        )
        .run()
        .context("criterion benches failed")
    }

    fn swap_latency(&self, sh: &Shell) -> anyhow::Result<results::SwapLatency> {
        let cargo = crate::toolchain::cargo();
        let output = cmd!(
            sh,
            "{cargo} run --quiet --release -p fastforth-benches --bin swap-latency -- --swaps 1000"
        )
        .read()
        .context("swap-latency probe failed")?;
        results::SwapLatency::from_probe(&output)
    }
}

/// Whether the bench target `name` exists (the Forth benches need the engine crate).
fn root_has_bench(sh: &Shell, name: &str) -> bool {
    sh.current_dir()
        .join("benches/benches")
        .join(format!("{name}.rs"))
        .is_file()
}

fn step(number: usize, what: &str) {
    println!("==> [{number}/{STEPS}] {what}");
}

fn write_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::results::{self, Run};
    use super::{chart, compare, criterion, ratios, report};
    use std::path::{Path, PathBuf};

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bench_fixture")
    }

    /// A small criterion output of the project's own (`call/add_numbers/*`, `fib/25/*`,
    /// `update/loopback`).
    pub fn fixture_dir() -> PathBuf {
        fixture().join("criterion")
    }

    /// The results of the quick run that produced the fixture, its benchmarks cut down to
    /// those in [`fixture_dir`].
    fn fixture_run() -> Run {
        results::read(&fixture().join("run.json")).unwrap()
    }

    #[test]
    fn the_results_benchmarks_are_criterions_estimates() {
        let estimates = criterion::read_all(&fixture_dir()).unwrap();
        assert_eq!(estimates, fixture_run().benchmarks);
    }

    #[test]
    fn results_json_round_trips_under_its_dated_name() {
        let run = fixture_run();
        let dir = std::env::temp_dir().join(format!("fastforth-bench-test-{}", std::process::id()));
        let path = results::write(&run, &dir).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let back = results::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            name,
            format!(
                "{}-{}-{}.json",
                &run.timestamp[..10],
                run.revision,
                run.host.id
            )
        );
        assert_eq!(back, run);
    }

    /// Results files committed before a field was added still read (new fields default).
    #[test]
    fn every_committed_results_file_still_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
        let files = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path());
        for path in files.filter(|path| path.extension().is_some_and(|e| e == "json")) {
            results::read(&path).unwrap();
        }
    }

    /// Compares `actual` with the golden file `name` of the fixture;
    /// `FASTFORTH_BLESS=1 cargo test -p xtask` rewrites it after an intended change.
    fn assert_golden(name: &str, actual: &str) {
        let golden = fixture().join(name);
        if std::env::var_os("FASTFORTH_BLESS").is_some() {
            std::fs::write(&golden, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap();
        assert!(
            actual == expected,
            "{} differs; if intended, run `FASTFORTH_BLESS=1 cargo test -p xtask` and commit it",
            golden.display()
        );
    }

    /// Every listed workload has its Forth and C sources, and every Forth source is listed.
    #[test]
    fn the_workload_list_names_exactly_the_forth_sources() {
        let benches = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches");
        let mut listed: Vec<&str> = super::workloads().collect();
        for workload in &listed {
            assert!(
                benches.join(format!("c/{workload}.c")).is_file(),
                "{workload}.c"
            );
        }
        let mut sources: Vec<String> = std::fs::read_dir(benches.join("forth"))
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                Some(name.strip_suffix(".fs")?.to_owned())
            })
            .collect();
        sources.sort();
        listed.sort();
        assert_eq!(sources, listed, "benches/forth/*.fs against workloads.txt");
    }

    /// Every classic program has its C reference, and every C reference names a program.
    #[test]
    fn the_classic_list_names_exactly_the_c_references() {
        let classic = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/c/classic");
        let mut listed: Vec<String> = super::classic_workloads()
            .map(|workload| workload[super::CLASSIC_PREFIX.len()..].to_owned())
            .collect();
        let mut sources: Vec<String> = std::fs::read_dir(classic)
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                Some(name.strip_suffix(".c")?.to_owned())
            })
            .collect();
        sources.sort();
        listed.sort();
        assert_eq!(listed, ["bubble", "fib", "matrix", "siev"]);
        assert_eq!(
            sources, listed,
            "benches/c/classic/*.c against programs.txt"
        );
    }

    #[test]
    fn markdown_matches_the_golden_report() {
        assert_golden("latest.md", &report::markdown(&fixture_run()));
    }

    #[test]
    fn markdown_states_each_ratio_next_to_its_target() {
        let markdown = report::markdown(&fixture_run());
        assert!(markdown.contains("| dlopen / static_noinline, add_numbers | "));
        assert!(markdown.contains(" | ≤ 1.1 | "));
        assert!(markdown.contains("| swap latency p50, ms | "));
        assert!(markdown.contains("## Targets missed, and what was measured"));
        assert!(markdown.contains("| `fib/25/hotswap_cached` | "));
        assert!(markdown.contains("## Signed update over loopback"));
        assert!(markdown.contains("The update machinery adds 884.1 KiB"));
        assert!(markdown.contains("| matrix | 2.911 s | 273.3 ms | 3.606 ms | 408.6 KiB |"));
    }

    #[test]
    fn the_install_section_states_each_size_and_the_start_up_against_its_target() {
        let mut run = fixture_run();
        let file = |file: &str, bytes| results::InstalledFile {
            file: file.to_owned(),
            bytes,
        };
        let spread = |median| results::Spread {
            median,
            min: median,
            max: median,
        };
        run.install = Some(results::Install {
            triple: "x86_64-unknown-linux-gnu".to_owned(),
            files: vec![
                file("fastforth", 2_139_328),
                file("libstd-abc.so", 1_196_240),
                file("libfastforth_example_plugin.so", 14_368),
                file("libfastforth_backend_plugin.so", 362_368),
            ],
            shared_fastforth_bytes: Some(2_161_320),
            startup_runs: 100,
            startup_static_ms: spread(2.0),
            startup_shared_ms: Some(spread(2.5)),
            startup_native_ms: Some(spread(3.2)),
            breakdown: vec![
                results::CrateBytes {
                    krate: "clap_builder".to_owned(),
                    bytes: 750,
                },
                results::CrateBytes {
                    krate: "core".to_owned(),
                    bytes: 250,
                },
            ],
        });
        let markdown = report::markdown(&run);
        for line in [
            "| fastforth | 2139328 | ≤ 1000000 | **no** |",
            "| libstd-abc.so | 1196240 | — | — |",
            "| libfastforth_example_plugin.so | 14368 | ≤ 16000 | yes |",
            "| libfastforth_backend_plugin.so | 362368 | ≤ 64000 | **no** |",
            "| **install** | **3712304** | ≤ 2500000 | **no** |",
            "`fastforth` on the shared runtime instead (`-C prefer-dynamic`, which rules out LTO): 2161320 bytes.",
            "median of 100 runs: 2.00 ms with std linked in, 2.50 ms on the shared runtime (ratio 1.250, target ≤ 1.1: missed).",
            "| clap_builder | 750 | 75.0 % |",
            "an empty `main` (a plugin `fastforth compile` built), in the same alternation: 3.20 ms, 1.60x `run -e bye` (target ≤ 1.5: missed).",
        ] {
            assert!(markdown.contains(line), "{line:?} missing from\n{markdown}");
        }
    }

    #[test]
    fn whole_process_figures_are_tabled_and_their_ratios_held_to_their_targets() {
        let mut run = fixture_run();
        let spread = |median| {
            Some(results::Spread {
                median,
                min: median,
                max: median,
            })
        };
        run.whole_process = vec![results::WholeProcess {
            program: "matrix".to_owned(),
            runs: 21,
            c_ms: spread(4.0),
            executable_ms: spread(4.6),
            native_ms: spread(6.0),
            interpreted_ms: spread(90.0),
            gforth_ms: None,
            skipped: vec!["gforth-fast: gforth-fast is not installed".to_owned()],
        }];
        let markdown = report::markdown(&run);
        for line in [
            "| matrix | 4.00 ms | 4.60 ms | 6.00 ms | 90.00 ms | — |",
            "Skipped: matrix: gforth-fast: gforth-fast is not installed.",
            "| classic matrix, whole process: `compile --exe` executable / C | 1.150 | ≤ 1.18 | yes |",
            "| classic matrix, whole process: run --native / C | 1.500 | — | — |",
            "| classic matrix, whole process: interpreted / gforth-fast | not measured | ≤ 1 | — |",
        ] {
            assert!(markdown.contains(line), "{line:?} missing from\n{markdown}");
        }
        run.whole_process[0].executable_ms = spread(5.0);
        let markdown = report::markdown(&run);
        assert!(
            markdown.contains("5.00 ms against 4.00 ms (medians of 21 runs)"),
            "a miss states what was measured:\n{markdown}"
        );
    }

    #[test]
    fn the_chart_has_one_bar_per_measured_ratio_with_a_target() {
        let ratios = ratios::ratios(&fixture_run());
        let svg = chart::svg(&ratios).unwrap();
        let measured = ratios
            .iter()
            .filter(|r| r.value.is_some() && r.target.limit().is_some())
            .count();
        let bars =
            svg.matches("fill=\"#00FF00\"").count() + svg.matches("fill=\"#FF0000\"").count();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert_eq!(bars, measured);
        assert!(svg.contains("dlopen / static_noinline, add_numbers"));
    }

    #[test]
    fn the_chart_matches_the_golden_svg() {
        assert_golden(
            "latest.svg",
            &chart::svg(&ratios::ratios(&fixture_run())).unwrap(),
        );
    }

    #[test]
    fn compare_flags_only_changes_whose_intervals_do_not_overlap() {
        let earlier = fixture_run();
        let mut now = earlier.clone();
        let slower = &mut now.benchmarks[0];
        slower.mean *= 2.0;
        slower.ci95 = [slower.ci95[0] * 2.0, slower.ci95[1] * 2.0];
        let text = compare::changes(&earlier, &now);
        assert_eq!(text.matches("SLOWER").count(), 1, "{text}");
        assert_eq!(
            text.matches("no change").count(),
            now.benchmarks.len() - 1,
            "{text}"
        );
        assert!(!text.contains("warning"), "{text}");
    }
}
