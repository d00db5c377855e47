//! Updates in other processes: a process that dies between the swap and the confirmation is
//! rolled back at the next start, and two processes updating the same directories at once
//! leave them consistent. The child processes are this test binary running `child_update`.

mod common;

use common::*;
use fastforth_host::{Example, HotSwap, Loader};
use fastforth_update::{
    Confirm, HotSlot, NoProgress, Outcome, Recovery, Slots, State, UpdaterConfig,
};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

const CHILD_ENV: &str = "FASTFORTH_UPDATE_TEST_CHILD";

/// Runs `child_update` in a new process of this test binary: `mode` is `update` or
/// `crash-before-confirm`.
fn spawn_child(world: &World, mode: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_update",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .env("CHILD_CHANNEL", world.channel_url())
        .env("CHILD_PLUGIN_DIR", &world.plugin_dir)
        .env("CHILD_STATE_DIR", &world.state_dir)
        .env("CHILD_CACHE_DIR", world.dir.path().join("child-cache"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The line the child printed after `outcome: `.
fn child_outcome(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.split_once("outcome: ").map(|(_, outcome)| outcome))
        .unwrap_or_else(|| {
            panic!(
                "child printed no outcome:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
        .to_owned()
}

/// What a host does at start: recover, then load what the state says is installed.
fn start_host(config: UpdaterConfig, cache_dir: &Path) -> (Recovery, Arc<HotSlot<Example>>) {
    let updater = fastforth_update::Updater::new(config);
    let recovery = updater.recover().unwrap();
    let loader = Arc::new(Loader::new(cache_dir));
    let state = updater.state().unwrap();
    let slot = match state.plugins.get("example") {
        Some(example) => {
            let hot = HotSwap::load(loader.clone(), &updater.installed_path(&example.installed));
            Arc::new(HotSlot::new(loader, Arc::new(hot.unwrap())))
        }
        None => Arc::new(HotSlot::empty(loader)),
    };
    (recovery, slot)
}

#[test]
#[ignore = "run as a child process by the other tests of this file"]
fn child_update() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap();
    let mut config = UpdaterConfig::new(
        fastforth_update::TrustedKeys::new([release_key().verifying_key()]),
        var("CHILD_PLUGIN_DIR").as_ref(),
        var("CHILD_STATE_DIR").as_ref(),
    );
    config.channel = Some(var("CHILD_CHANNEL"));
    config.confirm = match mode.as_str() {
        "crash-before-confirm" => Confirm::Manually,
        _ => Confirm::Immediately,
    };
    let (_, slot) = start_host(config.clone(), var("CHILD_CACHE_DIR").as_ref());
    let mut slots = Slots::new();
    slots.insert("example", slot.clone());
    let outcome = fastforth_update::Updater::new(config).update(&slots, &NoProgress);
    let serving = slot
        .hot_swap()
        .map(|hot| hot.current().version().to_owned());
    println!("outcome: {outcome:?} serving {serving:?}");
    if mode == "crash-before-confirm" {
        std::process::abort();
    }
}

#[test]
fn a_crash_between_swap_and_confirmation_is_rolled_back_at_the_next_start() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);

    let output = spawn_child(&world, "crash-before-confirm")
        .wait_with_output()
        .unwrap();

    assert!(!output.status.success(), "the child was meant to die");
    assert!(
        child_outcome(&output).ends_with("confirmed: false }) serving Some(\"1.0.1\")"),
        "{}",
        child_outcome(&output)
    );
    assert!(world.state_dir.join("pending.json").exists());
    let crashed = State::load(&world.state_dir).unwrap();
    assert_eq!(crashed.plugins["example"].installed.version, "1.0.1");

    let (recovery, slot) = start_host(world.config(), &world.dir.path().join("next-cache"));

    let Recovery::RolledBack {
        manifest_version,
        changes,
    } = recovery
    else {
        panic!("expected a rollback, found {recovery:?}");
    };
    assert_eq!(manifest_version, 2);
    assert_eq!(changes[0].to, "1.0.0");
    assert_eq!(
        slot.hot_swap().unwrap().current().version(),
        "1.0.0",
        "the next start serves the previous version"
    );
    let state = State::load(&world.state_dir).unwrap();
    assert_eq!(state.plugins["example"].installed.version, "1.0.0");
    assert_eq!(
        state.manifest_version, 1,
        "the abandoned release does not count as seen"
    );
    assert!(!world.state_dir.join("pending.json").exists());
    assert_eq!(world.plugin_dir.read_dir().unwrap().count(), 1);
    let mut slots = Slots::new();
    slots.insert("example", slot.clone());
    let again = world.updater().update(&slots, &NoProgress).unwrap();
    assert!(
        matches!(
            again,
            Outcome::Updated {
                to_manifest: 2,
                confirmed: true,
                ..
            }
        ),
        "the release is retried: {again:?}"
    );
    assert_eq!(slot.hot_swap().unwrap().current().version(), "1.0.1");
    assert_eq!(State::load(&world.state_dir).unwrap().abandoned, None);
}

#[test]
fn two_processes_updating_at_once_leave_one_consistent_install() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);

    let first = spawn_child(&world, "update");
    let second = spawn_child(&world, "update");
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];

    let mut outcomes: Vec<String> = outputs
        .iter()
        .map(|output| {
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            child_outcome(output)
        })
        .collect();
    outcomes.sort();
    assert!(
        outcomes[0].starts_with("Ok(UpToDate { manifest_version: 2 })")
            && outcomes[1].starts_with("Ok(Updated { from_manifest: 1, to_manifest: 2"),
        "{outcomes:#?}"
    );
    let state = State::load(&world.state_dir).unwrap();
    assert_eq!(state.manifest_version, 2);
    assert_eq!(state.plugins["example"].installed.version, "1.0.1");
    assert_eq!(
        state.plugins["example"].previous.as_ref().unwrap().version,
        "1.0.0"
    );
    let mut files: Vec<String> = world
        .plugin_dir
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected = vec![
        state.plugins["example"].installed.file.clone(),
        state.plugins["example"]
            .previous
            .as_ref()
            .unwrap()
            .file
            .clone(),
    ];
    expected.sort();
    assert_eq!(files, expected, "no temporary or stray files");
    let (_, slot) = start_host(world.config(), &world.dir.path().join("after-cache"));
    assert_eq!(slot.hot_swap().unwrap().current().version(), "1.0.1");
}
