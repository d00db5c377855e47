//! Shared test support: plugin builds (each built once per test process) and a fresh loader.
#![allow(dead_code)]

use fastforth_host::Loader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Builds `package` with `features` (release) once per test process.
pub fn built(package: &str, features: &[&str]) -> PathBuf {
    fastforth_plugin_build::built_once(package, features)
}

pub fn example_v1() -> PathBuf {
    built("fastforth-example-plugin", &[])
}

pub fn example_v2() -> PathBuf {
    built("fastforth-example-plugin", &["v2"])
}

/// The fixture plugin with one fault, named by its cargo feature.
pub fn fixture(fault: &str) -> PathBuf {
    built("fastforth-fixture-plugin", &[fault])
}

/// The fixture plugin with the faults named by `faults`.
pub fn fixture_with(faults: &[&str]) -> PathBuf {
    built("fastforth-fixture-plugin", faults)
}

/// A loader with a cache directory of its own, removed with the returned guard.
pub fn fresh_loader() -> (tempfile::TempDir, Arc<Loader>) {
    let dir = tempfile::tempdir().unwrap();
    let loader = Arc::new(Loader::new(dir.path().join("cache")));
    (dir, loader)
}

/// Copies `from` to `to` the way a build tool replaces a file: new content at the same path.
pub fn replace_file(from: &Path, to: &Path) {
    let temp = to.with_extension("tmp");
    std::fs::copy(from, &temp).unwrap();
    std::fs::rename(&temp, to).unwrap();
    copy_runtime_beside(from, to);
}

/// Copies the Rust runtime that sits next to the plugin `from` next to `to`, as a build
/// tool or an installer puts a plugin's runtime beside it.
pub fn copy_runtime_beside(from: &Path, to: &Path) {
    let runtime = from.with_file_name(fastforth_abi::RUNTIME_FILE_NAME);
    if runtime.is_file() {
        std::fs::copy(
            &runtime,
            to.with_file_name(fastforth_abi::RUNTIME_FILE_NAME),
        )
        .unwrap();
    }
}

/// How many mappings of `path` this process has (Linux only; `None` elsewhere).
pub fn mapped_count(path: &Path) -> Option<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let needle = path.to_str()?;
    Some(maps.lines().filter(|line| line.ends_with(needle)).count())
}

/// The file the `slow-shutdown` fixture's shutdown hooks of this process log to.
pub fn shutdown_log_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "fastforth-fixture-shutdown-{}.log",
        std::process::id()
    ))
}

/// What they have logged so far.
pub fn shutdown_log() -> String {
    std::fs::read_to_string(shutdown_log_path()).unwrap_or_default()
}
