//! Forth source through the built-in engine with small limits: no panic, bounded time (the
//! step budget), and every uncaught error either a code from the engine's own table, a file
//! ior, or one the program threw itself. File access is off (the fuzzer must not touch the files of
//! the directory it runs in).
#![no_main]

use fastforth_engine::{BufferConsole, FileAccess, Forth, Limits, is_file_ior, message_for};
use libfuzzer_sys::fuzz_target;

/// The message `message_for` gives a code outside the standard's table.
const UNKNOWN: &str = "uncaught exception";

thread_local! {
    /// A fresh engine with small limits, built once; each input runs on a copy of it, which
    /// is a fresh engine too (the engine's tests check that a copy behaves as the original).
    static FRESH: Forth = Forth::new(Limits {
            data_stack_cells: 64,
            return_stack_cells: 64,
            data_space_bytes: 64 << 10,
            max_steps: Some(20_000),
            file_access: FileAccess::Off,
            ..Limits::default()
        });
}

fuzz_target!(|source: &[u8]| {
    let mut forth = FRESH.with(Forth::clone);
    let mut console = BufferConsole::with_input("");
    if let Err(error) = forth.evaluate_bytes(source, "fuzz.fs", &mut console) {
        // A program may throw any code, also through an execution token it computed.
        let user_thrown = error
            .word
            .as_deref()
            .is_some_and(|word| word.eq_ignore_ascii_case("throw"));
        assert!(
            user_thrown || message_for(error.code) != UNKNOWN || is_file_ior(error.code),
            "non-standard code {} from the engine: {error}",
            error.code
        );
    }
    // The session survives any error (any word may have been redefined, so only the empty
    // source is sure to succeed).
    forth.reset_after_error();
    let after = forth.evaluate("", "check", &mut console);
    assert!(after.is_ok(), "session unusable after an error: {after:?}");
});
