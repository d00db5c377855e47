//! The native backend stage plugin kind: a program the engine loaded goes to the plugin as
//! bytes (`fastforth_engine::program`), and its build of a "forth-native" plugin (or of an
//! executable) comes back the same way, checked before the host uses it. `fastforth
//! compile` runs through it.

use fastforth_abi::{BackendApi, BackendFunctions, ByteSink, FfiBytes, FfiStr, PluginKind};
use fastforth_engine::ir::IR_VERSION;
use fastforth_engine::program::{Built, Program};
use fastforth_host::{Kind, Plugin};
use std::ffi::c_void;
use std::path::Path;

/// The native backend stage plugin kind.
pub struct Backend;

impl Kind for Backend {
    const KIND: PluginKind = PluginKind::BACKEND;
    type Table = BackendFunctions;
    type Api = BackendApi;
    const IR_VERSION: u32 = IR_VERSION;

    unsafe fn resolve(table: *const c_void) -> Result<BackendApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `BackendFunctions`.
        unsafe { &*table.cast::<BackendFunctions>() }.check()
    }
}

/// Builds `program` with the backend `plugin` into a native plugin, or with `entry` into an
/// executable that runs that compiled word, keeping its work in `cache_dir` and running
/// `cargo`; the build, or why there is none.
pub fn build(
    plugin: &Plugin<Backend>,
    program: &Program,
    cache_dir: &Path,
    cargo: &str,
    release: bool,
    entry: Option<&str>,
) -> Result<Built, String> {
    let cache_dir = cache_dir.to_str().ok_or_else(|| {
        format!(
            "the native cache directory {} is not a UTF-8 path",
            cache_dir.display()
        )
    })?;
    let program = program.encode();
    let (mut built, mut error) = (Vec::new(), Vec::new());
    // SAFETY: a checked entry of a loaded plugin; the program and the strings are readable
    // and both sinks write into live vectors for the duration of the call.
    let returned = unsafe {
        (plugin.api().build)(
            FfiBytes::new(&program),
            FfiStr::new(cache_dir),
            FfiStr::new(cargo),
            u32::from(release),
            FfiStr::new(entry.unwrap_or_default()),
            ByteSink::for_vec(&mut built),
            ByteSink::for_vec(&mut error),
        )
    };
    match returned.into_result() {
        Ok(1) => Built::decode(&built).map_err(|error| {
            format!(
                "{} {} answered a build this host cannot read: {error}",
                plugin.name(),
                plugin.version()
            )
        }),
        Ok(_) => Err(String::from_utf8_lossy(&error).into_owned()),
        Err(status) => Err(plugin.call_error("build", status).to_string()),
    }
}
