//! The sources of `fastforth-abi` and `fastforth-native-runtime`, embedded in the compiler so
//! that a generated crate builds without the FastForth checkout: they are written once per
//! version of their text into the cache, where the generated crates name them by a relative
//! path.

use crate::AotError;
use std::path::Path;

/// One crate's files: its manifest and its sources, by path within the crate.
struct CrateSources {
    dir: &'static str,
    manifest: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// `fastforth-abi`: no dependencies.
static ABI: CrateSources = CrateSources {
    dir: "abi",
    manifest: concat!(
        r#"[package]
name = "fastforth-abi"
version = ""#,
        env!("CARGO_PKG_VERSION"),
        r#""
edition = "2024"
publish = false

[dependencies]
"#
    ),
    files: &[
        ("src/lib.rs", include_str!("../../abi/src/lib.rs")),
        ("src/tables.rs", include_str!("../../abi/src/tables.rs")),
        ("src/layout.rs", include_str!("../../abi/src/layout.rs")),
        (
            "src/signatures.rs",
            include_str!("../../abi/src/signatures.rs"),
        ),
        ("src/guard.rs", include_str!("../../abi/src/guard.rs")),
        ("src/cells.rs", include_str!("../../abi/src/cells.rs")),
        ("src/throw.rs", include_str!("../../abi/src/throw.rs")),
        ("build.rs", include_str!("../../abi/build.rs")),
    ],
};

/// `fastforth-native-runtime`: the ABI next to it, and the dependencies of its own manifest
/// (a test holds them equal).
static RUNTIME: CrateSources = CrateSources {
    dir: "native-runtime",
    manifest: concat!(
        r#"[package]
name = "fastforth-native-runtime"
version = ""#,
        env!("CARGO_PKG_VERSION"),
        r#""
edition = "2024"
publish = false

[dependencies]
fastforth-abi = { path = "../abi" }
libc = "0.2"
"#
    ),
    files: &[
        (
            "src/lib.rs",
            include_str!("../../native-runtime/src/lib.rs"),
        ),
        (
            "src/arith.rs",
            include_str!("../../native-runtime/src/arith.rs"),
        ),
        (
            "src/executable.rs",
            include_str!("../../native-runtime/src/executable.rs"),
        ),
        (
            "src/output.rs",
            include_str!("../../native-runtime/src/output.rs"),
        ),
        (
            "src/pictured.rs",
            include_str!("../../native-runtime/src/pictured.rs"),
        ),
        (
            "src/worker.rs",
            include_str!("../../native-runtime/src/worker.rs"),
        ),
    ],
};

static CRATES: [&CrateSources; 2] = [&ABI, &RUNTIME];

/// Every manifest and source text, in a fixed order (for the cache key).
pub(crate) fn texts() -> impl Iterator<Item = &'static str> {
    CRATES.into_iter().flat_map(|krate| {
        std::iter::once(krate.manifest).chain(krate.files.iter().map(|(_, text)| *text))
    })
}

/// The directory, within the cache, that holds this version of the sources.
pub(crate) fn dir_name() -> String {
    format!(
        "runtime-{:016x}",
        crate::files::fnv1a(texts().map(str::as_bytes))
    )
}

/// The path of the ABI (`"abi"`) or runtime (`"native-runtime"`) crate as a generated crate
/// in the cache names it.
pub(crate) fn relative_path(krate: &str) -> String {
    format!("../{}/{krate}", dir_name())
}

/// Writes the sources into `cache_dir` unless they are there: files that exist keep their
/// time stamps, so cargo does not rebuild the runtime for each program.
pub(crate) fn write(cache_dir: &Path) -> Result<(), AotError> {
    let root = cache_dir.join(dir_name());
    for krate in CRATES {
        let dir = root.join(krate.dir);
        let manifest = ("Cargo.toml", krate.manifest);
        for (path, text) in std::iter::once(manifest).chain(krate.files.iter().copied()) {
            let path = dir.join(path);
            if !path.is_file() {
                crate::files::write_atomically(&path, text.as_bytes())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Every file of a crate's directory but its manifest, by path within the crate.
    fn files_in(dir: &Path, under: &Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("a crate directory") {
            let path = entry.expect("a directory entry").path();
            let relative = path.strip_prefix(under).expect("below the crate");
            if path.is_dir() {
                files_in(&path, under, found);
            } else if relative != Path::new("Cargo.toml") {
                let text = std::fs::read_to_string(&path).expect("a text file");
                found.push((relative.to_string_lossy().into_owned(), text));
            }
        }
    }

    /// A file missing here (a new module, a build script) would be missing from every
    /// generated crate's build, and a plugin built from an old text would be served from
    /// the cache as new.
    #[test]
    fn every_file_of_the_runtime_and_the_abi_is_embedded_under_its_own_path() {
        for krate in CRATES {
            let dir = core_dir().join(krate.dir);
            let mut found = Vec::new();
            files_in(&dir, &dir, &mut found);
            for (name, text) in &found {
                assert!(
                    krate.files.contains(&(name.as_str(), text.as_str())),
                    "core/{}/{name} is not embedded (as it is) in runtime_sources.rs",
                    krate.dir
                );
            }
            assert_eq!(found.len(), krate.files.len(), "{}: {found:?}", krate.dir);
        }
    }

    /// The embedded manifests depend on what the crates' own manifests depend on.
    #[test]
    fn the_embedded_manifests_name_the_real_dependencies() {
        for krate in CRATES {
            let real = std::fs::read_to_string(core_dir().join(krate.dir).join("Cargo.toml"))
                .expect("a manifest");
            let dependencies = real
                .split_once("[dependencies]\n")
                .map_or("", |(_, rest)| rest.split("\n[").next().unwrap_or(""));
            for line in dependencies.lines().filter(|line| !line.trim().is_empty()) {
                let expected = match line.split_once(".workspace = true") {
                    Some((name, _)) => format!("{name} = {{ path = \"../abi\" }}"),
                    None => line.to_owned(),
                };
                assert!(
                    krate.manifest.lines().any(|emitted| emitted == expected),
                    "{}: `{line}` is not in the embedded manifest:\n{}",
                    krate.dir,
                    krate.manifest
                );
            }
        }
    }

    #[test]
    fn the_sources_are_written_once_and_kept() {
        let cache = std::env::temp_dir().join(format!("ff-runtime-sources-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        write(&cache).expect("written");
        let lib = cache.join(dir_name()).join("native-runtime/src/lib.rs");
        assert_eq!(std::fs::read_to_string(&lib).unwrap(), RUNTIME.files[0].1);
        let manifest = cache.join(dir_name()).join("abi/Cargo.toml");
        assert_eq!(std::fs::read_to_string(&manifest).unwrap(), ABI.manifest);
        let stamp = std::fs::metadata(&lib).unwrap().modified().unwrap();
        write(&cache).expect("written again");
        assert_eq!(std::fs::metadata(&lib).unwrap().modified().unwrap(), stamp);
        std::fs::remove_dir_all(&cache).unwrap();
    }
}
