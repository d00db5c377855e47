//! The update path against a real HTTP server on 127.0.0.1: the happy path under load, then
//! each attack and fault, each asserting the error a user sees and that the installed
//! plugin, the plugin directory and the stored state are unchanged.

mod common;

use common::server::Behaviour;
use common::*;
use fastforth_update::{
    Change, Download, HOST_TARGET, Outcome, Release, ReleaseArtifact, State, UpdateError,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

#[test]
fn happy_path_swaps_1_0_0_to_1_0_1_while_a_thread_keeps_calling() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    let hot = world.hot();
    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let caller = {
        let (hot, stop, calls, failures) =
            (hot.clone(), stop.clone(), calls.clone(), failures.clone());
        std::thread::spawn(move || {
            let mut cache = hot.cache();
            while !stop.load(Ordering::Relaxed) {
                if cache.get().fibonacci(10).ok() != Some(89) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                calls.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while calls.load(Ordering::Relaxed) < 1000 {
        std::thread::yield_now();
    }

    let outcome = world.update().unwrap();

    let during = calls.load(Ordering::Relaxed);
    while calls.load(Ordering::Relaxed) < during + 1000 {
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    caller.join().unwrap();
    assert_eq!(
        outcome,
        Outcome::Updated {
            from_manifest: 1,
            to_manifest: 2,
            changes: vec![Change {
                plugin: "example".to_owned(),
                from: Some("1.0.0".to_owned()),
                to: "1.0.1".to_owned(),
                repaired: false,
            }],
            confirmed: true,
        }
    );
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    assert_eq!(hot.current().version(), "1.0.1");
    let state = State::load(&world.state_dir).unwrap();
    assert_eq!(state.manifest_version, 2);
    let example = &state.plugins["example"];
    assert_eq!(example.installed.version, "1.0.1");
    assert_eq!(example.previous.as_ref().unwrap().version, "1.0.0");
    assert!(world.plugin_dir.join(&example.installed.file).is_file());
    assert!(
        world
            .plugin_dir
            .join(&example.previous.as_ref().unwrap().file)
            .is_file()
    );
    assert!(!world.state_dir.join("pending.json").exists());
}

#[test]
fn the_same_manifest_again_is_up_to_date_not_an_error() {
    let world = World::installed_v1();
    let before = world.snapshot();
    assert_eq!(
        world.update().unwrap(),
        Outcome::UpToDate {
            manifest_version: 1
        }
    );
    world.assert_unchanged(&before);
}

#[test]
fn check_says_what_would_change_and_downloads_nothing() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    world
        .server
        .misbehave(&world.artifact_url(), Behaviour::DieAfter(0));
    let before = world.snapshot();
    let outcome = world.updater().check(&["example".to_owned()]).unwrap();
    assert_eq!(
        outcome,
        Outcome::Available {
            from_manifest: 1,
            to_manifest: 2,
            changes: vec![Change {
                plugin: "example".to_owned(),
                from: Some("1.0.0".to_owned()),
                to: "1.0.1".to_owned(),
                repaired: false,
            }],
            downloads: vec![Download {
                plugin: "example".to_owned(),
                bytes: std::fs::metadata(example_v2()).unwrap().len(),
                patch: false,
            }],
        }
    );
    world.assert_unchanged(&before);
}

/// Publishes 1.0.1 with `adjust`, runs an update and returns its error after checking
/// that nothing changed.
fn refused(world: &World, attack: impl FnOnce(&World)) -> UpdateError {
    attack(world);
    let before = world.snapshot();
    let error = world.update().unwrap_err();
    world.assert_unchanged(&before);
    error
}

#[test]
fn a_manifest_signed_by_an_untrusted_key_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.release(&stranger_key(), |r| r, &[artifact("1.0.1", &example_v2())]);
    });
    assert!(matches!(error, UpdateError::UntrustedKey { .. }), "{error}");
    assert!(
        error.to_string().starts_with("manifest signed with key "),
        "{error}"
    );
}

#[test]
fn one_flipped_byte_in_the_manifest_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &example_v2())]);
        let manifest = w.channel.join("manifest.json");
        let offset = std::fs::read_to_string(&manifest)
            .unwrap()
            .find("1.0.1")
            .unwrap();
        flip_byte(&manifest, offset + 4); // 1.0.1 -> 1.0.0
    });
    assert!(matches!(error, UpdateError::BadSignature { .. }), "{error}");
    assert!(
        error
            .to_string()
            .ends_with("the manifest or its signature was altered"),
        "{error}"
    );
}

#[test]
fn one_flipped_byte_in_the_signature_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &example_v2())]);
        let signature = w.channel.join("manifest.json.sig");
        let length = std::fs::read(&signature).unwrap().len();
        change_hex_digit(&signature, length - 10); // a digit of the signature itself
    });
    assert!(matches!(error, UpdateError::BadSignature { .. }), "{error}");
}

#[test]
fn a_replayed_older_manifest_is_refused() {
    let world = World::installed_v1();
    let old_manifest = std::fs::read(world.channel.join("manifest.json")).unwrap();
    let old_signature = std::fs::read(world.channel.join("manifest.json.sig")).unwrap();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    world.update().unwrap();
    let error = refused(&world, |w| {
        std::fs::write(w.channel.join("manifest.json"), &old_manifest).unwrap();
        std::fs::write(w.channel.join("manifest.json.sig"), &old_signature).unwrap();
    });
    assert_eq!(
        error.to_string(),
        "manifest_version is 1, expected more than the installed 2: refusing to go back to an older release"
    );
    assert_eq!(world.serving().as_deref(), Some("1.0.1"));
}

/// The demonstration of cross-channel substitution, replayed: a signed, unexpired manifest of
/// channel `beta` (manifest 900, with its artifact) copied into `stable/` must not install,
/// or every later stable release would be refused as older.
#[test]
fn a_manifest_of_another_channel_served_at_this_one_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        let beta = w.other_channel("beta");
        Release::new(&beta, &release_key())
            .manifest_version(900)
            .publish(&[artifact("1.0.1", &example_v2())])
            .unwrap();
        for entry in std::fs::read_dir(&beta).unwrap().flatten() {
            std::fs::copy(entry.path(), w.channel.join(entry.file_name())).unwrap();
        }
    });
    assert_eq!(
        error.to_string(),
        format!(
            "manifest is for channel `beta`, expected `stable` (the channel {}): refusing a manifest from another channel",
            world.channel_url()
        )
    );
    world.release(
        &release_key(),
        |r| r.manifest_version(2),
        &[artifact("1.0.1", &example_v2())],
    );
    assert!(matches!(
        world.update().unwrap(),
        Outcome::Updated { to_manifest: 2, .. }
    ));
    assert_eq!(world.serving().as_deref(), Some("1.0.1"));
}

#[test]
fn an_expired_manifest_is_refused() {
    let world = World::installed_v1();
    let yesterday = SystemTime::now() - Duration::from_secs(86_400);
    let error = refused(&world, |w| {
        // Made two days ago and kept back: not through the publisher's state, which has a
        // later release into this channel.
        Release::new(&w.channel, &release_key())
            .manifest_version(2)
            .issued(yesterday - Duration::from_secs(86_400))
            .expires(yesterday)
            .publish(&[artifact("1.0.1", &example_v2())])
            .unwrap();
    });
    assert!(matches!(error, UpdateError::Expired { .. }), "{error}");
    assert!(
        error.to_string().starts_with("manifest expired at "),
        "{error}"
    );
}

#[test]
fn a_manifest_version_jump_past_the_bound_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.release(
            &release_key(),
            |r| r.manifest_version(1 + 1001),
            &[artifact("1.0.1", &example_v2())],
        );
    });
    assert_eq!(
        error.to_string(),
        "manifest_version jumps from 1 to 1002, expected a jump of at most 1000"
    );
}

#[test]
fn an_unsupported_abi_version_is_refused() {
    let world = World::installed_v1();
    let abi = fastforth_abi::ABI_VERSION;
    let error = refused(&world, |w| {
        w.release(
            &release_key(),
            |r| r.abi_version(abi + 1),
            &[artifact("1.0.1", &example_v2())],
        );
    });
    assert_eq!(
        error.to_string(),
        format!(
            "manifest is for plugin ABI version {}, expected {abi}",
            abi + 1
        )
    );
}

#[test]
fn a_manifest_for_another_target_only_is_refused() {
    let world = World::installed_v1();
    let other = if HOST_TARGET == "aarch64-unknown-linux-gnu" {
        "x86_64-unknown-linux-gnu"
    } else {
        "aarch64-unknown-linux-gnu"
    };
    let error = refused(&world, |w| {
        let mut foreign = artifact("1.0.1", &example_v2());
        foreign.triple = other.to_owned();
        w.publish(&[foreign]);
    });
    assert_eq!(
        error.to_string(),
        format!("plugin `example` has no build for {HOST_TARGET}, found builds for [{other}]")
    );
}

#[test]
fn an_artifact_with_the_wrong_hash_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &example_v2())]);
        flip_byte(&w.channel.join(w.artifact_url()), 1000);
    });
    assert!(matches!(error, UpdateError::HashMismatch { .. }), "{error}");
    assert!(error.to_string().contains(": sha256 is "), "{error}");
}

#[test]
fn an_artifact_larger_than_declared_is_cut_at_its_size() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &example_v2())]);
        let mut bigger = std::fs::read(w.channel.join(w.artifact_url())).unwrap();
        bigger.extend_from_slice(b"one more thing");
        w.server
            .misbehave(&w.artifact_url(), Behaviour::Bytes(bigger));
    });
    let size = std::fs::metadata(example_v2()).unwrap().len();
    assert!(
        matches!(error, UpdateError::TooLarge { limit, .. } if limit == size),
        "{error}"
    );
}

#[test]
fn an_endless_artifact_stream_stops_at_the_declared_size() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &example_v2())]);
        w.server.misbehave(&w.artifact_url(), Behaviour::Endless);
    });
    let size = std::fs::metadata(example_v2()).unwrap().len();
    assert!(
        error.to_string().ends_with(&format!(
            "more than {size} bytes, expected at most {size}: download stopped"
        )),
        "{error}"
    );
    // The server may have more in flight (socket buffers), but nothing near endless.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        world.server.endless_sent() < size + (16 << 20),
        "server sent {} bytes",
        world.server.endless_sent()
    );
}

#[test]
fn an_endless_manifest_stream_stops_at_the_manifest_cap() {
    let world = World::installed_v1();
    let mut config = world.config();
    config.max_manifest_bytes = 64 * 1024;
    world.server.misbehave("manifest.json", Behaviour::Endless);
    let before = world.snapshot();
    let error = world.update_with(config).unwrap_err();
    world.assert_unchanged(&before);
    assert!(
        error.to_string().ends_with(
            "manifest.json: more than 65536 bytes, expected at most 65536: download stopped"
        ),
        "{error}"
    );
}

#[test]
fn a_declared_size_past_the_artifact_cap_is_refused_before_downloading() {
    let world = World::installed_v1();
    let mut config = world.config();
    config.max_artifact_bytes = 1024;
    world.publish(&[artifact("1.0.1", &example_v2())]);
    world
        .server
        .misbehave(&world.artifact_url(), Behaviour::Endless);
    let before = world.snapshot();
    let error = world.update_with(config).unwrap_err();
    world.assert_unchanged(&before);
    let size = std::fs::metadata(example_v2()).unwrap().len();
    assert_eq!(
        error.to_string(),
        format!(
            "the manifest declares a build of {size} bytes for plugin `example`, expected at most 1024"
        )
    );
    assert_eq!(world.server.endless_sent(), 0);
}

#[test]
fn the_server_dying_mid_download_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &example_v2())]);
        w.server
            .misbehave(&w.artifact_url(), Behaviour::DieAfter(5_000));
    });
    assert!(
        matches!(
            error,
            UpdateError::Truncated { found: 5_000, .. } | UpdateError::Fetch { .. }
        ),
        "{error}"
    );
}

#[test]
fn a_signed_artifact_that_fails_to_load_leaves_the_old_version_serving() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &fixture("unresolved-import"))]);
    });
    assert!(
        error
            .to_string()
            .starts_with("plugin `example` failed its checks: "),
        "{error}"
    );
    assert!(
        error.to_string().contains("the dynamic loader refused it"),
        "{error}"
    );
    // The cause is part of the message, not also its source, which a report of the whole
    // chain would print a second time.
    assert!(std::error::Error::source(&error).is_none(), "{error:?}");
}

#[test]
fn a_signed_artifact_whose_self_test_fails_leaves_the_old_version_serving() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &fixture("self-test-fails"))]);
    });
    assert!(error.to_string().contains("self-test failed"), "{error}");
}

#[test]
fn a_signed_artifact_that_is_not_what_the_manifest_says_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &example_v1())]);
    });
    assert_eq!(
        error.to_string(),
        "plugin `example`: the manifest promises `example` 1.0.1, the file is `example` 1.0.0"
    );
}

#[test]
fn a_signed_artifact_that_is_not_a_library_for_this_host_is_refused_before_loading() {
    let world = World::installed_v1();
    let text = world.dir.path().join("libfastforth_example_plugin.so");
    std::fs::write(&text, "#!/bin/sh\necho not a library\n").unwrap();
    let error = refused(&world, |w| {
        w.publish(&[artifact("1.0.1", &text)]);
    });
    assert!(
        error
            .to_string()
            .ends_with("not a shared library: expected ELF, PE or Mach-O, found a text file"),
        "{error}"
    );
}

#[test]
fn a_manifest_naming_no_plugin_this_host_runs_is_refused() {
    let world = World::installed_v1();
    let error = refused(&world, |w| {
        w.publish(&[ReleaseArtifact {
            plugin: "forth".to_owned(),
            ..artifact("1.0.1", &example_v2())
        }]);
    });
    assert_eq!(
        error.to_string(),
        "manifest names no plugin this host manages: expected one of [example], found [forth]"
    );
}

#[test]
fn rollback_restores_the_previous_version_and_a_newer_release_installs_again() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    world.update().unwrap();

    let changes = world.updater().rollback(&world.slots()).unwrap();

    assert_eq!(
        changes,
        [Change {
            plugin: "example".to_owned(),
            from: Some("1.0.1".to_owned()),
            to: "1.0.0".to_owned(),
            repaired: false,
        }]
    );
    assert_eq!(world.serving().as_deref(), Some("1.0.0"));
    let state = State::load(&world.state_dir).unwrap();
    assert_eq!(state.plugins["example"].installed.version, "1.0.0");
    assert_eq!(state.manifest_version, 2);
    assert_eq!(world.plugin_dir.read_dir().unwrap().count(), 1);
    assert!(matches!(world.update().unwrap(), Outcome::UpToDate { .. }));
    let error = world.updater().rollback(&world.slots()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "plugin `example` has no previous version to roll back to"
    );
    world.publish(&[artifact("1.0.1", &example_v2())]);
    assert!(matches!(
        world.update().unwrap(),
        Outcome::Updated { to_manifest: 3, .. }
    ));
    assert_eq!(world.serving().as_deref(), Some("1.0.1"));
}

#[test]
fn an_unconfirmed_update_blocks_the_next_until_confirmed() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
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
    assert!(world.state_dir.join("pending.json").exists());
    world.publish(&[artifact("1.0.1", &example_v2())]);
    let error = world.update().unwrap_err();
    assert!(matches!(error, UpdateError::Pending { .. }), "{error}");
    world.updater().confirm().unwrap();
    assert!(!world.state_dir.join("pending.json").exists());
    assert!(matches!(
        world.update().unwrap(),
        Outcome::Updated { to_manifest: 3, .. }
    ));
}

#[test]
fn the_progress_of_a_download_is_reported() {
    struct Recorder(std::sync::Mutex<Vec<String>>);
    impl fastforth_update::Progress for Recorder {
        fn started(&self, plugin: &str, total: u64) {
            self.0
                .lock()
                .unwrap()
                .push(format!("start {plugin} {total}"));
        }
        fn advanced(&self, done: u64) {
            self.0.lock().unwrap().push(format!("{done}"));
        }
        fn finished(&self) {
            self.0.lock().unwrap().push("end".to_owned());
        }
    }
    let world = World::new();
    world.publish(&[artifact("1.0.0", &example_v1())]);
    let recorder = Recorder(Default::default());
    world.updater().update(&world.slots(), &recorder).unwrap();
    let size = std::fs::metadata(example_v1()).unwrap().len();
    let events = recorder.0.into_inner().unwrap();
    assert_eq!(events.first().unwrap(), &format!("start example {size}"));
    assert_eq!(events[events.len() - 2], size.to_string());
    assert_eq!(events.last().unwrap(), "end");
}
