//! The ratios the project's claims rest on, each with its target and, when the target is
//! missed, what was measured; and how figures are written (`ns`, `kib`). Pure functions of
//! a [`Run`]; `report.rs` renders them.

use super::results::{Download, Reference, Run, Spread, WholeProcess};
use super::{classic_workloads, workloads};

/// A target a ratio must meet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    AtMost(f64),
    Below(f64),
    AtLeast(f64),
    /// Reported for context, no target.
    None,
}

impl Target {
    pub fn met(self, value: f64) -> Option<bool> {
        match self {
            Target::AtMost(limit) => Some(value <= limit),
            Target::Below(limit) => Some(value < limit),
            Target::AtLeast(limit) => Some(value >= limit),
            Target::None => None,
        }
    }

    pub fn limit(self) -> Option<f64> {
        match self {
            Target::AtMost(limit) | Target::Below(limit) | Target::AtLeast(limit) => Some(limit),
            Target::None => None,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Target::AtMost(limit) => format!("≤ {}", trim(limit)),
            Target::Below(limit) => format!("< {}", trim(limit)),
            Target::AtLeast(limit) => format!("≥ {}", trim(limit)),
            Target::None => "—".to_owned(),
        }
    }
}

/// One ratio of the report; `value` is `None` when its inputs were not measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Ratio {
    pub name: String,
    pub value: Option<f64>,
    pub target: Target,
    /// What was measured when the target is missed (empty otherwise).
    pub cause: String,
}

/// Every ratio, in report order.
pub fn ratios(run: &Run) -> Vec<Ratio> {
    let mean = |id: &str| run.benchmark(id).map(|e| e.mean);
    let ratio = |a: &str, b: &str| Some(mean(a)? / mean(b)?);
    let mut list = vec![
        call_ratio(run, "add_numbers", "call/add_numbers", Target::AtMost(1.1)),
        call_ratio(run, "fib/25", "fib/25", Target::AtMost(1.02)),
        cached_ratio(run, "add_numbers", "call/add_numbers", Target::AtMost(1.15)),
        cached_ratio(run, "fib/25", "fib/25", Target::AtMost(1.02)),
        Ratio {
            name: "hotswap (ArcSwap::load per call) / dlopen, add_numbers".into(),
            value: ratio("call/add_numbers/hotswap", "call/add_numbers/dlopen"),
            target: Target::None,
            cause: String::new(),
        },
        Ratio {
            name: "arc_swap::Cache check (the cache before the swap count) / dlopen, add_numbers"
                .into(),
            value: ratio("call/add_numbers/arc_swap_cache", "call/add_numbers/dlopen"),
            target: Target::None,
            cause: String::new(),
        },
        Ratio {
            name: "per-handle epoch check / dlopen, add_numbers".into(),
            value: ratio("call/add_numbers/epoch_check", "call/add_numbers/dlopen"),
            target: Target::None,
            cause: String::new(),
        },
        Ratio {
            name: "thread-local generation check / dlopen, add_numbers".into(),
            value: ratio(
                "call/add_numbers/thread_local_check",
                "call/add_numbers/dlopen",
            ),
            target: Target::None,
            cause: String::new(),
        },
        Ratio {
            name: "call time under swaps every ms / without swaps".into(),
            value: ratio("swap/under_load/swapping", "swap/under_load/idle"),
            target: Target::None,
            cause: String::new(),
        },
    ];
    list.push(Ratio {
        name: "linked native word / interpreted word, an interpreted loop of 1,000 calls".into(),
        value: ratio("forth/linked-call/linked", "forth/linked-call/interpreted"),
        target: Target::AtMost(2.0),
        cause: "nothing is copied, allocated, locked or flushed on a call, but perf puts \
                half of a linked iteration in the executor, which leaves and re-enters its \
                loop for the host word, 30 % in the host (`dyn Console` call, look-up, \
                swap-count and session check) and 20 % in the plugin (its two \
                `catch_unwind`s and the run's setup)"
            .into(),
    });
    list.push(Ratio {
        name: "linked native fib / interpreted fib, an interpreted loop of 10^6 calls of fib \
               0 to 7"
            .into(),
        value: ratio("forth/linked-fib/linked", "forth/linked-fib/interpreted"),
        target: Target::None,
        cause: String::new(),
    });
    list.push(native_startup_ratio(run));
    list.extend(stage_ratios(run, &staged_workloads(run)));
    list.extend(swap_ratios(run));
    list.extend(update_ratios(run));
    let all_workloads: Vec<String> = workloads()
        .map(str::to_owned)
        .chain(classic_workloads())
        .collect();
    list.extend(
        all_workloads
            .iter()
            .map(|workload| forth_ratio(run, workload)),
    );
    list.extend(
        all_workloads
            .iter()
            .map(|workload| native_ratio(run, workload)),
    );
    list.extend(run.whole_process.iter().flat_map(whole_process_ratios));
    for ratio in &mut list {
        if ratio.value.and_then(|v| ratio.target.met(v)) != Some(false) {
            ratio.cause.clear();
        }
    }
    list
}

fn call_ratio(run: &Run, label: &str, group: &str, target: Target) -> Ratio {
    let (dlopen, noinline) = (
        run.benchmark(&format!("{group}/dlopen")),
        run.benchmark(&format!("{group}/static_noinline")),
    );
    let value = dlopen.zip(noinline).map(|(d, s)| d.mean / s.mean);
    let cause = dlopen.zip(noinline).map_or_else(String::new, |(d, s)| {
        format!(
            "the raw pointer call takes {} against {} for the direct call; the body is the same \
             code, so the difference is the indirect call and the two compilations \
             (plugin: its own crate; static: inlined into the bench binary with thin LTO)",
            ns(d.mean),
            ns(s.mean)
        )
    });
    Ratio {
        name: format!("dlopen / static_noinline, {label}"),
        value,
        target,
        cause,
    }
}

fn cached_ratio(run: &Run, label: &str, group: &str, target: Target) -> Ratio {
    let (cached, dlopen) = (
        run.benchmark(&format!("{group}/hotswap_cached")),
        run.benchmark(&format!("{group}/dlopen")),
    );
    let value = cached.zip(dlopen).map(|(c, d)| c.mean / d.mean);
    let cause = cached.zip(dlopen).map_or_else(String::new, |(c, d)| {
        format!(
            "the cached hot-swap call takes {} against {} for the raw pointer: {} more per call \
             for the swap-count check (a load and a compare), the load of the held plugin's \
             entry and the status check (status and result come back together in a register)",
            ns(c.mean),
            ns(d.mean),
            ns(c.mean - d.mean)
        )
    });
    Ratio {
        name: format!("hotswap_cached / dlopen, {label}"),
        value,
        target,
        cause,
    }
}

fn swap_ratios(run: &Run) -> Vec<Ratio> {
    let latency = run.swap_latency.as_ref();
    let phases = latency.map_or_else(String::new, |latency| {
        let parts: Vec<String> = latency
            .phases
            .iter()
            .map(|p| format!("{} {}", p.phase, ns(p.p50_ns as f64)))
            .collect();
        format!(
            "median phases of a swap of the {} KiB plugin: {}",
            latency.artifact_bytes / 1024,
            parts.join(", ")
        )
    });
    let ms = |nanos: u64| nanos as f64 / 1e6;
    vec![
        Ratio {
            name: "swap latency p50, ms".into(),
            value: latency.map(|l| ms(l.p50_ns)),
            target: Target::Below(0.3),
            cause: phases.clone(),
        },
        Ratio {
            name: "swap latency p99, ms".into(),
            value: latency.map(|l| ms(l.p99_ns)),
            target: Target::Below(2.0),
            cause: phases,
        },
    ]
}

fn update_ratios(run: &Run) -> Vec<Ratio> {
    let update = run.update_cost.as_ref();
    let bytes = |pick: fn(&Download) -> u64| {
        update.map(|u| pick(&u.plugin_bytes) as f64 / pick(&u.monolith_bytes) as f64)
    };
    let size_cause = update.map_or_else(String::new, |u| {
        format!(
            "the stripped plugin is {} and the whole stripped binary {}: each cdylib carries its \
             own copy of std's panic and backtrace runtime (needed by `catch_unwind`), which \
             a single binary carries once",
            kib(u.plugin_bytes.stripped),
            kib(u.monolith_bytes.stripped)
        )
    });
    vec![
        Ratio {
            name: "update speed-up: monolith rebuild + restart / plugin rebuild + swap".into(),
            value: update.map(|u| u.monolith_seconds.median / u.plugin_seconds.median),
            target: Target::AtLeast(13.0),
            cause: update.map_or_else(String::new, |u| {
                format!(
                    "plugin {:.2} s, monolith {:.2} s (medians): both are dominated by cargo and \
                     rustc recompiling the changed crate; the monolith adds only relinking \
                     (thin LTO) and a restart",
                    u.plugin_seconds.median, u.monolith_seconds.median
                )
            }),
        },
        Ratio {
            name: "plugin bytes / whole binary bytes, stripped".into(),
            value: bytes(|d| d.stripped),
            target: Target::AtMost(0.15),
            cause: size_cause,
        },
        Ratio {
            name: "plugin bytes / whole binary bytes, stripped + gzip -9".into(),
            value: bytes(|d| d.gzip),
            target: Target::AtMost(0.15),
            cause: update.map_or_else(String::new, |u| {
                format!(
                    "compressed, the plugin is {} and the whole binary {}: the shared runtime \
                     compresses no better in one than in the other",
                    kib(u.plugin_bytes.gzip),
                    kib(u.monolith_bytes.gzip)
                )
            }),
        },
    ]
}

fn forth_ratio(run: &Run, workload: &str) -> Ratio {
    let fastforth = run
        .benchmark(&format!("forth/{workload}/static"))
        .map(|e| e.mean);
    let gforth = reference(run, "gforth-fast", workload).and_then(|r| r.median_ns);
    Ratio {
        name: format!("forth {workload}: FastForth static / gforth-fast"),
        value: fastforth.zip(gforth).map(|(f, g)| f / g),
        target: Target::AtMost(1.0),
        cause: fastforth.zip(gforth).map_or_else(String::new, |(f, g)| {
            format!(
                "one `main` takes {} in FastForth against {} in gforth-fast; FastForth's \
                 executor is a `match` over 16-byte IR ops with every memory access bounds-checked \
                 and every call, branch and loop iteration counted against the step budget, \
                 gforth-fast is direct-threaded code with the top of stack in a register",
                ns(f),
                ns(g)
            )
        }),
    }
}

/// Forth compiled ahead of time against the same algorithm in C: at most 1.18 (85 % of C's
/// speed), and at most 1.0 on fib.
fn native_ratio(run: &Run, workload: &str) -> Ratio {
    let native = run
        .benchmark(&format!("forth/{workload}/native"))
        .map(|e| e.mean);
    let c = reference(run, "cc -O2", workload).and_then(|r| r.median_ns);
    let limit = if workload == "fib" { 1.0 } else { 1.18 };
    Ratio {
        name: format!("forth {workload}: native / C (cc -O2)"),
        value: native.zip(c).map(|(n, c)| n / c),
        target: Target::AtMost(limit),
        cause: native.zip(c).map_or_else(String::new, |(n, c)| {
            format!(
                "one `main` takes {} compiled ahead of time against {} in C; every data-space \
                 access of the compiled code is bounds-checked and every call checks the \
                 return-stack depth, which C does not",
                ns(n),
                ns(c)
            )
        }),
    }
}

/// A classic program as a user runs it, start-up included: the executable `compile --exe`
/// builds against C's (at most 1.18, as in process), `run --native` against C (no target:
/// it loads a plugin and the shared runtime first), and the interpreter against
/// gforth-fast (at most 1.0).
fn whole_process_ratios(whole: &WholeProcess) -> [Ratio; 3] {
    let median = |spread: &Option<Spread>| spread.as_ref().map(|s| s.median);
    let of = |a: &Option<Spread>, b: &Option<Spread>| Some((median(a)?, median(b)?));
    let cause = |pair: Option<(f64, f64)>, what: &str| {
        pair.map_or_else(String::new, |(a, b)| {
            format!(
                "{a:.2} ms against {b:.2} ms (medians of {} runs); {what}",
                whole.runs
            )
        })
    };
    let program = &whole.program;
    let executable = of(&whole.executable_ms, &whole.c_ms);
    let native = of(&whole.native_ms, &whole.c_ms);
    let interpreted = of(&whole.interpreted_ms, &whole.gforth_ms);
    [
        Ratio {
            name: format!("classic {program}, whole process: `compile --exe` executable / C"),
            value: executable.map(|(a, b)| a / b),
            target: Target::AtMost(1.18),
            cause: cause(
                executable,
                "the run in process is the `native / C` row above; the rest is start-up",
            ),
        },
        Ratio {
            name: format!("classic {program}, whole process: run --native / C"),
            value: native.map(|(a, b)| a / b),
            target: Target::None,
            cause: String::new(),
        },
        Ratio {
            name: format!("classic {program}, whole process: interpreted / gforth-fast"),
            value: interpreted.map(|(a, b)| a / b),
            target: Target::AtMost(1.0),
            cause: cause(
                interpreted,
                "start-up, loading the program and one `main`, interpreted",
            ),
        },
    ]
}

/// The workloads whose staged run was measured.
fn staged_workloads(run: &Run) -> Vec<String> {
    workloads()
        .map(str::to_owned)
        .chain(classic_workloads())
        .filter(|workload| run.benchmark(&format!("forth/{workload}/staged")).is_some())
        .collect()
}

/// Issue 14's target for the start-up of `run --native` against `run -e bye`.
pub const NATIVE_STARTUP_TARGET: f64 = 1.5;

/// Start-up of `run --native` of an empty word against `run -e bye`, from the install.
fn native_startup_ratio(run: &Run) -> Ratio {
    let startups = run.install.as_ref().and_then(|install| {
        let native = install.startup_native_ms.as_ref()?;
        Some((native.median, install.startup_static_ms.median))
    });
    Ratio {
        name: "start-up: run --native of an empty word / run -e bye".into(),
        value: startups.map(|(native, bye)| native / bye),
        target: Target::AtMost(NATIVE_STARTUP_TARGET),
        cause: startups.map_or_else(String::new, |(native, bye)| {
            format!(
                "{native:.2} ms against {bye:.2} ms: loading the plugin (structure check, \
                 shadow copy, dlopen, validation, self-test) and running its word"
            )
        }),
    }
}

/// The optimizer stage plugin against the built-in optimizer: execution of the code it
/// compiled (at most 1.05 of the built-in's time), and compile throughput of 10,000 lines
/// (at least 0.8 of the built-in's).
fn stage_ratios(run: &Run, workloads: &[String]) -> Vec<Ratio> {
    let mean = |id: &str| run.benchmark(id).map(|e| e.mean);
    let mut list: Vec<Ratio> = workloads
        .iter()
        .map(|workload| Ratio {
            name: format!("forth {workload}: optimizer stage plugin / built-in optimizer"),
            value: mean(&format!("forth/{workload}/staged"))
                .zip(mean(&format!("forth/{workload}/static")))
                .map(|(staged, built_in)| staged / built_in),
            target: Target::AtMost(1.05),
            cause: "both run the same instructions (the tests compare the code); what \
                    differs is where the code space was allocated, and the noise"
                .into(),
        })
        .collect();
    let compile = mean("forth/compile-10k/built-in").zip(mean("forth/compile-10k/staged"));
    list.push(Ratio {
        name: "compile throughput of 10,000 lines: optimizer stage plugin / built-in".into(),
        value: compile.map(|(built_in, staged)| built_in / staged),
        target: Target::AtLeast(0.8),
        cause: compile.map_or_else(String::new, |(built_in, staged)| {
            format!(
                "each of the {COMPILED_DEFINITIONS} definitions is encoded, handed to the \
                 stage's thread, read, optimized and encoded by the plugin, then read and \
                 checked again (branch targets, stack effect, calls): {} more a definition, \
                 against {} to compile one built in",
                ns((staged - built_in) / COMPILED_DEFINITIONS as f64),
                ns(built_in / COMPILED_DEFINITIONS as f64)
            )
        }),
    });
    let compiler =
        mean("forth/compile-10k/built-in").zip(mean("forth/compile-10k/compiler-staged"));
    list.push(Ratio {
        name: "compile throughput of 10,000 lines: compiler stage plugin / built-in".into(),
        value: compiler.map(|(built_in, staged)| built_in / staged),
        target: Target::None,
        cause: compiler.map_or_else(String::new, |(built_in, staged)| {
            format!(
                "each run of tokens up to the next immediate word (about five a definition) \
                 is looked up, encoded, handed to the stage's thread, answered by the plugin, \
                 then checked: {} more a definition",
                ns((staged - built_in) / COMPILED_DEFINITIONS as f64)
            )
        }),
    });
    let parser = mean("forth/compile-10k/built-in").zip(mean("forth/compile-10k/parser-staged"));
    list.push(Ratio {
        name: "compile throughput of 10,000 lines: parser stage plugin / built-in".into(),
        value: parser.map(|(built_in, staged)| built_in / staged),
        target: Target::None,
        cause: parser.map_or_else(String::new, |(built_in, staged)| {
            format!(
                "the rest of each line is encoded, handed to the stage's thread, split and read \
                 by the plugin, then checked; asked again after a BASE change, not after a \
                 parsing word (its tokens are skipped): {} more a line",
                ns((staged - built_in) / COMPILED_LINES as f64)
            )
        }),
    });
    list
}

/// The lines of `forth/compile-10k`.
const COMPILED_LINES: u32 = 10_000;

/// The colon definitions in the 10,000 lines of `forth/compile-10k` (five lines each).
const COMPILED_DEFINITIONS: u32 = 2_000;

pub fn reference<'a>(run: &'a Run, tool: &str, workload: &str) -> Option<&'a Reference> {
    run.references
        .iter()
        .find(|r| r.tool == tool && r.workload == workload)
}

/// A time in nanoseconds with a unit that keeps 3–4 significant digits.
pub fn ns(nanos: f64) -> String {
    let (value, unit) = match nanos.abs() {
        n if n < 1e3 => (nanos, "ns"),
        n if n < 1e6 => (nanos / 1e3, "µs"),
        n if n < 1e9 => (nanos / 1e6, "ms"),
        _ => (nanos / 1e9, "s"),
    };
    let decimals = match value.abs() {
        v if v < 10.0 => 3,
        v if v < 100.0 => 2,
        _ => 1,
    };
    format!("{value:.decimals$} {unit}")
}

pub fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn trim(value: f64) -> String {
    let text = format!("{value}");
    text.trim_end_matches(".0").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_three_or_four_digits() {
        assert_eq!(ns(1.3712), "1.371 ns");
        assert_eq!(ns(141_940.0), "141.9 µs");
        assert_eq!(ns(34_800_000.0), "34.80 ms");
        assert_eq!(ns(2.5e9), "2.500 s");
    }

    #[test]
    fn targets_know_which_side_passes() {
        assert_eq!(Target::AtMost(1.1).met(1.1), Some(true));
        assert_eq!(Target::Below(0.3).met(0.3), Some(false));
        assert_eq!(Target::AtLeast(13.0).met(12.9), Some(false));
        assert_eq!(Target::None.met(5.0), None);
        assert_eq!(Target::AtLeast(13.0).describe(), "≥ 13");
    }
}
