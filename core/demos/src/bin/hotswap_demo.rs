//! Hot-swaps the example plugin from 1.0.0 to 1.0.1 while a background thread keeps calling
//! it, then shows that a broken build is refused and 1.0.1 keeps serving.

use fastforth_host::{Example, HotSwap, Loader};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

fn main() -> anyhow::Result<()> {
    let (v1, v2) = fastforth_demos::build_example_versions()?;
    let scratch = tempfile::tempdir()?;
    let cache = scratch.path();
    let slot = HotSwap::<Example>::load(Arc::new(Loader::new(cache)), &v1)?;
    show(&slot)?;

    let started = std::time::Instant::now();
    let (calls, failures) = swap_under_calls(&slot, &v2)?;
    println!(
        "Swapped to 1.0.1 in {:.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    show(&slot)?;
    println!("Background calls during the swap: {calls}, failed: {failures}");

    let broken = cache.join("libfastforth_example_plugin-broken.so");
    let bytes = std::fs::read(&v2)?;
    std::fs::write(&broken, &bytes[..bytes.len() / 3])?;
    println!("Swapping in a broken build...");
    match slot.swap(&broken) {
        Ok(_) => anyhow::bail!("the broken build was accepted"),
        Err(error) => println!("Refused: {error}"),
    }
    show(&slot)
}

fn show(slot: &HotSwap<Example>) -> anyhow::Result<()> {
    let plugin = slot.current();
    println!("Version: {}", plugin.version());
    println!("5 + 3 = {}", plugin.add_numbers(5, 3)?);
    Ok(())
}

/// Swaps to `next` while another thread calls `add_numbers` in a loop; returns the calls it
/// made while the swap ran and how many of them failed or answered wrongly.
fn swap_under_calls(slot: &HotSwap<Example>, next: &std::path::Path) -> anyhow::Result<(u64, u64)> {
    let (started, stop) = (AtomicBool::new(false), AtomicBool::new(false));
    let (calls, failures) = (AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut cache = slot.cache();
            while !stop.load(Ordering::Acquire) {
                let plugin = cache.get();
                if plugin.version() == "1.0.0" {
                    if plugin.add_numbers(40, 2).ok() != Some(42) {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                } else {
                    stop.store(true, Ordering::Release);
                }
                started.store(true, Ordering::Release);
            }
        });
        while !started.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        let result = slot.swap(next);
        stop.store(true, Ordering::Release);
        result
    })?;
    Ok((calls.into_inner(), failures.into_inner()))
}
