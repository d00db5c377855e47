//! The parser stage's seam in the text interpreter: a stage's tokens and numbers are used,
//! parsing words and BASE changes take effect mid-line, and an answer that fails the checks
//! or an error costs the line the built-in parser, never the session.

use fastforth_engine::parser_stage::{
    Line, LineToken, MAX_STAGED_BYTES, Number, ParserStage, builtin_number, encode_tokens,
    parse_line,
};
use fastforth_engine::{BufferConsole, Forth, Limits};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A parser stage that reads `_` between digits as nothing (`1_000` is 1000), and keeps
/// each line it was asked about: where it started, and the text from there.
#[derive(Default)]
struct Separators {
    asked: Mutex<Vec<(u32, String)>>,
}

fn without_separators(token: &[u8], base: u64) -> Option<Number> {
    let digits: Vec<u8> = token.iter().copied().filter(|&b| b != b'_').collect();
    builtin_number(&digits, base)
}

impl ParserStage for Separators {
    fn tokens(&self, line: &[u8]) -> Result<Vec<u8>, String> {
        let asked = Line::decode(line).map_err(|error| error.to_string())?;
        let rest = String::from_utf8_lossy(&asked.text[asked.from as usize..]).into_owned();
        self.asked.lock().unwrap().push((asked.line, rest));
        parse_line(line, &without_separators)
    }
}

/// A stage whose answers are built by `answer` from the built-in tokens.
struct Answering(
    fn(&Line, Vec<LineToken>) -> Result<Vec<u8>, String>,
    AtomicUsize,
);

impl ParserStage for Answering {
    fn tokens(&self, line: &[u8]) -> Result<Vec<u8>, String> {
        self.1.fetch_add(1, Ordering::Relaxed);
        let line = Line::decode(line).map_err(|error| error.to_string())?;
        let tokens = line.tokens(&builtin_number);
        (self.0)(&line, tokens)
    }
}

fn run(forth: &mut Forth, source: &str) -> Vec<i64> {
    let mut console = BufferConsole::new();
    if let Err(error) = forth.evaluate(source, "test.fs", &mut console) {
        panic!("{source:?} failed: {error}");
    }
    forth.data_stack().to_vec()
}

fn staged(stage: Arc<dyn ParserStage>) -> Forth {
    let mut forth = Forth::new(Limits::default());
    forth.set_parser_stage(Some(stage));
    forth
}

#[test]
fn the_stage_reads_the_numbers_and_the_built_in_parser_comes_back_without_it() {
    let stage = Arc::new(Separators::default());
    let mut forth = staged(stage.clone());
    assert_eq!(run(&mut forth, "1_000 1+ $f_f"), [1001, 255]);
    assert_eq!(
        *stage.asked.lock().unwrap(),
        [(1, "1_000 1+ $f_f".to_owned())],
        "one question for a line without parsing words"
    );
    forth.set_parser_stage(None);
    let mut console = BufferConsole::new();
    let error = forth
        .evaluate("1_000", "test.fs", &mut console)
        .unwrap_err();
    assert_eq!(error.code, -13, "{error}");
}

#[test]
fn parsing_words_and_base_changes_take_effect_in_the_middle_of_a_line() {
    let stage = Arc::new(Separators::default());
    let mut forth = staged(stage.clone());
    let source = ": sq ( n -- n*n ) dup * ; 1_2 sq hex ff decimal 10 char x\n\
                  s\" a b\" nip 2 \\ 99 comment\n3";
    assert_eq!(run(&mut forth, source), [144, 255, 10, 120, 3, 2, 3]);
    let asked = stage.asked.lock().unwrap().clone();
    let starts: Vec<&str> = asked.iter().map(|(_, rest)| rest.as_str()).collect();
    assert_eq!(
        starts,
        [
            ": sq ( n -- n*n ) dup * ; 1_2 sq hex ff decimal 10 char x",
            "ff decimal 10 char x",
            "10 char x",
            "s\" a b\" nip 2 \\ 99 comment",
            "3",
        ],
        "asked again after each BASE change, from where >IN was; parsing words skip tokens"
    );
    assert_eq!(asked.last().unwrap().0, 3, "line numbers");
}

#[test]
fn a_parsing_word_that_stops_inside_a_token_makes_it_ask_again() {
    let stage = Arc::new(Separators::default());
    let mut forth = staged(stage.clone());
    let source = ": p [char] | parse 2drop ;\np ab|1_0 2_0";
    assert_eq!(run(&mut forth, source), [10, 20]);
    let asked = stage.asked.lock().unwrap().clone();
    let starts: Vec<&str> = asked[asked.len() - 2..]
        .iter()
        .map(|(_, rest)| rest.as_str())
        .collect();
    assert_eq!(starts, ["p ab|1_0 2_0", "1_0 2_0"]);
}

#[test]
fn input_that_rereads_itself_and_evaluate_strings_go_through_the_stage() {
    let mut forth = staged(Arc::new(Separators::default()));
    let source = "0\n1+ dup 5 < [if] 0 >in ! [then]\ns\" 4_0 2 +\" evaluate";
    assert_eq!(run(&mut forth, source), [5, 42]);
}

#[test]
fn input_that_comes_back_to_where_it_was_asked_from_takes_the_same_answer() {
    let answer: fn(&Line, Vec<LineToken>) -> Result<Vec<u8>, String> =
        |_, tokens| Ok(encode_tokens(&tokens));
    let stage = Arc::new(Answering(answer, AtomicUsize::new(0)));
    let mut forth = staged(stage.clone());
    let source = "0\n1+ dup 5000 < [if] 0 >in ! [then]";
    assert_eq!(run(&mut forth, source), [5000]);
    assert_eq!(
        stage.1.load(Ordering::Relaxed),
        2,
        "line 1, and line 2 once for its 5,000 passes and the last [IF], which skips forward"
    );
    assert_eq!(forth.take_stage_faults(), Vec::<String>::new());
    // The same position with other bytes is another question.
    let mut forth = staged(stage);
    let source = ": t [char] 5 source drop c! ;\n0 1+ dup 3 < [if] t 0 >in ! [then]";
    assert_eq!(
        run(&mut forth, source),
        [1, 6],
        "the first 0 read as 5 the second time"
    );
    assert_eq!(forth.take_stage_faults(), Vec::<String>::new());
}

#[test]
fn a_refused_answer_or_an_error_costs_the_line_the_built_in_parser_and_is_reported() {
    let outside: fn(&Line, Vec<LineToken>) -> Result<Vec<u8>, String> = |line, mut tokens| {
        if let Some(last) = tokens.last_mut() {
            last.len = line.text.len() as u32 + 1;
        }
        Ok(encode_tokens(&tokens))
    };
    let stage = Arc::new(Answering(outside, AtomicUsize::new(0)));
    let mut forth = staged(stage.clone());
    assert_eq!(run(&mut forth, "1 2 +\n4 5"), [3, 4, 5]);
    assert_eq!(stage.1.load(Ordering::Relaxed), 2, "asked once per line");
    let faults = forth.take_stage_faults();
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(
        faults[0].starts_with("the parser stage gave no usable answer for line 1 of test.fs: ")
            && faults[0].contains("token 2 at 4..10")
            && faults[0].ends_with("; the built-in parser read it"),
        "{faults:?}"
    );
    let failing: fn(&Line, Vec<LineToken>) -> Result<Vec<u8>, String> =
        |_, _| Err("no parser here".to_owned());
    let mut forth = staged(Arc::new(Answering(failing, AtomicUsize::new(0))));
    assert_eq!(run(&mut forth, ": t 7 ; t"), [7]);
    let faults = forth.take_stage_faults();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(faults[0].contains(": no parser here;"), "{faults:?}");
}

#[test]
fn the_built_in_parser_reads_a_huge_line_until_the_rest_is_short_enough_for_the_stage() {
    let stage = Arc::new(Separators::default());
    let mut forth = staged(stage.clone());
    let long = "1 drop ".repeat(MAX_STAGED_BYTES / 7 + 1) + "1_0";
    assert_eq!(run(&mut forth, &long), [10]);
    let asked = stage.asked.lock().unwrap();
    assert_eq!(asked.len(), 1, "asked once");
    let rest = asked[0].1.len();
    assert!(
        rest <= MAX_STAGED_BYTES && rest > MAX_STAGED_BYTES - 8,
        "{rest}"
    );
}

#[test]
fn a_line_of_many_parsing_words_is_asked_about_once() {
    let stage = Arc::new(Separators::default());
    let mut forth = staged(stage.clone());
    let line = "( x ) ".repeat(100_000) + "1_0";
    assert_eq!(run(&mut forth, &line), [10]);
    assert_eq!(stage.asked.lock().unwrap().len(), 1);
    assert_eq!(forth.take_stage_faults(), Vec::<String>::new());
}

#[test]
fn a_line_of_many_base_changes_is_asked_about_a_bounded_number_of_times() {
    let stage = Arc::new(Separators::default());
    let mut forth = staged(stage.clone());
    let line = "hex decimal ".repeat(50_000) + "1_0";
    let mut console = BufferConsole::new();
    let error = forth.evaluate(&line, "test.fs", &mut console).unwrap_err();
    assert_eq!(error.code, -13, "the built-in parser read the end: {error}");
    let asked = stage.asked.lock().unwrap().len();
    assert!((2..100).contains(&asked), "{asked} questions");
    let faults = forth.take_stage_faults();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(
        faults[0].contains("line 1 of test.fs: asked about it again and again (BASE changed"),
        "{faults:?}"
    );
    assert_eq!(run(&mut forth, "2_0"), [20], "the next line is asked about");
}

#[test]
fn a_stage_may_split_differently_within_the_checks() {
    // Drops every token after a `\`: what the comment word would have skipped anyway.
    let comments: fn(&Line, Vec<LineToken>) -> Result<Vec<u8>, String> = |line, tokens| {
        let text = &line.text;
        let kept: Vec<LineToken> = tokens
            .into_iter()
            .take_while(|token| &text[token.start as usize..token.end()] != b"\\")
            .collect();
        Ok(encode_tokens(&kept))
    };
    let mut forth = staged(Arc::new(Answering(comments, AtomicUsize::new(0))));
    assert_eq!(run(&mut forth, "1 2 \\ 3 4\n5"), [1, 2, 5]);
    assert!(forth.take_stage_faults().is_empty());
}

#[test]
fn a_refused_line_does_not_cost_the_next_line_of_the_same_length() {
    let refuse_faults: fn(&Line, Vec<LineToken>) -> Result<Vec<u8>, String> = |line, tokens| {
        if line.text.windows(5).any(|w| w == b"FAULT") {
            return Err("refused".to_owned());
        }
        let read = |token: &LineToken| {
            let text = &line.text[token.start as usize..token.end()];
            let digits: Vec<u8> = text.iter().copied().filter(|&b| b != b'_').collect();
            LineToken {
                number: builtin_number(&digits, line.base),
                ..*token
            }
        };
        Ok(encode_tokens(&tokens.iter().map(read).collect::<Vec<_>>()))
    };
    let mut forth = staged(Arc::new(Answering(refuse_faults, AtomicUsize::new(0))));
    assert_eq!(
        run(&mut forth, ": FAULT ;\nFAULT 12\n1_000 4"),
        [12, 1000, 4]
    );
    assert_eq!(
        forth.take_stage_faults().len(),
        2,
        "the two lines holding FAULT"
    );
}
