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
//! path: the runtime is copied next to every artifact ([`fastforth_toolchain`] says where the
//! toolchain keeps it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use fastforth_toolchain::{copy_runtime_into, shared_runtime_flags, target_os};

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
    #[error(transparent)]
    Runtime(#[from] fastforth_toolchain::RuntimeError),
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
