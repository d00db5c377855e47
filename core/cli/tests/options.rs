//! The engine options (`--max-steps`, `--engine`, sizes...): accepted before or after
//! `run`/`repl`, never dropped silently, refused where they cannot apply, and sizes
//! checked with clear errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the CLI on `stdin` (its output must fit the pipe buffers); a run that has not
/// ended after a minute (a hang) fails.
fn fastforth(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("HOME", std::env::temp_dir())
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("fastforth {args:?} did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn program(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path
}

fn endless(dir: &Path) -> String {
    let path = program(dir, "inf.fs", ": x begin again ; x\n");
    path.to_str().unwrap().to_owned()
}

#[test]
fn max_steps_before_run_stops_an_endless_loop() {
    let dir = tempfile::tempdir().unwrap();
    let inf = endless(dir.path());
    for args in [
        vec!["--max-steps", "1000", "run", &inf],
        vec!["run", "--max-steps", "1000", &inf],
    ] {
        let output = fastforth(&args, "");
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("-256 step budget exhausted in x"),
            "{stderr}"
        );
    }
}

/// `compile` loads its program under the step budget and file access given, so a program
/// that never finishes loading, or reaches outside its directory, is refused, not waited on.
#[test]
fn compile_loads_under_the_step_budget_and_file_access() {
    let dir = tempfile::tempdir().unwrap();
    let inf = endless(dir.path());
    let output = fastforth(&["compile", "--max-steps", "1000", &inf], "");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let expected =
        format!("the program does not load: {inf}:1:19: -256 step budget exhausted in x");
    assert_eq!(text(&output.stderr).trim_end(), expected);
    let outside = program(dir.path(), "outside.fs", "s\" /etc/passwd\" included\n");
    let confined = dir.path().to_str().unwrap();
    let output = fastforth(
        &["compile", "--files", confined, outside.to_str().unwrap()],
        "",
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("-37 /etc/passwd: is not a plain relative name inside"),
        "{stderr}"
    );
}

#[test]
fn options_before_repl_and_standard_input_apply() {
    let repl = fastforth(&["--stack-cells", "2", "repl"], "1 2 3\n");
    assert!(text(&repl.stderr).contains("-3 stack overflow"), "{repl:?}");
    let stdin = fastforth(&["--max-steps", "1000"], ": x begin again ; x\n");
    assert_eq!(stdin.status.code(), Some(1), "{stdin:?}");
    assert!(text(&stdin.stderr).contains("-256"), "{stdin:?}");
}

#[test]
fn engine_before_run_is_used_not_dropped() {
    let output = fastforth(
        &["--engine", "/nonexistent/engine.so", "run", "-e", "1 ."],
        "",
    );
    assert!(!output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "", "the built-in engine ran instead");
    assert!(
        text(&output.stderr).contains("/nonexistent/engine.so"),
        "{output:?}"
    );
}

#[test]
fn sizes_before_run_apply() {
    let output = fastforth(&["--stack-cells", "4", "run", "-e", "1 2 3 4 5"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("-3 stack overflow"),
        "{output:?}"
    );
    let output = fastforth(
        &["--return-stack-cells", "8", "run", "-e", ": r recurse ; r"],
        "",
    );
    assert!(
        text(&output.stderr).contains("-5 return stack overflow"),
        "{output:?}"
    );
}

#[test]
fn conflicts_are_reported_wherever_the_options_are_given() {
    let dir = tempfile::tempdir().unwrap();
    let inf = endless(dir.path());
    let cases = [
        (
            vec!["--max-steps", "5", "run", "--native", "p.so", &inf],
            "--native cannot be used with --max-steps",
        ),
        (
            vec!["--engine", "e.so", "run", "--native", "p.so", &inf],
            "--native cannot be used with --engine",
        ),
        (
            vec!["run", "--native", "p.so", "--max-steps", "5", &inf],
            "--native cannot be used with --max-steps",
        ),
        (
            vec!["--link", "p.so", "run", "--max-steps", "5", &inf],
            "--link cannot be used with --max-steps",
        ),
        (
            vec!["--max-steps", "5", "repl", "--link", "p.so"],
            "--link cannot be used with --max-steps",
        ),
        (
            vec!["--builtin", "run", "--engine", "e.so", &inf],
            "--builtin cannot be used with --engine",
        ),
    ];
    for (args, expected) in cases {
        let output = fastforth(&args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(
            text(&output.stderr).contains(expected),
            "{args:?}: {output:?}"
        );
    }
}

#[test]
fn options_that_cannot_apply_are_refused_not_dropped() {
    let cases = [
        (
            vec!["--max-steps", "5", "plugin", "info", "p.so"],
            "--max-steps applies to `run`, `repl` and `compile`, not to `plugin`",
        ),
        (
            vec!["compile", "--data-space", "4096", "p.fs"],
            "--data-space applies to `run` and `repl`, not to `compile`",
        ),
        (
            vec!["run", "--native", "p.so", "--stack-cells", "64"],
            "--stack-cells applies to `run` and `repl`, not to `run --native` without FILES",
        ),
        (
            vec!["update", "--builtin"],
            "--builtin applies to `run` and `repl`, not to `update`",
        ),
    ];
    for (args, expected) in cases {
        let output = fastforth(&args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(
            text(&output.stderr).contains(expected),
            "{args:?}: {output:?}"
        );
    }
}

#[cfg(feature = "update")]
#[test]
fn plugin_dir_is_refused_where_nothing_is_installed_or_run() {
    let cases = [
        (
            vec!["--plugin-dir", "d", "run", "--native", "p.so"],
            "`run --native` without FILES (the plugin runs alone)",
        ),
        (
            vec!["plugin", "info", "p.so", "--plugin-dir", "d"],
            "`plugin`",
        ),
    ];
    for (args, command) in cases {
        let output = fastforth(&args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let expected = format!(
            "--plugin-dir applies to `run`, `repl`, `compile`, `update` and `plugin list`, not to \
             {command}"
        );
        assert!(
            text(&output.stderr).contains(&expected),
            "{args:?}: {output:?}"
        );
    }
}

#[test]
fn absurd_sizes_are_refused_with_a_clear_error() {
    let cases = [
        ("--data-space", "9223372036854775807", "0..=1073741824"),
        ("--data-space", "18446744073709551615", "0..=1073741824"),
        ("--data-space", "100000000000", "0..=1073741824"),
        (
            "--return-stack-cells",
            "18446744073709551615",
            "1..=1048576",
        ),
        ("--stack-cells", "0", "1..=1048576"),
        ("--max-source-bytes", "0", "1..=1073741824"),
        // The engine plugin's ABI reads 0 as "no bound".
        ("--max-steps", "0", "1.."),
    ];
    for (flag, value, range) in cases {
        for args in [
            vec![flag, value, "run", "-e", "5 0 ! 0 @ ."],
            vec!["run", flag, value, "-e", "5 0 ! 0 @ ."],
        ] {
            let output = fastforth(&args, "");
            assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
            let stderr = text(&output.stderr);
            let expected = format!("invalid value '{value}' for '{flag} ");
            assert!(stderr.contains(&expected), "{stderr}");
            assert!(
                stderr.contains(&format!("{value} is not in {range}")),
                "{stderr}"
            );
            assert_eq!(text(&output.stdout), "");
        }
    }
}

#[test]
fn the_largest_data_space_keeps_user_data_apart_from_system_variables() {
    let output = fastforth(
        &[
            "--data-space",
            "1073741824",
            "run",
            "-e",
            "5 0 ! 0 @ . base @ .",
        ],
        "",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "5 10 ");
}

#[test]
fn the_engine_plugin_refuses_absurd_limits_that_reach_it() {
    let file = fastforth_plugin_build::PluginBuild::new("fastforth-forth-plugin", &[])
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let loader = fastforth_host::Loader::new(dir.path());
    let plugin = loader.load::<fastforth_session::Forth>(&file).unwrap();
    let limits = fastforth_session::ForthLimits {
        data_stack_cells: 64,
        return_stack_cells: u64::MAX,
        data_space_bytes: u64::MAX,
        max_steps: 0,
    };
    let refused = fastforth_session::ForthInstance::create(plugin, limits, &[])
        .err()
        .expect("an engine with absurd limits was created");
    assert!(refused.to_string().contains("data space of"), "{refused}");
}
