//! A plugin whose Rust runtime is nowhere to be found is refused with an error naming the
//! runtime and where it was looked for; with the runtime beside it, the same file loads.
//! Its own test process: no earlier load may have opened the runtime already.

mod common;

use common::*;
use fastforth_abi::RUNTIME_FILE_NAME;
use fastforth_host::{Example, PluginError};

#[cfg(target_os = "linux")]
#[test]
fn a_plugin_without_its_runtime_is_refused_until_the_runtime_is_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let lone = dir.path().join("libfastforth_example_plugin.so");
    std::fs::copy(example_v1(), &lone).unwrap();
    let (_cache, loader) = fresh_loader();

    let error = loader.load::<Example>(&lone).unwrap_err();
    assert!(
        matches!(error, PluginError::RuntimeMissing { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: needs the Rust runtime `{RUNTIME_FILE_NAME}`, which is neither next to it in {} \
             nor next to this program nor in the plugin cache",
            lone.display(),
            dir.path().display()
        )
    );
    assert!(!loader.cache_dir().join(RUNTIME_FILE_NAME).exists());

    copy_runtime_beside(&example_v1(), &lone);
    let plugin = loader.load::<Example>(&lone).unwrap();
    assert_eq!(plugin.add_numbers(40, 2).unwrap(), 42);
}
