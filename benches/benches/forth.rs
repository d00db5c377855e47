//! The Forth workloads (`benches/forth/{sieve,bubble,matrix,fib}.fs`, each defining `main`)
//! four ways: `forth/<w>/static` (the engine crate linked in), `forth/<w>/plugin` (the forth
//! plugin called through the host's ABI), `forth/<w>/hotswap` (a `ForthSession`, whose
//! engine plugin can be swapped between evaluations) and `forth/<w>/native` (the workload
//! compiled ahead of time by `fastforth-aot` to a "forth-native" plugin, each run starting
//! from the compiled state). Loading the plugin and compiling the workload happen before
//! timing; one iteration is one run of `main`, its output discarded.
//!
//! `forth/classic-<p>/{static,native}` run gforth's classic programs (`siev`, `bubble`,
//! `matrix`, `fib`; `benches/forth/classic/programs.txt`) the same two ways, read from where
//! the gforth package installs them after `benches/forth/classic/gforth-compat.fs`; they are
//! skipped, with a message, where gforth is not installed.
//!
//! `forth/<w>/staged` and `forth/classic-<p>/staged` run the workload on the linked-in
//! engine whose definitions were optimized by the optimizer stage plugin (the same code as
//! `static`, so the stage boundary, per definition, costs nothing here); `forth/compile-10k/
//! {built-in,staged,parser-staged,compiler-staged}` compile a 10,000-line source on a fresh
//! engine without and with the plugin, whose every definition crosses the stage boundary,
//! with the parser stage plugin, which is asked about each line (again after a BASE
//! change), and with the compiler stage plugin, asked about each run of tokens up to
//! the next immediate word.
//!
//! `forth/linked-call/{interpreted,linked}` measure mixed mode: an interpreted loop calling
//! a word 1,000 times, the word interpreted vs compiled natively and linked into the
//! session (called in place on a large stack, as `fastforth run --link` does).
//! `forth/linked-fib/{interpreted,linked}` do the same with 10^6 calls of a recursive `fib`
//! of 0 to 7.

use criterion::{Criterion, SamplingMode, criterion_group};
use fastforth_benches::{
    classic_programs, classic_source, compile_source, compiler_plugin, forth_plugin, forth_source,
    forth_workloads, optimizer_plugin, parser_plugin,
};
use fastforth_engine::{Flow, Forth, Limits};
use fastforth_host::Loader;
use fastforth_session::stage::{DEFAULT_BUDGET, StageKind};
use fastforth_session::{
    CompilerPlugin, Evaluation, ForthInstance, ForthLimits, ForthNative, ForthSession,
    NativePlugin, NativeWords, OptimizerPlugin, ParserPlugin, StagePlugin, on_native_stack,
};
use std::sync::Arc;

/// A console that reads nothing and throws output away, for the engine and for the host.
struct Discard;

impl fastforth_engine::Console for Discard {
    fn write(&mut self, _bytes: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}

impl fastforth_session::ForthConsole for Discard {
    fn write(&mut self, _bytes: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        None
    }
    fn read_key(&mut self) -> Option<u8> {
        None
    }
}

/// The engine's default limits, as the plugin ABI passes them.
fn plugin_limits() -> ForthLimits {
    let limits = Limits::default();
    ForthLimits {
        data_stack_cells: limits.data_stack_cells as u64,
        return_stack_cells: limits.return_stack_cells as u64,
        data_space_bytes: limits.data_space_bytes as u64,
        max_steps: limits.max_steps.unwrap_or(0),
    }
}

/// A fresh linked-in engine with `workload` compiled into it.
fn static_engine(workload: &str, source: &str) -> Forth {
    engine_with(Forth::new(Limits::default()), workload, source)
}

/// The stage plugin at `path`, loaded with a plugin cache of its own (kept in `cache`).
fn load_stage<K: StageKind>(
    cache: &std::sync::OnceLock<(tempfile::TempDir, Arc<StagePlugin<K>>)>,
    path: impl FnOnce() -> anyhow::Result<std::path::PathBuf>,
) -> Arc<StagePlugin<K>> {
    let (_, stage) = cache.get_or_init(|| {
        let path = path().expect("stage plugin builds");
        let dir = tempfile::tempdir().expect("temporary cache directory");
        let loader = Arc::new(Loader::new(dir.path()));
        let stage = StagePlugin::load(loader, &path, DEFAULT_BUDGET);
        (dir, Arc::new(stage.expect("stage plugin validates")))
    });
    stage.clone()
}

/// The optimizer stage plugin, loaded once per process.
fn optimizer_stage() -> Arc<OptimizerPlugin> {
    static STAGE: std::sync::OnceLock<(tempfile::TempDir, Arc<OptimizerPlugin>)> =
        std::sync::OnceLock::new();
    load_stage(&STAGE, optimizer_plugin)
}

/// A fresh engine whose input the parser stage plugin splits (loaded once per process).
fn parser_staged_forth() -> Forth {
    static STAGE: std::sync::OnceLock<(tempfile::TempDir, Arc<ParserPlugin>)> =
        std::sync::OnceLock::new();
    let mut forth = Forth::new(Limits::default());
    forth.set_parser_stage(Some(load_stage(&STAGE, parser_plugin)));
    forth
}

/// A fresh engine whose compiling the compiler stage plugin does (loaded once per process).
fn compiler_staged_forth() -> Forth {
    static STAGE: std::sync::OnceLock<(tempfile::TempDir, Arc<CompilerPlugin>)> =
        std::sync::OnceLock::new();
    let mut forth = Forth::new(Limits::default());
    forth.set_compiler_stage(Some(load_stage(&STAGE, compiler_plugin)));
    forth
}

/// A fresh engine whose definitions the optimizer stage plugin optimizes.
fn staged_forth() -> Forth {
    let mut forth = Forth::new(Limits::default());
    forth.set_optimizer_stage(Some(optimizer_stage()));
    forth
}

/// `forth` with `workload` compiled into it.
fn engine_with(mut forth: Forth, workload: &str, source: &str) -> Forth {
    match forth.evaluate(source, workload, &mut Discard) {
        Ok(Flow::Continue) => forth,
        other => panic!("{workload}.fs does not load: {other:?}"),
    }
}

fn expect_continue(evaluation: Result<Evaluation, fastforth_host::PluginError>, what: &str) {
    match evaluation {
        Ok(Evaluation::Continue) => {}
        other => panic!("{what}: {other:?}"),
    }
}

/// The workload compiled to a native plugin (a cache hit after the first build).
fn native_plugin(workload: &str, source: &str) -> std::path::PathBuf {
    let options = fastforth_aot::CompileOptions {
        cache_dir: fastforth_plugin_build::workspace_root().join("target/native-cache"),
        cargo: std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()),
        release: true,
        output: fastforth_aot::Output::Plugin,
    };
    match fastforth_aot::compile(source, workload, &options) {
        Ok(compiled) => compiled.artifact,
        Err(error) => panic!("{workload}.fs does not compile natively: {error}"),
    }
}

fn benches(c: &mut Criterion) {
    let plugin_path = forth_plugin().expect("forth plugin builds");
    let cache = tempfile::tempdir().expect("temporary cache directory");
    let loader = Arc::new(Loader::new(cache.path()));
    let plugin = loader
        .load::<fastforth_session::Forth>(&plugin_path)
        .expect("forth plugin validates");
    for workload in forth_workloads() {
        let source = forth_source(workload).expect("workload source");
        let mut group = c.benchmark_group(format!("forth/{workload}"));
        group.sample_size(10).sampling_mode(SamplingMode::Flat);

        let mut forth = static_engine(workload, &source);
        group.bench_function("static", |b| {
            b.iter(|| {
                forth
                    .evaluate("main", workload, &mut Discard)
                    .expect("main runs")
            })
        });
        drop(forth);
        bench_staged(&mut group, workload, &source, "main");

        let mut instance = ForthInstance::create(plugin.clone(), plugin_limits(), &[])
            .expect("engine instance starts");
        expect_continue(instance.evaluate(&source, workload, &mut Discard), workload);
        group.bench_function("plugin", |b| {
            b.iter(|| {
                instance
                    .evaluate("main", workload, &mut Discard)
                    .expect("main runs")
            })
        });
        drop(instance);

        let session = ForthSession::start(loader.clone(), &plugin_path, plugin_limits())
            .expect("session starts");
        let loaded =
            session.with_instance(|engine| engine.evaluate(&source, workload, &mut Discard));
        expect_continue(loaded, workload);
        group.bench_function("hotswap", |b| {
            b.iter(|| {
                session.with_instance(|engine| engine.evaluate("main", workload, &mut Discard))
            })
        });
        drop(session);

        let native = loader
            .load::<ForthNative>(&native_plugin(workload, &source))
            .expect("native plugin validates");
        group.bench_function("native", |b| {
            b.iter(|| native.run_word("main", &mut Discard).expect("main runs"))
        });
        group.finish();
    }
}

/// `<group>/staged`: `word` of `source` compiled through the optimizer stage plugin.
fn bench_staged(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    source: &str,
    word: &str,
) {
    let mut forth = engine_with(staged_forth(), name, source);
    assert_eq!(forth.take_stage_faults(), Vec::<String>::new(), "{name}");
    group.bench_function("staged", |b| {
        b.iter(|| forth.evaluate(word, name, &mut Discard).expect("main runs"))
    });
}

/// `forth/compile-10k/{built-in,staged,parser-staged,compiler-staged}`: a 10,000-line source
/// compiled on a fresh engine.
fn compile(c: &mut Criterion) {
    let source = compile_source(10_000);
    let mut group = c.benchmark_group("forth/compile-10k");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    let fresh = Forth::new(Limits::default());
    let staged = staged_forth();
    let parser_staged = parser_staged_forth();
    let compiler_staged = compiler_staged_forth();
    let engines = [
        ("built-in", &fresh),
        ("staged", &staged),
        ("parser-staged", &parser_staged),
        ("compiler-staged", &compiler_staged),
    ];
    for (id, base) in engines {
        group.bench_function(id, |b| {
            b.iter_batched(
                || base.clone(),
                |forth| engine_with(forth, "compile-10k", &source),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Defines `run-classic`, which runs a classic program's `main`, then empties the data
/// stack: bubble.fs's `main` leaves a cell behind, which would overflow the stack after
/// enough iterations.
const RUN_CLASSIC: &str = ": run-classic main depth 0 ?do drop loop ;";

/// `forth/classic-<p>/{static,native}` for each of gforth's classic programs.
fn classic(c: &mut Criterion) {
    for program in classic_programs() {
        let source = match classic_source(program) {
            Ok(source) => source,
            Err(why) => {
                eprintln!("skipped forth/classic-{program}: {why:#}");
                continue;
            }
        };
        let name = format!("classic-{program}");
        let mut group = c.benchmark_group(format!("forth/{name}"));
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
        let with_runner = format!("{source}\n{RUN_CLASSIC}");
        let mut forth = static_engine(&name, &with_runner);
        group.bench_function("static", |b| {
            b.iter(|| {
                forth
                    .evaluate("run-classic", &name, &mut Discard)
                    .expect("main runs")
            })
        });
        drop(forth);
        bench_staged(&mut group, &name, &with_runner, "run-classic");
        let cache = tempfile::tempdir().expect("temporary cache directory");
        let native = Loader::new(cache.path())
            .load::<ForthNative>(&native_plugin(&name, &source))
            .expect("native plugin validates");
        group.bench_function("native", |b| {
            b.iter(|| native.run_word("main", &mut Discard).expect("main runs"))
        });
        group.finish();
    }
}

/// A console that throws output away and runs host words as the linked native words.
struct Linked<'a>(&'a NativeWords);

impl fastforth_engine::Console for Linked<'_> {
    fn write(&mut self, _bytes: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn call_host_word(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), fastforth_engine::HostWordError> {
        self.0
            .call_in_place(id, cells, depth, &mut Discard)
            .map_err(|error| fastforth_engine::HostWordError {
                code: error.code,
                message: error.message,
            })
    }
}

const TRIPLE: &str = ": triple ( n -- 3n ) 3 * ;";
const TRIPLE_CALLER: &str = ": calls ( -- ) 1000 0 do i triple drop loop ;";
const FIB: &str = ": fib ( n -- m ) dup 2 < if exit then dup 1- recurse swap 2 - recurse + ;";
const FIB_CALLER: &str = ": calls ( -- ) 1000000 0 do i 7 and fib drop loop ;";

/// `forth/<group>/{interpreted,linked}`: `caller`'s word `calls` with `called` interpreted,
/// then compiled natively and linked.
fn linked_calls(c: &mut Criterion, group: &str, called: &str, caller: &str) {
    let cache = tempfile::tempdir().expect("temporary cache directory");
    let mut natives = NativeWords::new(Arc::new(Loader::new(cache.path())));
    let mut forth = Forth::new(Limits::default());
    let mut define = |word: &str, id: u32| {
        forth
            .define_host_word(word, id)
            .map_err(|error| error.to_string())
    };
    natives
        .link(&native_plugin(group, called), &mut define)
        .expect("native plugin links");
    let mut group = c.benchmark_group(format!("forth/{group}"));
    if caller == FIB_CALLER {
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
    }
    let mut interpreted = static_engine("calls", &format!("{called} {caller}"));
    group.bench_function("interpreted", |b| {
        b.iter(|| interpreted.evaluate("calls", "calls", &mut Discard))
    });
    forth
        .evaluate(caller, "calls", &mut Linked(&natives))
        .expect("caller compiles");
    group.bench_function("linked", |b| {
        b.iter(|| forth.evaluate("calls", "calls", &mut Linked(&natives)))
    });
    group.finish();
}

fn linked(c: &mut Criterion) {
    linked_calls(c, "linked-call", TRIPLE, TRIPLE_CALLER);
    linked_calls(c, "linked-fib", FIB, FIB_CALLER);
}

criterion_group!(forth, benches, classic, compile, linked);
/// `criterion_main!`, on a stack on which linked native words run in place.
fn main() {
    on_native_stack(|| {
        forth();
        Criterion::default().configure_from_args().final_summary();
    });
}
