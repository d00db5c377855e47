//! The function table of each plugin kind, and the boundary types its functions take.
//!
//! Every entry is an `Option` so that a null pointer is representable and the host can
//! refuse it at load time; once validated the host calls them without further checks.

use crate::{ByteSink, FfiBytes, FfiStr, Status};
use std::ffi::c_void;

/// Functions of a [`crate::PluginKind::EXAMPLE`] plugin.
#[repr(C)]
#[derive(Debug)]
pub struct ExampleFunctions {
    /// `a + b` (wrapping).
    pub add_numbers: Option<extern "C" fn(a: i32, b: i32, out: *mut i32) -> Status>,
    /// Recursive Fibonacci with `fibonacci(0) = fibonacci(1) = 1`.
    pub fibonacci: Option<extern "C" fn(n: i32, out: *mut i64) -> Status>,
}

/// An engine instance made by [`ForthFunctions::create`]; owned by the plugin that made it
/// and destroyed only through that plugin's [`ForthFunctions::destroy`].
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineHandle(pub *mut c_void);

impl EngineHandle {
    /// The handle `create` returns when it failed.
    pub const NULL: EngineHandle = EngineHandle(std::ptr::null_mut());

    pub fn is_null(self) -> bool {
        self.0.is_null()
    }
}

/// Resource bounds of a Forth engine instance.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForthLimits {
    pub data_stack_cells: u64,
    pub return_stack_cells: u64,
    pub data_space_bytes: u64,
    /// Maximum executed instructions per evaluation; 0 means no limit.
    pub max_steps: u64,
}

/// Input and output of a Forth evaluation, implemented by the host.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ConsoleCallbacks {
    pub context: *mut c_void,
    /// Program output.
    pub write: extern "C" fn(context: *mut c_void, bytes: *const u8, len: usize),
    /// Sends one input line (without newline) to `line` and returns 1, or returns 0 at end of input.
    pub read_line: extern "C" fn(context: *mut c_void, line: ByteSink) -> i32,
    /// One key (0..=255), or -1 at end of input.
    pub read_key: extern "C" fn(context: *mut c_void) -> i32,
    /// Runs the host word `id` on the data stack `stack` (little-endian 8-byte cells,
    /// bottom first): returns 0 and sends the stack it leaves to `new_stack`, or returns the
    /// throw code and sends the message to `error`.
    pub call_host_word: extern "C" fn(
        context: *mut c_void,
        id: u32,
        stack: FfiBytes,
        new_stack: ByteSink,
        error: ByteSink,
    ) -> i64,
}

/// How an evaluation ended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalOutcome {
    /// [`EvalOutcome::CONTINUE`], [`EvalOutcome::BYE`] or [`EvalOutcome::ERROR`].
    pub flow: u32,
    /// The Forth throw code when `flow` is [`EvalOutcome::ERROR`], else 0.
    pub error_code: i64,
}

impl EvalOutcome {
    pub const CONTINUE: u32 = 0;
    pub const BYE: u32 = 1;
    pub const ERROR: u32 = 2;
}

/// Functions of a [`crate::PluginKind::FORTH`] plugin: a whole Forth engine whose state can
/// be carried to another build of the engine as a versioned image.
#[repr(C)]
#[derive(Debug)]
pub struct ForthFunctions {
    /// A new engine, or one rebuilt from `image` when it is non-empty. Returns
    /// [`EngineHandle::NULL`] with the reason sent to `error` when the image is refused.
    pub create: Option<
        extern "C" fn(
            limits: ForthLimits,
            image: FfiBytes,
            error: ByteSink,
            out: *mut EngineHandle,
        ) -> Status,
    >,
    /// Interprets `source`; on an error its message (with position) is sent to `error`.
    pub evaluate: Option<
        extern "C" fn(
            engine: EngineHandle,
            source: FfiStr,
            source_name: FfiStr,
            console: ConsoleCallbacks,
            error: ByteSink,
            out: *mut EvalOutcome,
        ) -> Status,
    >,
    /// Sends the engine's state image to `image`.
    pub save_image:
        Option<extern "C" fn(engine: EngineHandle, image: ByteSink, out: *mut ()) -> Status>,
    /// Sends the data stack, bottom first, as little-endian 8-byte cells.
    pub data_stack:
        Option<extern "C" fn(engine: EngineHandle, cells: ByteSink, out: *mut ()) -> Status>,
    /// Empties both stacks and returns to interpretation state, keeping the dictionary.
    pub reset_after_error: Option<extern "C" fn(engine: EngineHandle, out: *mut ()) -> Status>,
    /// Frees the engine.
    pub destroy: Option<extern "C" fn(engine: EngineHandle, out: *mut ()) -> Status>,
    /// Defines `name` as host word `id` (see [`ConsoleCallbacks::call_host_word`]); on a
    /// refusal its message is sent to `error` and 0 returned, else 1.
    pub define_host_word: Option<
        extern "C" fn(
            engine: EngineHandle,
            name: FfiStr,
            id: u32,
            error: ByteSink,
            out: *mut u32,
        ) -> Status,
    >,
}

/// Functions of a [`crate::PluginKind::FORTH_NATIVE`] plugin: a Forth program compiled ahead
/// of time, whose words run as native code. Every run starts from the program's state as it
/// was compiled (its data space, empty stacks); runs share nothing.
#[repr(C)]
#[derive(Debug)]
pub struct NativeForthFunctions {
    /// Sends the names of the compiled words, oldest first, one per line.
    pub words: Option<extern "C" fn(names: ByteSink, out: *mut ()) -> Status>,
    /// Runs the word `name` with output and input through `console`. Sends the data stack it
    /// leaves, bottom first, as little-endian 8-byte cells to `stack`, and on an error its
    /// message to `error` ([`EvalOutcome::ERROR`] with the throw code; -13 for a name that
    /// is not a compiled word).
    pub run_word: Option<
        extern "C" fn(
            name: FfiStr,
            console: ConsoleCallbacks,
            stack: ByteSink,
            error: ByteSink,
            out: *mut EvalOutcome,
        ) -> Status,
    >,
    /// Calls the word `name` in the plugin's live session, whose data space persists from
    /// call to call (calls are serialised), with `input` on its data stack (little-endian
    /// 8-byte cells, bottom first); otherwise as `run_word`. `stack_room` is the stack, in
    /// bytes, the calling thread guarantees below the caller's frame (see
    /// [`crate::NATIVE_CALL_STACK_BYTES`]).
    pub call_word: Option<
        extern "C" fn(
            name: FfiStr,
            input: FfiBytes,
            stack_room: usize,
            console: ConsoleCallbacks,
            stack: ByteSink,
            error: ByteSink,
            out: *mut EvalOutcome,
        ) -> Status,
    >,
}
