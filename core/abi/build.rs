//! Records the toolchain this crate is built with: the `rustc --version` line and the file
//! name (and the path in the sysroot) of the target's shared Rust runtime
//! (`libstd-<hash>.so`, `.dylib` or `std-<hash>.dll`), which plugins built with
//! `-C prefer-dynamic` need.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    let version = rustc_output(&rustc, &["--version"]).unwrap_or_default();
    let lib_dir = rustc_output(&rustc, &["--print", "sysroot"]).map(|sysroot| {
        Path::new(&sysroot)
            .join("lib/rustlib")
            .join(&target)
            .join("lib")
    });
    let runtime = lib_dir.as_deref().and_then(runtime_file_name);
    let runtime_path = match (&lib_dir, &runtime) {
        (Some(dir), Some(name)) => dir.join(name).display().to_string(),
        _ => String::new(),
    };
    println!("cargo::rustc-env=FASTFORTH_RUSTC_VERSION={version}");
    println!(
        "cargo::rustc-env=FASTFORTH_RUNTIME_FILE_NAME={}",
        runtime.unwrap_or_default()
    );
    println!("cargo::rustc-env=FASTFORTH_TOOLCHAIN_RUNTIME={runtime_path}");
}

/// The first line `rustc` prints for `args`, trimmed.
fn rustc_output(rustc: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(rustc).args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.lines().next()?.trim().to_owned()).filter(|line| !line.is_empty())
}

/// The shared standard library in a target's library directory, if the toolchain ships one.
fn runtime_file_name(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| is_shared_std(name))
        .collect();
    names.sort();
    names.into_iter().next()
}

fn is_shared_std(name: &str) -> bool {
    (name.starts_with("libstd-") && (name.ends_with(".so") || name.ends_with(".dylib")))
        || (name.starts_with("std-") && name.ends_with(".dll"))
}
