//! Loading: a good plugin loads and answers; every bad file or broken plugin is refused
//! with its specific error, and the version already serving keeps answering.

mod common;

use common::*;
use fastforth_host::{Example, HotSwap, PluginError};
use std::path::{Path, PathBuf};

/// Loads v1 into a hot-swap handle, tries to swap in `bad`, returns the error after
/// checking that v1 still serves correctly.
fn refused(bad: &Path) -> PluginError {
    let (_dir, loader) = fresh_loader();
    let slot = HotSwap::<Example>::load(loader, &example_v1()).unwrap();
    let error = slot.swap(bad).expect_err("a bad plugin must be refused");
    let current = slot.current();
    assert_eq!(current.version(), "1.0.0");
    assert_eq!(current.add_numbers(5, 3).unwrap(), 8);
    assert_eq!(current.fibonacci(20).unwrap(), 10946);
    assert!(
        slot.last_known_good().is_none(),
        "a refused swap changes nothing"
    );
    error
}

#[test]
fn example_plugin_loads_and_answers() {
    let (_dir, loader) = fresh_loader();
    let plugin = loader.load::<Example>(&example_v1()).unwrap();
    assert_eq!(plugin.name(), "example");
    assert_eq!(plugin.version(), "1.0.0");
    assert_eq!(plugin.info().kind, "example");
    assert_eq!(plugin.add_numbers(5, 3).unwrap(), 8);
    assert_eq!(plugin.fibonacci(0).unwrap(), 1);
    assert_eq!(plugin.fibonacci(25).unwrap(), 121393);
    assert_ne!(
        plugin.info().shadow,
        example_v1(),
        "a shadow copy is what gets opened"
    );
    assert!(plugin.info().shadow.starts_with(loader.cache_dir()));
}

#[test]
fn loading_identical_bytes_twice_gives_the_same_plugin() {
    let (dir, loader) = fresh_loader();
    let copy = dir.path().join("libcopy.so");
    std::fs::copy(example_v1(), &copy).unwrap();
    let a = loader.load::<Example>(&example_v1()).unwrap();
    let b = loader.load::<Example>(&example_v1()).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}

#[test]
fn wrong_abi_version_is_refused() {
    let error = refused(&fixture("wrong-abi"));
    assert!(
        matches!(
            error,
            PluginError::AbiVersion {
                expected: fastforth_abi::ABI_VERSION,
                found,
                ..
            } if found == fastforth_abi::ABI_VERSION + 1
        ),
        "{error}"
    );
    let abi = fastforth_abi::ABI_VERSION;
    let expected = format!("plugin ABI version is {}, expected {abi}", abi + 1);
    assert!(error.to_string().ends_with(&expected), "{error}");
}

#[test]
fn wrong_layout_hash_is_refused() {
    let error = refused(&fixture("wrong-layout"));
    assert!(matches!(error, PluginError::LayoutHash { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("built against a different fastforth-abi"),
        "{error}"
    );
}

#[test]
fn wrong_kind_is_refused() {
    let error = refused(&fixture("wrong-kind"));
    assert!(
        error
            .to_string()
            .ends_with("plugin kind is forth, expected example"),
        "{error}"
    );
}

#[test]
fn bad_version_string_is_refused() {
    let error = refused(&fixture("bad-version"));
    assert!(
        matches!(
            error,
            PluginError::BadField {
                field: "version",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("found \"one.two\""), "{error}");
}

#[test]
fn missing_descriptor_is_refused_before_loading() {
    let error = refused(&fixture("no-descriptor"));
    assert!(matches!(
        error,
        PluginError::MissingDescriptor {
            symbol: "fastforth_plugin_v1",
            ..
        }
    ));
    assert!(
        error
            .to_string()
            .contains("does not export `fastforth_plugin_v1`"),
        "{error}"
    );
}

#[test]
fn null_function_in_the_table_is_refused() {
    let error = refused(&fixture("null-function"));
    assert!(matches!(
        error,
        PluginError::MissingFunction {
            function: "fibonacci",
            ..
        }
    ));
    assert!(
        error
            .to_string()
            .ends_with("function table entry `fibonacci` is null")
    );
}

#[test]
fn unresolved_import_is_a_load_error_not_a_crash() {
    let error = refused(&fixture("unresolved-import"));
    assert!(matches!(error, PluginError::Open { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("fastforth_fixture_symbol_that_does_not_exist"),
        "{error}"
    );
}

#[test]
fn failing_self_test_is_refused_with_its_reason() {
    let error = refused(&fixture("self-test-fails"));
    assert!(
        matches!(error, PluginError::SelfTestFailed { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("self-test failed: fixture: 2 + 2 gave 5")
    );
}

#[test]
fn panicking_self_test_is_refused_and_the_process_lives() {
    let error = refused(&fixture("self-test-panics"));
    assert!(
        matches!(error, PluginError::SelfTestPanicked { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("self-test panicked: fixture: self-test panics")
    );
}

#[test]
fn panic_in_an_export_is_an_error_for_the_caller() {
    let (_dir, loader) = fresh_loader();
    let plugin = loader.load::<Example>(&fixture("export-panics")).unwrap();
    let error = plugin.add_numbers(1, 2).unwrap_err();
    assert!(matches!(
        error,
        PluginError::Panicked {
            function: "add_numbers",
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "plugin `fixture` 0.0.1 panicked in `add_numbers`"
    );
    assert_eq!(
        plugin.fibonacci(10).unwrap(),
        89,
        "the plugin still works after a panic"
    );
}

/// Issue 19 S5: the payload is dropped inside the export's `extern "C"` frame, where a
/// second panic would abort the host.
#[test]
fn a_panic_payload_whose_drop_panics_is_contained() {
    let (_dir, loader) = fresh_loader();
    let plugin = loader
        .load::<Example>(&fixture("payload-drop-panics"))
        .unwrap();
    let error = plugin.add_numbers(1, 2).unwrap_err();
    assert_eq!(
        error.to_string(),
        "plugin `fixture` 0.0.1 panicked in `add_numbers`"
    );
    assert_eq!(plugin.fibonacci(10).unwrap(), 89, "the plugin still works");
}

fn scratch_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn empty_file_is_refused() {
    let (_dir, path) = scratch_file("libempty.so", b"");
    let error = refused(&path);
    assert!(matches!(error, PluginError::Empty { .. }), "{error}");
    assert!(
        error
            .to_string()
            .ends_with("libempty.so: empty file, expected a shared library")
    );
}

#[test]
fn text_file_is_refused() {
    let (_dir, path) = scratch_file(
        "libnotes.so",
        b"these are not the bytes you are looking for\n",
    );
    let error = refused(&path);
    assert!(
        error
            .to_string()
            .ends_with("not a shared library: expected ELF, PE or Mach-O, found a text file"),
        "{error}"
    );
}

#[test]
fn an_object_file_that_is_no_shared_library_is_named() {
    let plugin = std::fs::read(example_v1()).unwrap();
    for (e_type, found) in [
        (1u8, "an ELF relocatable object file"),
        (2, "an ELF executable"),
        (4, "an ELF core dump"),
    ] {
        let mut bytes = plugin.clone();
        bytes[16] = e_type;
        let (_dir, path) = scratch_file("libobject.so", &bytes);
        let error = refused(&path);
        let expected = format!("not a shared library: expected ELF, PE or Mach-O, found {found}");
        assert!(error.to_string().ends_with(&expected), "{error}");
    }
}

#[test]
fn truncated_plugin_is_refused() {
    let bytes = std::fs::read(example_v1()).unwrap();
    let (_dir, path) = scratch_file("libhalf.so", &bytes[..bytes.len() / 2]);
    let error = refused(&path);
    assert!(matches!(error, PluginError::Malformed { .. }), "{error}");
    assert!(
        error.to_string().contains("malformed Elf64 file"),
        "{error}"
    );
}

#[test]
fn directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let error = refused(dir.path());
    assert!(
        matches!(error, PluginError::NotARegularFile { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("not a regular file: found a directory, expected a plugin library file")
    );
}

#[test]
fn missing_path_is_refused() {
    let error = refused(Path::new("/nonexistent/libnothing.so"));
    assert_eq!(
        error.to_string(),
        "/nonexistent/libnothing.so: no such file"
    );
}

#[test]
fn executable_is_not_a_library() {
    let error = refused(Path::new("/bin/true"));
    assert!(
        matches!(
            error,
            PluginError::NotALibrary { .. } | PluginError::MissingDescriptor { .. }
        ),
        "{error}"
    );
}

#[test]
fn plugin_for_another_architecture_is_refused_before_loading() {
    let triple = if cfg!(target_arch = "aarch64") {
        "x86_64-unknown-linux-gnu"
    } else {
        "aarch64-unknown-linux-gnu"
    };
    if !cfg!(target_os = "linux") || !fastforth_plugin_build::target_installed(triple) {
        eprintln!("skipped: rustup target {triple} is not installed (rustup target add {triple})");
        return;
    }
    let build = fastforth_plugin_build::PluginBuild::new("fastforth-example-plugin", &[])
        .for_target(triple);
    let path = match build.build() {
        Ok(path) => path,
        Err(error) => {
            eprintln!("skipped: cannot build for {triple}: {error}");
            return;
        }
    };
    let error = refused(&path);
    assert!(
        matches!(error, PluginError::WrongArchitecture { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("built for Aarch64")
            || error.to_string().contains("built for X86_64"),
        "{error}"
    );
}

#[test]
fn unknown_registry_name_is_an_error() {
    let (_dir, loader) = fresh_loader();
    let registry = fastforth_host::Registry::new(loader);
    let error = registry.get::<Example>("nope").unwrap_err();
    assert_eq!(
        error.to_string(),
        "no plugin named `nope` of kind example is registered"
    );
}

#[test]
fn unwritable_cache_directory_is_a_cache_error() {
    let error = fastforth_host::Loader::new("/proc/fastforth-cache")
        .load::<Example>(&example_v1())
        .unwrap_err();
    assert!(matches!(error, PluginError::Cache { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("plugin cache directory /proc/fastforth-cache: ")
    );
}
