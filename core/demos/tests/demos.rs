//! The demo binaries, run as a user runs them.

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    let exe = match bin {
        "plugin_test" => env!("CARGO_BIN_EXE_plugin_test"),
        _ => env!("CARGO_BIN_EXE_hotswap_demo"),
    };
    Command::new(exe).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn example_plugin() -> std::path::PathBuf {
    fastforth_demos::build_example_versions().unwrap().0
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
