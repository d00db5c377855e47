//! The self-update loop as a user lives it, over loopback HTTP: a release key, release 1.0.0
//! of the engine plugin, `fastforth update`, `fastforth run` on it, release 1.1.0 (whose
//! `ENGINE-VERSION` prints 1.1.0), update, run, roll back, run; `#update` in a REPL session
//! keeping its state; refused releases leaving the installed engine serving; a broken
//! install falling back to the built-in engine; the backend stage installed the same way and
//! `compile` building with it.
//!
//! `fastforth` trusts only the release keys pinned when it is built, so these tests build
//! one that pins the test's release key (`FASTFORTH_UPDATE_KEYS_DIR`, as a distributor
//! pins their own), in a target directory of its own.
#![cfg(feature = "update")]

#[path = "../../update/tests/common/server.rs"]
mod server;

use fastforth_update::{HOST_TARGET, Release, ReleaseArtifact, SigningKey, State};
use server::{Behaviour, Server};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Where the test's release key pair and the build of `fastforth` that pins it are kept.
fn test_key_dir() -> PathBuf {
    fastforth_plugin_build::workspace_root().join("target/plugin-builds/fastforth-test-key")
}

/// The test's release key: made by keygen the first time, as `cargo xtask keygen` makes one
/// (secret owner-only, public next to it), then kept, so that the build of `fastforth`
/// pinning its public half is reused from one test run to the next.
fn release_key() -> SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let keys = test_key_dir().join("keys");
        let secret = keys.join("test-release.key");
        if let Ok(text) = std::fs::read_to_string(&secret) {
            return fastforth_update::keys::parse_secret_key("test key", &text).unwrap();
        }
        std::fs::create_dir_all(&keys).unwrap();
        for old in std::fs::read_dir(&keys).unwrap() {
            std::fs::remove_file(old.unwrap().path()).unwrap();
        }
        let key = fastforth_update::keys::generate().unwrap();
        let public = fastforth_update::keys::public_key_file(&key.verifying_key());
        std::fs::write(keys.join("test-release.pub"), public).unwrap();
        write_owner_only(&secret, &fastforth_update::keys::secret_key_file(&key));
        key
    })
    .clone()
}

fn write_owner_only(path: &Path, text: &str) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .unwrap();
}

/// `fastforth` built with the test's release key pinned (once per test process).
fn fastforth_binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        release_key();
        let target_dir = test_key_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let built = Command::new(cargo)
            .current_dir(fastforth_plugin_build::workspace_root())
            .args([
                "build",
                "--quiet",
                "--package",
                "fastforth",
                "--bin",
                "fastforth",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .env("FASTFORTH_UPDATE_KEYS_DIR", target_dir.join("keys"))
            .output()
            .unwrap();
        assert!(built.status.success(), "{}", text(&built.stderr));
        target_dir
            .join("debug")
            .join(format!("fastforth{}", std::env::consts::EXE_SUFFIX))
    })
}

fn engine_build(features: &[&str]) -> PathBuf {
    fastforth_plugin_build::built_once("fastforth-forth-plugin", features)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A served channel, a publisher, and a user's home with its plugin directory.
struct World {
    dir: tempfile::TempDir,
    channel: PathBuf,
    server: Server,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let channels = dir.path().join("channels");
        let channel = channels.join("stable");
        std::fs::create_dir_all(&channel).unwrap();
        World {
            server: Server::start(&channels),
            channel,
            dir,
        }
    }

    fn url(&self) -> String {
        format!("{}/stable", self.server.url())
    }

    fn plugin_dir(&self) -> PathBuf {
        self.dir.path().join("home/data/fastforth")
    }

    /// Publishes the engine plugin built with `features` as the channel's next release.
    fn release_engine(&self, version: &str, features: &[&str]) {
        self.release_engine_signed(&release_key(), version, features);
    }

    /// Publishes the engine plugin built with `features`, signed with `key`.
    fn release_engine_signed(&self, key: &SigningKey, version: &str, features: &[&str]) {
        self.release_signed(key, "forth", version, engine_build(features));
    }

    /// Publishes `file` as `plugin` at `version`, signed with `key`.
    fn release_signed(&self, key: &SigningKey, plugin: &str, version: &str, file: PathBuf) {
        let artifact = ReleaseArtifact {
            plugin: plugin.to_owned(),
            version: version.to_owned(),
            triple: HOST_TARGET.to_owned(),
            path: file,
        };
        Release::new(&self.channel, key)
            .state_file(&self.dir.path().join("publisher.json"))
            .publish(&[artifact])
            .unwrap();
    }

    /// The channel file name of the engine build in the current manifest.
    fn engine_artifact(&self) -> String {
        let manifest = std::fs::read(self.channel.join("manifest.json")).unwrap();
        let manifest = fastforth_update::Manifest::parse(&manifest).unwrap();
        manifest.plugins["forth"].targets[HOST_TARGET].url.clone()
    }

    /// The signed SHA-256 of the engine build in the current manifest.
    fn engine_sha256(&self) -> String {
        let manifest = std::fs::read(self.channel.join("manifest.json")).unwrap();
        let manifest = fastforth_update::Manifest::parse(&manifest).unwrap();
        manifest.plugins["forth"].targets[HOST_TARGET]
            .sha256
            .clone()
    }

    /// Runs `fastforth args` as the user, with `input` on standard input.
    fn fastforth(&self, args: &[&str], input: &str) -> Output {
        let home = self.dir.path().join("home");
        let mut child = Command::new(fastforth_binary())
            .args(args)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            // The workspace's native cache: the runtime crate `compile` builds is shared.
            .env(
                "FASTFORTH_NATIVE_CACHE",
                fastforth_plugin_build::workspace_root().join("target/native-cache"),
            )
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// `fastforth args`, which must succeed; its standard output.
    fn succeeds(&self, args: &[&str]) -> String {
        let output = self.fastforth(args, "");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stderr), "", "{args:?}");
        text(&output.stdout)
    }

    /// What `ENGINE-VERSION` prints under `fastforth run`.
    fn engine_version(&self) -> String {
        self.succeeds(&["run", "-e", "engine-version"])
    }

    fn installed_engine(&self) -> String {
        State::load(&self.plugin_dir()).unwrap().plugins["forth"]
            .installed
            .version
            .clone()
    }

    /// 1.0.0 released and installed with `fastforth update`; 1.1.0 released.
    fn v1_installed_v2_released() -> World {
        let world = World::new();
        world.release_engine("1.0.0", &[]);
        world.succeeds(&["update", "--channel", &world.url()]);
        world.release_engine("1.1.0", &["v2"]);
        world
    }
}

#[test]
fn update_makes_run_use_the_new_engine_and_rollback_the_old_one() {
    let world = World::new();
    let undefined = world.fastforth(&["run", "-e", "engine-version"], "");
    assert_eq!(undefined.status.code(), Some(1), "the built-in engine ran");
    assert!(text(&undefined.stderr).contains("-13"), "{undefined:?}");

    world.release_engine("1.0.0", &[]);
    let installed = world.succeeds(&["update", "--channel", &world.url()]);
    assert_eq!(installed, "updated: manifest 0 -> 1\n  forth 1.0.0 (new)\n");
    assert_eq!(world.engine_version(), "1.0.0");

    world.release_engine("1.1.0", &["v2"]);
    let checked = world.succeeds(&["update", "--check"]);
    let (listed, download) = checked
        .split_once("  would download forth: ")
        .unwrap_or_else(|| panic!("no download line: {checked}"));
    assert_eq!(
        listed,
        "update available: manifest 1 -> 2\n  forth 1.0.0 -> 1.1.0\n"
    );
    assert!(download.ends_with(" bytes (full file)\n"), "{checked}");
    let updated = world.succeeds(&["update"]);
    assert_eq!(
        updated,
        "updated: manifest 1 -> 2\n  forth 1.0.0 -> 1.1.0\n"
    );
    assert_eq!(world.engine_version(), "1.1.0");
    let from_stdin = world.fastforth(&[], "engine-version\n");
    assert_eq!(text(&from_stdin.stdout), "1.1.0");
    let version = world.succeeds(&["--version"]);
    assert!(
        version.ends_with("\nengine: installed engine plugin 1.1.0\n"),
        "{version}"
    );
    let listed = world.succeeds(&["plugin", "list"]);
    assert!(
        listed.contains("engine:           installed engine plugin 1.1.0\n"),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with("forth      1.1.0     2         1.0.0 (m1)")),
        "{listed}"
    );

    // The installed engine's file deleted: `run` falls back to the built-in engine, and the
    // next update fetches the file again though the channel has nothing newer.
    let state = State::load(&world.plugin_dir()).unwrap();
    std::fs::remove_file(
        world
            .plugin_dir()
            .join(&state.plugins["forth"].installed.file),
    )
    .unwrap();
    let fallback = world.fastforth(&["run", "-e", "engine-version"], "");
    assert_eq!(fallback.status.code(), Some(1), "{fallback:?}");
    let repaired = world.succeeds(&["update"]);
    assert_eq!(
        repaired,
        "updated: manifest 2 -> 2\n  forth 1.1.0 (repaired: its installed file was missing or changed)\n"
    );
    assert_eq!(world.engine_version(), "1.1.0");

    let rolled = world.succeeds(&["update", "--rollback"]);
    assert_eq!(rolled, "rolled back:\n  forth 1.1.0 -> 1.0.0\n");
    assert_eq!(world.engine_version(), "1.0.0");
    let builtin = world.fastforth(&["run", "--builtin", "-e", "engine-version"], "");
    assert_eq!(
        builtin.status.code(),
        Some(1),
        "--builtin ran the installed engine"
    );
}

#[test]
fn a_tampered_release_is_refused_and_run_stays_on_the_installed_engine() {
    let world = World::v1_installed_v2_released();
    let artifact = world.engine_artifact();
    let mut bytes = std::fs::read(world.channel.join(&artifact)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    world.server.misbehave(&artifact, Behaviour::Bytes(bytes));
    let state = std::fs::read(world.plugin_dir().join("state.json")).unwrap();

    let refused = world.fastforth(&["update"], "");

    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    let signed = world.engine_sha256();
    assert!(
        stderr.starts_with(&format!("Error: {}/{artifact}: sha256 is ", world.url())),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(&format!(", expected {signed}\n")),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(world.plugin_dir().join("state.json")).unwrap(),
        state
    );
    assert_eq!(world.engine_version(), "1.0.0");
}

#[test]
fn repl_update_swaps_the_engine_and_keeps_definitions_stack_and_variables() {
    let world = World::v1_installed_v2_released();
    let input =
        ": sq dup * ;\nvariable v 42 v !\n7\nengine-version\n#update\nengine-version\nsq . v @ .\n";

    let output = world.fastforth(&["repl"], input);

    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.contains("(installed engine plugin 1.0.0)"),
        "{stdout}"
    );
    assert!(stdout.contains("1.0.0 ok"), "{stdout}");
    assert!(
        stdout.contains("updated: manifest 1 -> 2\n  forth 1.0.0 -> 1.1.0\n"),
        "{stdout}"
    );
    assert!(stdout.contains("1.1.0 ok"), "{stdout}");
    assert!(stdout.contains("49 42  ok"), "{stdout}");
    assert_eq!(world.installed_engine(), "1.1.0");
    assert_eq!(world.engine_version(), "1.1.0");
}

#[test]
fn a_refused_update_leaves_the_repl_session_serving_the_old_engine() {
    let world = World::v1_installed_v2_released();
    // 1.1.0 is announced for a file that is 1.0.0's build: loading it finds the wrong version.
    world.release_engine("1.1.0", &[]);
    let input = ": sq dup * ;\n7\n#update\nsq . engine-version\n";

    let output = world.fastforth(&["repl"], input);

    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        stderr.contains("update refused, installed engine plugin 1.0.0 keeps serving: "),
        "{stderr}"
    );
    assert!(stderr.contains("the file is `forth` 1.0.0"), "{stderr}");
    assert!(stdout.contains("49 1.0.0 ok"), "{stdout}");
    assert_eq!(world.installed_engine(), "1.0.0");
}

#[test]
fn a_broken_install_warns_runs_the_built_in_engine_and_can_be_rolled_back() {
    let world = World::v1_installed_v2_released();
    world.succeeds(&["update"]);
    let state = State::load(&world.plugin_dir()).unwrap();
    let file = world
        .plugin_dir()
        .join(&state.plugins["forth"].installed.file);
    std::fs::write(&file, b"not a plugin any more").unwrap();

    let output = world.fastforth(&["run", "-e", "1 2 + ."], "");

    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "3 ");
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "warning: installed engine plugin forth 1.1.0 ({}): ",
            file.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("sha256 is "), "{stderr}");
    assert!(
        stderr.ends_with("; running the built-in engine instead (`fastforth update --rollback` returns to the previous version or sets an unreadable state file aside, --builtin skips this warning)\n"),
        "{stderr}"
    );
    let forced = world.fastforth(&["run", "--builtin", "-e", "1 2 + ."], "");
    assert_eq!(text(&forced.stderr), "");
    assert_eq!(text(&forced.stdout), "3 ");

    let rolled = world.succeeds(&["update", "--rollback"]);
    assert_eq!(rolled, "rolled back:\n  forth 1.1.0 -> 1.0.0\n");
    assert_eq!(world.engine_version(), "1.0.0");
}

#[test]
fn a_release_signed_by_an_unpinned_key_is_refused_in_the_repl() {
    let world = World::v1_installed_v2_released();
    let stranger = SigningKey::from_bytes(&[12; 32]);
    world.release_engine_signed(&stranger, "1.1.0", &["v2"]);
    let input = "variable v 5 v !\n#update\nv @ . engine-version\n";

    let output = world.fastforth(&["repl"], input);

    let stranger_id = fastforth_update::keys::key_id(&stranger.verifying_key());
    assert!(
        text(&output.stderr).starts_with(&format!(
            "update refused, installed engine plugin 1.0.0 keeps serving: manifest signed with key {stranger_id}, expected one of the trusted keys "
        )),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stdout).contains("5 1.0.0 ok"), "{output:?}");
    assert_eq!(world.installed_engine(), "1.0.0");
}

#[test]
fn repl_update_moves_a_session_on_the_built_in_engine_onto_the_first_installed_one() {
    let world = World::new();
    world.release_engine("1.0.0", &[]);
    let input = format!(
        ": sq dup * ;\n6\n#update {}\nsq . engine-version\n",
        world.url()
    );

    let output = world.fastforth(&["repl"], &input);

    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(stdout.contains("(built-in engine)"), "{stdout}");
    assert!(
        stdout.contains(
            "updated: manifest 0 -> 1\n  forth 1.0.0 (new)\nbuilt-in engine -> installed engine plugin 1.0.0; definitions, stacks and data kept\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("36 1.0.0 ok"), "{stdout}");
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn repl_update_leaves_an_engine_chosen_on_the_command_line_in_place() {
    let world = World::new();
    world.release_engine("1.0.0", &[]);
    let input = format!("#update {}\n1 2 + .\n", world.url());

    let output = world.fastforth(&["repl", "--builtin"], &input);

    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(
            "this session keeps the built-in engine (chosen on the command line); the next `fastforth` starts on the installed engine\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("3  ok"), "{stdout}");
    assert_eq!(world.installed_engine(), "1.0.0");
    assert_eq!(world.engine_version(), "1.0.0");
}

#[test]
fn without_any_per_user_directory_the_built_in_engine_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fastforth"))
            .args(args)
            .current_dir(dir.path())
            .env_clear()
            .output()
            .unwrap()
    };

    let output = run(&["run", "-e", "1 2 + ."]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        (text(&output.stdout), text(&output.stderr)),
        ("3 ".into(), "".into())
    );

    let version = run(&["--version"]);
    assert_eq!(
        text(&version.stdout),
        format!(
            "fastforth {}\nengine: built-in engine\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let linked = run(&["run", "--link", "calc.so", "-e", "1"]);
    assert_eq!(
        text(&linked.stderr),
        "Error: no per-user directory for the plugin cache: set $XDG_CACHE_HOME or $HOME\n"
    );
}

#[test]
fn repl_update_follows_an_engine_another_process_installed_meanwhile() {
    use std::io::{BufRead, BufReader};
    let world = World::v1_installed_v2_released();
    let home = world.dir.path().join("home");
    let mut repl = Command::new(fastforth_binary())
        .arg("repl")
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = repl.stdin.take().unwrap();
    let mut stdout = BufReader::new(repl.stdout.take().unwrap());
    writeln!(stdin, "variable v 9 v ! engine-version").unwrap();
    let mut line = String::new();
    while !line.contains("1.0.0 ok") {
        line.clear();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "the REPL ended");
    }

    world.succeeds(&["update"]);
    writeln!(stdin, "#update\nv @ . engine-version").unwrap();
    drop(stdin);

    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(repl.wait().unwrap().success());
    assert_eq!(
        rest,
        "engine 1.0.0 -> 1.1.0 (installed since this session started)\nup to date (manifest 2)\n9 1.1.0 ok\n"
    );
}

/// A state whose engine file is intact but is not an engine (here the example plugin): the
/// load fails after the hash check, and the warning says why.
#[test]
fn an_installed_engine_that_fails_to_load_is_named_and_the_built_in_engine_runs() {
    let world = World::new();
    let dir = world.plugin_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let example = fastforth_plugin_build::built_once("fastforth-example-plugin", &[]);
    let bytes = std::fs::read(&example).unwrap();
    let sha256 = fastforth_host::shadow::sha256_hex(&bytes);
    let file = format!("libfastforth_example_plugin-{}.so", &sha256[..24]);
    std::fs::write(dir.join(&file), &bytes).unwrap();
    let installed = fastforth_update::Installed {
        version: "1.0.0".to_owned(),
        file: file.clone(),
        sha256,
        manifest_version: 1,
    };
    let mut state = State::load(&dir).unwrap();
    state.manifest_version = 1;
    state.plugins.insert(
        "forth".to_owned(),
        fastforth_update::PluginState {
            installed,
            previous: None,
        },
    );
    state.save(&dir).unwrap();

    let output = world.fastforth(&["run", "-e", "1 2 + ."], "");

    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "3 ");
    let stderr = text(&output.stderr);
    let path = dir.join(&file);
    assert!(
        stderr.starts_with(&format!(
            "warning: installed engine plugin forth 1.0.0 ({}): ",
            path.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "plugin kind is example, expected forth; running the built-in engine instead"
        ),
        "{stderr}"
    );
    let version = world.succeeds(&["--builtin", "--version"]);
    assert!(version.ends_with("engine: built-in engine\n"), "{version}");
}

/// The backend stage is a managed plugin like the engine: `compile` finds none before the
/// update, builds with the installed one after it, and warns and looks beside the binary
/// when the installed file no longer matches its signed hash.
#[test]
fn update_installs_the_backend_stage_that_compile_builds_with() {
    let world = World::new();
    let program = world.dir.path().join("square.fs");
    std::fs::write(
        &program,
        ": square ( n -- n*n ) dup * ;\n: main 7 square . ;\n",
    )
    .unwrap();
    let output = world.dir.path().join("square.so");
    let compile = [
        "compile",
        program.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    let none = world.fastforth(&compile, "");
    assert_eq!(none.status.code(), Some(1), "{none:?}");
    assert!(
        text(&none.stderr).contains(" nor a usable one installed: give --stage backend=FILE"),
        "{none:?}"
    );

    let backend = fastforth_plugin_build::built_once("fastforth-backend-plugin", &[]);
    world.release_signed(&release_key(), "backend", "1.0.0", backend);
    let installed = world.succeeds(&["update", "--channel", &world.url()]);
    assert_eq!(
        installed,
        "updated: manifest 0 -> 1\n  backend 1.0.0 (new)\n"
    );
    let listed = world.succeeds(&["plugin", "list"]);
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with("backend    1.0.0     1 ")),
        "{listed}"
    );
    let built = world.succeeds(&compile);
    assert!(built.starts_with("square: static ( 1 -- 1 )\n"), "{built}");
    let ran = world.succeeds(&["run", "--native", output.to_str().unwrap()]);
    assert_eq!(ran, "49 ");

    let state = State::load(&world.plugin_dir()).unwrap();
    let file = world
        .plugin_dir()
        .join(&state.plugins["backend"].installed.file);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let tampered = world.fastforth(&compile, "");
    assert_eq!(tampered.status.code(), Some(1), "{tampered:?}");
    let stderr = text(&tampered.stderr);
    assert!(
        stderr.starts_with(&format!(
            "warning: installed backend stage plugin backend 1.0.0 ({}): ",
            file.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("; building with the backend beside this binary instead"),
        "{stderr}"
    );
    assert!(
        stderr.contains(" nor a usable one installed: give --stage backend=FILE"),
        "{stderr}"
    );
}
