//! Helpers shared by the integration tests: run Forth text and look at the stack, the
//! output or the error.

#![allow(dead_code)]

use fastforth_engine::{BufferConsole, Forth, ForthError, Limits};

/// A fresh engine with default limits.
pub fn forth() -> Forth {
    Forth::new(Limits::default())
}

/// Evaluates `source` on a fresh engine and returns the data stack; panics on an error.
pub fn stack(source: &str) -> Vec<i64> {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    if let Err(error) = forth.evaluate(source, "test", &mut console) {
        panic!("{source:?} failed: {error}");
    }
    forth.data_stack().to_vec()
}

/// Evaluates `source` on a fresh engine and returns what it printed; panics on an error.
pub fn output(source: &str) -> String {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    if let Err(error) = forth.evaluate(source, "test", &mut console) {
        panic!("{source:?} failed: {error}");
    }
    console.output_text()
}

/// Evaluates `source` on a fresh engine and returns the error it must raise.
pub fn error(source: &str) -> ForthError {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    match forth.evaluate(source, "test", &mut console) {
        Ok(_) => panic!(
            "{source:?} should have failed; stack {:?}",
            forth.data_stack()
        ),
        Err(error) => error,
    }
}

/// Checks each `(source, expected stack)` pair.
pub fn check_all(cases: &[(&str, &[i64])]) {
    for (source, expected) in cases {
        assert_eq!(stack(source), *expected, "stack after {source:?}");
    }
}
