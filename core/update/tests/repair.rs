//! An installed file that went missing or was changed on disk is fetched again by the next
//! update, even when the channel has nothing newer; what is recorded (the version, the one
//! to go back to) stays as it was.

mod common;

use common::*;
use fastforth_update::{Change, Outcome, State};

/// Something done to an installed file.
type Damage = fn(&std::path::Path);

fn repaired() -> Vec<Change> {
    vec![Change {
        plugin: "example".to_owned(),
        from: Some("1.0.0".to_owned()),
        to: "1.0.0".to_owned(),
        repaired: true,
    }]
}

#[test]
fn a_missing_or_changed_installed_file_is_fetched_again() {
    let world = World::installed_v1();
    let recorded = State::load(&world.state_dir).unwrap();
    let file = world
        .plugin_dir
        .join(&recorded.plugins["example"].installed.file);
    let good = std::fs::read(&file).unwrap();
    let damages: [(&str, Damage); 2] = [
        ("deleted", |file| std::fs::remove_file(file).unwrap()),
        ("changed", |file| flip_byte(file, 1000)),
    ];
    for (damage, apply) in damages {
        apply(&file);
        let checked = world.updater().check(&["example".to_owned()]).unwrap();
        let Outcome::Available {
            from_manifest: 1,
            to_manifest: 1,
            changes,
            downloads,
        } = checked
        else {
            panic!("{damage}: {checked:?}");
        };
        assert_eq!(changes, repaired(), "{damage}");
        assert_eq!(downloads.len(), 1, "{damage}");
        assert!(
            !downloads[0].patch,
            "{damage}: no patch from a damaged base"
        );

        let outcome = world.update().unwrap();

        assert_eq!(
            outcome,
            Outcome::Updated {
                from_manifest: 1,
                to_manifest: 1,
                changes: repaired(),
                confirmed: true,
            },
            "{damage}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), good, "{damage}");
        let state = State::load(&world.state_dir).unwrap();
        assert_eq!(state.plugins, recorded.plugins, "{damage}");
        assert_eq!(state.manifest_version, 1, "{damage}");
        assert_eq!(world.serving().as_deref(), Some("1.0.0"), "{damage}");
        assert_eq!(
            world.update().unwrap(),
            Outcome::UpToDate {
                manifest_version: 1
            },
            "{damage}: repaired once"
        );
    }
}
