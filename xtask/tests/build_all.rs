//! `cargo xtask build-all` and `cargo xtask setup` end to end: artifacts and index land
//! under `target/plugins/<triple>/`, a triple without its Rust std is skipped with what to
//! install while the rest builds, bad requests are refused, and the load check loads the
//! plugin through the host's own checks on every triple that runs here.

mod common;

use common::{
    build_all, build_all_with, example_artifact, on_path, root, scratch, std_installed, xtask,
    xtask_with,
};
use sha2::{Digest, Sha256};

const X86_64: &str = "x86_64-unknown-linux-gnu";

#[test]
fn artifacts_and_their_index_land_under_the_triple_folder() {
    let Some(artifact) = example_artifact(X86_64) else {
        return;
    };
    let bytes = std::fs::read(&artifact).unwrap();
    let index_path = root()
        .join("target/plugins")
        .join(X86_64)
        .join("index.json");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    assert_eq!(index["schema"], 1);
    let entry = index["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["plugin"] == "example")
        .expect("the example plugin is indexed");
    assert_eq!(entry["package"], "fastforth-example-plugin");
    assert_eq!(entry["version"], "1.0.0");
    assert_eq!(entry["triple"], X86_64);
    assert_eq!(entry["profile"], "release");
    assert_eq!(
        entry["file"],
        format!("{X86_64}/libfastforth_example_plugin.so")
    );
    assert_eq!(entry["size"], bytes.len() as u64);
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(entry["sha256"], sha);
    let combined = std::fs::read_to_string(root().join("target/plugins/index.json")).unwrap();
    assert!(combined.contains(&sha), "the combined index lists it too");
}

#[test]
fn the_shared_runtime_ships_beside_the_plugins_stripped_and_indexed() {
    let Some(artifact) = example_artifact(X86_64) else {
        return;
    };
    let index_path = root()
        .join("target/plugins")
        .join(X86_64)
        .join("index.json");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    let runtimes = index["runtimes"].as_array().expect("a runtimes list");
    assert_eq!(runtimes.len(), 1, "{runtimes:?}");
    let runtime = &runtimes[0];
    assert_eq!(runtime["triple"], X86_64);
    let file = runtime["file"].as_str().unwrap();
    let name = file.strip_prefix(&format!("{X86_64}/")).unwrap();
    assert!(
        name.starts_with("libstd-") && name.ends_with(".so"),
        "{file}"
    );
    assert!(runtime["rustc"].as_str().unwrap().starts_with("rustc "));
    let bytes = std::fs::read(root().join("target/plugins").join(file)).unwrap();
    assert_eq!(runtime["size"], bytes.len() as u64);
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(runtime["sha256"], sha);
    let plugin = std::fs::read(&artifact).unwrap();
    assert!(
        plugin.windows(name.len()).any(|w| w == name.as_bytes()),
        "the plugin needs exactly this runtime"
    );
    if on_path("llvm-strip") {
        let unstripped = std::fs::metadata(toolchain_runtime(X86_64)).unwrap().len();
        assert!(
            bytes.len() as u64 * 2 < unstripped,
            "stripped: {} of {unstripped}",
            bytes.len()
        );
    }
}

/// The toolchain's shared runtime for `triple`.
fn toolchain_runtime(triple: &str) -> std::path::PathBuf {
    let sysroot = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let lib = std::path::Path::new(String::from_utf8(sysroot.stdout).unwrap().trim())
        .join("lib/rustlib")
        .join(triple)
        .join("lib");
    std::fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("libstd-") && name.ends_with(".so")
        })
        .expect("the toolchain's shared runtime")
}

/// A `rustc` wrapper in a scratch directory whose `--print sysroot` is a sysroot holding
/// only the x86_64 Linux library directory, with the shared runtime when `with_runtime`.
fn rustc_with_fake_sysroot(name: &str, with_runtime: bool) -> std::path::PathBuf {
    let dir = scratch(name);
    let fake_lib = dir.join("sysroot/lib/rustlib").join(X86_64).join("lib");
    std::fs::create_dir_all(&fake_lib).unwrap();
    if with_runtime {
        let runtime = toolchain_runtime(X86_64);
        std::os::unix::fs::symlink(&runtime, fake_lib.join(runtime.file_name().unwrap())).unwrap();
    }
    let wrapper = dir.join("rustc");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --print ] && [ \"$2\" = sysroot ]; then echo {}; else exec rustc \"$@\"; fi\n",
            dir.join("sysroot").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    wrapper
}

#[test]
fn a_toolchain_without_the_shared_runtime_fails_the_triple_naming_where_it_looked() {
    if !std_installed(X86_64) {
        eprintln!("skipped: needs the x86_64 Linux std");
        return;
    }
    let wrapper = rustc_with_fake_sysroot("no-runtime-sysroot", false);
    let run = build_all_with(
        &["--target", X86_64],
        &[("RUSTC", wrapper.to_str().unwrap())],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let lib = wrapper
        .with_file_name("sysroot/lib/rustlib")
        .join(X86_64)
        .join("lib");
    assert!(
        run.stderr.contains(&format!(
            "FAILED {X86_64}: no libstd-*.so, .dylib or std-*.dll in {}",
            lib.display()
        )),
        "{}",
        run.all()
    );
}

#[test]
fn a_triple_without_its_std_is_skipped_and_the_rest_builds() {
    if !std_installed(X86_64) {
        eprintln!("skipped: needs the x86_64 Linux std");
        return;
    }
    // A rustc whose sysroot has only the x86_64 Linux std, as after a refused download:
    // its shared runtime, which build-all ships, and nothing else.
    let wrapper = rustc_with_fake_sysroot("fake-sysroot", true);
    let run = build_all_with(
        &[
            "--target",
            X86_64,
            "--target",
            "riscv64gc-unknown-linux-gnu",
        ],
        &[("RUSTC", wrapper.to_str().unwrap())],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains(
        "skip riscv64gc-unknown-linux-gnu: Rust std is not installed: run `rustup target add riscv64gc-unknown-linux-gnu` (or `cargo xtask setup`)"
    ), "{}", run.all());
    assert!(
        run.stdout.contains(&format!("{X86_64:<32} built 1")),
        "{}",
        run.all()
    );
    assert!(
        run.stdout
            .contains("riscv64gc-unknown-linux-gnu      skipped"),
        "{}",
        run.all()
    );
}

#[test]
fn unknown_triples_and_plugins_are_refused() {
    let run = xtask(&["build-all", "--target", "sparc-sun-solaris"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "unknown target triple `sparc-sun-solaris`: supported are x86_64-unknown-linux-gnu"
        ),
        "{}",
        run.all()
    );
    let run = xtask(&["build-all", "--plugin", "no-such-plugin"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("unknown plugin `no-such-plugin`: the workspace ships"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("example"), "{}", run.all());
}

#[test]
fn the_load_check_loads_and_calls_the_plugin_on_every_triple_that_runs_here() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("skipped: the load check's runners are set up for x86_64 Linux");
        return;
    }
    let mut args = vec!["--load-check", "--target", X86_64];
    let mut expected = vec![X86_64];
    let foreign = [
        ("aarch64-unknown-linux-gnu", "qemu-aarch64"),
        ("x86_64-pc-windows-gnu", "wine"),
    ];
    for (triple, runner) in foreign {
        if std_installed(triple) && on_path(runner) {
            args.extend(["--target", triple]);
            expected.push(triple);
        } else {
            eprintln!("load check of {triple} skipped: its std or {runner} is not installed");
        }
    }
    let run = build_all(&args);
    assert_eq!(run.code, 0, "{}", run.all());
    for triple in expected {
        let line = format!("load check {triple}: PASS ");
        let pass = run.stderr.lines().find(|l| l.starts_with(&line));
        let pass = pass.unwrap_or_else(|| panic!("no PASS line for {triple}:\n{}", run.all()));
        assert!(
            pass.ends_with("example 1.0.0 add_numbers(5, 3) = 8, fibonacci(20) = 10946"),
            "{pass}"
        );
        assert!(
            run.stdout
                .contains(&format!("{triple:<32} built 1    1 passed")),
            "{}",
            run.all()
        );
    }
}

#[test]
fn setup_check_reports_without_installing() {
    let run = xtask(&["setup", "--check"]);
    for expected in [
        "rustup target x86_64-unknown-linux-gnu",
        "apt package gcc-aarch64-linux-gnu",
        "apt package gforth",
        "Mach-O .tbd stubs",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected} missing:\n{}",
            run.all()
        );
    }
    let statuses = ["ok ", "missing ", "failed "];
    assert!(
        run.stdout.lines().all(|l| l.is_empty()
            || statuses.iter().any(|s| l.starts_with(s))
            || l.starts_with("everything")
            || l.starts_with("build-all skips")),
        "{}",
        run.all()
    );
    assert!(
        !run.stdout.contains("installed "),
        "--check installs nothing:\n{}",
        run.all()
    );
    let incomplete = run
        .stdout
        .lines()
        .any(|l| !l.starts_with("ok ") && statuses.iter().any(|s| l.starts_with(s)));
    assert_eq!(
        run.code,
        i32::from(incomplete),
        "exit 1 exactly when something is missing:\n{}",
        run.all()
    );
}

/// A `PATH` where rustup refuses every target and apt-get every package, and where no
/// other program (wine, ld64.lld, id, sudo) exists.
fn refusing_path(name: &str) -> std::path::PathBuf {
    let bin = scratch(name);
    for (program, exit) in [("rustup", 1), ("dpkg", 1), ("apt-get", 100), ("sudo", 1)] {
        let path = bin.join(program);
        std::fs::write(&path, format!("#!/bin/sh\nexit {exit}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn setup_exits_non_zero_when_a_download_is_refused() {
    let bin = refusing_path("setup-refused");
    let run = xtask_with(&["setup"], &[("PATH", bin.to_str().unwrap())]);
    assert_eq!(run.code, 1, "{}", run.all());
    for expected in [
        "refused   rustup target aarch64-unknown-linux-gnu: `rustup target add aarch64-unknown-linux-gnu` was refused; build-all skips that triple",
        "refused   apt package gcc-aarch64-linux-gnu (links aarch64-unknown-linux-gnu): `apt-get install gcc-aarch64-linux-gnu` failed",
        "refused   apt package gforth",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected} missing:\n{}",
            run.all()
        );
    }
    assert!(!run.stdout.contains("\nfailed "), "{}", run.all());
    assert!(
        run.stderr.contains("setup is incomplete: 0 missing, ")
            && run
                .stderr
                .contains("`--allow-refused-downloads` tolerates refused downloads"),
        "{}",
        run.all()
    );
}

#[test]
fn refused_downloads_can_be_tolerated_and_are_still_reported() {
    let bin = refusing_path("setup-tolerated");
    let run = xtask_with(
        &["setup", "--allow-refused-downloads"],
        &[("PATH", bin.to_str().unwrap())],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("refused   rustup target riscv64gc-unknown-linux-gnu"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.trim_end().ends_with("refused downloads tolerated (--allow-refused-downloads): build-all skips the triples (or load checks) that need them"),
        "{}",
        run.all()
    );
}
