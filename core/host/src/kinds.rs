//! Plugin kinds: how each kind's function table is resolved once at load time, and the safe
//! methods the host calls it through.

use crate::{Plugin, PluginError};
use fastforth_abi::{ExampleFunctions, PluginKind, Status};
use std::ffi::c_void;

/// A plugin kind: its ABI tag and its validated function table.
pub trait Kind: Send + Sync + Sized + 'static {
    const KIND: PluginKind;
    /// The table with every entry checked non-null.
    type Api: Send + Sync;

    /// Reads the function table, naming the first null entry.
    ///
    /// # Safety
    /// `table` must point to this kind's `#[repr(C)]` table, valid while the library is loaded.
    unsafe fn resolve(table: *const c_void) -> Result<Self::Api, &'static str>;
}

/// The example plugin kind: `add_numbers` and `fibonacci`.
pub struct Example;

/// [`ExampleFunctions`] with every entry present.
pub struct ExampleApi {
    add_numbers: extern "C" fn(i32, i32, *mut i32) -> Status,
    fibonacci: extern "C" fn(i32, *mut i64) -> Status,
}

impl Kind for Example {
    const KIND: PluginKind = PluginKind::EXAMPLE;
    type Api = ExampleApi;

    unsafe fn resolve(table: *const c_void) -> Result<ExampleApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `ExampleFunctions`.
        let table = unsafe { &*table.cast::<ExampleFunctions>() };
        Ok(ExampleApi {
            add_numbers: table.add_numbers.ok_or("add_numbers")?,
            fibonacci: table.fibonacci.ok_or("fibonacci")?,
        })
    }
}

impl Plugin<Example> {
    /// `a + b`, computed by the plugin.
    pub fn add_numbers(&self, a: i32, b: i32) -> Result<i32, PluginError> {
        let mut sum = 0;
        match (self.api.add_numbers)(a, b, &mut sum) {
            Status::OK => Ok(sum),
            status => Err(self.call_error("add_numbers", status)),
        }
    }

    /// Fibonacci of `n`, computed by the plugin.
    pub fn fibonacci(&self, n: i32) -> Result<i64, PluginError> {
        let mut result = 0;
        match (self.api.fibonacci)(n, &mut result) {
            Status::OK => Ok(result),
            status => Err(self.call_error("fibonacci", status)),
        }
    }
}
