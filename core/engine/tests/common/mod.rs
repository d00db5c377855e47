//! Helpers shared by the integration tests: run Forth text and look at the stack, the
//! output or the error.

#![allow(dead_code)]

use fastforth_engine::stage::{OptimizerStage, Unit, optimize_unit};
use fastforth_engine::{BufferConsole, Forth, ForthError, Limits};
use std::sync::Arc;

/// The variable that runs the suites through the optimizer stage's seam.
const STAGED: &str = "FASTFORTH_TEST_STAGED";

/// A fresh engine with default limits. With `FASTFORTH_TEST_STAGED=1` in the environment,
/// every definition goes through the optimizer stage's seam as it does to a stage plugin:
/// encoded as a unit, optimized from the bytes by the engine's own optimizer, decoded and
/// checked; an answer the engine would refuse fails the test.
pub fn forth() -> Forth {
    let mut forth = Forth::new(Limits::default());
    if std::env::var_os(STAGED).is_some_and(|value| value == "1") {
        forth.set_optimizer_stage(Some(Arc::new(CheckedStage)));
    }
    forth
}

/// The built-in optimizer behind the stage's byte seam, panicking on a refused answer.
struct CheckedStage;

impl OptimizerStage for CheckedStage {
    fn optimize(&self, unit: &[u8]) -> Result<Vec<u8>, String> {
        let asked = Unit::decode(unit).unwrap_or_else(|error| panic!("unit refused: {error}"));
        let answer = optimize_unit(unit, None).unwrap_or_else(|error| panic!("{error}"));
        let decoded =
            Unit::decode(&answer).unwrap_or_else(|error| panic!("answer refused: {error}"));
        if let Err(error) = asked.check_answer(&decoded) {
            panic!("answer refused: {error}");
        }
        Ok(answer)
    }
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
