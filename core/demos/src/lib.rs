//! Support shared by the demos: where the workspace's plugin builds are.

use fastforth_plugin_build::PluginBuild;
use std::path::PathBuf;

/// The example plugin's release build in this workspace (`cargo build --release`), if built.
pub fn workspace_example_plugin() -> Option<PathBuf> {
    let name = fastforth_plugin_build::library_file_name("fastforth-example-plugin", None);
    let path = fastforth_plugin_build::workspace_root()
        .join("target/release")
        .join(name);
    path.is_file().then_some(path)
}

/// The example plugin at version 1.0.0 and 1.0.1, built with cargo if needed.
pub fn build_example_versions() -> anyhow::Result<(PathBuf, PathBuf)> {
    let v1 = PluginBuild::new("fastforth-example-plugin", &[]).build()?;
    let v2 = PluginBuild::new("fastforth-example-plugin", &["v2"]).build()?;
    Ok((v1, v2))
}
