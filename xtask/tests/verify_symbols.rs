//! `cargo xtask verify-symbols` on real artifacts: passes on good ones, exits 1 naming the
//! symbol or architecture for each kind of bad one, exits 2 on files it cannot parse, and
//! its `--bless` and `--format json` modes do what they document.

mod common;

use common::{example_artifact, place, root, scratch, xtask};
use std::path::{Path, PathBuf};

const X86_64: &str = "x86_64-unknown-linux-gnu";
const AARCH64: &str = "aarch64-unknown-linux-gnu";

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// An expectation directory holding `example.symbols` with `text`.
fn expectations(name: &str, text: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::write(dir.join("example.symbols"), text).expect("write expectations");
    dir
}

const EXAMPLE_SYMBOLS: &str = "add_numbers F\nfastforth_plugin_v1 F\nfibonacci F\nversion F\n";

#[test]
fn real_x86_64_and_aarch64_artifacts_pass_every_check() {
    let Some(x86) = example_artifact(X86_64) else {
        return;
    };
    let mut files = vec![path_arg(&x86).to_owned()];
    if let Some(arm) = example_artifact(AARCH64) {
        files.push(path_arg(&arm).to_owned());
    }
    let mut args = vec!["verify-symbols"];
    args.extend(files.iter().map(String::as_str));
    let run = xtask(&args);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains(
        "PASS format target/plugins/x86_64-unknown-linux-gnu/libfastforth_example_plugin.so Elf X86_64 64-bit little-endian shared library"
    ), "{}", run.all());
    assert!(run.stdout.contains("PASS glibc-floor"), "{}", run.all());
    assert!(!run.stdout.contains("FAIL"), "{}", run.all());
    if files.len() == 2 {
        assert!(run.stdout.contains("PASS format target/plugins/aarch64-unknown-linux-gnu/libfastforth_example_plugin.so Elf Aarch64"), "{}", run.all());
    }
}

#[test]
fn windows_and_mach_o_artifacts_pass_when_their_targets_are_installed() {
    for triple in ["x86_64-pc-windows-gnu", "aarch64-apple-darwin"] {
        let Some(artifact) = example_artifact(triple) else {
            continue;
        };
        let run = xtask(&["verify-symbols", path_arg(&artifact)]);
        assert_eq!(run.code, 0, "{}", run.all());
        let own_name = if triple.contains("windows") {
            "PASS own-name target/plugins/x86_64-pc-windows-gnu/fastforth_example_plugin.dll DLL name `fastforth_example_plugin.dll`"
        } else {
            "install name `@rpath/libfastforth_example_plugin.dylib`"
        };
        assert!(run.stdout.contains(own_name), "{}", run.all());
        assert!(run.stdout.contains("PASS parsers-agree"), "{}", run.all());
    }
}

#[test]
fn a_missing_expected_export_fails_naming_it() {
    let Some(x86) = example_artifact(X86_64) else {
        return;
    };
    let dir = expectations("missing", &format!("{EXAMPLE_SYMBOLS}removed_function F\n"));
    let run = xtask(&[
        "verify-symbols",
        "--expectations",
        path_arg(&dir),
        path_arg(&x86),
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains(
        "FAIL expected-exports target/plugins/x86_64-unknown-linux-gnu/libfastforth_example_plugin.so missing expected export(s) `removed_function`"
    ), "{}", run.all());
    assert!(
        run.stdout
            .contains("run `cargo xtask verify-symbols --bless`"),
        "{}",
        run.all()
    );
}

#[test]
fn a_function_listed_as_data_fails_naming_it() {
    let Some(x86) = example_artifact(X86_64) else {
        return;
    };
    let text = EXAMPLE_SYMBOLS.replace("add_numbers F", "add_numbers D 0x4");
    let dir = expectations("as-data", &text);
    let run = xtask(&[
        "verify-symbols",
        "--expectations",
        path_arg(&dir),
        path_arg(&x86),
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("FAIL export-kinds target/plugins/x86_64-unknown-linux-gnu/libfastforth_example_plugin.so `add_numbers` is a function, expected data"),
        "{}",
        run.all()
    );
}

#[test]
fn an_artifact_of_the_wrong_architecture_fails_naming_both() {
    let Some(arm) = example_artifact(AARCH64) else {
        return;
    };
    let dir = scratch("wrong-arch");
    let misplaced = place(&arm, &dir, X86_64);
    let run = xtask(&["verify-symbols", path_arg(&misplaced)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains(
        "libfastforth_example_plugin.so built for Elf Aarch64 64-bit little-endian, expected Elf X86_64 64-bit little-endian for x86_64-unknown-linux-gnu"
    ), "{}", run.all());
}

/// A cdylib that links the example plugin and a dependency with a `#[no_mangle]` item.
#[test]
fn a_plugin_needing_another_rust_runtime_fails_naming_both() {
    let Some(x86) = example_artifact(X86_64) else {
        return;
    };
    let shipped = std::fs::read_dir(x86.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("libstd-") && name.ends_with(".so"))
        .expect("build-all ships the runtime next to the plugins");
    let other = format!(
        "libstd-{}.so",
        "0".repeat(shipped.len() - "libstd-.so".len())
    );
    assert_ne!(other, shipped);
    let dir = scratch("foreign-runtime");
    let copy = place(&x86, &dir, X86_64);
    let mut bytes = std::fs::read(&copy).unwrap();
    let at = bytes
        .windows(shipped.len())
        .position(|window| window == shipped.as_bytes())
        .expect("the plugin names its runtime");
    bytes[at..at + other.len()].copy_from_slice(other.as_bytes());
    std::fs::write(&copy, &bytes).unwrap();

    let run = xtask(&["verify-symbols", path_arg(&copy)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains(&format!(
            "FAIL needed-libraries {} needs the Rust runtime `{other}`, but build-all ships `{shipped}` for {X86_64}",
            copy.strip_prefix(root()).unwrap().display()
        )),
        "{}",
        run.all()
    );
    let good = xtask(&["verify-symbols", path_arg(&x86)]);
    assert!(
        good.stdout.contains(&format!(
            "PASS needed-libraries target/plugins/{X86_64}/libfastforth_example_plugin.so {shipped}"
        )),
        "{}",
        good.all()
    );
}

fn build_leaky_plugin() -> PathBuf {
    let dir = root().join("target/xtask-tests/leaky-plugin");
    let example = root().join("plugins/example");
    let files = [
        (
            "Cargo.toml",
            format!(
                "[package]\nname = \"leaky-plugin\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nexample = {{ package = \"fastforth-example-plugin\", path = {example:?} }}\nleak = {{ path = \"leak\" }}\n\n[workspace]\n"
            ),
        ),
        (
            "src/lib.rs",
            "//! The example plugin plus a dependency that leaks an export.\npub use example::add;\npub use leak::helper;\n".to_owned(),
        ),
        (
            "leak/Cargo.toml",
            "[package]\nname = \"leak\"\nversion = \"0.0.0\"\nedition = \"2024\"\n".to_owned(),
        ),
        (
            "leak/src/lib.rs",
            "//! A dependency with a C export of its own.\n#[unsafe(no_mangle)]\npub extern \"C\" fn leaked_helper() -> i32 { 7 }\npub fn helper() -> i32 { leaked_helper() }\n".to_owned(),
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "--offline",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .output()
        .expect("run cargo");
    if !output.status.success() {
        panic!(
            "cannot build the leaky plugin:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    dir.join("target/release/libleaky_plugin.so")
}

#[test]
fn an_export_leaked_from_a_dependency_fails_naming_it() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("skipped: the leaky plugin is built for x86_64 Linux");
        return;
    }
    let leaky = build_leaky_plugin();
    let dir = scratch("leaky");
    let folder = dir.join(X86_64);
    std::fs::create_dir_all(&folder).unwrap();
    let as_example = folder.join("libfastforth_example_plugin.so");
    std::fs::copy(&leaky, &as_example).unwrap();
    let run = xtask(&["verify-symbols", path_arg(&as_example)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains(
        "unexpected export(s) `leaked_helper` (not in the expectation file (a #[no_mangle] item leaking from a dependency?))"
    ), "{}", run.all());
    assert!(
        run.stdout.contains("PASS expected-exports"),
        "{}",
        run.all()
    );
}

#[test]
fn a_truncated_file_exits_2_naming_file_and_offset() {
    let Some(x86) = example_artifact(X86_64) else {
        return;
    };
    let dir = scratch("truncated");
    let cut = dir.join(X86_64).join("libfastforth_example_plugin.so");
    std::fs::create_dir_all(cut.parent().unwrap()).unwrap();
    let bytes = std::fs::read(&x86).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let run = xtask(&["verify-symbols", path_arg(&cut)]);
    assert_eq!(run.code, 2, "{}", run.all());
    let expected = format!("error: {}: cannot parse as Elf64", cut.display());
    assert!(run.stderr.contains(&expected), "{}", run.all());
    assert!(
        run.stderr
            .contains("truncated: the section header table spans file offsets 0x"),
        "{}",
        run.all()
    );
    assert!(
        run.stderr
            .contains(&format!("but the file ends at {:#x}", bytes.len() / 2)),
        "{}",
        run.all()
    );
}

#[test]
fn empty_and_non_binary_files_exit_2_saying_what_they_are() {
    let dir = scratch("not-binaries");
    let folder = dir.join(X86_64);
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("libfastforth_example_plugin.so");
    for (contents, message) in [
        (
            &b""[..],
            "empty file, expected an ELF, PE or Mach-O library",
        ),
        (
            &b"#!/bin/sh\necho hello\n"[..],
            "not a binary: expected an ELF, PE or Mach-O library, found a text file",
        ),
    ] {
        std::fs::write(&file, contents).unwrap();
        let run = xtask(&["verify-symbols", path_arg(&file)]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stderr
                .contains(&format!("error: {}: {message}", file.display())),
            "{}",
            run.all()
        );
    }
}

#[test]
fn a_file_outside_a_triple_folder_needs_a_target() {
    let dir = scratch("no-triple");
    let file = dir.join("libfastforth_example_plugin.so");
    std::fs::write(&file, b"x").unwrap();
    let run = xtask(&["verify-symbols", path_arg(&file)]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("cannot tell its triple: pass --target TRIPLE"),
        "{}",
        run.all()
    );
}

#[test]
fn bless_rewrites_the_expectations_and_then_the_check_passes() {
    let Some(x86) = example_artifact(X86_64) else {
        return;
    };
    let dir = expectations("bless", "stale_symbol F\n");
    let blessed = xtask(&[
        "verify-symbols",
        "--bless",
        "--expectations",
        path_arg(&dir),
        path_arg(&x86),
    ]);
    assert_eq!(blessed.code, 0, "{}", blessed.all());
    let text = std::fs::read_to_string(dir.join("example.symbols")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [
            "add_numbers F",
            "fastforth_plugin_v1 F",
            "fibonacci F",
            "version F"
        ]
    );
    let committed =
        std::fs::read_to_string(root().join("xtask/expectations/example.symbols")).unwrap();
    assert_eq!(text, committed, "the committed file is what --bless writes");
    let checked = xtask(&[
        "verify-symbols",
        "--expectations",
        path_arg(&dir),
        path_arg(&x86),
    ]);
    assert_eq!(checked.code, 0, "{}", checked.all());
}

#[test]
fn json_output_has_the_documented_shape() {
    let Some(x86) = example_artifact(X86_64) else {
        return;
    };
    let dir = expectations("json", &format!("{EXAMPLE_SYMBOLS}removed_function F\n"));
    let run = xtask(&[
        "verify-symbols",
        "--format",
        "json",
        "--expectations",
        path_arg(&dir),
        path_arg(&x86),
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(report["schema"], 1);
    assert_eq!(report["exit_code"], 1);
    let results = report["results"].as_array().expect("results array");
    for result in results {
        for key in ["status", "check", "artifact", "triple", "plugin", "detail"] {
            assert!(result.get(key).is_some(), "{key} missing from {result}");
        }
        assert!(["PASS", "FAIL", "SKIP"].contains(&result["status"].as_str().unwrap()));
    }
    let failed: Vec<&serde_json::Value> =
        results.iter().filter(|r| r["status"] == "FAIL").collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["check"], "expected-exports");
    assert_eq!(failed[0]["triple"], X86_64);
    assert_eq!(failed[0]["plugin"], "example");
    let summary = &report["summary"];
    assert_eq!(summary["artifacts"], 1);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["errors"], 0);
    assert_eq!(
        summary["passed"].as_u64().unwrap() + summary["skipped"].as_u64().unwrap() + 1,
        results.len() as u64
    );
    assert_eq!(report["errors"], serde_json::json!([]));
}
