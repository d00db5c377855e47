//! `fastforth-load-check FILE...`: loads each plugin file through the host's own loader
//! (structural check, shadow copy, `dlopen`, descriptor validation, self-test) and calls
//! it, printing one line per file. `cargo xtask build-all --load-check` builds this program
//! for every triple that can run here and runs it natively, under qemu-user or under Wine.
//! It knows the plugin kinds the host knows, and nothing of targets or cargo.
//!
//! Output, one line per file, then the exit status (0 all loaded, 1 one failed, 2 usage):
//!
//! ```text
//! PASS <file> <name> <version> add_numbers(5, 3) = 8, fibonacci(20) = 10946
//! SKIP <file> <why: a kind this checker has no calls for, after the host validated the rest>
//! FAIL <file> <reason>
//! ```

use fastforth_host::{Example, Loader, PluginError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        eprintln!("usage: fastforth-load-check PLUGIN_FILE...");
        return ExitCode::from(2);
    }
    let cache = std::env::temp_dir().join(format!("fastforth-load-check-{}", std::process::id()));
    let loader = Loader::new(&cache);
    let mut failed = false;
    for file in &files {
        match load_and_call(&loader, file) {
            Ok(summary) => println!("PASS {} {summary}", file.display()),
            Err(Outcome::Skip(why)) => println!("SKIP {} {why}", file.display()),
            Err(Outcome::Fail(reason)) => {
                failed = true;
                println!("FAIL {} {reason}", file.display());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&cache);
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Why a file did not pass.
enum Outcome {
    /// Opened and validated up to its kind, which this checker has no calls for.
    Skip(String),
    Fail(String),
}

/// Loads `file` as the kind it declares and checks the answers of its functions.
fn load_and_call(loader: &Loader, file: &Path) -> Result<String, Outcome> {
    let failed = |error: PluginError| Outcome::Fail(error.to_string());
    match loader.load::<Example>(file) {
        Ok(plugin) => {
            let sum = plugin.add_numbers(5, 3).map_err(failed)?;
            let fib = plugin.fibonacci(20).map_err(failed)?;
            if (sum, fib) != (8, 10946) {
                return Err(Outcome::Fail(format!(
                    "wrong answers: add_numbers(5, 3) = {sum} (expected 8), fibonacci(20) = {fib} (expected 10946)"
                )));
            }
            Ok(format!(
                "{} {} add_numbers(5, 3) = {sum}, fibonacci(20) = {fib}",
                plugin.name(),
                plugin.version()
            ))
        }
        Err(PluginError::WrongKind { found, .. }) => Err(Outcome::Skip(format!(
            "opened and validated (magic, ABI version, layout hash), but this checker has no calls for kind {found}"
        ))),
        Err(error) => Err(failed(error)),
    }
}
