//! A plugin built here links the toolchain's shared Rust runtime, finds it through its own
//! directory, and has it copied there.

use fastforth_plugin_build::PluginBuild;
use fastforth_toolchain::runtime_library;

#[cfg(target_os = "linux")]
#[test]
fn the_example_plugin_needs_the_runtime_copied_beside_it() {
    let artifact = PluginBuild::new("fastforth-example-plugin", &[])
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let runtime = runtime_library(None).unwrap();
    let name = runtime.file_name().unwrap().to_str().unwrap();
    let beside = artifact.with_file_name(name);
    assert_eq!(
        std::fs::read(&beside).unwrap(),
        std::fs::read(&runtime).unwrap(),
        "{} is the toolchain's runtime",
        beside.display()
    );
    let bytes = std::fs::read(&artifact).unwrap();
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        contains(name),
        "the plugin names {name} as a needed library"
    );
    assert!(
        contains("$ORIGIN"),
        "the plugin's run path is its own directory"
    );
}
