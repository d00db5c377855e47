//! `cargo xtask dist` end to end: `fastforth` runs from `dist/<triple>/` with an empty
//! environment and a PATH without cargo or rustup, on its built-in engine, on the engine
//! plugin next to it, and loads the example plugin, which finds the shared runtime there;
//! `compile` finds the backend stage plugin next to it (and, with no toolchain, says so).
//! Ignored by `cargo test` (it builds the dist profile, minutes cold); `.ci/run` runs it.

mod common;

use common::{root, scratch, xtask};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PATH: &str = "/usr/bin:/bin";

fn host_triple() -> String {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("run rustc");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc names its host")
        .to_owned()
}

/// `fastforth ARGS` from `dir` under `env -i PATH=/usr/bin:/bin HOME=home`.
fn installed_fastforth(dir: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new("env")
        .args([
            "-i",
            &format!("PATH={PATH}"),
            &format!("HOME={}", home.display()),
        ])
        .arg(dir.join("fastforth"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run env")
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{output:?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn needed_libraries(file: &Path) -> String {
    let output = Command::new("readelf")
        .arg("-d")
        .arg(file)
        .output()
        .expect("run readelf");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
#[ignore = "builds the dist profile (minutes cold); run by .ci/run"]
fn fastforth_runs_from_dist_without_a_rust_toolchain() {
    let triple = host_triple();
    assert!(
        !PATH
            .split(':')
            .any(|dir| Path::new(dir).join("cargo").exists()),
        "{PATH} holds cargo: the test would not show that dist runs without it"
    );
    let run = xtask(&["dist"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let dir: PathBuf = root().join("dist").join(&triple);
    let home = scratch("dist-home");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let runtime = files
        .iter()
        .find(|name| name.starts_with("libstd-") && name.ends_with(".so"))
        .unwrap_or_else(|| panic!("no runtime in {files:?}"));

    let builtin = installed_fastforth(&dir, &home, &["run", "-e", "1 2 + . bye"]);
    assert_eq!(stdout_of(&builtin), "3 ");
    let engine = installed_fastforth(
        &dir,
        &home,
        &[
            "--engine",
            "libfastforth_forth_plugin.so",
            "run",
            "-e",
            "1 2 + . bye",
        ],
    );
    assert_eq!(stdout_of(&engine), "3 ");
    let call = installed_fastforth(
        &dir,
        &home,
        &[
            "plugin",
            "call",
            "libfastforth_example_plugin.so",
            "add_numbers",
            "2",
            "3",
        ],
    );
    assert_eq!(stdout_of(&call), "5\n");
    let staged = installed_fastforth(
        &dir,
        &home,
        &[
            "--stage",
            "optimizer=libfastforth_optimizer_plugin.so",
            "run",
            "-e",
            ": t 1 2 + ; t . bye",
        ],
    );
    assert_eq!(stdout_of(&staged), "3 ");
    // The backend installed beside the binary loads and starts the build; with no Rust
    // toolchain on PATH it says so (the message is the backend's own: it looks for the
    // toolchain's runtime before it runs cargo).
    let program = home.join("square.fs");
    std::fs::write(&program, ": main 7 dup * . ;\n").unwrap();
    let compile = installed_fastforth(&dir, &home, &["compile", &program.to_string_lossy()]);
    assert_eq!(compile.status.code(), Some(1), "{compile:?}");
    let stderr = String::from_utf8_lossy(&compile.stderr);
    assert!(
        stderr
            .contains("the Rust toolchain has no shared runtime for the host: cannot run `rustc`"),
        "{stderr}"
    );

    for plugin in [
        "libfastforth_backend_plugin.so",
        "libfastforth_compiler_plugin.so",
        "libfastforth_example_plugin.so",
        "libfastforth_forth_plugin.so",
        "libfastforth_optimizer_plugin.so",
        "libfastforth_parser_plugin.so",
    ] {
        let dynamic = needed_libraries(&dir.join(plugin));
        assert!(
            dynamic.contains(&format!("[{runtime}]")),
            "{plugin}:\n{dynamic}"
        );
        assert!(dynamic.contains("[$ORIGIN]"), "{plugin}:\n{dynamic}");
    }
    assert!(!needed_libraries(&dir.join("fastforth")).contains("libstd-"));

    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let artifacts = index["artifacts"].as_array().unwrap();
    let plugins: Vec<&str> = artifacts
        .iter()
        .map(|a| a["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(
        plugins,
        [
            "backend",
            "compiler",
            "example",
            "forth",
            "optimizer",
            "parser"
        ]
    );
    for artifact in artifacts {
        let bytes = std::fs::read(dir.join(artifact["file"].as_str().unwrap())).unwrap();
        assert_eq!(artifact["size"], bytes.len() as u64);
        assert_eq!(artifact["sha256"], hex::encode(Sha256::digest(&bytes)));
        assert_eq!(
            artifact["profile"], "release",
            "build-all's release artifacts"
        );
    }
    let runtimes = index["runtimes"].as_array().unwrap();
    assert_eq!(runtimes.len(), 1, "{runtimes:?}");
    assert_eq!(runtimes[0]["file"], *runtime);
    let bytes = std::fs::read(dir.join(runtime)).unwrap();
    assert_eq!(runtimes[0]["sha256"], hex::encode(Sha256::digest(&bytes)));
}

/// `dist/<triple>/` is emptied before the build: a `--target` that is no triple, such as
/// `../target/NAME`, must be refused before anything outside `dist/` is removed. `CARGO` is
/// `false` so that a run getting as far as building fails at once.
#[test]
fn a_target_that_is_no_known_triple_is_refused_before_anything_is_removed() {
    let name = format!("dist-victim-{}", std::process::id());
    let victim = root().join("target").join(&name);
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious"), "kept").unwrap();
    let target = format!("../target/{name}");

    let run = common::xtask_with(&["dist", "--target", &target], &[("CARGO", "false")]);

    let kept = std::fs::read_to_string(victim.join("precious"));
    let _ = std::fs::remove_dir_all(&victim);
    assert_eq!(kept.ok().as_deref(), Some("kept"), "{}", run.all());
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .contains(&format!("unknown target triple `{target}`: supported are ")),
        "{}",
        run.all()
    );
}
