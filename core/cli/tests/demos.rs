//! The demo binaries and the `fastforth plugin` commands, run as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    let exe = match bin {
        "plugin_test" => env!("CARGO_BIN_EXE_plugin_test"),
        "hotswap_demo" => env!("CARGO_BIN_EXE_hotswap_demo"),
        _ => env!("CARGO_BIN_EXE_fastforth"),
    };
    Command::new(exe).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn example_plugin() -> PathBuf {
    fastforth::build_example_versions().unwrap().0
}

#[test]
fn plugin_test_prints_version_and_sum() {
    let plugin = example_plugin();
    let output = run("plugin_test", &[plugin.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output),
        "Loading plugin...\nPlugin version: 1.0.0\n5 + 3 = 8\n"
    );
}

#[test]
fn plugin_test_names_a_bad_file() {
    let output = run("plugin_test", &["/nonexistent/libnothing.so"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/libnothing.so: no such file"),
        "{stderr}"
    );
}

#[test]
fn hotswap_demo_swaps_under_calls_and_refuses_a_broken_build() {
    let output = run("hotswap_demo", &[]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let expected_start = ["Version: 1.0.0", "5 + 3 = 8"];
    assert_eq!(lines[..2], expected_start, "{text}");
    assert!(lines[2].starts_with("Swapped to 1.0.1 in "), "{text}");
    assert_eq!(
        lines[3..6],
        ["Version: 1.0.1", "NEW VERSION: Adding 5 + 3", "5 + 3 = 8"],
        "{text}"
    );
    let calls = lines[6]
        .strip_prefix("Background calls during the swap: ")
        .and_then(|rest| rest.strip_suffix(", failed: 0"))
        .unwrap_or_else(|| panic!("calls line: {text}"));
    assert!(calls.parse::<u64>().unwrap() > 0, "{text}");
    assert_eq!(lines[7], "Swapping in a broken build...");
    assert!(
        lines[8].starts_with("Refused: ") && lines[8].contains("malformed Elf64 file")
            || !cfg!(target_os = "linux"),
        "{text}"
    );
    assert_eq!(
        lines[9..],
        ["Version: 1.0.1", "NEW VERSION: Adding 5 + 3", "5 + 3 = 8"],
        "{text}"
    );
}

#[test]
fn plugin_info_describes_the_example_plugin() {
    let plugin = example_plugin();
    let output = run("fastforth", &["plugin", "info", plugin.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    for line in [
        "kind:      example",
        "name:      example",
        "version:   1.0.0",
        "abi:       1",
        "self-test: passed",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(
        text.contains("exports:   add_numbers fastforth_plugin_v1 fibonacci version"),
        "{text}"
    );
}

#[test]
fn plugin_call_runs_each_function() {
    let plugin = example_plugin();
    let plugin = plugin.to_str().unwrap();
    let call = |args: &[&str]| {
        stdout(&run(
            "fastforth",
            &[&["plugin", "call", plugin], args].concat(),
        ))
    };
    assert_eq!(call(&["add_numbers", "5", "3"]), "8\n");
    assert_eq!(call(&["add_numbers", "-5", "3"]), "-2\n");
    assert_eq!(call(&["fibonacci", "20"]), "10946\n");
    assert_eq!(call(&["version"]), "1.0.0\n");
}

#[test]
fn plugin_call_explains_bad_arguments() {
    let plugin = example_plugin();
    let plugin = plugin.to_str().unwrap();
    let stderr = |args: &[&str]| {
        let output = run("fastforth", &[&["plugin", "call", plugin], args].concat());
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(
        stderr(&["add_numbers", "5"])
            .contains("`add_numbers` takes 2 arguments (A B), found 1 argument(s)")
    );
    assert!(
        stderr(&["fibonacci", "x"])
            .contains("argument 1 of `fibonacci`: expected a 32-bit integer, found \"x\"")
    );
    assert!(stderr(&["nope"]).contains("plugin `example` has no function `nope`"));
}
