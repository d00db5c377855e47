//! The hot-swap path under criterion: `swap/latency` (load + validate + swap of a new build
//! of the example plugin, content-addressed copy included) and `swap/under_load/{idle,
//! swapping}`: two threads calling `add_numbers` through their per-thread caches, with no
//! swaps vs a swap every millisecond. One iteration of `under_load` is one call on each of
//! the two threads. Percentiles of the swap latency come from the `swap-latency` probe.

use criterion::{Criterion, criterion_group, criterion_main};
use fastforth_benches::{SwapRig, example_plugin};
use fastforth_host::{Example, HotSwap};
use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const CALLING_THREADS: usize = 2;
const SWAP_PERIOD: Duration = Duration::from_millis(1);

fn latency(c: &mut Criterion, rig: &mut SwapRig) {
    c.bench_function("swap/latency", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let path = rig.prepare().expect("plugin copy written");
                total += rig.swap(path).expect("swap succeeds");
            }
            total
        })
    });
}

/// Wall time for each of the calling threads to make `calls` calls, while `rig` swaps every
/// millisecond when given.
fn calls_under_load(hotswap: &HotSwap<Example>, calls: u64, rig: Option<&mut SwapRig>) -> Duration {
    let start = Barrier::new(CALLING_THREADS + 1);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let callers: Vec<_> = (0..CALLING_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut cache = hotswap.cache();
                    start.wait();
                    for _ in 0..calls {
                        black_box(cache.get().add_numbers(black_box(5), black_box(3)).ok());
                    }
                })
            })
            .collect();
        let swapper = rig.map(|rig| scope.spawn(|| swap_until(rig, &done)));
        start.wait();
        let began = Instant::now();
        for caller in callers {
            caller.join().expect("calling thread finished");
        }
        let elapsed = began.elapsed();
        done.store(true, Ordering::Relaxed);
        if let Some(swapper) = swapper {
            swapper.join().expect("swapping thread finished");
        }
        elapsed
    })
}

fn swap_until(rig: &mut SwapRig, done: &AtomicBool) {
    let mut next = Instant::now();
    while !done.load(Ordering::Relaxed) {
        let path = rig.prepare().expect("plugin copy written");
        rig.swap(path).expect("swap succeeds");
        next += SWAP_PERIOD;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

fn under_load(c: &mut Criterion, rig: &mut SwapRig) {
    let hotswap = rig.hotswap.clone();
    let mut group = c.benchmark_group("swap/under_load");
    group.bench_function("idle", |b| {
        b.iter_custom(|iters| calls_under_load(&hotswap, iters, None))
    });
    group.bench_function("swapping", |b| {
        b.iter_custom(|iters| calls_under_load(&hotswap, iters, Some(&mut *rig)))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let artifact = example_plugin().expect("example plugin builds");
    let mut rig = SwapRig::new(&artifact).expect("example plugin loads");
    latency(c, &mut rig);
    under_load(c, &mut rig);
}

criterion_group!(swap, benches);
criterion_main!(swap);
