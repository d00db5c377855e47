//! The `main` of a program compiled to an executable (`fastforth compile --exe`): it runs
//! one compiled word as `fastforth run --native` runs it from a plugin, on standard output,
//! with no host process, no plugin loading and no shared Rust runtime.

use crate::{Entry, Image, run};
use fastforth_abi::{ByteSink, ConsoleCallbacks, DataStack, EvalOutcome, FfiStr};
use std::ffi::c_void;
use std::io::Write;
use std::process::ExitCode;

/// Runs compiled word `entry` of the program from the state it was compiled in (a run's
/// own thread gives it the stack a native word may need). Output goes to standard output;
/// an error is printed to standard error as `fastforth run --native` prints it (`-10
/// division by zero in avg`), and the exit code is then 1.
pub fn main(image: &'static Image, words: &[(&str, Entry)], entry: &str) -> ExitCode {
    // SAFETY: the functions ignore the context and are callable from any thread.
    let console = unsafe {
        ConsoleCallbacks::from_raw(
            std::ptr::null_mut(),
            write_stdout,
            no_input_line,
            no_key,
            no_key_available,
            no_host_word,
        )
    };
    let mut message = Vec::new();
    let mut stack = Vec::new();
    // SAFETY: `entry` is a `&str`, readable for the call; a stack room of 0 runs the word
    // on a thread of its own with the stack it needs.
    let outcome = unsafe {
        run(
            image,
            words,
            FfiStr::new(entry),
            0,
            console,
            ByteSink::for_vec(&mut stack),
            ByteSink::for_vec(&mut message),
        )
    };
    if outcome.flow == EvalOutcome::ERROR {
        eprintln!("{}", String::from_utf8_lossy(&message));
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Program output to standard output, written through (std's buffer would keep a write's
/// failure from the run): 0, or the OS error number (-1 without one), which the run throws
/// as -37 (a closed pipe ends the run, it does not kill the process).
unsafe extern "C" fn write_stdout(_: *mut c_void, bytes: *const u8, len: usize) -> i32 {
    // SAFETY: the runtime passes `len` readable bytes at `bytes` (`ConsoleCallbacks::write`).
    let bytes = unsafe { std::slice::from_raw_parts(bytes, len) };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        Err(error) => error.raw_os_error().unwrap_or(-1),
    }
}

/// Compiled code reads no input (words that do are left to the interpreter): end of input.
pub(crate) unsafe extern "C" fn no_input_line(_: *mut c_void, _: ByteSink<'_>) -> i32 {
    0
}

/// As [`no_input_line`], for KEY.
pub(crate) unsafe extern "C" fn no_key(_: *mut c_void) -> i32 {
    -1
}

/// As [`no_key`], for KEY? (compiled code asks none: KEY? runs interpreted).
pub(crate) unsafe extern "C" fn no_key_available(_: *mut c_void) -> i32 {
    0
}

/// An executable has no host to provide host words; compiled code calls none.
pub(crate) unsafe extern "C" fn no_host_word(
    _: *mut c_void,
    _: u32,
    _: &mut DataStack<'_>,
    _: ByteSink<'_>,
) -> i64 {
    crate::code::UNSUPPORTED_OPERATION
}
