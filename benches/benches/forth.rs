//! The Forth workloads (`benches/forth/{sieve,bubble,matrix,fib}.fs`, each defining `main`)
//! with the engine crate linked in: `forth/<w>/static`. Compiling the workload happens before
//! timing; one iteration is one run of `main`, its output discarded.

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use fastforth_benches::{FORTH_WORKLOADS, forth_source};
use fastforth_engine::{Console, Flow, Forth, Limits};

/// A console that reads nothing and throws output away.
struct Discard;

impl Console for Discard {
    fn write(&mut self, _bytes: &[u8]) {}
}

/// A fresh engine with `workload` compiled into it.
fn static_engine(workload: &str) -> Forth {
    let source = forth_source(workload).expect("workload source");
    let mut forth = Forth::new(Limits::default());
    match forth.evaluate(&source, workload, &mut Discard) {
        Ok(Flow::Continue) => forth,
        other => panic!("{workload}.fs does not load: {other:?}"),
    }
}

fn benches(c: &mut Criterion) {
    for workload in FORTH_WORKLOADS {
        let mut group = c.benchmark_group(format!("forth/{workload}"));
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
        let mut forth = static_engine(workload);
        group.bench_function("static", |b| {
            b.iter(|| {
                forth
                    .evaluate("main", workload, &mut Discard)
                    .expect("main runs")
            })
        });
        group.finish();
    }
}

criterion_group!(forth, benches);
criterion_main!(forth);
