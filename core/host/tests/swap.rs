//! Hot-swapping: versions switch atomically, roll back, and a rebuilt file at the same path
//! really loads the new code.

mod common;

use common::*;
use fastforth_host::{Example, HotSwap, PluginError, Registry, SwapReport};

#[test]
fn swap_to_new_version_then_roll_back() {
    let (_dir, loader) = fresh_loader();
    let slot = HotSwap::<Example>::load(loader, &example_v1()).unwrap();
    assert_eq!(slot.current().version(), "1.0.0");

    let report = slot.swap(&example_v2()).unwrap();
    assert_eq!(
        report,
        SwapReport {
            from_version: "1.0.0".into(),
            to_version: "1.0.1".into()
        }
    );
    assert_eq!(slot.current().version(), "1.0.1");
    assert_eq!(slot.current().add_numbers(5, 3).unwrap(), 8);
    assert_eq!(slot.last_known_good().unwrap().version(), "1.0.0");

    let report = slot.rollback().unwrap();
    assert_eq!(
        (report.from_version.as_str(), report.to_version.as_str()),
        ("1.0.1", "1.0.0")
    );
    assert_eq!(slot.current().version(), "1.0.0");
    assert_eq!(slot.current().fibonacci(20).unwrap(), 10946);

    let error = slot.rollback().unwrap_err();
    assert!(matches!(error, PluginError::NoRollbackTarget { .. }));
    assert_eq!(
        error.to_string(),
        "plugin `example` has no previous version to roll back to"
    );
    assert_eq!(slot.current().version(), "1.0.0");
}

#[test]
fn rebuilt_file_at_the_same_path_loads_the_new_code() {
    let (dir, loader) = fresh_loader();
    let path = dir.path().join("libfastforth_example_plugin.so");
    replace_file(&example_v1(), &path);
    let slot = HotSwap::<Example>::load(loader, &path).unwrap();
    assert_eq!(slot.current().version(), "1.0.0");

    replace_file(&example_v2(), &path);
    slot.swap(&path).unwrap();
    assert_eq!(slot.current().version(), "1.0.1");
    assert_ne!(
        slot.current().info().shadow,
        slot.last_known_good().unwrap().info().shadow,
        "each build gets its own shadow file"
    );
}

#[test]
fn cached_view_follows_swaps() {
    let (_dir, loader) = fresh_loader();
    let slot = HotSwap::<Example>::load(loader, &example_v1()).unwrap();
    let mut cache = slot.cache();
    assert_eq!(cache.get().version(), "1.0.0");
    slot.swap(&example_v2()).unwrap();
    assert_eq!(cache.get().version(), "1.0.1");
}

#[test]
fn cached_view_follows_a_rollback_and_keeps_its_version_through_other_handles_swaps() {
    let (_dir, loader) = fresh_loader();
    let slot = HotSwap::<Example>::load(loader.clone(), &example_v1()).unwrap();
    let other = HotSwap::<Example>::load(loader, &example_v1()).unwrap();
    let mut cache = slot.cache();
    other.swap(&example_v2()).unwrap();
    assert_eq!(cache.get().version(), "1.0.0", "another handle's swap");
    slot.swap(&example_v2()).unwrap();
    assert_eq!(cache.get().version(), "1.0.1");
    slot.rollback().unwrap();
    assert_eq!(cache.get().version(), "1.0.0");
    assert_eq!(cache.get().add_numbers(5, 3).unwrap(), 8);
}

#[test]
fn a_version_a_cache_holds_is_retired_only_when_the_cache_moves_on() {
    let (dir, loader) = fresh_loader();
    let trailer = dir.path().join("libfastforth_example_plugin.so");
    let bytes = std::fs::read(example_v1()).unwrap();
    std::fs::write(&trailer, [bytes.as_slice(), b"trailer!"].concat()).unwrap();
    let slot = HotSwap::<Example>::load(loader.clone(), &example_v1()).unwrap();
    let mut cache = slot.cache();
    let first = cache.get().info().shadow.clone();

    slot.swap(&example_v2()).unwrap();
    // Out of the last-known-good slot too: only the cache holds the first version now.
    slot.swap(&trailer).unwrap();
    assert_eq!(loader.retired_count(), 0, "retired while a cache held it");
    if let Some(mapped) = mapped_count(&first) {
        assert!(mapped > 0, "unmapped while a cache held it");
    }

    assert_eq!(cache.get().add_numbers(2, 2).unwrap(), 4);
    let retired = loader.retirements();
    assert_eq!(retired.len(), 1, "{retired:?}");
    assert_eq!(retired[0].shadow, first);
}

#[test]
fn registry_swaps_each_plugin_independently() {
    let (_dir, loader) = fresh_loader();
    let registry = Registry::new(loader);
    registry.load::<Example>("left", &example_v1()).unwrap();
    registry.load::<Example>("right", &example_v1()).unwrap();
    registry
        .get::<Example>("right")
        .unwrap()
        .swap(&example_v2())
        .unwrap();
    assert_eq!(
        registry.get::<Example>("left").unwrap().current().version(),
        "1.0.0"
    );
    assert_eq!(
        registry
            .get::<Example>("right")
            .unwrap()
            .current()
            .version(),
        "1.0.1"
    );
    assert_eq!(
        registry.names(),
        vec![
            ("left".to_owned(), "example"),
            ("right".to_owned(), "example")
        ]
    );
}

/// Replacing a registered plugin retires the old one after the registry's lock is released:
/// while its slow shutdown runs, the registry answers at once (issue 19 S7).
#[test]
fn a_replaced_registry_entry_shuts_down_outside_the_registry_lock() {
    // A log left by an earlier process with the same id would mislead the test.
    drop(std::fs::remove_file(shutdown_log_path()));
    let (_dir, loader) = fresh_loader();
    let registry = Registry::new(loader);
    registry
        .load::<Example>("math", &fixture("slow-shutdown"))
        .unwrap();
    let v1 = example_v1();
    std::thread::scope(|scope| {
        let replace = scope.spawn(|| registry.load::<Example>("math", &v1).unwrap());
        while !shutdown_log().contains("start") {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(registry.names(), vec![("math".to_owned(), "example")]);
        assert!(
            !shutdown_log().contains("end"),
            "the registry's lock was held until the shutdown ended"
        );
        replace.join().unwrap();
    });
    assert_eq!(shutdown_log(), "start\nend\n");
}
