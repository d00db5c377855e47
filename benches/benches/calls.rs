//! Call-path costs, each path measured in the same run on the same code:
//! `call/add_numbers/{static,static_noinline,dlopen,hotswap,hotswap_cached}` and
//! `fib/{N}/{static,static_noinline,dlopen,hotswap,hotswap_cached}`. Library loading and symbol lookup happen
//! before the timed loops; arguments go through `black_box`. The host's calls return a
//! `Result`; the loops take its value (`expect`), as a caller does, so that the large error
//! type is not written out on every call only because the bench keeps the whole `Result`.
//!
//! `hotswap_cached` is the host's `PluginCache`: a process-wide swap count compared with the
//! one the cache saw. `call/add_numbers/{arc_swap_cache,epoch_check,thread_local_check}`
//! measure alternatives to that check, with the same plugin call behind them: an
//! `arc_swap::Cache` of the serving slot (the host's cache before the swap count), a
//! per-handle epoch counter reached through a reference, and a generation the thread keeps
//! in a thread-local.

use arc_swap::{ArcSwap, Cache};
use criterion::{Criterion, criterion_group, criterion_main};
use fastforth_benches::{add_numbers_noinline, example_plugin, fib_sizes, fibonacci_noinline};
use fastforth_host::{Example, HotSwap, Loader, Plugin};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

type AddFn = extern "C" fn(i32, i32) -> i32;

/// What a host call that fails in the bench says.
const ANSWERS: &str = "the plugin answers";
type FibFn = extern "C" fn(i32) -> i64;

/// The plugin opened three ways: raw `dlopen` (its plain C exports), and the host's
/// hot-swap handle (validated, shadow-copied, called through the descriptor's table).
struct Paths {
    library: libloading::Library,
    hotswap: HotSwap<Example>,
    _cache: tempfile::TempDir,
}

impl Paths {
    fn open() -> Paths {
        let artifact = example_plugin().expect("example plugin builds");
        // SAFETY: the example plugin's initialisers only set up Rust's runtime; the file is
        // the workspace's own release build, which the hot-swap path below also validates.
        let library = unsafe { libloading::Library::new(&artifact) }.expect("plugin opens");
        let cache = tempfile::tempdir().expect("temporary cache directory");
        let loader = Arc::new(Loader::new(cache.path()));
        let hotswap = HotSwap::load(loader, &artifact).expect("plugin validates");
        Paths {
            library,
            hotswap,
            _cache: cache,
        }
    }

    fn symbol<T: Copy>(&self, name: &[u8]) -> T {
        // SAFETY: `add_numbers` and `fibonacci` are the plugin's plain C exports with exactly
        // the signatures asked for (`AddFn`, `FibFn`); the copied pointer is only called
        // while `self.library` stays open (both live until the end of `main`'s benches).
        unsafe { *self.library.get::<T>(name).expect("symbol exported") }
    }
}

fn call_add_numbers(c: &mut Criterion, paths: &Paths) {
    let add: AddFn = paths.symbol(b"add_numbers");
    let mut group = c.benchmark_group("call/add_numbers");
    group.bench_function("static", |b| {
        b.iter(|| fastforth_example_plugin::add_numbers(black_box(5), black_box(3)))
    });
    group.bench_function("static_noinline", |b| {
        b.iter(|| add_numbers_noinline(black_box(5), black_box(3)))
    });
    group.bench_function("dlopen", |b| b.iter(|| add(black_box(5), black_box(3))));
    group.bench_function("hotswap", |b| {
        b.iter(|| {
            paths
                .hotswap
                .current()
                .add_numbers(black_box(5), black_box(3))
                .expect(ANSWERS)
        })
    });
    group.bench_function("hotswap_cached", |b| {
        let mut cache = paths.hotswap.cache();
        b.iter(|| {
            cache
                .get()
                .add_numbers(black_box(5), black_box(3))
                .expect(ANSWERS)
        })
    });
    group.finish();
}

/// The serving build and the number of swaps so far, as an epoch-checked handle would keep
/// them (no swap happens in the bench: the check is what is measured).
struct Epoch {
    swaps: AtomicU64,
    serving: Arc<Plugin<Example>>,
}

/// A thread's view of an [`Epoch`]: the epoch it saw and the build it holds.
struct EpochCache<'a> {
    epoch: &'a Epoch,
    seen: u64,
    held: Arc<Plugin<Example>>,
}

impl EpochCache<'_> {
    #[inline]
    fn get(&mut self) -> &Plugin<Example> {
        let now = self.epoch.swaps.load(Ordering::Acquire);
        if now != self.seen {
            self.seen = now;
            self.held = self.epoch.serving.clone();
        }
        &self.held
    }
}

thread_local! {
    /// The swap count this thread saw last.
    static SEEN_SWAPS: Cell<u64> = const { Cell::new(0) };
}

fn cache_alternatives(c: &mut Criterion, paths: &Paths) {
    let epoch = Epoch {
        swaps: AtomicU64::new(0),
        serving: paths.hotswap.current().clone(),
    };
    let mut group = c.benchmark_group("call/add_numbers");
    group.bench_function("arc_swap_cache", |b| {
        let slot = Arc::new(ArcSwap::new(epoch.serving.clone()));
        let mut cache = Cache::new(slot);
        b.iter(|| {
            cache
                .load()
                .add_numbers(black_box(5), black_box(3))
                .expect(ANSWERS)
        })
    });
    group.bench_function("epoch_check", |b| {
        let mut cache = EpochCache {
            epoch: &epoch,
            seen: 0,
            held: epoch.serving.clone(),
        };
        b.iter(|| {
            cache
                .get()
                .add_numbers(black_box(5), black_box(3))
                .expect(ANSWERS)
        })
    });
    group.bench_function("thread_local_check", |b| {
        let mut held = epoch.serving.clone();
        b.iter(|| {
            let now = epoch.swaps.load(Ordering::Acquire);
            if SEEN_SWAPS.get() != now {
                SEEN_SWAPS.set(now);
                held = epoch.serving.clone();
            }
            held.add_numbers(black_box(5), black_box(3)).expect(ANSWERS)
        })
    });
    group.finish();
}

fn fib(c: &mut Criterion, paths: &Paths) {
    let fibonacci: FibFn = paths.symbol(b"fibonacci");
    for &n in fib_sizes() {
        let mut group = c.benchmark_group(format!("fib/{n}"));
        if n >= 25 {
            group.sample_size(20);
        }
        group.bench_function("static", |b| {
            b.iter(|| fastforth_example_plugin::fibonacci(black_box(n)))
        });
        group.bench_function("static_noinline", |b| {
            b.iter(|| fibonacci_noinline(black_box(n)))
        });
        group.bench_function("dlopen", |b| b.iter(|| fibonacci(black_box(n))));
        group.bench_function("hotswap", |b| {
            b.iter(|| {
                paths
                    .hotswap
                    .current()
                    .fibonacci(black_box(n))
                    .expect(ANSWERS)
            })
        });
        group.bench_function("hotswap_cached", |b| {
            let mut cache = paths.hotswap.cache();
            b.iter(|| cache.get().fibonacci(black_box(n)).expect(ANSWERS))
        });
        group.finish();
    }
}

fn benches(c: &mut Criterion) {
    let paths = Paths::open();
    call_add_numbers(c, &paths);
    cache_alternatives(c, &paths);
    fib(c, &paths);
}

criterion_group!(calls, benches);
criterion_main!(calls);
