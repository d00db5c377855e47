//! The C ABI shared by the FastForth host and its plugins.
//!
//! Everything here crosses a `dlopen` boundary between two separately compiled Rust
//! programs, so only C types appear: integers, `#[repr(C)]` structs, (pointer, length)
//! slices and `extern "C"` function pointers; never `&str`, `String`, `Box`, trait objects
//! or `TypeId`. This crate knows nothing of loading (that is `fastforth-host`) or of Forth
//! semantics (that is `fastforth-engine`) beyond what crosses the boundary: the throw codes
//! ([`throw`]) and the data stack's cell layout ([`cells_to_bytes`]).
//!
//! A plugin exports one required symbol, [`DESCRIPTOR_SYMBOL`]: a function returning a
//! pointer to a static [`PluginDescriptor`]. The host checks its [`MAGIC`], [`ABI_VERSION`],
//! [`LAYOUT_HASH`] and [`PluginKind`], and that no function pointer is null, before it calls
//! anything else. [`export_plugin!`] writes all of it, wrapping every exported function in
//! `catch_unwind` so that a panic becomes [`Status::PANICKED`] instead of an abort.
//!
//! Every table function follows one convention: `unsafe extern "C" fn(args...) -> Returned<R>`,
//! the [`Status`] and, on [`Status::OK`], the result, together: a result of up to eight
//! bytes comes back in registers (two on x86_64 SysV and aarch64), a larger one through
//! the caller's memory.
//! The table's entries are `Option`s, checked once at load (`ExampleFunctions::check` and
//! its kin); the layout hash covers every function signature as well as every size and
//! offset, so a changed parameter list is refused like a changed struct.

mod cells;
mod guard;
#[macro_use]
mod signatures;
mod layout;
mod tables;
pub mod throw;

pub use cells::{cells_from_bytes, cells_to_bytes};
pub use guard::{call_guarded, catch_panic_or, run_self_test, run_shutdown};
pub use layout::LAYOUT_HASH;
pub use signatures::*;
pub use tables::*;

use std::ffi::c_void;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

/// The first eight bytes of every descriptor.
pub const MAGIC: [u8; 8] = *b"FFPLUGIN";

/// Bumped on any incompatible change to this crate's types or conventions.
pub const ABI_VERSION: u32 = 13;

/// The one symbol every plugin exports: `extern "C" fn() -> *const PluginDescriptor`.
pub const DESCRIPTOR_SYMBOL: &str = "fastforth_plugin_v1";

/// The `rustc --version` line of the compiler that built this crate (empty if unknown).
pub const RUSTC_VERSION: &str = env!("FASTFORTH_RUSTC_VERSION");

/// The file name of that toolchain's shared Rust runtime for the target this crate is built
/// for: `libstd-<hash>.so` (ELF), `libstd-<hash>.dylib` (Mach-O) or `std-<hash>.dll`
/// (Windows); empty when the toolchain ships none. The hash changes with the compiler and
/// the target, so two builds that need the same runtime name need the same runtime.
pub const RUNTIME_FILE_NAME: &str = env!("FASTFORTH_RUNTIME_FILE_NAME");

/// Where the toolchain that built this crate keeps that runtime (empty if unknown): a host
/// built from source finds it there while the toolchain is installed.
pub const TOOLCHAIN_RUNTIME_PATH: &str = env!("FASTFORTH_TOOLCHAIN_RUNTIME");

/// The stack a native Forth word may need: a `call_word` caller that guarantees this many
/// bytes of stack gets the word run on its own thread, otherwise the plugin starts a thread
/// with this much stack for the call.
pub const NATIVE_CALL_STACK_BYTES: usize = 64 << 20;

/// Result code of every function that crosses the boundary.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub i32);

impl Status {
    /// The call completed and wrote its result.
    pub const OK: Status = Status(0);
    /// The plugin panicked; the panic was caught at the boundary.
    pub const PANICKED: Status = Status(1);
    /// The call ran and reported a failure (e.g. a failing self-test).
    pub const FAILED: Status = Status(2);
}

/// What every table function returns: its [`Status`] and, on [`Status::OK`] only, its
/// result. Made only by [`Returned::ok`] and [`Returned::failed`], so the result is there
/// exactly when the status says so.
#[repr(C)]
pub struct Returned<T> {
    status: Status,
    value: MaybeUninit<T>,
}

impl<T> Returned<T> {
    /// A successful call's result.
    pub const fn ok(value: T) -> Returned<T> {
        Returned {
            status: Status::OK,
            value: MaybeUninit::new(value),
        }
    }

    /// A call that ended with `status` and no result; [`Status::OK`] is taken as
    /// [`Status::FAILED`], since there is no result.
    pub const fn failed(status: Status) -> Returned<T> {
        Returned {
            status: if status.0 == Status::OK.0 {
                Status::FAILED
            } else {
                status
            },
            value: MaybeUninit::uninit(),
        }
    }

    /// The result, or the status of a call that has none.
    #[inline]
    pub fn into_result(self) -> Result<T, Status> {
        if self.status != Status::OK {
            return Err(self.status);
        }
        // SAFETY: only `ok` makes a `Returned` with `Status::OK`, and it sets the value.
        Ok(unsafe { self.value.assume_init() })
    }
}

/// What a plugin is for; selects the function table behind [`PluginDescriptor::functions`].
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PluginKind(pub u32);

impl PluginKind {
    /// `add_numbers` and `fibonacci`: [`ExampleFunctions`].
    pub const EXAMPLE: PluginKind = PluginKind(1);
    /// A whole Forth engine: [`ForthFunctions`].
    pub const FORTH: PluginKind = PluginKind(2);
    /// A Forth program compiled ahead of time to native code: [`NativeForthFunctions`].
    pub const FORTH_NATIVE: PluginKind = PluginKind(3);
    /// A stage of the Forth pipeline that optimizes compiled definitions:
    /// [`OptimizerFunctions`].
    pub const OPTIMIZER: PluginKind = PluginKind(4);
    /// The stage of the Forth pipeline that builds a loaded program into native code:
    /// [`BackendFunctions`].
    pub const BACKEND: PluginKind = PluginKind(5);
    /// The stage of the Forth pipeline that splits source text into tokens and reads their
    /// numbers: [`ParserFunctions`].
    pub const PARSER: PluginKind = PluginKind(6);
    /// The stage of the Forth pipeline that says what to compile for the tokens met while
    /// compiling: [`CompilerFunctions`].
    pub const COMPILER: PluginKind = PluginKind(7);

    /// The kind's name as used in messages and manifests, or `None` for an unknown kind.
    pub fn name(self) -> Option<&'static str> {
        match self {
            PluginKind::EXAMPLE => Some("example"),
            PluginKind::FORTH => Some("forth"),
            PluginKind::FORTH_NATIVE => Some("forth-native"),
            PluginKind::OPTIMIZER => Some("optimizer"),
            PluginKind::BACKEND => Some("backend"),
            PluginKind::PARSER => Some("parser"),
            PluginKind::COMPILER => Some("compiler"),
            _ => None,
        }
    }
}

/// UTF-8 text owned by the side that made it, as (pointer, length).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiStr {
    pub ptr: *const u8,
    pub len: usize,
}

impl FfiStr {
    /// Borrows a string; the result is valid as long as `text` is.
    pub const fn new(text: &str) -> FfiStr {
        FfiStr {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }

    /// The bytes this points to.
    ///
    /// # Safety
    /// `ptr` must be valid for reads of `len` bytes for the whole lifetime `'a`.
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the caller guarantees `ptr` is valid for `len` bytes during `'a`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Raw bytes owned by the side that made them, as (pointer, length).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiBytes {
    pub ptr: *const u8,
    pub len: usize,
}

impl FfiBytes {
    /// Borrows a byte slice; the result is valid as long as `bytes` is.
    pub const fn new(bytes: &[u8]) -> FfiBytes {
        FfiBytes {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes this points to.
    ///
    /// # Safety
    /// `ptr` must be valid for reads of `len` bytes for the whole lifetime `'a`.
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        // SAFETY: same contract as `FfiStr::as_bytes`, forwarded to our caller.
        unsafe {
            FfiStr::as_bytes(FfiStr {
                ptr: self.ptr,
                len: self.len,
            })
        }
    }
}

/// The caller's data stack, lent to the callee for one call: `capacity` initialised cells
/// at `cells`, of which the bottom `depth` are in use. The callee works on the cells where
/// they are and sets `depth`; cells it does not touch are neither read nor copied. The
/// lifetime is the borrow of the caller's cells: the loan cannot outlive them.
#[repr(C)]
#[derive(Debug)]
pub struct DataStack<'a> {
    cells: *mut i64,
    capacity: usize,
    depth: usize,
    _cells: PhantomData<&'a mut [i64]>,
}

impl<'a> DataStack<'a> {
    /// Lends `cells`, the bottom `depth` of them in use (at most all of them).
    pub fn new(cells: &'a mut [i64], depth: usize) -> DataStack<'a> {
        DataStack {
            cells: cells.as_mut_ptr(),
            capacity: cells.len(),
            depth: depth.min(cells.len()),
            _cells: PhantomData,
        }
    }

    /// How many cells are in use.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The lent cells and the depth, to work on in place.
    ///
    /// # Safety
    /// The stack must have been made by [`DataStack::new`] (on either side of the ABI) and
    /// still be lent: `cells` valid for reads and writes of `capacity` cells during `'a`,
    /// and `depth <= capacity`.
    pub unsafe fn cells_and_depth(&mut self) -> (&mut [i64], &mut usize) {
        let cells = if self.capacity == 0 {
            &mut []
        } else {
            // SAFETY: guaranteed by the caller (see above).
            unsafe { std::slice::from_raw_parts_mut(self.cells, self.capacity) }
        };
        (cells, &mut self.depth)
    }
}

/// The caller's data space, lent to the callee for one call: `len` initialised bytes at
/// `bytes`, which the callee reads and writes where they are. The lifetime is the borrow of
/// the caller's bytes: the loan cannot outlive them.
#[repr(C)]
#[derive(Debug)]
pub struct DataSpace<'a> {
    bytes: *mut u8,
    len: usize,
    _bytes: PhantomData<&'a mut [u8]>,
}

impl<'a> DataSpace<'a> {
    /// Lends `bytes`.
    pub fn new(bytes: &'a mut [u8]) -> DataSpace<'a> {
        DataSpace {
            bytes: bytes.as_mut_ptr(),
            len: bytes.len(),
            _bytes: PhantomData,
        }
    }

    /// The lent bytes, to work on in place.
    ///
    /// # Safety
    /// The space must have been made by [`DataSpace::new`] (on either side of the ABI) and
    /// still be lent: `bytes` valid for reads and writes of `len` bytes during `'a`.
    pub unsafe fn bytes(&mut self) -> &mut [u8] {
        if self.len == 0 {
            &mut []
        } else {
            // SAFETY: guaranteed by the caller (see above).
            unsafe { std::slice::from_raw_parts_mut(self.bytes, self.len) }
        }
    }
}

/// A byte receiver: the callee calls `write` (any number of times) to hand bytes to the
/// caller, who copies them into its own memory. Memory never changes owner. The lifetime is
/// the borrow of the receiver's memory: a sink cannot outlive the buffer it appends to.
///
/// ```compile_fail
/// let sink = {
///     let mut buffer = Vec::new();
///     fastforth_abi::ByteSink::for_vec(&mut buffer)
/// };
/// sink.send(b"into a dropped buffer");
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ByteSink<'a> {
    context: *mut c_void,
    write: WriteBytesFn,
    _receiver: PhantomData<&'a mut ()>,
}

impl<'a> ByteSink<'a> {
    /// A sink that appends to `buffer`; it borrows `buffer` for as long as it lives.
    pub fn for_vec(buffer: &'a mut Vec<u8>) -> ByteSink<'a> {
        ByteSink {
            context: (buffer as *mut Vec<u8>).cast(),
            write: append_to_vec,
            _receiver: PhantomData,
        }
    }

    /// A stage's answer: sends it to `self` and returns 1, or sends why there is none to
    /// `error` and returns 0 (the convention of the optimizer and backend tables).
    pub fn send_answer(&self, answer: Result<Vec<u8>, String>, error: &ByteSink) -> u32 {
        match answer {
            Ok(answer) => {
                self.send(&answer);
                1
            }
            Err(reason) => {
                error.send(reason.as_bytes());
                0
            }
        }
    }

    /// Hands `bytes` to the sink's owner.
    pub fn send(&self, bytes: &[u8]) {
        // SAFETY: a sink is made either by `for_vec` (whose context is a live `&mut Vec`) or
        // by the other side of the ABI, whose contract makes `write` callable with `context`
        // while the sink lives; `bytes` is readable for `len` bytes.
        unsafe { (self.write)(self.context, bytes.as_ptr(), bytes.len()) }
    }
}

/// # Safety
/// `context` must come from [`ByteSink::for_vec`] whose buffer is still borrowed, and
/// `bytes` must be readable for `len` bytes.
unsafe extern "C" fn append_to_vec(context: *mut c_void, bytes: *const u8, len: usize) {
    catch_panic_or((), || {
        // SAFETY: guaranteed by the caller (see above).
        let (buffer, bytes) = unsafe {
            (
                &mut *context.cast::<Vec<u8>>(),
                FfiBytes { ptr: bytes, len }.as_bytes(),
            )
        };
        buffer.extend_from_slice(bytes);
    })
}

/// The descriptor every plugin exports through [`DESCRIPTOR_SYMBOL`].
#[repr(C)]
#[derive(Debug)]
pub struct PluginDescriptor {
    pub magic: [u8; 8],
    pub abi_version: u32,
    pub kind: PluginKind,
    /// [`LAYOUT_HASH`] as the plugin was compiled.
    pub layout_hash: u64,
    pub name: FfiStr,
    /// Semantic version, e.g. `1.0.1`.
    pub version: FfiStr,
    /// Points to the kind's function table (e.g. [`ExampleFunctions`]).
    pub functions: *const c_void,
    /// Runs before the host first uses the plugin; a failure refuses the plugin.
    pub self_test: Option<SelfTestFn>,
    /// Runs once when the host retires the plugin, after its last call returned.
    pub shutdown: Option<ShutdownFn>,
    /// The compiler the plugin was built with: [`RUSTC_VERSION`] as the plugin was compiled.
    pub rustc_version: FfiStr,
    /// The shared Rust runtime of that toolchain: [`RUNTIME_FILE_NAME`] as the plugin was
    /// compiled (what a plugin built with `-C prefer-dynamic` needs).
    pub runtime: FfiStr,
    /// The version of the engine's intermediate representation that a pipeline stage
    /// reads and writes (`fastforth_engine::ir::IR_VERSION` as the stage was built); 0 for
    /// kinds that exchange none.
    pub ir_version: u32,
}

// SAFETY: a descriptor is immutable static data; its pointers refer to other immutable
// statics of the same plugin, so sharing it between threads cannot race.
unsafe impl Sync for PluginDescriptor {}

impl PluginDescriptor {
    /// A descriptor with this crate's magic, ABI version and layout hash.
    pub const fn new(
        kind: PluginKind,
        name: &'static str,
        version: &'static str,
        functions: *const c_void,
        self_test: Option<SelfTestFn>,
        shutdown: Option<ShutdownFn>,
        ir_version: u32,
    ) -> PluginDescriptor {
        PluginDescriptor {
            magic: MAGIC,
            abi_version: ABI_VERSION,
            kind,
            layout_hash: LAYOUT_HASH,
            name: FfiStr::new(name),
            version: FfiStr::new(version),
            functions,
            self_test,
            shutdown,
            rustc_version: FfiStr::new(RUSTC_VERSION),
            runtime: FfiStr::new(RUNTIME_FILE_NAME),
            ir_version,
        }
    }
}

/// Exports a plugin: the descriptor symbol, the kind's function table with every function
/// wrapped in `catch_unwind`, and the optional self-test and shutdown hooks. An
/// implementation that relies on the entry's documented contract (a live handle, readable
/// strings) is an `unsafe fn` whose `# Safety` is that contract; others are plain `fn`s.
///
/// ```ignore
/// fastforth_abi::export_plugin! {
///     kind: EXAMPLE,
///     name: "example",
///     version: "1.0.0",
///     functions: ExampleFunctions {
///         add_numbers: fn(a: i32, b: i32) -> i32 = crate::add,
///         fibonacci: fn(n: i32) -> i64 = crate::fib,
///     },
///     self_test: crate::self_test,   // optional: fn() -> Result<(), String>
///     shutdown: crate::shutdown,     // optional: fn()
///     ir_version: 2,                 // optional, for pipeline stages (default 0)
/// }
/// ```
#[macro_export]
macro_rules! export_plugin {
    (
        kind: $kind:ident,
        name: $name:expr,
        version: $version:expr,
        functions: $table:ident {
            $( $field:ident : fn( $($arg:ident : $argty:ty),* $(,)? ) -> $ret:ty = $imp:path ),* $(,)?
        }
        $(, self_test: $self_test:path)?
        $(, shutdown: $shutdown:path)?
        $(, ir_version: $ir_version:expr)?
        $(,)?
    ) => {
        /// The plugin descriptor (see `fastforth_abi::PluginDescriptor`).
        #[unsafe(no_mangle)]
        pub extern "C" fn fastforth_plugin_v1() -> *const $crate::PluginDescriptor {
            static TABLE: $crate::$table = $crate::$table {
                $( $field: {
                    /// # Safety
                    /// The arguments must be valid as the table entry's documentation
                    /// requires.
                    #[allow(unused_unsafe)]
                    unsafe extern "C" fn exported($($arg: $argty),*) -> $crate::Returned<$ret> {
                        // SAFETY: guaranteed by the caller (the host), as the ABI requires;
                        // an `unsafe fn` implementation has the entry's contract as its own.
                        $crate::call_guarded(move || unsafe { $imp($($arg),*) })
                    }
                    Some(exported)
                }, )*
            };
            static DESCRIPTOR: $crate::PluginDescriptor = $crate::PluginDescriptor::new(
                $crate::PluginKind::$kind,
                $name,
                $version,
                (&raw const TABLE).cast(),
                $crate::export_plugin!(@self_test $($self_test)?),
                $crate::export_plugin!(@shutdown $($shutdown)?),
                0 $(+ $ir_version)?,
            );
            &raw const DESCRIPTOR
        }
    };
    (@self_test) => { None };
    (@self_test $self_test:path) => {{
        unsafe extern "C" fn exported(message: $crate::ByteSink<'_>) -> $crate::Status {
            $crate::run_self_test(message, $self_test)
        }
        Some(exported)
    }};
    (@shutdown) => { None };
    (@shutdown $shutdown:path) => {{
        unsafe extern "C" fn exported() -> $crate::Status {
            $crate::run_shutdown($shutdown)
        }
        Some(exported)
    }};
}
