//! Builds this workspace's plugin crates with cargo and says where the artifact is.
//!
//! Each build variant (a package plus a feature set, optionally for another target) gets a
//! target directory of its own under `target/plugin-builds/`, so two variants never
//! overwrite each other's artifact and concurrent test processes can share the results:
//! cargo's own lock serialises them and an up-to-date variant rebuilds in milliseconds.
//! It knows nothing of loading or validating plugins.
//!
//! Plugins link the toolchain's shared Rust runtime (`-C prefer-dynamic`) instead of each
//! carrying a static copy of std, and find it through an `$ORIGIN` (`@loader_path`) run
//! path: the runtime is copied next to every artifact ([`runtime_library`] says where the
//! toolchain keeps it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// A plugin crate of this workspace, built with a set of features.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginBuild {
    /// Cargo package name, e.g. `fastforth-example-plugin`.
    pub package: String,
    /// Cargo features to enable.
    pub features: Vec<String>,
    /// Target triple, or `None` for the host.
    pub target: Option<String>,
}

/// Why a plugin could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot run `{cargo}` to build {package}: {source} (is a Rust toolchain installed?)")]
    CargoMissing {
        cargo: String,
        package: String,
        source: std::io::Error,
    },
    #[error("cargo failed to build {package} (features: {features}):\n{stderr}")]
    Failed {
        package: String,
        features: String,
        stderr: String,
    },
    #[error("cargo built {package} but {path} is missing")]
    ArtifactMissing { package: String, path: PathBuf },
    #[error("the Rust toolchain has no shared runtime for {target}: {detail}")]
    RuntimeMissing { target: String, detail: String },
    #[error("cannot copy the Rust runtime {from} to {to}: {source}")]
    RuntimeCopy {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
}

impl PluginBuild {
    /// The release build of `package` with `features`, for the host.
    pub fn new(package: &str, features: &[&str]) -> PluginBuild {
        PluginBuild {
            package: package.to_owned(),
            features: features.iter().map(|f| (*f).to_owned()).collect(),
            target: None,
        }
    }

    /// The same build for another target triple.
    pub fn for_target(mut self, triple: &str) -> PluginBuild {
        self.target = Some(triple.to_owned());
        self
    }

    /// A directory name unique to this package, feature set and target.
    pub fn variant_name(&self) -> String {
        let mut name = self.package.clone();
        for feature in &self.features {
            name.push('+');
            name.push_str(feature);
        }
        if let Some(target) = &self.target {
            name.push('@');
            name.push_str(target);
        }
        name
    }

    /// Where this variant's artifact is once built.
    pub fn artifact_path(&self) -> PathBuf {
        let mut dir = workspace_root()
            .join("target/plugin-builds")
            .join(self.variant_name());
        if let Some(target) = &self.target {
            dir.push(target);
        }
        dir.join("release")
            .join(library_file_name(&self.package, self.target.as_deref()))
    }

    /// Builds the variant (release profile) against the shared Rust runtime, copies that
    /// runtime next to the artifact and returns the artifact's path.
    pub fn build(&self) -> Result<PathBuf, BuildError> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let target_dir = workspace_root()
            .join("target/plugin-builds")
            .join(self.variant_name());
        let mut command = Command::new(&cargo);
        command
            .current_dir(workspace_root())
            .args([
                "rustc",
                "--lib",
                "--release",
                "--quiet",
                "--package",
                &self.package,
            ])
            // rustc cannot link a shared std into an LTO build; a plugin is its own crate
            // and the small ones it depends on, so little is lost.
            .args(["--config", "profile.release.lto=false"])
            .arg("--target-dir")
            .arg(&target_dir);
        if !self.features.is_empty() {
            command.args(["--features", &self.features.join(",")]);
        }
        if let Some(target) = &self.target {
            command.args(["--target", target]);
        }
        command
            .arg("--")
            .args(shared_runtime_flags(self.target.as_deref()));
        let output = command
            .output()
            .map_err(|source| BuildError::CargoMissing {
                cargo: cargo.clone(),
                package: self.package.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(BuildError::Failed {
                package: self.package.clone(),
                features: self.features.join(","),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let path = self.artifact_path();
        if !path.is_file() {
            return Err(BuildError::ArtifactMissing {
                package: self.package.clone(),
                path,
            });
        }
        let dir = path.parent().expect("an artifact path has a directory");
        copy_runtime_into(self.target.as_deref(), dir)?;
        Ok(path)
    }
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
pub fn runtime_library(target: Option<&str>) -> Result<PathBuf, BuildError> {
    let triple = match target {
        Some(triple) => triple.to_owned(),
        None => host_triple()?,
    };
    let missing = |detail: String| BuildError::RuntimeMissing {
        target: triple.clone(),
        detail,
    };
    let sysroot = rustc_line(&["--print", "sysroot"]).map_err(missing)?;
    let dir = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(&triple)
        .join("lib");
    let entries = std::fs::read_dir(&dir)
        .map_err(|error| missing(format!("cannot list {}: {error}", dir.display())))?;
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
    found.into_iter().next().ok_or_else(|| {
        missing(format!(
            "no libstd-*.so, .dylib or std-*.dll in {}",
            dir.display()
        ))
    })
}

/// Whether `name` is the file name of a shared Rust standard library.
pub fn is_runtime_file_name(name: &str) -> bool {
    (name.starts_with("libstd-") && (name.ends_with(".so") || name.ends_with(".dylib")))
        || (name.starts_with("std-") && name.ends_with(".dll"))
}

/// Copies the runtime for `target` into `dir` unless an identical copy is there; the copy
/// is written under a temporary name and renamed, so a concurrent reader never sees half.
pub fn copy_runtime_into(target: Option<&str>, dir: &Path) -> Result<PathBuf, BuildError> {
    let from = runtime_library(target)?;
    let to = dir.join(from.file_name().expect("a runtime path names a file"));
    let copy_error = |source| BuildError::RuntimeCopy {
        from: from.clone(),
        to: to.clone(),
        source,
    };
    let bytes = std::fs::read(&from).map_err(copy_error)?;
    if std::fs::read(&to).is_ok_and(|existing| existing == bytes) {
        return Ok(to);
    }
    let temp = dir.join(format!(".runtime-{}.tmp", std::process::id()));
    std::fs::write(&temp, &bytes).map_err(copy_error)?;
    std::fs::rename(&temp, &to).map_err(copy_error)?;
    Ok(to)
}

/// The triple `rustc` builds for by default.
fn host_triple() -> Result<String, BuildError> {
    let missing = |detail| BuildError::RuntimeMissing {
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

/// Builds `package` with `features` (release) at most once per process: later calls with
/// the same variant return the first build's artifact. Panics with cargo's message when the
/// build fails, which is what a test wants.
pub fn built_once(package: &str, features: &[&str]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let build = PluginBuild::new(package, features);
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    built
        .entry(build.variant_name())
        .or_insert_with(|| build.build().unwrap_or_else(|e| panic!("{e}")))
        .clone()
}

/// The root of this workspace (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crate lives at core/plugin-build")
        .to_path_buf()
}

/// The file name cargo gives a `cdylib` of `package` on `target` (the host when `None`):
/// `libname.so`, `name.dll` or `libname.dylib`.
pub fn library_file_name(package: &str, target: Option<&str>) -> String {
    let stem = package.replace('-', "_");
    match target_os(target) {
        "windows" => format!("{stem}.dll"),
        "macos" => format!("lib{stem}.dylib"),
        _ => format!("lib{stem}.so"),
    }
}

/// "windows", "macos" or "linux" for `target` (the host's OS when `None`).
fn target_os(target: Option<&str>) -> &'static str {
    match target {
        Some(triple) if triple.contains("windows") => "windows",
        Some(triple) if triple.contains("apple") => "macos",
        Some(_) => "linux",
        None => std::env::consts::OS,
    }
}

/// Whether rustup has the standard library for `triple` installed.
pub fn target_installed(triple: &str) -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == triple)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_follow_each_platform() {
        let name = "fastforth-example-plugin";
        assert_eq!(
            library_file_name(name, Some("x86_64-unknown-linux-gnu")),
            "libfastforth_example_plugin.so"
        );
        assert_eq!(
            library_file_name(name, Some("x86_64-pc-windows-gnu")),
            "fastforth_example_plugin.dll"
        );
        assert_eq!(
            library_file_name(name, Some("aarch64-apple-darwin")),
            "libfastforth_example_plugin.dylib"
        );
    }

    #[test]
    fn variants_get_distinct_directories() {
        let v1 = PluginBuild::new("p", &[]);
        let v2 = PluginBuild::new("p", &["v2"]);
        let arm = PluginBuild::new("p", &[]).for_target("aarch64-unknown-linux-gnu");
        assert_ne!(v1.variant_name(), v2.variant_name());
        assert_ne!(v1.artifact_path(), arm.artifact_path());
    }
}
