//! The shared Rust runtime plugins link (`libstd-<hash>.so`, `.dylib`, `std-<hash>.dll`)
//! instead of each carrying its own static std. Before anything is opened, the plugin's
//! needed libraries are read from its bytes: one that needs a runtime other than the one of
//! the toolchain this host was built with ([`fastforth_abi::RUNTIME_FILE_NAME`]) is refused,
//! naming both runtimes and both compilers.
//!
//! A plugin finds its runtime through its own run path (`$ORIGIN`, `@loader_path`), but the
//! host opens a shadow copy in its cache directory, so the runtime found next to the plugin
//! is copied into the cache too (compared byte for byte, replaced by rename, once per cache
//! directory and process; a record of both files' identities next to the copy spares later
//! processes the comparison while neither file changed). The process then opens that copy once and never closes it: every
//! plugin of every version binds to this one runtime (the loader matches a needed name to a
//! library already open), so its statics, such as the standard output buffer, exist once
//! however many plugins come and go.

use crate::{PluginError, inspect, library, shadow};
use fastforth_abi::{RUNTIME_FILE_NAME, RUSTC_VERSION, TOOLCHAIN_RUNTIME_PATH};
pub use fastforth_toolchain::is_runtime_file_name as is_runtime_name;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The largest runtime file the host reads: the unstripped x86_64 libstd is 5.4 MB.
const MAX_RUNTIME_BYTES: u64 = 64 << 20;

/// The shared Rust runtime the library in `bytes` needs, if any, after checking that every
/// runtime it needs is the one this host runs plugins on, by name and not by a path;
/// `path` names the plugin in errors.
pub fn check_needed(path: &Path, bytes: &[u8]) -> Result<Option<String>, PluginError> {
    let needed = needed_libraries(bytes).map_err(|detail| PluginError::Malformed {
        path: path.into(),
        format: "shared library".to_owned(),
        detail,
    })?;
    // A name with a slash is opened as that path, never matched to the open runtime.
    let foreign = needed.iter().find(|name| {
        let file = name.rsplit(['/', '\\']).next().unwrap_or_default();
        is_runtime_name(file) && *name != RUNTIME_FILE_NAME
    });
    let Some(runtime) = foreign.cloned() else {
        let ours = needed.into_iter().find(|name| name == RUNTIME_FILE_NAME);
        return Ok(ours);
    };
    Err(PluginError::ForeignRuntime {
        path: path.into(),
        needed: runtime,
        needed_rustc: rustc_comment(bytes).unwrap_or_else(|| "rustc unknown".to_owned()),
        expected: RUNTIME_FILE_NAME.to_owned(),
        expected_rustc: RUSTC_VERSION.to_owned(),
    })
}

/// Makes the runtime `name` that the plugin at `source` needs available to its shadow copy
/// in `cache_dir`, and open in this process for good (see the module documentation).
pub fn provide(cache_dir: &Path, source: &Path, name: &str) -> Result<(), PluginError> {
    let copy = cache_dir.join(name);
    let mut placed = lock(&PLACED);
    if !placed.contains(&copy) || !copy.is_file() {
        place(cache_dir, source, name, &copy)?;
        placed.push(copy.clone());
    }
    drop(placed);
    pin(source, name, &copy)
}

/// Copies in a cache directory that this process has checked (one per cache directory).
static PLACED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The runtimes this process has opened: file name, path and library; never closed.
static PINNED: Mutex<Vec<Pinned>> = Mutex::new(Vec::new());

struct Pinned {
    name: String,
    path: PathBuf,
    _library: libloading::Library,
}

/// Where this process opened the runtime `name` from, if it has.
fn pinned_path(name: &str) -> Option<PathBuf> {
    let pinned = lock(&PINNED);
    let found = pinned.iter().find(|pinned| pinned.name == name);
    found.map(|pinned| pinned.path.clone())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Copies the runtime for the plugin at `source` to `copy` (see [`find`]), unless an
/// identical file is there.
fn place(cache_dir: &Path, source: &Path, name: &str, copy: &Path) -> Result<(), PluginError> {
    let toolchain = Path::new(TOOLCHAIN_RUNTIME_PATH);
    let Some(found) = find(source, name, copy, Some(toolchain))? else {
        return Ok(());
    };
    let stamp = Stamp::of(&found, copy);
    if stamp.as_ref().is_some_and(|stamp| stamp.is_recorded(copy)) {
        return Ok(());
    }
    let bytes = inspect::read_plugin_file(&found, MAX_RUNTIME_BYTES)?;
    crate::elf::check(&bytes).map_err(|detail| PluginError::Malformed {
        path: found.clone(),
        format: "Rust runtime".to_owned(),
        detail,
    })?;
    if !shadow::holds(copy, &bytes) {
        std::fs::create_dir_all(cache_dir)
            .and_then(|()| shadow::write_by_rename(cache_dir, copy, &bytes, None))
            .map_err(|error| PluginError::Cache {
                path: cache_dir.into(),
                error,
            })?;
    }
    // Best effort: without a record, the next process compares the bytes again.
    if let Some(stamp) = Stamp::of(&found, copy) {
        stamp.record(cache_dir, copy);
    }
    Ok(())
}

/// What stands for "the runtime at the source and its copy in the cache were found equal,
/// byte for byte, and structurally checked": each file's path, length, modification time
/// and (on Unix) device, inode and change time. Kept next to the copy (`<copy>.checked`),
/// it spares each later process reading both 5 MB files while neither was replaced or
/// rewritten since (a rewrite changes the change time, which no user can set back).
#[derive(Debug, PartialEq, Eq)]
struct Stamp(String);

impl Stamp {
    /// The stamp of the two files as they are now, when both can be looked at.
    fn of(source: &Path, copy: &Path) -> Option<Stamp> {
        let source = source.canonicalize().ok()?;
        Some(Stamp(format!(
            "{}\n{}\n{}\n",
            source.display(),
            file_identity(&source)?,
            file_identity(copy)?
        )))
    }

    fn path(copy: &Path) -> PathBuf {
        copy.with_extension(format!(
            "{}.checked",
            copy.extension().unwrap_or_default().to_string_lossy()
        ))
    }

    /// Whether the record next to `copy` is this stamp.
    fn is_recorded(&self, copy: &Path) -> bool {
        std::fs::read(Self::path(copy)).is_ok_and(|recorded| recorded == self.0.as_bytes())
    }

    fn record(&self, cache_dir: &Path, copy: &Path) {
        let _ = shadow::write_by_rename(cache_dir, &Self::path(copy), self.0.as_bytes(), None);
    }
}

/// A file's length, modification time and, on Unix, device, inode and change time.
fn file_identity(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata.modified().ok()?;
    #[cfg(unix)]
    let unix = {
        use std::os::unix::fs::MetadataExt;
        format!(
            " {} {} {}.{}",
            metadata.dev(),
            metadata.ino(),
            metadata.ctime(),
            metadata.ctime_nsec()
        )
    };
    #[cfg(not(unix))]
    let unix = String::new();
    Some(format!("{} {modified:?}{unix}", metadata.len()))
}

/// Where the runtime `name` of the plugin at `source` is: next to it; else next to this
/// executable (an install layout); else `None` when a copy is already in the cache at `copy`;
/// else the file this process opened it from, if still there (the plugin would bind to
/// that runtime anyway);
/// else in the sysroot of the toolchain that built this host (`toolchain`), while it is
/// installed (a host built from source).
fn find(
    source: &Path,
    name: &str,
    copy: &Path,
    toolchain: Option<&Path>,
) -> Result<Option<PathBuf>, PluginError> {
    let dir = match source.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(name)));
    let installed = [Some(dir.join(name)), beside_exe]
        .into_iter()
        .flatten()
        .find(|path| path.is_file());
    if installed.is_none() && copy.is_file() {
        return Ok(None);
    }
    let from_toolchain = toolchain
        .filter(|path| path.file_name().is_some_and(|file| file == name) && path.is_file())
        .map(Path::to_path_buf);
    let found = installed
        .or_else(|| pinned_path(name).filter(|path| path.is_file()))
        .or(from_toolchain);
    match found {
        Some(path) => Ok(Some(path)),
        None => Err(PluginError::RuntimeMissing {
            path: source.into(),
            runtime: name.to_owned(),
            dir: dir.into(),
        }),
    }
}

/// Opens the runtime at `copy` once per process and keeps it open.
fn pin(source: &Path, name: &str, copy: &Path) -> Result<(), PluginError> {
    let mut pinned = lock(&PINNED);
    if pinned.iter().any(|pinned| pinned.name == name) {
        return Ok(());
    }
    // SAFETY: `copy` is the runtime of this host's own toolchain by name (checked by
    // `check_needed`), structurally checked when it was placed in the cache directory the
    // host owns; opening it runs std's initialisers, which every plugin needing it runs too.
    let opened = unsafe { library::open(copy) }.map_err(|error| PluginError::Open {
        path: source.into(),
        message: format!("cannot open its Rust runtime {}: {error}", copy.display()),
    })?;
    pinned.push(Pinned {
        name: name.to_owned(),
        path: copy.to_path_buf(),
        _library: opened,
    });
    Ok(())
}

/// The file names of the libraries `bytes` needs: ELF `DT_NEEDED`, PE imported DLLs,
/// Mach-O dylibs (their last path component, `@rpath/` and all dropped).
pub fn needed_libraries(bytes: &[u8]) -> Result<Vec<String>, String> {
    use object::Object;
    if matches!(
        object::FileKind::parse(bytes),
        Ok(object::FileKind::Elf32 | object::FileKind::Elf64)
    ) {
        return crate::elf::needed_libraries(bytes);
    }
    let file = object::File::parse(bytes).map_err(|error| error.to_string())?;
    let imports = file.imports().map_err(|error| error.to_string())?;
    let mut names: Vec<String> = imports
        .iter()
        .map(|import| String::from_utf8_lossy(import.library()).into_owned())
        .map(|library| library.rsplit('/').next().unwrap_or_default().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The compiler named in an ELF file's `.comment` section ("rustc version 1.95.0 (...)"
/// becomes "rustc 1.95.0 (...)"), if it has one.
pub fn rustc_comment(bytes: &[u8]) -> Option<String> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).ok()?;
    let comment = file.section_by_name(".comment")?.data().ok()?;
    comment
        .split(|&b| b == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .find_map(|entry| entry.strip_prefix("rustc version "))
        .map(|version| format!("rustc {version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_names_are_std_libraries_of_every_format() {
        assert!(is_runtime_name("libstd-d1237ef7159db0a2.so"));
        assert!(is_runtime_name("libstd-09bec66e14073fe6.dylib"));
        assert!(is_runtime_name("std-b77b9186e04ca0d3.dll"));
        assert!(!is_runtime_name("libstdc++.so.6"));
        assert!(!is_runtime_name("libc.so.6"));
    }

    #[test]
    fn a_runtime_found_nowhere_is_missing_naming_where_it_was_looked_for() {
        let plugin_dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let source = plugin_dir.path().join("libalone.so");
        let name = "libstd-0000000000000000.so";
        let error = find(&source, name, &cache.path().join(name), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: needs the Rust runtime `{name}`, which is neither next to it in {} nor next \
                 to this program nor in the plugin cache",
                source.display(),
                plugin_dir.path().display()
            )
        );
        std::fs::write(plugin_dir.path().join(name), b"runtime").unwrap();
        let found = find(&source, name, &cache.path().join(name), None).unwrap();
        assert_eq!(found, Some(plugin_dir.path().join(name)));
    }

    #[test]
    fn a_plugin_named_without_a_directory_is_looked_for_in_the_current_one() {
        let cache = tempfile::tempdir().unwrap();
        let name = "libstd-0000000000000001.so";
        let error = find(
            Path::new("libalone.so"),
            name,
            &cache.path().join(name),
            None,
        );
        let message = error.unwrap_err().to_string();
        assert!(message.contains("neither next to it in . nor"), "{message}");
    }

    #[test]
    fn a_host_built_from_source_finds_its_toolchains_runtime() {
        let plugin_dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let toolchain = plugin_dir.path().join("sysroot");
        std::fs::create_dir(&toolchain).unwrap();
        let name = "libstd-1111111111111111.so";
        std::fs::write(toolchain.join(name), b"runtime").unwrap();
        let source = plugin_dir.path().join("libalone.so");
        let copy = cache.path().join(name);
        let found = find(&source, name, &copy, Some(&toolchain.join(name))).unwrap();
        assert_eq!(found, Some(toolchain.join(name)));
        std::fs::write(&copy, b"runtime").unwrap();
        assert_eq!(
            find(&source, name, &copy, None).unwrap(),
            None,
            "the cached copy serves"
        );
    }

    #[test]
    fn a_runtime_found_equal_is_read_again_only_once_a_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (source, copy) = (dir.path().join("beside.so"), dir.path().join("copy.so"));
        std::fs::write(&source, b"runtime").unwrap();
        std::fs::write(&copy, b"runtime").unwrap();
        let stamp = Stamp::of(&source, &copy).unwrap();
        assert!(!stamp.is_recorded(&copy), "nothing recorded yet");
        stamp.record(dir.path(), &copy);
        assert!(Stamp::of(&source, &copy).unwrap().is_recorded(&copy));
        assert!(dir.path().join("copy.so.checked").is_file());

        std::fs::write(&source, b"RUNTIME").unwrap();
        assert!(
            !Stamp::of(&source, &copy).unwrap().is_recorded(&copy),
            "a source rewritten in place is compared again"
        );
        stamp.record(dir.path(), &copy);
        let replaced = dir.path().join("new.so");
        std::fs::write(&replaced, b"runtime").unwrap();
        std::fs::rename(&replaced, &copy).unwrap();
        assert!(
            !Stamp::of(&source, &copy).unwrap().is_recorded(&copy),
            "a replaced copy is compared again"
        );
        assert!(Stamp::of(&dir.path().join("gone.so"), &copy).is_none());
    }

    #[test]
    fn this_host_knows_its_runtime_and_compiler() {
        assert!(RUSTC_VERSION.starts_with("rustc "), "{RUSTC_VERSION}");
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert!(
                RUNTIME_FILE_NAME.starts_with("libstd-"),
                "{RUNTIME_FILE_NAME}"
            );
            assert!(RUNTIME_FILE_NAME.ends_with(".so"), "{RUNTIME_FILE_NAME}");
        }
    }
}
