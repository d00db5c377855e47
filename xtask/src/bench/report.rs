//! `latest.md`: the ratios (`ratios.rs`) each next to its target, the causes of the misses
//! as measured, and the raw figures below, rendered as Markdown. Pure functions of a [`Run`].

use super::ratios::{NATIVE_STARTUP_TARGET, Ratio, kib, ns, ratios, reference};
use super::results::{AotCompile, Download, HashTiming, Install, Run, Spread};
use super::sizes::FASTFORTH_FEATURES;
use super::{classic_workloads, workloads};
use std::fmt::Write;

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
    whole_process_section(&mut out, run);
    sizes_section(&mut out, run);
    install_section(&mut out, run);
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
    hash_table(out, &latency.hashes);
}

/// SHA-256, which names the content-addressed copy, against BLAKE3 on the example and the
/// engine plugin.
fn hash_table(out: &mut String, hashes: &[HashTiming]) {
    if hashes.is_empty() {
        return;
    }
    out.push_str(
        "The copy's name is a SHA-256 of the plugin; a faster hash would save at most the \
         difference (medians):\n\n| plugin bytes | SHA-256 | BLAKE3 | BLAKE3 / SHA-256 |\n\
         |---:|---:|---:|---:|\n",
    );
    for hash in hashes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} |",
            hash.bytes,
            ns(hash.sha256_p50_ns as f64),
            ns(hash.blake3_p50_ns as f64),
            hash.blake3_p50_ns as f64 / hash.sha256_p50_ns.max(1) as f64
        );
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
         Median (min–max) of {} repetition(s). Plugin: a release build of the plugin, then \
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
    if let Some(patch) = update.plugin_patch_bytes {
        let _ = writeln!(
            out,
            "\nThe plugin links the shared runtime. `fastforth update` downloads a delta patch \
             from the previous build instead of the file: {patch} bytes (target <= 10 KB)."
        );
    }
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
         over repeated runs, median over processes. `classic-*` are gforth's own benchmark \
         programs, read from where the gforth package installs them after \
         `benches/forth/classic/gforth-compat.fs`, against `benches/c/classic/*.c`.\n\n\
         | workload | FastForth static | plugin | hotswap | native | gforth-fast | cc -O2 | static / gforth-fast | static / C | native / C |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for workload in workloads().map(str::to_owned).chain(classic_workloads()) {
        let workload = workload.as_str();
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

fn whole_process_section(out: &mut String, run: &Run) {
    if run.whole_process.is_empty() {
        return;
    }
    out.push_str(
        "## gforth's classic programs, whole process\n\n\
         Wall time of one process from start to exit, as a user runs the program: the C \
         reference (`cc -O2`); the executable `fastforth compile --exe main` builds (std and, \
         on Linux with glibc, the C library linked in); `fastforth run --native` of the \
         program's plugin (loaded with the shared Rust runtime); the interpreter, `fastforth \
         run P.fs -e \"main bye\"`; and `gforth-fast P.fs -e \"main bye\"`. Each is run in \
         turn, medians kept; the `fastforth` of the install above.\n\n\
         | program | C | executable | run --native | interpreted | gforth-fast |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    let ms = |spread: &Option<Spread>| {
        spread
            .as_ref()
            .map_or_else(|| "—".to_owned(), |s| format!("{:.2} ms", s.median))
    };
    let mut skipped = Vec::new();
    for whole in &run.whole_process {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            whole.program,
            ms(&whole.c_ms),
            ms(&whole.executable_ms),
            ms(&whole.native_ms),
            ms(&whole.interpreted_ms),
            ms(&whole.gforth_ms)
        );
        let each = whole.skipped.iter();
        skipped.extend(each.map(|why| format!("{}: {why}", whole.program)));
    }
    skipped_note(out, &skipped);
    out.push('\n');
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

/// Targets of issue 12 for the install (bytes, stripped) and the start-up ratio.
const BINARY_TARGET: u64 = 1_000_000;
const INSTALL_TARGET: u64 = 2_500_000;
const STARTUP_TARGET: f64 = 1.1;

/// The most bytes (stripped) an installed file may take, by the start of its name:
/// the binary, the plugins of issue 12 and the stage plugins of issue 13.
const FILE_TARGETS: [(&str, u64); 7] = [
    ("fastforth", BINARY_TARGET),
    ("libfastforth_example_plugin", 16_000),
    ("libfastforth_forth_plugin", 150_000),
    ("libfastforth_optimizer_plugin", 64_000),
    ("libfastforth_parser_plugin", 64_000),
    ("libfastforth_compiler_plugin", 64_000),
    ("libfastforth_backend_plugin", 64_000),
];

fn file_target(file: &str) -> Option<u64> {
    FILE_TARGETS
        .iter()
        .find(|(start, _)| file.starts_with(start))
        .map(|&(_, bytes)| bytes)
}

fn install_section(out: &mut String, run: &Run) {
    let Some(install) = &run.install else {
        return;
    };
    let met = |ok: bool| if ok { "yes" } else { "**no**" };
    let _ = writeln!(
        out,
        "## Install (`cargo xtask dist`, {})\n\n\
         `dist/<triple>/` as installed: `fastforth` in the dist profile with std linked in, \
         the shared Rust runtime, the first-party plugins linked against it.\n\n\
         | file | bytes | target | met |\n|---|---:|---:|:---:|",
        install.triple
    );
    for file in &install.files {
        let target = match file_target(&file.file) {
            Some(bytes) => format!("≤ {bytes} | {}", met(file.bytes <= bytes)),
            None => "— | —".to_owned(),
        };
        let _ = writeln!(out, "| {} | {} | {target} |", file.file, file.bytes);
    }
    let total = install.total_bytes();
    let _ = writeln!(
        out,
        "| **install** | **{total}** | ≤ {INSTALL_TARGET} | {} |\n",
        met(total <= INSTALL_TARGET)
    );
    install_variants(out, install);
    install_breakdown(out, install);
}

/// The shared-runtime build of `fastforth` and the start-ups of both.
fn install_variants(out: &mut String, install: &Install) {
    if let Some(bytes) = install.shared_fastforth_bytes {
        let _ = writeln!(
            out,
            "`fastforth` on the shared runtime instead (`-C prefer-dynamic`, which rules out \
             LTO): {bytes} bytes.\n"
        );
    }
    let static_ms = install.startup_static_ms.median;
    let _ = write!(
        out,
        "Start-up of `fastforth run -e bye`, median of {} runs: {static_ms:.2} ms with std \
         linked in",
        install.startup_runs
    );
    match &install.startup_shared_ms {
        Some(shared) => {
            let ratio = shared.median / static_ms;
            let _ = writeln!(
                out,
                ", {:.2} ms on the shared runtime (ratio {ratio:.3}, target ≤ {STARTUP_TARGET}: {}).\n",
                shared.median,
                verdict(ratio, STARTUP_TARGET)
            );
        }
        None => out.push_str(" (the shared-runtime build is measured by a full run).\n\n"),
    }
    if let Some(native) = &install.startup_native_ms {
        let ratio = native.median / static_ms;
        let _ = writeln!(
            out,
            "Start-up of `fastforth run --native` of an empty `main` (a plugin `fastforth \
             compile` built), in the same alternation: {:.2} ms, {ratio:.2}x `run -e bye` \
             (target ≤ {NATIVE_STARTUP_TARGET}: {}).\n",
            native.median,
            verdict(ratio, NATIVE_STARTUP_TARGET)
        );
    }
}

/// Whether a start-up `ratio` is within its `target`, in words.
fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio <= target { "met" } else { "missed" }
}

/// Symbol bytes of `fastforth` per crate: the largest 20, the rest summed.
fn install_breakdown(out: &mut String, install: &Install) {
    if install.breakdown.is_empty() {
        return;
    }
    let total: u64 = install.breakdown.iter().map(|c| c.bytes).sum();
    out.push_str(
        "### What `fastforth` holds\n\nSum of symbol sizes per crate (`nm -S`, demangled) in \
         the dist build with its symbol table; generic code counts for the crate that defines \
         it. Symbols total {total} bytes; the rest of the stripped file is unwind tables, \
         read-only data and headers.\n\n| crate | bytes | share |\n|---|---:|---:|\n"
            .replace("{total}", &total.to_string())
            .as_str(),
    );
    let share = |bytes: u64| 100.0 * bytes as f64 / total as f64;
    for krate in install.breakdown.iter().take(20) {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} % |",
            krate.krate,
            krate.bytes,
            share(krate.bytes)
        );
    }
    let rest: u64 = install.breakdown.iter().skip(20).map(|c| c.bytes).sum();
    if rest > 0 {
        let _ = writeln!(
            out,
            "| (the other crates) | {rest} | {:.1} % |",
            share(rest)
        );
    }
    out.push('\n');
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
