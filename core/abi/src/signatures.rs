//! The ABI's function pointer types, declared through macros that also record each
//! signature as text, so that [`crate::LAYOUT_HASH`] covers parameter and result types,
//! not only sizes and offsets.

use crate::{ByteSink, DataStack, Status};
use std::ffi::c_void;

/// A function signature as text: `name(T1, T2) -> R`. Parameter names are left out: they
/// do not change the ABI.
macro_rules! signature {
    ($name:ident ( $($ty:ty),* ) $(-> $ret:ty)?) => {
        concat!(
            stringify!($name),
            "(",
            $(stringify!($ty), ", ",)*
            ")",
            $(" -> ", stringify!($ret),)?
        )
    };
}

/// Declares `unsafe extern "C"` function pointer types and `$list`, their signatures.
macro_rules! fn_types {
    (
        const $list:ident;
        $(
            $(#[$meta:meta])*
            pub type $name:ident = fn( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)?;
        )*
    ) => {
        $(
            $(#[$meta])*
            pub type $name = unsafe extern "C" fn($($arg: $ty),*) $(-> $ret)?;
        )*

        /// The signature of each type, as hashed into [`crate::LAYOUT_HASH`].
        pub(crate) const $list: &[&str] = &[$(signature!($name($($ty),*) $(-> $ret)?)),*];
    };
}

/// Declares a plugin kind's function table `$table`, whose entries are
/// `Option<unsafe extern "C" fn ..>` so that a null entry is representable, and its checked
/// form `$checked`, whose entries are plain function pointers. `$table::check` turns one
/// into the other once, at load; `$table::SIGNATURES` feeds [`crate::LAYOUT_HASH`].
macro_rules! function_table {
    (
        $(#[$meta:meta])*
        pub struct $table:ident, checked as $checked:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident : fn( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Debug)]
        pub struct $table {
            $(
                $(#[$field_meta])*
                pub $field: Option<unsafe extern "C" fn($($arg: $ty),*) -> $ret>,
            )*
        }

        #[doc = concat!("[`", stringify!($table), "`] with every entry present, as `check` returns it.")]
        #[derive(Clone, Copy, Debug)]
        pub struct $checked {
            $(
                $(#[$field_meta])*
                pub $field: unsafe extern "C" fn($($arg: $ty),*) -> $ret,
            )*
        }

        impl $table {
            /// Each entry's signature, as hashed into [`crate::LAYOUT_HASH`].
            pub const SIGNATURES: &'static [&'static str] =
                &[$(signature!($field($($ty),*) -> $ret)),*];

            /// The table with every entry present, or the name of the first missing entry.
            pub fn check(&self) -> Result<$checked, &'static str> {
                Ok($checked {
                    $($field: self.$field.ok_or(stringify!($field))?,)*
                })
            }
        }
    };
}

fn_types! {
    const CALLBACK_SIGNATURES;

    /// Hands `len` bytes at `bytes` to the receiver behind `context` (see [`ByteSink`]).
    pub type WriteBytesFn = fn(context: *mut c_void, bytes: *const u8, len: usize);
    /// Writes `len` bytes at `bytes` as program output: returns 0, or when writing failed
    /// the OS error number (-1 when the failure has none), and the caller throws -37.
    pub type WriteOutputFn = fn(context: *mut c_void, bytes: *const u8, len: usize) -> i32;
    /// Sends one input line (without newline) to `line` and returns 1, or returns 0 at end
    /// of input.
    pub type ReadLineFn = fn(context: *mut c_void, line: ByteSink<'_>) -> i32;
    /// One key (0..=255), or -1 at end of input.
    pub type ReadKeyFn = fn(context: *mut c_void) -> i32;
    /// 1 when a key can be read without waiting (or the input has ended, so that reading
    /// ends at once), else 0.
    pub type KeyAvailableFn = fn(context: *mut c_void) -> i32;
    /// Runs the host word `id` on the data stack `stack`, lent in place (see [`DataStack`]):
    /// returns 0, or the throw code with the message sent to `error`. Either way the
    /// stack's depth is the one the word left.
    pub type CallHostWordFn = fn(
        context: *mut c_void,
        id: u32,
        stack: &mut DataStack<'_>,
        error: ByteSink<'_>,
    ) -> i64;
    /// A plugin's self-test: [`Status::OK`], or a failure with the reason sent to `message`.
    pub type SelfTestFn = fn(message: ByteSink<'_>) -> Status;
    /// A plugin's shutdown hook.
    pub type ShutdownFn = fn() -> Status;
}
