//! The compiler stage's seam in the text interpreter: a stage's code for the tokens met while
//! compiling is used, immediate words and locals stay the engine's (asked about again after
//! them), and an answer that fails the checks or an error costs the run the built-in
//! compiler, never the session.

use fastforth_engine::compiler_stage::{
    Action, CompilerStage, Facts, Run, compile_run, encode_actions, power_of_two_shifts,
};
use fastforth_engine::ir::Op;
use fastforth_engine::{BufferConsole, Forth, Limits};
use std::sync::{Arc, Mutex};

/// A compiler stage that compiles a literal power of two followed by `*` as a shift, and
/// keeps the text of each run it was asked about.
#[derive(Default)]
struct Shifts {
    asked: Mutex<Vec<String>>,
}

impl CompilerStage for Shifts {
    fn compile(&self, run: &[u8]) -> Result<Vec<u8>, String> {
        let asked = Run::decode(run).map_err(|error| error.to_string())?;
        self.asked.lock().unwrap().push(asked.text());
        compile_run(run, &power_of_two_shifts)
    }
}

/// A stage that answers with `answer` for every run.
struct Answering(fn(&Run) -> Result<Vec<u8>, String>);

impl CompilerStage for Answering {
    fn compile(&self, run: &[u8]) -> Result<Vec<u8>, String> {
        (self.0)(&Run::decode(run).map_err(|error| error.to_string())?)
    }
}

fn staged(stage: Arc<dyn CompilerStage>) -> Forth {
    let mut forth = Forth::new(Limits::default());
    forth.set_compiler_stage(Some(stage));
    forth
}

fn run(forth: &mut Forth, source: &str) -> (String, Vec<i64>) {
    let mut console = BufferConsole::new();
    if let Err(error) = forth.evaluate(source, "test.fs", &mut console) {
        panic!("{source:?} failed: {error}");
    }
    (console.output_text(), forth.data_stack().to_vec())
}

#[test]
fn the_stage_compiles_runs_of_tokens_and_the_engine_keeps_its_words() {
    let stage = Arc::new(Shifts::default());
    let mut forth = staged(stage.clone());
    let (_, stack) = run(
        &mut forth,
        ": eight* ( n -- 8n ) 8 * ;\n: t ( n -- m ) dup 0< if negate else 4 * 1+ then ;\n\
         5 eight* -3 t 2 t",
    );
    assert_eq!(stack, [40, 3, 9]);
    assert_eq!(
        *stage.asked.lock().unwrap(),
        ["8 *", "dup 0<", "negate", "4 * 1+"],
        "asked from each token the engine did not handle, up to the next one it does"
    );
    let (seen, _) = run(&mut forth, "see eight*");
    assert!(
        seen.contains("LSHIFT") && !seen.contains("LitMul"),
        "{seen}"
    );
    forth.set_compiler_stage(None);
    let (seen, _) = run(&mut forth, ": four* 4 * ; see four*");
    assert!(
        seen.contains("LitMul(4)") && !seen.contains("LSHIFT"),
        "{seen}"
    );
}

#[test]
fn locals_return_stack_words_and_parsing_words_compile_as_built_in() {
    let stage = Arc::new(Shifts::default());
    let mut forth = staged(stage.clone());
    let (output, stack) = run(
        &mut forth,
        ": t {: a b :} a >r b 2 * r> + [char] x emit s\" ok\" type ; 1 10 t",
    );
    assert_eq!((output.as_str(), stack.as_slice()), ("xok", &[21][..]));
    let asked = stage.asked.lock().unwrap().clone();
    assert_eq!(asked, [">r", "2 * r> +", "emit", "type"]);
}

#[test]
fn an_answer_that_fails_the_checks_or_an_error_costs_the_run_the_built_in_compiler() {
    // `dup` compiled as `drop`: the depth changes by -1 where the word changes it by +1.
    let wrong: fn(&Run) -> Result<Vec<u8>, String> = |run| {
        let mut actions = run.builtin_actions();
        actions[0] = Action::Compile(vec![Op::Drop]);
        Ok(encode_actions(&actions))
    };
    let mut forth = staged(Arc::new(Answering(wrong)));
    assert_eq!(run(&mut forth, ": t dup + ; 4 t").1, [8]);
    let faults = forth.take_stage_faults();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(
        faults[0].starts_with(
            "the compiler stage gave no usable answer for `dup +` in t (test.fs:1): answer \
             refused: the answered tokens change the stack depth by -2, as built in by 0"
        ) && faults[0].ends_with("the built-in compiler compiled it"),
        "{faults:?}"
    );
    let failing: fn(&Run) -> Result<Vec<u8>, String> = |_| Err("no compiler here".to_owned());
    let mut forth = staged(Arc::new(Answering(failing)));
    assert_eq!(run(&mut forth, ": t 3 4 + ; t").1, [7]);
    let faults = forth.take_stage_faults();
    assert!(faults[0].contains(": no compiler here;"), "{faults:?}");
}

#[test]
fn a_stage_may_call_a_number_undefined_and_the_error_names_it() {
    let strict: fn(&Run) -> Result<Vec<u8>, String> = |run| {
        let undefined = |(text, facts): &(Vec<u8>, Facts)| match facts {
            Facts::NotFound(_) if text.starts_with(b"$") => Action::Undefined,
            _ => Action::Engine,
        };
        Ok(encode_actions(
            &run.tokens.iter().map(undefined).collect::<Vec<_>>(),
        ))
    };
    let mut forth = staged(Arc::new(Answering(strict)));
    let mut console = BufferConsole::new();
    let error = forth
        .evaluate(": t 1 $10 + ;", "test.fs", &mut console)
        .unwrap_err();
    assert_eq!(error.to_string(), "test.fs:1:7: -13 undefined word in $10");
    forth.reset_after_error();
    assert_eq!(run(&mut forth, ": u 1 16 + ; u").1, [17]);
}

/// A parser stage that reads `_` between digits as nothing.
struct Separators;

impl fastforth_engine::parser_stage::ParserStage for Separators {
    fn tokens(&self, line: &[u8]) -> Result<Vec<u8>, String> {
        use fastforth_engine::parser_stage::{builtin_number, parse_line};
        parse_line(line, &|token, base| {
            let digits: Vec<u8> = token.iter().copied().filter(|&b| b != b'_').collect();
            builtin_number(&digits, base)
        })
    }
}

#[test]
fn with_a_parser_stage_a_run_holds_its_tokens_and_numbers() {
    let stage = Arc::new(Shifts::default());
    let mut forth = staged(stage.clone());
    forth.set_parser_stage(Some(Arc::new(Separators)));
    let (seen, stack) = run(&mut forth, ": t 1_6 * 1+ ; see t 2 t");
    assert_eq!(stack, [33]);
    assert!(seen.contains("LSHIFT"), "{seen}");
    assert_eq!(*stage.asked.lock().unwrap(), ["1_6 * 1+"]);
}
