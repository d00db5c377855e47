//! The CLI probes a new plugin build in a child process (`fastforth __probe FILE`) before
//! opening it: a build that crashes while loading is refused with the signal named and the
//! CLI lives; a build that passed is remembered by its SHA-256 and not probed again.

use fastforth_plugin_build::PluginBuild;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn build(package: &str, features: &[&str]) -> PathBuf {
    PluginBuild::new(package, features)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn fastforth(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("fastforth runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(unix)]
#[test]
fn a_plugin_that_crashes_in_its_self_test_is_refused_and_the_cli_lives() {
    let plugin = build("fastforth-fixture-plugin", &["self-test-crashes"]);
    let cache = tempfile::tempdir().unwrap();
    let output = fastforth(&["plugin", "info", plugin.to_str().unwrap()], cache.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr).trim(),
        format!(
            "Error: {}: the probe process refused it: it was killed by signal 11 (SIGSEGV)",
            plugin.display()
        )
    );
    let shadows = cache.path().join("fastforth/plugins");
    let left: Vec<_> = std::fs::read_dir(&shadows)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        // The shared Rust runtime stays for the plugins to come.
        .filter(|e| !e.file_name().to_string_lossy().starts_with("libstd-"))
        .collect();
    assert!(
        left.is_empty(),
        "the refused build's copy is removed: {left:?}"
    );
}

/// An engine plugin whose self-test passes but whose `evaluate` export aborts is refused by
/// the probe, which runs a program through the engine's exports, and the CLI lives.
#[cfg(unix)]
#[test]
fn an_engine_whose_exports_crash_is_refused_although_its_self_test_passes() {
    let plugin = build("fastforth-forth-plugin", &["fault-abort-in-evaluate"]);
    let cache = tempfile::tempdir().unwrap();
    let plugin = plugin.to_str().unwrap();
    let output = fastforth(&["run", "--engine", plugin, "-e", "1 2 + ."], cache.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).ends_with(&format!(
            "Error: {plugin}: the probe process refused it: it was killed by signal 6 (SIGABRT)\n"
        )),
        "{}",
        text(&output.stderr)
    );
    assert!(output.stdout.is_empty());
}

/// The probe calls an example plugin's functions: one whose `add_numbers` fails although
/// its self-test passes is refused before the CLI calls anything.
#[test]
fn a_plugin_whose_functions_fail_is_refused_although_its_self_test_passes() {
    let plugin = build("fastforth-fixture-plugin", &["export-panics"]);
    let cache = tempfile::tempdir().unwrap();
    let plugin = plugin.to_str().unwrap();
    let output = fastforth(
        &["plugin", "call", plugin, "add_numbers", "2", "3"],
        cache.path(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let refusal = format!(
        "Error: {plugin}: self-test failed: calling its functions: plugin `fixture` 0.0.1 \
         panicked in `add_numbers`"
    );
    assert!(stderr.ends_with(&format!("{refusal}\n")), "{stderr}");
    assert!(output.stdout.is_empty());
}

/// A plugin whose self-test never returns costs the CLI the probe's 10 s, then is refused.
#[cfg(unix)]
#[test]
fn a_plugin_that_never_finishes_loading_is_refused_after_the_probes_timeout() {
    let plugin = build("fastforth-fixture-plugin", &["self-test-hangs"]);
    let cache = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let output = fastforth(&["plugin", "info", plugin.to_str().unwrap()], cache.path());
    assert!(started.elapsed() < std::time::Duration::from_secs(40));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr).trim(),
        format!(
            "Error: {}: the probe process refused it: it did not finish within 10 s",
            plugin.display()
        )
    );
}

#[test]
fn a_build_that_passed_its_probe_is_remembered_by_its_hash() {
    let plugin = build("fastforth-example-plugin", &[]);
    let cache = tempfile::tempdir().unwrap();
    let first = fastforth(&["plugin", "info", plugin.to_str().unwrap()], cache.path());
    assert!(first.status.success(), "{}", text(&first.stderr));
    let sha = text(&first.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("sha256:").map(|s| s.trim().to_owned()))
        .unwrap();
    let marker = cache.path().join("fastforth/plugins/probed").join(&sha);
    assert!(marker.is_file(), "no marker at {}", marker.display());
}

#[test]
fn a_refusal_found_by_the_probe_is_reported_with_its_specific_error() {
    let plugin = build("fastforth-fixture-plugin", &["self-test-fails"]);
    let cache = tempfile::tempdir().unwrap();
    let output = fastforth(&["plugin", "info", plugin.to_str().unwrap()], cache.path());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr).trim(),
        format!(
            "Error: {}: self-test failed: fixture: 2 + 2 gave 5",
            plugin.display()
        )
    );
}

#[cfg(unix)]
#[test]
fn a_build_the_probe_refused_is_never_opened_by_the_cli() {
    let plugin = build(
        "fastforth-fixture-plugin",
        &["self-test-fails-then-crashes"],
    );
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(["plugin", "info", plugin.to_str().unwrap()])
        .env("XDG_CACHE_HOME", cache.path())
        .env("FIXTURE_MARKER", cache.path().join("self-tested"))
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr).trim(),
        format!(
            "Error: {}: self-test failed: fixture: failed once",
            plugin.display()
        )
    );
}

#[test]
fn the_probe_subcommand_is_hidden_and_exits_3_on_a_refusal() {
    let cache = tempfile::tempdir().unwrap();
    let help = fastforth(&["--help"], cache.path());
    assert!(!text(&help.stdout).contains("__probe"));
    let missing = fastforth(&["__probe", "/no/such/plugin.so"], cache.path());
    assert_eq!(missing.status.code(), Some(3));
    assert_eq!(
        text(&missing.stderr).trim(),
        "error: /no/such/plugin.so: no such file"
    );
}
