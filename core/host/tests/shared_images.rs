//! One image per shadow file in the whole process: loaders on one cache directory share a
//! live plugin, and a load of a build whose last plugin is being retired waits until its
//! library is closed, so no plugin is ever served after its `shutdown` ran (issue 19 S2).

mod common;

use common::*;
use fastforth_host::{Example, HotSwap, Loader};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn two_loaders_on_one_cache_directory_share_a_live_image() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (first, second) = (Loader::new(&cache), Loader::new(&cache));
    let checked = fixture("shutdown-checked");
    let a = first.load::<Example>(&checked).unwrap();
    let b = second.load::<Example>(&checked).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "one image, one plugin");
    drop(a);
    assert_eq!(
        b.add_numbers(2, 3).unwrap(),
        5,
        "the image serves until its last plugin is retired"
    );
    drop(b);
    assert_eq!(first.retirements().len(), 1, "retired once, by its loader");
    assert!(second.retirements().is_empty());
    let again = second.load::<Example>(&checked).unwrap();
    assert_eq!(again.add_numbers(2, 3).unwrap(), 5, "a fresh image");
}

#[test]
fn a_load_during_the_shutdown_of_the_same_build_waits_for_a_fresh_image() {
    drop(std::fs::remove_file(shutdown_log_path()));
    let (_dir, loader) = fresh_loader();
    // Its shutdown marks it shut down, then takes a second before the library is closed.
    let slow = fixture_with(&["shutdown-checked", "slow-shutdown"]);
    let v1 = example_v1();
    let slot = HotSwap::<Example>::load(loader.clone(), &slow).unwrap();
    slot.swap(&v1).unwrap();
    std::thread::scope(|scope| {
        // Pushes the slow build out of the last-known-good slot: it retires on that thread.
        scope.spawn(|| slot.swap(&v1).unwrap());
        while !shutdown_log().contains("start") {
            std::thread::sleep(Duration::from_millis(5));
        }
        let reloaded = loader.load::<Example>(&slow).unwrap();
        assert!(shutdown_log().contains("end"), "loaded before the close");
        assert_eq!(reloaded.add_numbers(2, 3).unwrap(), 5);
    });
}
