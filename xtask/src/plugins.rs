//! The shipped plugins of the workspace: every member under `plugins/` whose library is a
//! `cdylib`, found through `cargo metadata`, so a new plugin needs no change here. Test-only
//! plugins (`tests/fixture-plugin`) are not under `plugins/` and are never shipped.
//! It knows nothing of targets or of how plugins are checked.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

/// A shipped plugin crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plugin {
    /// Its directory name under `plugins/`: the name used in the index, in expectation
    /// files and by `--plugin`.
    pub name: String,
    /// The cargo package name, e.g. `fastforth-example-plugin`.
    pub package: String,
    /// The package version.
    pub version: String,
    /// The library target's crate name, e.g. `fastforth_example_plugin`.
    pub lib_name: String,
}

impl Plugin {
    /// The file name of this plugin's library on `triple`.
    pub fn file_name(&self, triple: &str) -> String {
        library_file_name(&self.lib_name, triple)
    }
}

/// `libname.so`, `name.dll` or `libname.dylib`, as cargo names a `cdylib` on `triple`.
pub fn library_file_name(lib_name: &str, triple: &str) -> String {
    if triple.contains("windows") {
        format!("{lib_name}.dll")
    } else if triple.contains("apple") {
        format!("lib{lib_name}.dylib")
    } else {
        format!("lib{lib_name}.so")
    }
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    manifest_path: PathBuf,
    targets: Vec<CrateTarget>,
}

#[derive(Deserialize)]
struct CrateTarget {
    name: String,
    crate_types: Vec<String>,
}

/// Every shipped plugin of the workspace at `root`, sorted by name.
pub fn discover(sh: &Shell, root: &Path) -> anyhow::Result<Vec<Plugin>> {
    let cargo = crate::toolchain::cargo();
    let manifest = root.join("Cargo.toml");
    let json = cmd!(
        sh,
        "{cargo} metadata --no-deps --format-version 1 --manifest-path {manifest}"
    )
    .quiet()
    .read()
    .context("cannot list the workspace's packages with `cargo metadata`")?;
    let metadata: Metadata =
        serde_json::from_str(&json).context("cannot parse `cargo metadata` output")?;
    Ok(shipped(&metadata.packages, &root.join("plugins")))
}

fn shipped(packages: &[Package], plugins_dir: &Path) -> Vec<Plugin> {
    let mut plugins: Vec<Plugin> = packages
        .iter()
        .filter_map(|package| {
            let dir = package.manifest_path.parent()?;
            if dir.parent()? != plugins_dir {
                return None;
            }
            let lib = package
                .targets
                .iter()
                .find(|target| target.crate_types.iter().any(|t| t == "cdylib"))?;
            Some(Plugin {
                name: dir.file_name()?.to_string_lossy().into_owned(),
                package: package.name.clone(),
                version: package.version.clone(),
                lib_name: lib.name.replace('-', "_"),
            })
        })
        .collect();
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    plugins
}

/// The plugins named in `wanted` (all when empty), or an error naming an unknown one.
pub fn select(all: Vec<Plugin>, wanted: &[String]) -> anyhow::Result<Vec<Plugin>> {
    if let Some(unknown) = wanted.iter().find(|w| !all.iter().any(|p| &p.name == *w)) {
        let known: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        anyhow::bail!(
            "unknown plugin `{unknown}`: the workspace ships {}",
            known.join(", ")
        );
    }
    Ok(all
        .into_iter()
        .filter(|p| wanted.is_empty() || wanted.contains(&p.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(dir: &str, name: &str, crate_types: &[&str]) -> Package {
        Package {
            name: name.to_owned(),
            version: "1.2.3".to_owned(),
            manifest_path: PathBuf::from(format!("/ws/{dir}/Cargo.toml")),
            targets: vec![CrateTarget {
                name: name.replace('-', "_"),
                crate_types: crate_types.iter().map(|t| (*t).to_owned()).collect(),
            }],
        }
    }

    #[test]
    fn only_cdylibs_under_plugins_are_shipped() {
        let packages = [
            package(
                "plugins/example",
                "fastforth-example-plugin",
                &["cdylib", "rlib"],
            ),
            package("plugins/helpers", "plugin-helpers", &["lib"]),
            package(
                "tests/fixture-plugin",
                "fastforth-fixture-plugin",
                &["cdylib"],
            ),
            package("core/abi", "fastforth-abi", &["lib"]),
        ];
        let plugins = shipped(&packages, Path::new("/ws/plugins"));
        assert_eq!(
            plugins,
            [Plugin {
                name: "example".to_owned(),
                package: "fastforth-example-plugin".to_owned(),
                version: "1.2.3".to_owned(),
                lib_name: "fastforth_example_plugin".to_owned(),
            }]
        );
        assert_eq!(
            plugins[0].file_name("x86_64-pc-windows-gnu"),
            "fastforth_example_plugin.dll"
        );
        assert_eq!(
            plugins[0].file_name("aarch64-apple-darwin"),
            "libfastforth_example_plugin.dylib"
        );
    }

    #[test]
    fn selecting_an_unknown_plugin_names_the_known_ones() {
        let all = shipped(
            &[package("plugins/example", "ex", &["cdylib"])],
            Path::new("/ws/plugins"),
        );
        let error = select(all, &["nope".to_owned()]).unwrap_err().to_string();
        assert_eq!(error, "unknown plugin `nope`: the workspace ships example");
    }
}
