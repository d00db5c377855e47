//! Retirement: a swapped-out version stays mapped while a call is inside it, and is shut
//! down and closed exactly once after that call returns.

mod common;

use common::*;
use fastforth_host::{Example, HotSwap};
use std::time::Duration;

#[test]
fn version_with_a_call_in_flight_is_retired_only_after_the_call_returns() {
    let (_dir, loader) = fresh_loader();
    // Built before the call starts, so the swaps below happen while it is in flight.
    let (v1, v2) = (example_v1(), example_v2());
    let slot = HotSwap::<Example>::load(loader.clone(), &fixture("blocking")).unwrap();
    let blocking = slot.current().info().shadow.clone();

    std::thread::scope(|scope| {
        let call = scope.spawn(|| slot.current().add_numbers(-1, 1500));
        std::thread::sleep(Duration::from_millis(300));
        slot.swap(&v1).unwrap();
        // Push the blocking version out of the last-known-good slot too.
        slot.swap(&v2).unwrap();
        assert_eq!(slot.current().version(), "1.0.1");
        assert!(
            loader.retirements().is_empty(),
            "retired while a call was in flight"
        );
        if let Some(mapped) = mapped_count(&blocking) {
            assert!(mapped > 0, "unmapped while a call was in flight");
        }
        assert_eq!(call.join().unwrap().unwrap(), -1 + 1500);
    });

    let retired = loader.retirements();
    assert_eq!(retired.len(), 1, "{retired:?}");
    assert_eq!(
        (retired[0].name.as_str(), retired[0].version.as_str()),
        ("fixture", "0.0.1")
    );
    assert_eq!(retired[0].shadow, blocking);
    if let Some(mapped) = mapped_count(&blocking) {
        assert_eq!(mapped, 0, "the retired example plugin is still mapped");
    }
}

#[test]
fn the_retirement_log_keeps_the_recent_ones_and_counts_all() {
    let (dir, loader) = fresh_loader();
    let slot = HotSwap::<Example>::load(loader.clone(), &example_v1()).unwrap();
    let bytes = std::fs::read(example_v1()).unwrap();
    for build in 0..70u64 {
        // Distinct bytes (ELF ignores a trailer): every swap loads a new image and retires
        // the version two swaps back.
        let path = dir
            .path()
            .join(format!("{build}/libfastforth_example_plugin.so"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, [bytes.as_slice(), &build.to_le_bytes()].concat()).unwrap();
        slot.swap(&path).unwrap();
    }
    assert_eq!(loader.retired_count(), 69);
    let recent = loader.retirements();
    assert_eq!(recent.len(), 64, "only the most recent are remembered");
    assert!(recent.iter().all(|retired| retired.version == "1.0.0"));
}

/// A retired version's `shutdown` runs after the swap released the handle's lock: while a
/// slow shutdown runs, the handle answers at once (issue 19 S7).
#[test]
fn a_retired_version_shuts_down_outside_the_swap_lock() {
    let (_dir, loader) = fresh_loader();
    let (v1, v2) = (example_v1(), example_v2());
    // A log left by an earlier process with the same id would mislead the test.
    drop(std::fs::remove_file(shutdown_log_path()));
    let slot = HotSwap::<Example>::load(loader, &fixture("slow-shutdown")).unwrap();
    slot.swap(&v1).unwrap();
    std::thread::scope(|scope| {
        // Pushes the slow version out of the last-known-good slot: its shutdown runs here.
        let swap = scope.spawn(|| slot.swap(&v2).unwrap());
        while !shutdown_log().contains("start") {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(slot.last_known_good().unwrap().version(), "1.0.0");
        assert!(
            !shutdown_log().contains("end"),
            "the handle's lock was held until the shutdown ended"
        );
        swap.join().unwrap();
    });
    assert_eq!(shutdown_log(), "start\nend\n");
}
