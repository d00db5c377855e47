//! `latest.md`: the ratios the project's claims rest on, each next to its target, the causes
//! of the misses as measured, and the raw figures below. Pure functions of a [`Run`].

use super::results::{AotCompile, Download, Reference, Run};
use super::sizes::FASTFORTH_FEATURES;
use std::fmt::Write;

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

const WORKLOADS: [&str; 4] = ["sieve", "bubble", "matrix", "fib"];

/// Every ratio, in report order.
pub fn ratios(run: &Run) -> Vec<Ratio> {
    let mean = |id: &str| run.benchmark(id).map(|e| e.mean);
    let ratio = |a: &str, b: &str| Some(mean(a)? / mean(b)?);
    let mut list = vec![
        call_ratio(run, "add_numbers", "call/add_numbers", Target::AtMost(1.1)),
        call_ratio(run, "fib/25", "fib/25", Target::AtMost(1.02)),
        cached_ratio(run, "add_numbers", "call/add_numbers", Target::AtMost(1.5)),
        cached_ratio(run, "fib/25", "fib/25", Target::AtMost(1.02)),
        Ratio {
            name: "hotswap (ArcSwap::load per call) / dlopen, add_numbers".into(),
            value: ratio("call/add_numbers/hotswap", "call/add_numbers/dlopen"),
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
        target: Target::None,
        cause: String::new(),
    });
    list.extend(swap_ratios(run));
    list.extend(update_ratios(run));
    list.extend(WORKLOADS.iter().map(|workload| forth_ratio(run, workload)));
    list.extend(WORKLOADS.iter().map(|workload| native_ratio(run, workload)));
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
             for the `arc_swap::Cache` check and the ABI's calling convention (the result is \
             written through an out-pointer and a `Status` is returned and checked)",
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

fn reference<'a>(run: &'a Run, tool: &str, workload: &str) -> Option<&'a Reference> {
    run.references
        .iter()
        .find(|r| r.tool == tool && r.workload == workload)
}

/// The ratio table alone (also printed at the end of a run).
pub fn ratio_table(ratios: &[Ratio]) -> String {
    let mut out = String::from("| ratio | measured | target | met |\n|---|---:|---:|:---:|\n");
    for ratio in ratios {
        let (value, met) = match ratio.value {
            Some(value) => (
                format!("{value:.3}"),
                match ratio.target.met(value) {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "—",
                },
            ),
            None => ("not measured".to_owned(), "—"),
        };
        let target = ratio.target.describe();
        let _ = writeln!(out, "| {} | {value} | {target} | {met} |", ratio.name);
    }
    out
}

/// The whole of `latest.md`.
pub fn markdown(run: &Run) -> String {
    let ratios = ratios(run);
    let mut out = String::new();
    header(&mut out, run);
    out.push_str("## Ratios against targets\n\n");
    out.push_str(&ratio_table(&ratios));
    out.push_str("\n![ratios against targets](latest.svg)\n\n");
    misses(&mut out, &ratios);
    swap_section(&mut out, run);
    update_section(&mut out, run);
    loopback_section(&mut out, run);
    forth_section(&mut out, run);
    aot_section(&mut out, run);
    sizes_section(&mut out, run);
    raw_section(&mut out, run);
    out
}

fn header(out: &mut String, run: &Run) {
    let host = &run.host;
    let dirty = if run.dirty {
        " (with uncommitted changes)"
    } else {
        ""
    };
    let kind = if run.quick {
        "quick run (short measurements; not for comparison)"
    } else {
        "full run"
    };
    let load = |l: [f64; 3]| format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2]);
    let _ = write!(
        out,
        "# Benchmark results\n\n\
         Written by `cargo xtask bench`; regenerate with that command. A {kind} of revision \
         `{}`{dirty} at {}.\n\n\
         - host `{}`: {}, {} cores, {} GiB, {}\n\
         - load average (1/5/15 min): {} at the start, {} at the end\n\
         - {}, profile {}\n\n\
         Ratios compare figures from this same run. Times are criterion means unless said \
         otherwise.\n\n",
        run.revision,
        run.timestamp,
        host.id,
        host.cpu,
        host.cores,
        host.memory_bytes / (1 << 30),
        host.os,
        load(host.loadavg_before),
        load(host.loadavg_after),
        run.rustc,
        run.profile
    );
}

fn misses(out: &mut String, ratios: &[Ratio]) {
    let missed: Vec<&Ratio> = ratios.iter().filter(|r| !r.cause.is_empty()).collect();
    if missed.is_empty() {
        return;
    }
    out.push_str("## Targets missed, and what was measured\n\n");
    for ratio in missed {
        let _ = writeln!(
            out,
            "- **{}** ({}): {}.",
            ratio.name,
            ratio.target.describe(),
            ratio.cause
        );
    }
    out.push('\n');
}

fn swap_section(out: &mut String, run: &Run) {
    under_load(out, run);
    let Some(latency) = &run.swap_latency else {
        return;
    };
    let _ = writeln!(
        out,
        "## Swap latency\n\n{} swaps of the example plugin, each a build with distinct bytes \
         (load, structural check, SHA-256, content-addressed copy, dlopen, \
         validation, self-test, store, retirement of the version two swaps back), timed one \
         by one:\n\n| p50 | p90 | p99 | max |\n|---:|---:|---:|---:|\n| {} | {} | {} | {} |\n",
        latency.swaps,
        ns(latency.p50_ns as f64),
        ns(latency.p90_ns as f64),
        ns(latency.p99_ns as f64),
        ns(latency.max_ns as f64)
    );
    out.push_str("| phase (median) | time |\n|---|---:|\n");
    for phase in &latency.phases {
        let _ = writeln!(out, "| {} | {} |", phase.phase, ns(phase.p50_ns as f64));
    }
    out.push('\n');
}

/// Throughput of the two calling threads of `swap/under_load/*` (one iteration is one call
/// on each thread).
fn under_load(out: &mut String, run: &Run) {
    let throughput = |id: &str| run.benchmark(id).map(|e| 2.0 / e.mean * 1e3);
    let (Some(idle), Some(swapping)) = (
        throughput("swap/under_load/idle"),
        throughput("swap/under_load/swapping"),
    ) else {
        return;
    };
    let _ = writeln!(
        out,
        "## Calls during swaps\n\nTwo threads calling `add_numbers` through their per-thread \
         caches: {idle:.0} million calls/s without swaps, {swapping:.0} million calls/s with a \
         swap every millisecond on a third thread ({:.0} % of the idle throughput; the swapping \
         thread competes for the same {} cores).\n",
        swapping / idle * 100.0,
        run.host.cores
    );
}

fn update_section(out: &mut String, run: &Run) {
    let Some(update) = &run.update_cost else {
        return;
    };
    let spread =
        |s: &super::results::Spread| format!("{:.2} s ({:.2}–{:.2})", s.median, s.min, s.max);
    let bytes = |d: &Download| format!("{} | {} | {}", kib(d.raw), kib(d.stripped), kib(d.gzip));
    let _ = writeln!(
        out,
        "## Update cost after a one-line change to the example plugin\n\n\
         Median (min–max) of {} repetition(s). Plugin: `cargo build --release` of the plugin, then \
         a swap into a running host until the new version answers. Monolith: `cargo build \
         --release` of the statically linked equivalent (host + engine + plugin as an rlib), \
         then stopping the old process and starting the new one until it answers.\n\n\
         | update | wall time | bytes as built | stripped | stripped + gzip -9 |\n\
         |---|---:|---:|---:|---:|\n\
         | plugin | {} | {} |\n| monolith | {} | {} |\n",
        update.repetitions,
        spread(&update.plugin_seconds),
        bytes(&update.plugin_bytes),
        spread(&update.monolith_seconds),
        bytes(&update.monolith_bytes)
    );
}

/// `update/loopback`, whose median is the figure reported for an update's own cost.
fn loopback_section(out: &mut String, run: &Run) {
    let Some(update) = run.benchmark("update/loopback") else {
        return;
    };
    let _ = writeln!(
        out,
        "## Signed update over loopback\n\n\
         `update/loopback`: one complete update of the example plugin from 1.0.0 to 1.0.1 \
         from a signed channel served over HTTP on 127.0.0.1 (fetch `manifest.json` and its \
         signature, verify, download, SHA-256, write with fsync, structural check, load, \
         self-test, swap, state saved), each from a fresh host with 1.0.0 installed: median \
         {}, mean {} (95 % interval of the mean {} – {}).\n",
        ns(update.median),
        ns(update.mean),
        ns(update.ci95[0]),
        ns(update.ci95[1])
    );
}

fn forth_section(out: &mut String, run: &Run) {
    if run.references.is_empty() && !run.benchmarks.iter().any(|e| e.id.starts_with("forth/")) {
        return;
    }
    out.push_str(
        "## Forth workloads and references\n\n\
         FastForth: criterion mean of one `main` (`benches/forth/*.fs`); native is the \
         workload compiled ahead of time to a forth-native plugin (`fastforth compile`). \
         References: the same workloads under `gforth-fast` and in C (`cc -O2`, `benches/c/*.c`), timed in-program \
         over repeated runs, median over processes.\n\n\
         | workload | FastForth static | plugin | hotswap | native | gforth-fast | cc -O2 | static / gforth-fast | static / C | native / C |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for workload in WORKLOADS {
        let bench = |path: &str| {
            run.benchmark(&format!("forth/{workload}/{path}"))
                .map(|e| e.mean)
        };
        let refer = |tool: &str| reference(run, tool, workload).and_then(|r| r.median_ns);
        let time = |value: Option<f64>| value.map_or_else(|| "—".to_owned(), ns);
        let over = |a: Option<f64>, b: Option<f64>| {
            a.zip(b)
                .map_or_else(|| "—".to_owned(), |(a, b)| format!("{:.2}", a / b))
        };
        let (fast, gforth, c) = (bench("static"), refer("gforth-fast"), refer("cc -O2"));
        let native = bench("native");
        let _ = writeln!(
            out,
            "| {workload} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            time(fast),
            time(bench("plugin")),
            time(bench("hotswap")),
            time(native),
            time(gforth),
            time(c),
            over(fast, gforth),
            over(fast, c),
            over(native, c)
        );
    }
    let skipped: Vec<String> = run
        .references
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{} {}: {}",
                r.tool,
                r.workload,
                r.skipped.as_ref()?
            ))
        })
        .collect();
    skipped_note(out, &skipped);
    out.push('\n');
}

fn aot_section(out: &mut String, run: &Run) {
    if run.aot_compile.is_empty() {
        return;
    }
    out.push_str(
        "## Ahead-of-time compilation (`fastforth compile`)\n\n\
         Wall time of `fastforth compile benches/forth/<w>.fs` (release build), one process \
         each. Cold: into an empty native cache, so cargo also builds fastforth-abi and \
         fastforth-native-runtime. New program: into a cache where another workload was \
         compiled. Cached: the same program again, without running cargo. Plugin size: the \
         file written, stripped by the generated crate's profile.\n\n\
         | workload | cold | new program | cached | plugin size |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for cost in &run.aot_compile {
        out.push_str(&aot_row(cost));
    }
    let skipped: Vec<String> = run
        .aot_compile
        .iter()
        .filter_map(|c| Some(format!("{}: {}", c.workload, c.skipped.as_ref()?)))
        .collect();
    skipped_note(out, &skipped);
    out.push('\n');
}

fn aot_row(cost: &AotCompile) -> String {
    let time = |seconds: Option<f64>| seconds.map_or_else(|| "—".to_owned(), |s| ns(s * 1e9));
    format!(
        "| {} | {} | {} | {} | {} |\n",
        cost.workload,
        time(cost.cold_seconds),
        time(cost.new_program_seconds),
        time(cost.cached_seconds),
        cost.plugin_bytes.map_or_else(|| "—".to_owned(), kib)
    )
}

/// The line naming what was skipped and why, if anything was.
fn skipped_note(out: &mut String, skipped: &[String]) {
    if !skipped.is_empty() {
        let _ = writeln!(out, "\nSkipped: {}.", skipped.join("; "));
    }
}

fn sizes_section(out: &mut String, run: &Run) {
    if run.sizes.is_empty() {
        return;
    }
    out.push_str("## Sizes\n\n| artifact | triple | as built | stripped |\n|---|---|---:|---:|\n");
    for size in &run.sizes {
        let stripped = size.stripped.map_or_else(|| "—".to_owned(), kib);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {stripped} |",
            size.artifact,
            size.triple,
            kib(size.bytes)
        );
    }
    if let Some(added) = update_machinery(run) {
        let _ = writeln!(out, "\n{added}");
    }
    out.push('\n');
}

/// What the update machinery adds to the stripped `fastforth` binary (built for the host
/// triple only), when all three feature sets were measured.
fn update_machinery(run: &Run) -> Option<String> {
    let stripped = |artifact: &str| run.sizes.iter().find(|s| s.artifact == artifact)?.stripped;
    let [without, default, tls] = FASTFORTH_FEATURES.map(|(artifact, _)| stripped(artifact));
    let (without, default, tls) = (without?, default?, tls?);
    Some(format!(
        "The update machinery adds {} to the stripped `fastforth` binary (`update`, the \
         default: `http://` and `file://` channels) and {} with `tls` (`https://` too), over \
         the {} of `--no-default-features`.",
        kib(default.saturating_sub(without)),
        kib(tls.saturating_sub(without)),
        kib(without)
    ))
}

fn raw_section(out: &mut String, run: &Run) {
    out.push_str("## All benchmarks\n\n| id | mean | median | 95 % interval of the mean |\n|---|---:|---:|---:|\n");
    for e in &run.benchmarks {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} – {} |",
            e.id,
            ns(e.mean),
            ns(e.median),
            ns(e.ci95[0]),
            ns(e.ci95[1])
        );
    }
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

fn kib(bytes: u64) -> String {
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
