//! `fastforth update` and `fastforth plugin list` as a user runs them. Manifests made here
//! are signed with a test key, which the binary does not trust (it trusts only the pinned
//! release keys): so installs go through the library with the test key, and the binary is
//! shown refusing the test channel, listing, and rolling back.
#![cfg(feature = "update")]

use fastforth_host::{Example, Loader};
use fastforth_plugin_build::PluginBuild;
use fastforth_update::{
    HOST_TARGET, HotSlot, NoProgress, Pending, Release, ReleaseArtifact, SigningKey, Slots, State,
    TrustedKeys, Updater, UpdaterConfig,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

fn test_key() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

fn example(features: &[&str]) -> PathBuf {
    PluginBuild::new("fastforth-example-plugin", features)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn publish(channel: &Path, version: &str, path: &Path) {
    let artifact = ReleaseArtifact {
        plugin: "example".to_owned(),
        version: version.to_owned(),
        triple: HOST_TARGET.to_owned(),
        path: path.into(),
    };
    Release::new(channel, &test_key())
        .state_file(&channel.with_extension("publisher.json"))
        .publish(&[artifact])
        .unwrap();
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Runs `fastforth` with `args`, its caches kept inside `home`.
fn fastforth(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Installs the channel's manifest into `dir` through the library, trusting the test key.
fn install_with_test_key(channel: &Path, dir: &Path, slot: &Arc<HotSlot<Example>>) {
    let mut config = UpdaterConfig::new(TrustedKeys::new([test_key().verifying_key()]), dir, dir);
    config.channel = Some(file_url(channel));
    let mut slots = Slots::new();
    slots.insert("example", slot.clone());
    Updater::new(config).update(&slots, &NoProgress).unwrap();
}

#[test]
fn plugin_list_says_when_nothing_is_installed() {
    let home = tempfile::tempdir().unwrap();
    let output = fastforth(home.path(), &["plugin", "list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = format!(
        "plugin directory: {}\nengine:           built-in engine\nnothing installed\n",
        home.path().join("data/fastforth").display()
    );
    assert_eq!(stdout(&output), expected);
}

#[test]
fn update_refuses_a_channel_signed_by_a_key_that_is_not_pinned() {
    let home = tempfile::tempdir().unwrap();
    let channel = home.path().join("channel");
    publish(&channel, "1.0.0", &example(&[]));
    let dir = home.path().join("install");

    let output = fastforth(
        home.path(),
        &[
            "update",
            "--channel",
            &file_url(&channel),
            "--plugin-dir",
            dir.to_str().unwrap(),
        ],
    );

    assert!(!output.status.success());
    let pinned = TrustedKeys::pinned().unwrap().ids().join(", ");
    let test_id = fastforth_update::keys::key_id(&test_key().verifying_key());
    assert_eq!(
        stderr(&output),
        format!(
            "Error: manifest signed with key {test_id}, expected one of the trusted keys {pinned}\n"
        )
    );
    assert!(!dir.join("state.json").exists());
}

#[test]
fn update_without_a_channel_says_how_to_give_one() {
    let home = tempfile::tempdir().unwrap();
    let output = fastforth(home.path(), &["update", "--check"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).starts_with(
            "Error: no update channel: expected `--channel URL` or a channel stored in "
        ),
        "{}",
        stderr(&output)
    );
    // `--check` creates nothing, not even the installation directory.
    assert!(!home.path().join("data").exists());
}

/// `update --check` reads an installation and writes nothing into it: no lock file, no
/// state, no new file.
#[cfg(unix)]
#[test]
fn update_check_changes_nothing_in_the_installation() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("install");
    std::fs::create_dir(&dir).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let channel = format!("file://{}", home.path().join("no-channel").display());
    let output = fastforth(
        home.path(),
        &[
            "update",
            "--check",
            "--plugin-dir",
            dir_arg,
            "--channel",
            &channel,
        ],
    );
    assert!(!output.status.success(), "{output:?}");
    assert!(
        stderr(&output).contains("manifest.json"),
        "{}",
        stderr(&output)
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // A symbolic link in its place is refused as `update` refuses it, dangling or not.
    for target in [dir.clone(), home.path().join("nowhere")] {
        let link = home.path().join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let link_arg = link.to_str().unwrap();
        let output = fastforth(
            home.path(),
            &[
                "update",
                "--check",
                "--plugin-dir",
                link_arg,
                "--channel",
                &channel,
            ],
        );
        assert!(!output.status.success(), "{output:?}");
        assert!(
            stderr(&output).contains("a symbolic link (to "),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn plugin_list_and_rollback_work_on_what_is_installed() {
    let home = tempfile::tempdir().unwrap();
    let channel = home.path().join("channel");
    let dir = home.path().join("install");
    let loader = Arc::new(Loader::new(home.path().join("test-cache")));
    let slot = Arc::new(HotSlot::<Example>::empty(loader));
    publish(&channel, "1.0.0", &example(&[]));
    install_with_test_key(&channel, &dir, &slot);
    publish(&channel, "1.0.1", &example(&["v2"]));
    install_with_test_key(&channel, &dir, &slot);
    let dir_arg = dir.to_str().unwrap();

    let listed = fastforth(home.path(), &["plugin", "list", "--plugin-dir", dir_arg]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed = stdout(&listed);
    assert!(
        listed.contains(&format!(
            "channel:          {} (manifest 2)",
            file_url(&channel)
        )),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with("example    1.0.1     2         1.0.0 (m1)")),
        "{listed}"
    );

    let rolled = fastforth(
        home.path(),
        &["update", "--rollback", "--plugin-dir", dir_arg],
    );
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    assert_eq!(stdout(&rolled), "rolled back:\n  example 1.0.1 -> 1.0.0\n");

    let listed = stdout(&fastforth(
        home.path(),
        &["plugin", "list", "--plugin-dir", dir_arg],
    ));
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with("example    1.0.0     1         -")),
        "{listed}"
    );
    let again = fastforth(
        home.path(),
        &["update", "--rollback", "--plugin-dir", dir_arg],
    );
    assert_eq!(
        stderr(&again),
        "Error: plugin `example` has no previous version to roll back to\n"
    );
}

#[test]
fn https_needs_a_build_with_tls() {
    let home = tempfile::tempdir().unwrap();
    let output = fastforth(
        home.path(),
        &[
            "update",
            "--check",
            "--channel",
            "https://127.0.0.1:9/stable",
        ],
    );
    if cfg!(feature = "tls") {
        assert!(!stderr(&output).contains("needs a build with the `tls` feature"));
    } else {
        assert_eq!(
            stderr(&output),
            "Error: channel https://127.0.0.1:9/stable: https:// needs a build with the `tls` feature; this one reads http:// and file://\n"
        );
    }
}

/// 1.0.0 then 1.0.1 installed into `home/install` from `home/channel` with the test key.
fn installed_twice(home: &Path) -> (PathBuf, PathBuf) {
    let channel = home.join("channel");
    let dir = home.join("install");
    let loader = Arc::new(Loader::new(home.join("test-cache")));
    let slot = Arc::new(HotSlot::<Example>::empty(loader));
    publish(&channel, "1.0.0", &example(&[]));
    install_with_test_key(&channel, &dir, &slot);
    publish(&channel, "1.0.1", &example(&["v2"]));
    install_with_test_key(&channel, &dir, &slot);
    (channel, dir)
}

/// The demonstration replayed: a planted `pending.json` + `state.json` pair made
/// `update --check` delete a file outside the plugin directory.
#[test]
fn a_planted_state_pair_cannot_make_update_check_delete_files_elsewhere() {
    let home = tempfile::tempdir().unwrap();
    let (channel, dir) = installed_twice(home.path());
    let victim = home.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let mut state = State::load(&dir).unwrap();
    let before = State {
        plugins: Default::default(),
        ..state.clone()
    };
    state.plugins.get_mut("example").unwrap().installed.file = victim.display().to_string();
    state.save(&dir).unwrap();
    Pending {
        manifest_version: 3,
        before,
    }
    .save(&dir)
    .unwrap();

    let output = fastforth(
        home.path(),
        &[
            "update",
            "--check",
            "--channel",
            &file_url(&channel),
            "--plugin-dir",
            dir.to_str().unwrap(),
        ],
    );

    assert!(!output.status.success());
    assert_eq!(
        stderr(&output),
        format!(
            "Error: {}: plugin `example`: `installed`.file is {:?}, expected a plain file name in the plugin directory\n",
            dir.join("state.json").display(),
            victim.display().to_string()
        )
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// The demonstration replayed: a planted `state.json` made `update --rollback` load and
/// self-test a library no signed manifest vouched for. Now the rollback sets the file
/// aside, says why, and loads nothing.
#[test]
fn a_planted_state_cannot_make_update_rollback_load_an_unsigned_library() {
    let home = tempfile::tempdir().unwrap();
    let (_, dir) = installed_twice(home.path());
    let unsigned = home.path().join("libfastforth_example_plugin.so");
    std::fs::copy(example(&[]), &unsigned).unwrap();
    let mut state = State::load(&dir).unwrap();
    let example = state.plugins.get_mut("example").unwrap();
    example.previous.as_mut().unwrap().file = unsigned.display().to_string();
    state.save(&dir).unwrap();
    let planted = std::fs::read(dir.join("state.json")).unwrap();

    let output = fastforth(
        home.path(),
        &[
            "update",
            "--rollback",
            "--plugin-dir",
            dir.to_str().unwrap(),
        ],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let set_aside = dir.join("state.json.unreadable");
    assert_eq!(
        stdout(&output),
        format!(
            "unreadable, moved to {}: {}: plugin `example`: `previous`.file is {:?}, expected a \
             plain file name in the plugin directory\nnothing is installed now: `fastforth run` \
             uses the built-in engine, and `fastforth update` installs the channel's release \
             again\n",
            set_aside.display(),
            dir.join("state.json").display(),
            unsigned.display().to_string()
        )
    );
    assert_eq!(std::fs::read(set_aside).unwrap(), planted);
    assert!(!dir.join("state.json").exists());
}

/// Damaged state files: `update --rollback` sets an unreadable `pending.json` aside and
/// rolls back by `state.json`; an unreadable `state.json` is set aside too, after which
/// nothing is installed and `run` uses the built-in engine without a warning.
#[test]
fn update_rollback_sets_damaged_state_files_aside() {
    let home = tempfile::tempdir().unwrap();
    let (_, dir) = installed_twice(home.path());
    let dir_arg = dir.to_str().unwrap();
    std::fs::write(dir.join("pending.json"), "{\"manifest_version\": 3, \"bef").unwrap();
    let rolled = fastforth(
        home.path(),
        &["update", "--rollback", "--plugin-dir", dir_arg],
    );
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    assert_eq!(
        stdout(&rolled),
        format!(
            "unreadable, moved to {}: {}: unreadable: EOF while parsing a string at line 1 \
             column 28\nrolled back:\n  example 1.0.1 -> 1.0.0\n",
            dir.join("pending.json.unreadable").display(),
            dir.join("pending.json").display(),
        )
    );
    assert_eq!(
        State::load(&dir).unwrap().plugins["example"]
            .installed
            .version,
        "1.0.0"
    );

    std::fs::write(dir.join("state.json"), [0xff, 0x00, b'{']).unwrap();
    let rolled = fastforth(
        home.path(),
        &["update", "--rollback", "--plugin-dir", dir_arg],
    );
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    assert!(
        stdout(&rolled).ends_with("nothing is installed now: `fastforth run` uses the built-in engine, and `fastforth update` installs the channel's release again\n"),
        "{}",
        stdout(&rolled)
    );
    let run = fastforth(
        home.path(),
        &["--plugin-dir", dir_arg, "run", "-e", "1 2 + ."],
    );
    assert_eq!((stdout(&run).as_str(), stderr(&run).as_str()), ("3 ", ""));

    // A file that cannot even be opened (a symbolic link to itself) goes aside too, to the
    // next free name: the first is the file set aside above, the second a directory.
    #[cfg(unix)]
    {
        std::fs::create_dir(dir.join("state.json.unreadable.1")).unwrap();
        std::os::unix::fs::symlink("state.json", dir.join("state.json")).unwrap();
        let rolled = fastforth(
            home.path(),
            &["update", "--rollback", "--plugin-dir", dir_arg],
        );
        assert!(rolled.status.success(), "{}", stderr(&rolled));
        let moved_to = dir.join("state.json.unreadable.2");
        assert!(
            stdout(&rolled).starts_with(&format!("unreadable, moved to {}: ", moved_to.display())),
            "{}",
            stdout(&rolled)
        );
        assert!(std::fs::symlink_metadata(moved_to).unwrap().is_symlink());
    }
}

/// A named pipe planted as the lock file is refused, not waited on.
#[cfg(unix)]
#[test]
fn a_fifo_as_the_lock_file_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("install");
    std::fs::create_dir(&dir).unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.join("update.lock"))
        .status()
        .unwrap();
    assert!(made.success());
    let dir_arg = dir.to_str().unwrap();
    let rolled = fastforth(
        home.path(),
        &["update", "--rollback", "--plugin-dir", dir_arg],
    );
    assert!(!rolled.status.success());
    assert!(
        stderr(&rolled).contains("update.lock: is a named pipe (FIFO), expected a regular file"),
        "{}",
        stderr(&rolled)
    );
}

/// Runs `fastforth` with `args` and no per-user location at all.
fn fastforth_without_home(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .current_dir(cwd)
        .env_remove("HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

#[test]
fn without_home_or_xdg_nothing_falls_back_to_a_shared_directory() {
    let home = tempfile::tempdir().unwrap();
    let output = fastforth_without_home(home.path(), &["update", "--check"]);
    assert_eq!(
        stderr(&output),
        "Error: no per-user directory for installed plugins: set $XDG_DATA_HOME or $HOME, or give --plugin-dir DIR\n"
    );
    let (_, dir) = installed_twice(home.path());
    let output = fastforth_without_home(
        home.path(),
        &[
            "update",
            "--rollback",
            "--plugin-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        stderr(&output),
        "Error: no per-user directory for the plugin cache: set $XDG_CACHE_HOME or $HOME\n"
    );
    assert_eq!(
        State::load(&dir).unwrap().plugins["example"]
            .installed
            .version,
        "1.0.1"
    );
}

#[cfg(unix)]
#[test]
fn a_plugin_directory_others_can_write_to_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let shared = home.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let output = fastforth(
        home.path(),
        &["plugin", "list", "--plugin-dir", shared.to_str().unwrap()],
    );
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output),
        format!(
            "Error: the plugin directory {0}: {0}: mode 777 lets group or others write to it, expected at most 0755 (0700 when created here)\n",
            shared.display()
        )
    );
}

#[test]
fn the_default_plugin_directory_is_created_owner_only() {
    let home = tempfile::tempdir().unwrap();
    let output = fastforth(home.path(), &["plugin", "list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = home.path().join("data/fastforth");
        let mode = std::fs::metadata(dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "mode {mode:o}");
    }
}
