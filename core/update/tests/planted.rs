//! Planted state files: `state.json` and `pending.json` are read as untrusted input. A
//! planted pair must not make a recovery or a check delete files outside the plugin
//! directory, nor make a rollback load a library that no signed manifest vouched for.

mod common;

use common::*;
use fastforth_update::{Installed, Pending, State, UpdateError};
use std::path::{Path, PathBuf};

/// 1.0.0 installed, then 1.0.1: the state has an installed and a previous version.
fn installed_v1_then_v2() -> World {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    world.update().unwrap();
    world
}

fn edit_state(world: &World, edit: impl FnOnce(&mut State)) {
    let mut state = State::load(&world.state_dir).unwrap();
    edit(&mut state);
    state.save(&world.state_dir).unwrap();
}

fn previous(state: &mut State) -> &mut Installed {
    let example = state.plugins.get_mut("example").unwrap();
    example.previous.as_mut().unwrap()
}

/// A file outside the plugin directory that nothing may delete.
fn victim(world: &World) -> PathBuf {
    let path = world.dir.path().join("victim.txt");
    std::fs::write(&path, "precious").unwrap();
    path
}

/// The demonstration replayed: a `pending.json` whose `before` knows no plugin, next to a
/// `state.json` whose installed file is `file`. Recovering "rolls back" to `before` and, before
/// the fix, removed `file` as no longer referenced.
fn plant_pair(world: &World, file: &str) {
    let before = State::load(&world.state_dir).unwrap();
    edit_state(world, |state| {
        state.plugins.get_mut("example").unwrap().installed.file = file.to_owned();
    });
    Pending {
        manifest_version: 9,
        before: State {
            plugins: Default::default(),
            ..before
        },
    }
    .save(&world.state_dir)
    .unwrap();
}

#[test]
fn a_planted_pair_cannot_make_recovery_delete_a_file_outside_the_plugin_directory() {
    for relative in [false, true] {
        let world = World::installed_v1();
        let victim = victim(&world);
        let file = match relative {
            false => victim.display().to_string(),
            true => format!("../{}", victim.file_name().unwrap().to_str().unwrap()),
        };
        plant_pair(&world, &file);

        let error = world.updater().recover().unwrap_err();

        assert_eq!(
            error.to_string(),
            format!(
                "{}: plugin `example`: `installed`.file is {file:?}, expected a plain file name in the plugin directory",
                world.state_dir.join("state.json").display()
            )
        );
        let error = world.updater().check(&["example".to_owned()]).unwrap_err();
        assert!(matches!(error, UpdateError::State { .. }), "{error}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }
}

#[test]
fn a_planted_pending_marker_is_checked_like_the_state() {
    let world = World::installed_v1();
    let mut before = State::load(&world.state_dir).unwrap();
    before.plugins.get_mut("example").unwrap().installed.sha256 = "ZZ".to_owned();
    Pending {
        manifest_version: 9,
        before,
    }
    .save(&world.state_dir)
    .unwrap();
    let error = world.updater().recover().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: plugin `example`: `installed`.sha256 is \"ZZ\", expected 64 lower-case hex digits",
            world.state_dir.join("pending.json").display()
        )
    );
}

/// A library outside the plugin directory that no manifest vouched for (a real, loadable
/// build, so that only the checks can stop it).
fn unsigned_library(world: &World) -> PathBuf {
    let dir = world.dir.path().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("libfastforth_example_plugin.so");
    std::fs::copy(example_v1(), &path).unwrap();
    path
}

fn shadow_copies(cache: &Path) -> Vec<String> {
    std::fs::read_dir(cache)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_planted_previous_version_outside_the_plugin_directory_is_not_rolled_back_to() {
    let world = installed_v1_then_v2();
    let unsigned = unsigned_library(&world);
    edit_state(&world, |state| {
        previous(state).file = unsigned.display().to_string();
    });
    let before = world.snapshot();

    let error = world.updater().rollback(&world.slots()).unwrap_err();

    assert!(matches!(error, UpdateError::State { .. }), "{error}");
    assert!(
        error
            .to_string()
            .ends_with("expected a plain file name in the plugin directory"),
        "{error}"
    );
    world.assert_unchanged(&before);
    assert_eq!(world.serving().as_deref(), Some("1.0.1"));
}

#[test]
fn a_planted_library_under_a_plain_name_is_refused_by_its_hash_before_loading() {
    let world = installed_v1_then_v2();
    let mut planted = std::fs::read(example_v1()).unwrap();
    planted.extend_from_slice(b"planted");
    std::fs::write(world.plugin_dir.join("libplanted.so"), &planted).unwrap();
    edit_state(&world, |state| {
        previous(state).file = "libplanted.so".to_owned()
    });
    let recorded = State::load(&world.state_dir).unwrap().plugins["example"]
        .previous
        .clone()
        .unwrap()
        .sha256;
    let before = world.snapshot();

    let error = world.updater().rollback(&world.slots()).unwrap_err();

    assert_eq!(
        error.to_string(),
        format!(
            "{}: sha256 is {}, expected {recorded} as recorded when it was installed: refusing to load a changed plugin file",
            world.plugin_dir.join("libplanted.so").display(),
            fastforth_host::shadow::sha256_hex(&planted)
        )
    );
    world.assert_unchanged(&before);
    let cache = world.dir.path().join("cache");
    assert!(
        !shadow_copies(&cache)
            .iter()
            .any(|name| name.starts_with("libplanted")),
        "the planted library was loaded: {:?}",
        shadow_copies(&cache)
    );
}

/// Runs `load` on another thread; `None` if it has not returned within 20 seconds (it hangs).
fn within_20_seconds<T: Send + 'static>(load: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(load()));
    receiver
        .recv_timeout(std::time::Duration::from_secs(20))
        .ok()
}

/// A named pipe with no writer where `state.json` or `pending.json` should be: opening it to
/// read waits for a writer forever.
#[cfg(unix)]
#[test]
fn a_state_file_that_is_a_named_pipe_is_refused_not_waited_on() {
    for name in ["state.json", "pending.json"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let state_dir = dir.path().to_path_buf();
        let read = within_20_seconds(move || match name {
            "state.json" => State::load(&state_dir).map(drop),
            _ => Pending::load(&state_dir).map(drop),
        });
        let error = read.expect("reading the state hung").unwrap_err();
        assert!(matches!(error, UpdateError::State { .. }), "{error}");
        assert_eq!(
            error.to_string(),
            format!(
                "{}: is a named pipe (FIFO), expected a regular file",
                path.display()
            )
        );
    }
}

/// A state file far larger than any state: refused by its size, not read into memory.
#[test]
fn a_huge_state_file_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(64 << 20).unwrap();
    let error = State::load(dir.path()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: is 67108864 bytes, expected at most 1048576",
            path.display()
        )
    );
}

/// An installed file grown far past the largest plugin an update may install: refused by its
/// size before it is read, not read whole to be hashed.
#[test]
fn an_installed_file_grown_past_the_artifact_limit_is_refused_by_its_size() {
    let world = installed_v1_then_v2();
    let installed = State::load(&world.state_dir).unwrap().plugins["example"]
        .installed
        .clone();
    let mut config = world.config();
    config.max_artifact_bytes = 1 << 20;
    let updater = fastforth_update::Updater::new(config);
    let path = updater.installed_path(&installed);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();

    let error = updater.verified_path(&installed).unwrap_err();

    assert_eq!(
        error.to_string(),
        format!(
            "{}: size is 67108864 bytes, expected at most 1048576 as recorded when it was installed: refusing to load a changed plugin file",
            path.display()
        )
    );
}

/// A named pipe in the plugin directory under the name the next build is installed as:
/// replaced by the update, not read (reading it waits for a writer forever).
#[cfg(unix)]
#[test]
fn a_named_pipe_where_the_new_build_goes_is_replaced_not_waited_on() {
    let world = World::installed_v1();
    let manifest = world.publish(&[artifact("1.0.1", &example_v2())]);
    let build = &manifest.plugins["example"].targets[fastforth_update::HOST_TARGET];
    let name = fastforth_host::shadow::shadow_file_name(Path::new(&build.file), &build.sha256);
    let pipe = world.plugin_dir.join(name);
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .unwrap();
    assert!(made.success());

    let updater = world.updater();
    let slots = world.slots();
    let updated = within_20_seconds(move || {
        updater
            .update(&slots, &fastforth_update::NoProgress)
            .map(drop)
    });

    updated.expect("the update hung").unwrap();
    assert_eq!(world.serving().as_deref(), Some("1.0.1"));
    assert!(pipe.is_file());
}
