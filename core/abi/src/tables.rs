//! The function table of each plugin kind, and the boundary types its functions take.
//!
//! Every entry is an `Option` so that a null pointer is representable and the host can
//! refuse it at load time (`check`); once checked the host calls them without further
//! checks. Entries are `unsafe`: each takes pointers the caller must make valid.

use crate::{
    ByteSink, CallHostWordFn, DataSpace, DataStack, FfiBytes, FfiStr, KeyAvailableFn, ReadKeyFn,
    ReadLineFn, Returned, WriteOutputFn,
};
use std::ffi::c_void;
use std::marker::PhantomData;

function_table! {
    /// Functions of a [`crate::PluginKind::EXAMPLE`] plugin.
    pub struct ExampleFunctions, checked as ExampleApi {
        /// `a + b` (wrapping).
        add_numbers: fn(a: i32, b: i32) -> Returned<i32>,
        /// Recursive Fibonacci with `fibonacci(0) = fibonacci(1) = 1`.
        fibonacci: fn(n: i32) -> Returned<i64>,
    }
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

/// Input and output of a Forth evaluation, implemented by the host. The lifetime is the
/// borrow of the host's console: the callbacks cannot outlive it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ConsoleCallbacks<'a> {
    pub(crate) context: *mut c_void,
    pub(crate) write: WriteOutputFn,
    pub(crate) read_line: ReadLineFn,
    pub(crate) read_key: ReadKeyFn,
    pub(crate) key_available: KeyAvailableFn,
    pub(crate) call_host_word: CallHostWordFn,
    _console: PhantomData<&'a mut ()>,
}

impl<'a> ConsoleCallbacks<'a> {
    /// Callbacks that pass `context` to each function.
    ///
    /// # Safety
    /// During `'a`, each function must be safe to call with `context` and arguments valid
    /// for its signature, from the thread that holds the callbacks.
    pub const unsafe fn from_raw(
        context: *mut c_void,
        write: WriteOutputFn,
        read_line: ReadLineFn,
        read_key: ReadKeyFn,
        key_available: KeyAvailableFn,
        call_host_word: CallHostWordFn,
    ) -> ConsoleCallbacks<'a> {
        ConsoleCallbacks {
            context,
            write,
            read_line,
            read_key,
            key_available,
            call_host_word,
            _console: PhantomData,
        }
    }

    /// Program output; an error when the host could not write it (a closed pipe, a full
    /// disk), on which the engine throws -37.
    pub fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        // SAFETY: `from_raw`'s contract (or, for callbacks received through the ABI, the
        // caller's) makes the functions callable with `context`; `bytes` is readable.
        match unsafe { (self.write)(self.context, bytes.as_ptr(), bytes.len()) } {
            0 => Ok(()),
            errno if errno > 0 => Err(std::io::Error::from_raw_os_error(errno)),
            _ => Err(std::io::Error::other("the host could not write it")),
        }
    }

    /// Sends one input line (without newline) to `line`; false at end of input.
    pub fn read_line(&self, line: ByteSink<'_>) -> bool {
        // SAFETY: as in `write`.
        unsafe { (self.read_line)(self.context, line) == 1 }
    }

    /// One key, or `None` at end of input.
    pub fn read_key(&self) -> Option<u8> {
        // SAFETY: as in `write`.
        u8::try_from(unsafe { (self.read_key)(self.context) }).ok()
    }

    /// Whether a key can be read without waiting (see [`KeyAvailableFn`]).
    pub fn key_available(&self) -> bool {
        // SAFETY: as in `write`.
        unsafe { (self.key_available)(self.context) == 1 }
    }

    /// Runs host word `id` on `stack` in place (see [`CallHostWordFn`]): 0, or the throw
    /// code.
    pub fn call_host_word(&self, id: u32, stack: &mut DataStack<'_>, error: ByteSink<'_>) -> i64 {
        // SAFETY: as in `write`; `stack` is lent for the duration of the call.
        unsafe { (self.call_host_word)(self.context, id, stack, error) }
    }
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

function_table! {
    /// Functions of a [`crate::PluginKind::FORTH`] plugin: a whole Forth engine whose state
    /// can be carried to another build of the engine as a versioned image.
    pub struct ForthFunctions, checked as ForthApi {
        /// A new engine, or one rebuilt from `image` when it is non-empty. Returns
        /// [`EngineHandle::NULL`] with the reason sent to `error` when the image is refused.
        create: fn(
            limits: ForthLimits,
            image: FfiBytes,
            error: ByteSink<'_>,
        ) -> Returned<EngineHandle>,
        /// Interprets `source`; on an error its message (with position) is sent to `error`.
        evaluate: fn(
            engine: EngineHandle,
            source: FfiBytes,
            source_name: FfiStr,
            console: ConsoleCallbacks<'_>,
            error: ByteSink<'_>,
        ) -> Returned<EvalOutcome>,
        /// Sends the engine's state image to `image`.
        save_image: fn(engine: EngineHandle, image: ByteSink<'_>) -> Returned<()>,
        /// Sends the data stack, bottom first, as little-endian 8-byte cells.
        data_stack: fn(engine: EngineHandle, cells: ByteSink<'_>) -> Returned<()>,
        /// Empties both stacks and returns to interpretation state, keeping the dictionary.
        reset_after_error: fn(engine: EngineHandle) -> Returned<()>,
        /// Frees the engine.
        destroy: fn(engine: EngineHandle) -> Returned<()>,
        /// Defines `name` as host word `id` (see [`ConsoleCallbacks::call_host_word`]) and
        /// returns 1; returns 2 and defines nothing when a word of the dictionary is host
        /// word `id` already; on a refusal its message is sent to `error` and 0 returned.
        define_host_word: fn(
            engine: EngineHandle,
            name: FfiStr,
            id: u32,
            error: ByteSink<'_>,
        ) -> Returned<u32>,
        /// Ends a program's source `source_name` (its last file, its `-e` code, standard
        /// input): returns 0, or the throw code (-39) with its message sent to `error` when
        /// the program left a definition open.
        end_of_program: fn(
            engine: EngineHandle,
            source_name: FfiStr,
            error: ByteSink<'_>,
        ) -> Returned<i64>,
    }
}

function_table! {
    /// Functions of a [`crate::PluginKind::FORTH_NATIVE`] plugin: a Forth program compiled
    /// ahead of time, whose words run as native code. Every run starts from the program's
    /// state as it was compiled (its data space, empty stacks); runs share nothing. Calls
    /// continue a session whose data space the caller keeps: the plugin keeps no state.
    pub struct NativeForthFunctions, checked as NativeForthApi {
        /// Sends the names of the compiled words, oldest first, one per line.
        words: fn(names: ByteSink<'_>) -> Returned<()>,
        /// Runs the word `name` with output and input through `console`. Sends the data
        /// stack it leaves, bottom first, as little-endian 8-byte cells to `stack`, and on an
        /// error its message to `error` ([`EvalOutcome::ERROR`] with the throw code; -13 for
        /// a name that is not a compiled word). `stack_room` is as in `call_word`: with at
        /// least [`crate::NATIVE_CALL_STACK_BYTES`] the word runs on the calling thread,
        /// else on a thread of its own.
        run_word: fn(
            name: FfiStr,
            stack_room: usize,
            console: ConsoleCallbacks<'_>,
            stack: ByteSink<'_>,
            error: ByteSink<'_>,
        ) -> Returned<EvalOutcome>,
        /// The most cells the compiled program's data stack holds.
        data_stack_cells: fn() -> Returned<usize>,
        /// Calls compiled word number `word` (its line in `words`, from 0) in a session of
        /// the program: its data space `memory`, which the caller owns and lends to every
        /// call of the session (one at a time), made by `new_session` of this plugin. The
        /// word works on `memory` and on the caller's data stack in place: it may use at
        /// most `data_stack_cells` of the stack's cells. Output and input go through
        /// `console`. Writes 0, or the throw code with the error's message sent to `error`
        /// (-13 for a number that is not a compiled word, -21 for a data space of another
        /// size than the program's). `stack_room` is the stack, in bytes, the calling
        /// thread guarantees below the caller's frame (see
        /// [`crate::NATIVE_CALL_STACK_BYTES`]). The callbacks and the error sink are lent by
        /// reference: passed by value, they are copied onto the stack at every call (and a
        /// sink built with two stores and copied with one load stalls the call).
        call_word: fn(
            word: u32,
            memory: &mut DataSpace<'_>,
            stack: &mut DataStack<'_>,
            stack_room: usize,
            console: &ConsoleCallbacks<'_>,
            error: &ByteSink<'_>,
        ) -> Returned<i64>,
        /// Sends the data space of a new session, the program's state as it was compiled,
        /// to `memory`.
        new_session: fn(memory: ByteSink<'_>) -> Returned<()>,
    }
}

function_table! {
    /// Functions of a [`crate::PluginKind::OPTIMIZER`] plugin: the optimizer stage of the
    /// Forth pipeline. It speaks the IR version in its descriptor's `ir_version`; the host
    /// refuses a stage built for another version before it serves.
    pub struct OptimizerFunctions, checked as OptimizerApi {
        /// Optimizes one definition: `unit` is the definition in the engine's unit encoding
        /// (`fastforth_engine::stage`). Sends the optimized unit to `optimized` and returns
        /// 1, or sends why it could not to `error` and returns 0. Pure: it keeps nothing
        /// from one call to the next, so calls may come from any thread.
        optimize: fn(unit: FfiBytes, optimized: ByteSink<'_>, error: ByteSink<'_>) -> Returned<u32>,
    }
}

function_table! {
    /// Functions of a [`crate::PluginKind::PARSER`] plugin: the parser stage of the Forth
    /// pipeline. It speaks the IR version in its descriptor's `ir_version`, like an
    /// optimizer stage.
    pub struct ParserFunctions, checked as ParserApi {
        /// Splits the rest of one line of source into tokens: `line` is the line in the
        /// engine's line encoding (`fastforth_engine::parser_stage`). Sends its tokens, each
        /// with its value when it reads as a number, to `tokens` and returns 1, or sends why
        /// it could not to `error` and returns 0. Pure, like an optimizer's `optimize`.
        tokens: fn(line: FfiBytes, tokens: ByteSink<'_>, error: ByteSink<'_>) -> Returned<u32>,
    }
}

function_table! {
    /// Functions of a [`crate::PluginKind::COMPILER`] plugin: the compiler stage of the
    /// Forth pipeline. It speaks the IR version in its descriptor's `ir_version`, like an
    /// optimizer stage.
    pub struct CompilerFunctions, checked as CompilerApi {
        /// Says what to compile for a run of tokens: `run` is the tokens with what the
        /// dictionary says of each, in the engine's run encoding
        /// (`fastforth_engine::compiler_stage`). Sends each token's action to `actions` and
        /// returns 1, or sends why it could not to `error` and returns 0. Pure, like an
        /// optimizer's `optimize`.
        compile: fn(run: FfiBytes, actions: ByteSink<'_>, error: ByteSink<'_>) -> Returned<u32>,
    }
}

function_table! {
    /// Functions of a [`crate::PluginKind::BACKEND`] plugin: the native backend stage of the
    /// Forth pipeline, which turns a loaded program into a "forth-native" plugin. It speaks
    /// the IR version in its descriptor's `ir_version`, like an optimizer stage.
    pub struct BackendFunctions, checked as BackendApi {
        /// Builds `program` (the engine's program encoding, `fastforth_engine::program`)
        /// with `cargo` (a command name or path), keeping its work in the directory
        /// `cache_dir`, optimised when `release` is 1: into a native plugin when `entry` is
        /// empty, otherwise into an executable that runs the compiled word `entry`. Sends
        /// the build (`fastforth_engine::program::Built`) to `built` and returns 1, or sends
        /// why it could not to `error` and returns 0.
        build: fn(
            program: FfiBytes,
            cache_dir: FfiStr,
            cargo: FfiStr,
            release: u32,
            entry: FfiStr,
            built: ByteSink<'_>,
            error: ByteSink<'_>,
        ) -> Returned<u32>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn add(a: i32, b: i32) -> Returned<i32> {
        Returned::ok(a + b)
    }

    #[test]
    fn check_names_the_first_missing_entry() {
        let table = ExampleFunctions {
            add_numbers: Some(add),
            fibonacci: None,
        };
        assert_eq!(table.check().map(|_| ()), Err("fibonacci"));
    }

    unsafe extern "C" fn one(_: i32) -> Returned<i64> {
        Returned::ok(1)
    }

    #[test]
    fn a_complete_table_checks_into_plain_function_pointers() {
        let api = ExampleFunctions {
            add_numbers: Some(add),
            fibonacci: Some(one),
        }
        .check()
        .expect("complete table");
        // SAFETY: the entry takes plain integers.
        let returned = unsafe { (api.add_numbers)(2, 3) };
        assert_eq!(returned.into_result(), Ok(5));
    }
}
