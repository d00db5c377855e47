//! Plugin kinds: how each kind's function table is resolved once at load time, and the safe
//! methods the host calls it through.

use crate::{Plugin, PluginError};
use fastforth_abi::{ExampleApi, ExampleFunctions, PluginKind, Status};
use std::ffi::c_void;

/// A plugin kind: its ABI tag and its validated function table.
pub trait Kind: Send + Sync + Sized + 'static {
    const KIND: PluginKind;
    /// The table with every entry checked non-null (the ABI's checked form of the table).
    type Api: Send + Sync;

    /// Reads the function table and checks it, naming the first null entry.
    ///
    /// # Safety
    /// `table` must point to this kind's `#[repr(C)]` table, valid while the library is loaded.
    unsafe fn resolve(table: *const c_void) -> Result<Self::Api, &'static str>;
}

/// The example plugin kind: `add_numbers` and `fibonacci`.
pub struct Example;

impl Kind for Example {
    const KIND: PluginKind = PluginKind::EXAMPLE;
    type Api = ExampleApi;

    unsafe fn resolve(table: *const c_void) -> Result<ExampleApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `ExampleFunctions`.
        unsafe { &*table.cast::<ExampleFunctions>() }.check()
    }
}

impl Plugin<Example> {
    /// `a + b`, computed by the plugin.
    pub fn add_numbers(&self, a: i32, b: i32) -> Result<i32, PluginError> {
        let mut sum = 0;
        // SAFETY: a checked entry of a loaded plugin; `sum` is valid for one write.
        match unsafe { (self.api.add_numbers)(a, b, &mut sum) } {
            Status::OK => Ok(sum),
            status => Err(self.call_error("add_numbers", status)),
        }
    }

    /// Fibonacci of `n`, computed by the plugin.
    pub fn fibonacci(&self, n: i32) -> Result<i64, PluginError> {
        let mut result = 0;
        // SAFETY: a checked entry of a loaded plugin; `result` is valid for one write.
        match unsafe { (self.api.fibonacci)(n, &mut result) } {
            Status::OK => Ok(result),
            status => Err(self.call_error("fibonacci", status)),
        }
    }
}
