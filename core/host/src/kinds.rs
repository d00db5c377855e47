//! Plugin kinds: how each kind's function table is resolved once at load time, and the safe
//! methods the host calls it through.

use crate::{Plugin, PluginError};
use fastforth_abi::{ExampleApi, ExampleFunctions, PluginKind};
use std::ffi::c_void;

/// A plugin kind: its ABI tag and its validated function table.
pub trait Kind: Send + Sync + Sized + 'static {
    const KIND: PluginKind;
    /// The kind's `#[repr(C)]` table of function pointers as the plugin exports it; its size
    /// says how many entries the host checks lie in the plugin's code.
    type Table;
    /// The table with every entry checked non-null (the ABI's checked form of the table).
    type Api: Send + Sync;
    /// The intermediate representation version the kind exchanges (a pipeline stage's);
    /// 0 for kinds that exchange none. A plugin whose descriptor states another is refused.
    const IR_VERSION: u32 = 0;

    /// Reads the function table and checks it, naming the first null entry.
    ///
    /// # Safety
    /// `table` must point to this kind's `#[repr(C)]` table, valid while the library is loaded.
    unsafe fn resolve(table: *const c_void) -> Result<Self::Api, &'static str>;

    /// What a probe process runs on a build after its self-test: calls through the
    /// functions the host will call (a self-test runs inside the plugin and passes none of
    /// its exports). `Err` says why the build is refused. Nothing by default.
    fn exercise(plugin: std::sync::Arc<Plugin<Self>>) -> Result<(), String> {
        drop(plugin);
        Ok(())
    }
}

/// The example plugin kind: `add_numbers` and `fibonacci`.
pub struct Example;

impl Kind for Example {
    const KIND: PluginKind = PluginKind::EXAMPLE;
    type Table = ExampleFunctions;
    type Api = ExampleApi;

    unsafe fn resolve(table: *const c_void) -> Result<ExampleApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `ExampleFunctions`.
        unsafe { &*table.cast::<ExampleFunctions>() }.check()
    }

    /// Both functions, on arguments whose answers every build gives.
    fn exercise(plugin: std::sync::Arc<Plugin<Example>>) -> Result<(), String> {
        let sum = plugin
            .add_numbers(2, 3)
            .map_err(|error| error.to_string())?;
        let fibonacci = plugin.fibonacci(10).map_err(|error| error.to_string())?;
        match (sum, fibonacci) {
            (5, 89) => Ok(()),
            _ => Err(format!(
                "add_numbers(2, 3) gave {sum} and fibonacci(10) {fibonacci}, not 5 and 89"
            )),
        }
    }
}

impl Plugin<Example> {
    /// `a + b`, computed by the plugin.
    pub fn add_numbers(&self, a: i32, b: i32) -> Result<i32, PluginError> {
        // SAFETY: a checked entry of a loaded plugin, taking plain integers.
        let returned = unsafe { (self.api().add_numbers)(a, b) };
        returned
            .into_result()
            .map_err(|status| self.call_error("add_numbers", status))
    }

    /// Fibonacci of `n`, computed by the plugin.
    pub fn fibonacci(&self, n: i32) -> Result<i64, PluginError> {
        // SAFETY: a checked entry of a loaded plugin, taking a plain integer.
        let returned = unsafe { (self.api().fibonacci)(n) };
        returned
            .into_result()
            .map_err(|status| self.call_error("fibonacci", status))
    }
}
