//! Recovery at start: an update the process died in is rolled back and then retried, up to
//! a bound, and the temporary files a dead process left are swept.

mod common;

use common::*;
use fastforth_update::{Abandoned, Outcome, Recovery, State};

/// Runs an update that is never confirmed, then the recovery of the next start.
fn update_then_die(world: &World) -> Recovery {
    let outcome = world.update_with(world.manual_config()).unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Updated {
                confirmed: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    world.updater().recover().unwrap()
}

#[test]
fn a_release_that_died_unconfirmed_is_retried_up_to_three_times() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    for times in 1..=3 {
        let recovery = update_then_die(&world);
        assert!(
            matches!(
                recovery,
                Recovery::RolledBack {
                    manifest_version: 2,
                    ..
                }
            ),
            "{recovery:?}"
        );
        let state = State::load(&world.state_dir).unwrap();
        assert_eq!(state.manifest_version, 1);
        assert_eq!(
            state.abandoned,
            Some(Abandoned {
                manifest_version: 2,
                times
            })
        );
    }
    let error = world.update().unwrap_err();
    assert_eq!(
        error.to_string(),
        "manifest_version 2 was rolled back 3 times because the process died before confirming it: waiting for a newer release"
    );
    world.publish(&[artifact("1.0.1", &example_v2())]);
    assert!(matches!(
        world.update().unwrap(),
        Outcome::Updated {
            to_manifest: 3,
            confirmed: true,
            ..
        }
    ));
    assert_eq!(State::load(&world.state_dir).unwrap().abandoned, None);
}

#[test]
fn recovery_sweeps_temporary_files_a_dead_process_left() {
    let world = World::installed_v1();
    for dir in [&world.plugin_dir, &world.state_dir] {
        std::fs::write(dir.join(".incoming-k3Xz9q"), b"half a write").unwrap();
    }
    assert_eq!(world.updater().recover().unwrap(), Recovery::Clean);
    for dir in [&world.plugin_dir, &world.state_dir] {
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|entry| entry.file_name())
            .filter(|name| name.to_string_lossy().starts_with(".incoming-"))
            .collect();
        assert!(leftovers.is_empty(), "{}: {leftovers:?}", dir.display());
    }
}
