//! Helpers shared by the integration tests: run Forth text and look at the stack, the
//! output or the error.

#![allow(dead_code)]

use fastforth_engine::compiler_stage::{CompilerStage, Run, compile_run};
use fastforth_engine::parser_stage::{Line, ParserStage, builtin_number, parse_line};
use fastforth_engine::stage::{OptimizerStage, Unit, optimize_unit};
use fastforth_engine::{BufferConsole, Forth, ForthError, Limits};
use std::sync::Arc;

/// The variable that runs the suites through the parser, compiler and optimizer stages'
/// seams.
const STAGED: &str = "FASTFORTH_TEST_STAGED";

/// A fresh engine with default limits. With `FASTFORTH_TEST_STAGED=1` in the environment,
/// the text interpreter's input, the tokens it compiles and every definition go through the
/// parser, compiler and optimizer stages' seams as they do to stage plugins: encoded,
/// parsed, compiled or optimized from the bytes by the engine's own parser, compiler and
/// optimizer, decoded and checked; an answer the engine would refuse fails the test.
pub fn forth() -> Forth {
    let mut forth = Forth::new(Limits::default());
    if std::env::var_os(STAGED).is_some_and(|value| value == "1") {
        forth.set_optimizer_stage(Some(Arc::new(CheckedStage)));
        forth.set_parser_stage(Some(Arc::new(CheckedParser)));
        forth.set_compiler_stage(Some(Arc::new(CheckedCompiler)));
    }
    forth
}

/// The built-in compiler behind the compiler stage's byte seam, panicking on a refused
/// answer.
struct CheckedCompiler;

impl CompilerStage for CheckedCompiler {
    fn compile(&self, run: &[u8]) -> Result<Vec<u8>, String> {
        let asked = Run::decode(run).unwrap_or_else(|error| panic!("run refused: {error}"));
        let answer = compile_run(run, &|_, _| {}).unwrap_or_else(|error| panic!("{error}"));
        if let Err(error) = asked.check_answer(&answer) {
            panic!("answer refused: {error}");
        }
        Ok(answer)
    }
}

/// The built-in parser behind the parser stage's byte seam, panicking on a refused answer.
struct CheckedParser;

impl ParserStage for CheckedParser {
    fn tokens(&self, line: &[u8]) -> Result<Vec<u8>, String> {
        let asked = Line::decode(line).unwrap_or_else(|error| panic!("line refused: {error}"));
        let answer = parse_line(line, &builtin_number).unwrap_or_else(|error| panic!("{error}"));
        if let Err(error) = asked.check_answer(&answer) {
            panic!("answer refused: {error}");
        }
        Ok(answer)
    }
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
