//! The Rust toolchain's shared runtime (`libstd-<hash>`): where the toolchain keeps it, the
//! `rustc` flags that link a cdylib against it and let the loader find it in the library's
//! own directory, and its copy beside a built plugin. It knows nothing of this workspace, so
//! the shipped `fastforth compile` and the build tools share it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the shared runtime could not be found or copied.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the Rust toolchain has no shared runtime for {target}: {detail}")]
    Missing { target: String, detail: String },
    #[error("cannot copy the Rust runtime {from} to {to}: {source}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
}

/// The `rustc` flags that link a cdylib for `target` (the host when `None`) against the
/// shared Rust runtime and let the loader find it in the library's own directory.
pub fn shared_runtime_flags(target: Option<&str>) -> Vec<String> {
    let mut flags = vec!["-C".to_owned(), "prefer-dynamic".to_owned()];
    let os = target_os(target);
    let origin = match os {
        "macos" => Some("@loader_path"),
        "windows" => None,
        _ => Some("$ORIGIN"),
    };
    if let Some(origin) = origin {
        flags.push("-C".to_owned());
        flags.push(format!("link-arg=-Wl,-rpath,{origin}"));
    }
    flags
}

/// The toolchain's shared Rust runtime for `target` (the host when `None`):
/// `<sysroot>/lib/rustlib/<triple>/lib/libstd-<hash>.so` (`.dylib`; `std-<hash>.dll`).
pub fn runtime_library(target: Option<&str>) -> Result<PathBuf, RuntimeError> {
    let triple = match target {
        Some(triple) => triple.to_owned(),
        None => host_triple()?,
    };
    let missing = |detail: String| RuntimeError::Missing {
        target: triple.clone(),
        detail,
    };
    let sysroot = rustc_line(&["--print", "sysroot"]).map_err(missing)?;
    let dir = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(&triple)
        .join("lib");
    runtime_in(&dir).map_err(missing)
}

/// The shared Rust standard library in a sysroot's library directory for one triple.
pub fn runtime_in(lib_dir: &Path) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(lib_dir)
        .map_err(|error| format!("cannot list {}: {error}", lib_dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(is_runtime_file_name)
        })
        .collect();
    found.sort();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no libstd-*.so, .dylib or std-*.dll in {}",
            lib_dir.display()
        )),
        many => Err(format!(
            "more than one shared std in {}: {many:?}",
            lib_dir.display()
        )),
    }
}

/// Whether `name` is the file name of a shared Rust standard library.
pub fn is_runtime_file_name(name: &str) -> bool {
    (name.starts_with("libstd-") && (name.ends_with(".so") || name.ends_with(".dylib")))
        || (name.starts_with("std-") && name.ends_with(".dll"))
}

/// Copies the runtime for `target` into `dir` unless an identical copy is there; the copy
/// is written under a temporary name and renamed, so a concurrent reader never sees half.
pub fn copy_runtime_into(target: Option<&str>, dir: &Path) -> Result<PathBuf, RuntimeError> {
    let from = runtime_library(target)?;
    let to = dir.join(from.file_name().expect("a runtime path names a file"));
    let copy_error = |source| RuntimeError::Copy {
        from: from.clone(),
        to: to.clone(),
        source,
    };
    let bytes = std::fs::read(&from).map_err(copy_error)?;
    if holds(&to, &bytes) {
        return Ok(to);
    }
    // One name per call: threads of one process copying at once must not share a file.
    static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let copy = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = dir.join(format!(".runtime-{}-{copy}.tmp", std::process::id()));
    std::fs::write(&temp, &bytes).map_err(copy_error)?;
    std::fs::rename(&temp, &to).map_err(copy_error)?;
    Ok(to)
}

/// Whether `path` is a regular file holding exactly `bytes`. Anything else (a named pipe,
/// which would wait for a writer forever, or a file of another size) is not read.
pub fn holds(path: &Path, bytes: &[u8]) -> bool {
    let metadata = std::fs::symlink_metadata(path);
    metadata.is_ok_and(|found| found.is_file() && found.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|existing| existing == bytes)
}

/// The triple `rustc` builds for by default.
fn host_triple() -> Result<String, RuntimeError> {
    let missing = |detail| RuntimeError::Missing {
        target: "the host".to_owned(),
        detail,
    };
    let verbose = rustc_output(&["-vV"]).map_err(missing)?;
    verbose
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| missing("`rustc -vV` names no host triple".to_owned()))
}

/// The first line `rustc` (`$RUSTC` when set) prints for `args`.
fn rustc_line(args: &[&str]) -> Result<String, String> {
    let text = rustc_output(args)?;
    text.lines()
        .next()
        .map(|line| line.trim().to_owned())
        .ok_or_else(|| format!("`rustc {}` printed nothing", args.join(" ")))
}

fn rustc_output(args: &[&str]) -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run `{rustc}`: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{rustc} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("`{rustc}` printed non-UTF-8"))
}

/// "windows", "macos" or "linux" for `target` (the host's OS when `None`).
pub fn target_os(target: Option<&str>) -> &'static str {
    match target {
        Some(triple) if triple.contains("windows") => "windows",
        Some(triple) if triple.contains("apple") => "macos",
        Some(_) => "linux",
        None => std::env::consts::OS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_is_the_one_shared_std_of_the_sysroot() {
        let dir = std::env::temp_dir().join(format!(
            "fastforth-toolchain-runtime-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "libstd-abc.rlib",
            "libcore-abc.rlib",
            "librustc_std_workspace.so",
        ] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let error = runtime_in(&dir).unwrap_err();
        assert!(
            error.starts_with("no libstd-*.so, .dylib or std-*.dll in "),
            "{error}"
        );
        std::fs::write(dir.join("libstd-abc.so"), b"").unwrap();
        assert_eq!(runtime_in(&dir).unwrap(), dir.join("libstd-abc.so"));
        std::fs::write(dir.join("libstd-def.so"), b"").unwrap();
        let error = runtime_in(&dir).unwrap_err();
        assert!(error.starts_with("more than one shared std in "), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn threads_copying_the_runtime_at_once_all_succeed_with_a_whole_copy() {
        let dir =
            std::env::temp_dir().join(format!("fastforth-toolchain-copies-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let runtime = std::fs::read(runtime_library(None).unwrap()).unwrap();
        let copies: Vec<_> = std::thread::scope(|scope| {
            let copiers: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        (0..4)
                            .map(|_| {
                                let copy = copy_runtime_into(None, &dir)?;
                                // Gone is fine: another thread removed it.
                                let whole = std::fs::read(&copy).map_or(true, |b| b == runtime);
                                let _ = std::fs::remove_file(&copy);
                                Ok(whole)
                            })
                            .collect::<Result<Vec<bool>, RuntimeError>>()
                    })
                })
                .collect();
            copiers.into_iter().map(|c| c.join().unwrap()).collect()
        });
        std::fs::remove_dir_all(&dir).unwrap();
        for copied in copies {
            let copied = copied.unwrap_or_else(|error| panic!("{error}"));
            assert!(copied.iter().all(|&whole| whole), "a torn copy");
        }
    }

    /// A named pipe planted where the runtime goes is replaced, not waited on.
    #[cfg(unix)]
    #[test]
    fn a_named_pipe_where_the_runtime_goes_is_replaced_not_waited_on() {
        let dir =
            std::env::temp_dir().join(format!("fastforth-toolchain-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let runtime = runtime_library(None).unwrap();
        let planted = dir.join(runtime.file_name().unwrap());
        let made = Command::new("mkfifo").arg(&planted).status().unwrap();
        assert!(made.success(), "mkfifo {}", planted.display());
        let (sender, receiver) = std::sync::mpsc::channel();
        let target = dir.clone();
        std::thread::spawn(move || {
            sender.send(copy_runtime_into(None, &target).map_err(|e| e.to_string()))
        });
        let copied = receiver
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("copying the runtime over a named pipe hangs");
        assert_eq!(copied.unwrap(), planted);
        assert_eq!(
            std::fs::read(&planted).unwrap(),
            std::fs::read(&runtime).unwrap()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
