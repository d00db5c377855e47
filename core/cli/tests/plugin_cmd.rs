//! The `fastforth plugin` commands on the example plugin, run as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn example_plugin() -> PathBuf {
    fastforth_plugin_build::PluginBuild::new("fastforth-example-plugin", &[])
        .build()
        .unwrap()
}

#[test]
fn plugin_info_describes_the_example_plugin() {
    let plugin = example_plugin();
    let output = run(&["plugin", "info", plugin.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    let abi = format!("abi:       {}", fastforth_abi::ABI_VERSION);
    for line in [
        "kind:      example",
        "name:      example",
        "version:   1.0.0",
        &abi,
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
    let call = |args: &[&str]| stdout(&run(&[&["plugin", "call", plugin], args].concat()));
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
        let output = run(&[&["plugin", "call", plugin], args].concat());
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
    // The function is checked before its arguments, and their count before their values.
    assert!(stderr(&["nope", "x"]).contains("plugin `example` has no function `nope`"));
    assert!(stderr(&["version", "x"]).contains("`version` takes no arguments, found 1"));
    assert!(stderr(&["add_numbers", "1", "2", "x"]).contains("takes 2 arguments (A B), found 3"));
    // A sum past 32 bits would wrap.
    for (a, b) in [("2147483647", "1"), ("-2147483648", "-1")] {
        let expected =
            format!("`add_numbers` takes A and B whose sum fits in 32 bits, found {a} and {b}");
        assert!(
            stderr(&["add_numbers", a, b]).contains(&expected),
            "{a} {b}"
        );
    }
    // A recursive Fibonacci past 40 would take hours, past some thousands overflow the stack.
    for n in ["41", "2147483647", "-1"] {
        assert!(
            stderr(&["fibonacci", n]).contains("`fibonacci` takes N from 0 to 40, found"),
            "{n}"
        );
    }
}
