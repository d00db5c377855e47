//! Every error: its standard throw code, message, word and source position, and that the
//! engine keeps working after `reset_after_error`.

mod common;

use common::{error, stack};
use fastforth_engine::{BufferConsole, Forth, Limits, SourceLocation};

fn check(source: &str, code: i64, message: &str, word: Option<&str>) {
    let failure = error(source);
    assert_eq!(failure.code, code, "code of {source:?}: {failure}");
    assert_eq!(failure.message, message, "message of {source:?}");
    assert_eq!(failure.word.as_deref(), word, "word of {source:?}");
}

#[test]
fn standard_codes_messages_and_words() {
    check("DUP", -4, "stack underflow", Some("DUP"));
    check(": t DUP ; t", -4, "stack underflow", Some("DUP"));
    check(": t RECURSE ; t", -5, "return stack overflow", Some("t"));
    check(": t R> R> R> ; t", -6, "return stack underflow", Some("R>"));
    check("-1 @", -9, "invalid memory address", Some("@"));
    check(
        "1 HERE 999999999 + !",
        -9,
        "invalid memory address",
        Some("!"),
    );
    check("0 -1 C!", -9, "invalid memory address", Some("C!"));
    check("1 0 /", -10, "division by zero", Some("/"));
    // 0 and 1 are code addresses of the executor's own (halt, end of CATCH), no word's.
    for token in ["0", "1", "-1", "999999999"] {
        let message = "invalid execution token";
        check(&format!("{token} EXECUTE"), -257, message, Some("EXECUTE"));
        check(
            &format!(": t {token} EXECUTE ; t"),
            -257,
            message,
            Some("EXECUTE"),
        );
        // Inside CATCH's frame: caught.
        assert_eq!(stack(&format!("7 {token} CATCH")), [7, -257], "{token}");
        check(
            &format!("{token} COMPILE,"),
            -257,
            message,
            Some("COMPILE,"),
        );
    }
    let message = "invalid execution token";
    check("DEFER d d", -257, message, Some("d"));
    check("DEFER d : t d ; t", -257, message, Some("d"));
    check("DEFER d -1 IS d d", -257, message, Some("d"));
    // A built-in on its caller's return stack frame has no frame when run by token.
    let message = "interpreting a compile-only word";
    check(": t 5 >R ['] R> EXECUTE . ; t", -14, message, Some("R>"));
    check(
        ": t 3 0 DO ['] I EXECUTE . LOOP ; t",
        -14,
        message,
        Some("I"),
    );
    check(": t 7 ['] >R EXECUTE R> ; t", -14, message, Some(">R"));
    assert_eq!(stack(": t 7 ['] R@ CATCH ; t"), [7, -14]);
    check(
        "DEFER d ' UNLOOP IS d : t 1 0 DO d LOOP ; t",
        -14,
        message,
        Some("UNLOOP"),
    );
    check("1 2 2 ' N>R EXECUTE", -14, message, Some("N>R"));
    check("1 0 MOD", -10, "division by zero", Some("MOD"));
    check(
        "-9223372036854775808 -1 /",
        -11,
        "result out of range",
        Some("/"),
    );
    check(
        "-9223372036854775808 -1 /MOD",
        -11,
        "result out of range",
        Some("/MOD"),
    );
    check(
        ": t -9223372036854775808 -1 / ; t",
        -11,
        "result out of range",
        Some("/"),
    );
    check("nosuchword", -13, "undefined word", Some("nosuchword"));
    check(
        "VARIABLE v 5 TO v",
        -32,
        "invalid name argument",
        Some("TO"),
    );
    check("CREATE c 5 TO c", -32, "invalid name argument", Some("TO"));
    for (source, word) in [
        ("VARIABLE x ACTION-OF x", "ACTION-OF"),
        ("CREATE y ' y DEFER@", "DEFER@"),
        ("VARIABLE z ' DUP ' z DEFER!", "DEFER!"),
    ] {
        check(source, -32, "invalid name argument", Some(word));
    }
    check(
        "VARIABLE w ' DUP IS w",
        -32,
        "invalid name argument",
        Some("IS"),
    );
    check(
        ": u ; : t 5 TO u ;",
        -32,
        "invalid name argument",
        Some("TO"),
    );
    check("IF", -14, "interpreting a compile-only word", Some("IF"));
    check(
        ": t THEN ;",
        -22,
        "control structure mismatch",
        Some("THEN"),
    );
    check(
        ": t BEGIN IF AGAIN ;",
        -22,
        "control structure mismatch",
        Some("AGAIN"),
    );
    check(": t IF ;", -22, "control structure mismatch", Some(";"));
    check("ABORT", -1, "aborted", Some("ABORT"));
    check(
        ": t 1 ABORT\" it broke\" ; t",
        -2,
        "it broke",
        Some("ABORT\""),
    );
    check("42 THROW", 42, "uncaught exception", Some("THROW"));
    check(
        "S\" /no/such/file.fs\" INCLUDED",
        -38,
        "non-existent file: /no/such/file.fs (No such file or directory (os error 2))",
        Some("/no/such/file.fs"),
    );
    check("1 1 1 UM/MOD", -11, "result out of range", Some("UM/MOD"));
    check(
        ": t ' ; t",
        -16,
        "attempt to use zero-length string as a name",
        Some("'"),
    );
}

/// A program's own one-instruction definition on the return stack runs by token as when
/// called, and the token of a built-in like R> still compiles it.
#[test]
fn words_on_the_return_stack_run_by_token_when_they_have_a_frame() {
    let program = ": skip R> DROP ; : t 1 ['] skip EXECUTE 2 ; t 3 \
                   : r>, ['] R> COMPILE, ; IMMEDIATE : u 9 >R r>, ; u";
    assert_eq!(stack(program), [1, 3, 9]);
}

#[test]
fn fused_instructions_fail_as_their_parts() {
    let underflow = "stack underflow";
    let rs_underflow = "return stack underflow";
    let address = "invalid memory address";
    // `+ ;` and `DROP n ;`
    check(": t + ; 1 t", -4, underflow, Some("+"));
    check(": t R> DROP 1 2 + ; t", -6, rs_underflow, Some("EXIT"));
    check(": t DROP 1 ; t", -4, underflow, Some("DROP"));
    check(": t R> DROP 5 DROP 1 ; t", -6, rs_underflow, Some("EXIT"));
    // `I C@ IF`
    check(": t 1 -1 DO I C@ IF THEN LOOP ; t", -9, address, Some("C@"));
    // `n + LOOP`
    check(": t 2 0 DO + LOOP ; t", -4, underflow, Some("+"));
    check(
        ": t 2 0 DO 0 R> DROP R> DROP 2 + LOOP ; t",
        -6,
        rs_underflow,
        Some("LOOP"),
    );
    // `I 2@ < IF`
    check(
        ": t 1 -9 DO I 2@ < IF THEN LOOP ; t",
        -9,
        address,
        Some("2@"),
    );
    // `n I C! DUP +LOOP`
    check(
        ": t 1 -1 -5 DO 0 I C! DUP +LOOP ; t",
        -9,
        address,
        Some("C!"),
    );
    check(
        ": t 10 0 DO 0 I C! DUP +LOOP ; t",
        -4,
        underflow,
        Some("DUP"),
    );
    // `>R OVER @ OVER @ * R> + >R`
    let inner_product = ": t >R OVER @ OVER @ * R> + >R R> ; ";
    check(&format!("{inner_product} t"), -4, underflow, Some(">R"));
    check(
        &format!("{inner_product} 1 2 t"),
        -4,
        underflow,
        Some("OVER"),
    );
    check(&format!("{inner_product} -1 0 5 t"), -9, address, Some("@"));
    check(&format!("{inner_product} 0 -1 5 t"), -9, address, Some("@"));
}

#[test]
fn fused_instructions_leave_the_state_of_their_parts_after_a_failure() {
    // The byte is stored before DUP finds the stack empty; the sum went to the return
    // stack, which the throw unwinds, before @ failed.
    assert_eq!(
        stack(": t 10 0 DO 0 I C! DUP +LOOP ; 5 0 C! ' t CATCH 0 C@"),
        [-4, 0]
    );
    assert_eq!(
        stack(": t >R OVER @ OVER @ * R> + >R R> ; 0 -1 5 ' t CATCH"),
        [0, -1, 5, -9]
    );
    assert_eq!(
        stack(": t >R OVER @ OVER @ * R> + >R R> ; 6 0 ! 7 8 ! 0 8 5 t"),
        [0, 8, 47]
    );
}

#[test]
fn a_fused_loop_body_overflows_where_its_parts_would() {
    // On a three-cell stack holding the step and a 5, `0` still fits, the index `I`
    // pushes does not.
    let mut forth = Forth::new(Limits {
        data_stack_cells: 3,
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let failure = forth
        .evaluate(": t DO 5 0 I C! DUP +LOOP ; 1 10 0 t", "t", &mut console)
        .unwrap_err();
    assert_eq!((failure.code, failure.word.as_deref()), (-3, Some("I")));
}

#[test]
fn stack_overflow_is_minus_three() {
    let mut forth = Forth::new(Limits {
        data_stack_cells: 8,
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let failure = forth
        .evaluate("1 2 3 4 5 6 7 8 9", "t", &mut console)
        .unwrap_err();
    assert_eq!(failure.code, -3);
    assert_eq!(forth.data_stack().len(), 8);
}

#[test]
fn zero_divisor_in_other_division_words() {
    for source in [
        "1 0 /MOD",
        "1 1 0 */",
        "1 1 0 */MOD",
        "1 0 0 FM/MOD",
        "1 0 0 UM/MOD",
    ] {
        assert_eq!(error(source).code, -10, "{source}");
    }
}

#[test]
fn display_has_position_code_message_and_word() {
    let failure = error("1 2\n  3 DROP DROP DROP DUP");
    assert_eq!(
        failure.location,
        Some(SourceLocation {
            file: "test".into(),
            line: 2,
            column: 20
        })
    );
    assert_eq!(failure.to_string(), "test:2:20: -4 stack underflow in DUP");
}

/// A name in a message is cut short and its control characters escaped: an undefined word
/// can be as long as its line, and any byte but a blank.
#[test]
fn display_cuts_a_long_name_and_escapes_control_characters() {
    let long = "x".repeat(100_000);
    let failure = error(&long);
    assert_eq!(failure.word.as_deref().map(str::len), Some(100_000));
    assert_eq!(
        failure.to_string(),
        format!("test:1:1: -13 undefined word in {}...", "x".repeat(64))
    );
    // Bytes below 0x21 are blanks to the parser; DEL and C1 controls (CSI) are not.
    let failure = error("a\u{7f}\u{9b}2Jb");
    assert_eq!(
        failure.to_string(),
        "test:1:1: -13 undefined word in a\\u{7f}\\u{9b}2Jb"
    );
}

#[test]
fn errors_inside_evaluate_report_the_outer_position() {
    let failure = error("  S\" 1 nope\" EVALUATE");
    assert_eq!(failure.code, -13);
    assert_eq!(failure.word.as_deref(), Some("nope"));
    assert_eq!(failure.location.map(|l| l.column), Some(14));
}

#[test]
fn file_errors_name_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("fastforth-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.fs");
    std::fs::write(&path, ": ok 1 ;\nok ok\n  oops\n").unwrap();
    let mut forth = common::forth();
    let failure = forth
        .include_file(&path, &mut BufferConsole::new())
        .unwrap_err();
    let location = failure.location.unwrap();
    assert!(location.file.ends_with("bad.fs"));
    assert_eq!((location.line, location.column), (3, 3));
    assert_eq!(forth.data_stack(), &[1, 1]);
    let missing = forth
        .include_file(&dir.join("missing.fs"), &mut BufferConsole::new())
        .unwrap_err();
    assert_eq!(missing.code, -38);
    assert!(missing.message.contains("missing.fs"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unterminated_definitions_and_strings() {
    // A definition left open at the end of the text stays open: the next text continues it.
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    forth.evaluate(": five", "t", &mut console).unwrap();
    forth.evaluate("5 ;", "t", &mut console).unwrap();
    forth.evaluate("five", "t", &mut console).unwrap();
    assert_eq!(forth.data_stack(), &[5]);
    // An unterminated string takes the rest of the line.
    assert_eq!(common::stack(": t S\" abc ; \n ; t NIP"), vec![6]);
    // Interpreted strings longer than the transient buffer are -18.
    let long = format!("S\" {}\"", "x".repeat(5000));
    assert_eq!(error(&long).code, -18);
}

#[test]
fn engine_keeps_working_after_reset() {
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    forth
        .evaluate(": sq DUP * ; VARIABLE v 7 v !", "t", &mut console)
        .unwrap();
    let cases = [
        "1 2 nosuch",
        ": broken IF ;",
        "1 0 /",
        ": deep RECURSE ; deep",
        ": half 1 2 [ 1 0 / ] ;",
        "-8 @",
    ];
    for source in cases {
        assert!(
            forth.evaluate(source, "t", &mut console).is_err(),
            "{source}"
        );
        forth.reset_after_error();
        assert!(forth.data_stack().is_empty());
        forth.evaluate("v @ sq", "t", &mut console).unwrap();
        assert_eq!(forth.data_stack(), &[49], "after {source}");
        forth.evaluate("DROP", "t", &mut console).unwrap();
    }
}

/// Reading a line costs a step: a budget that runs out there names the line, at column 1.
#[test]
fn a_budget_exhausted_between_lines_names_the_line_it_stopped_at() {
    let limits = Limits {
        max_steps: Some(3),
        ..Limits::default()
    };
    let mut forth = Forth::new(limits);
    let failure = forth
        .evaluate("1 drop\n1 drop\n", "prog", &mut BufferConsole::new())
        .unwrap_err();
    assert_eq!(failure.to_string(), "prog:2:1: -256 step budget exhausted");
}

#[test]
fn step_budget_stops_runaway_programs() {
    let limits = Limits {
        max_steps: Some(10_000),
        ..Limits::default()
    };
    let mut forth = Forth::new(limits);
    let mut console = BufferConsole::new();
    let failure = forth
        .evaluate(": spin BEGIN AGAIN ; spin", "t", &mut console)
        .unwrap_err();
    assert_eq!(failure.code, -256);
    assert_eq!(failure.message, "step budget exhausted");
    forth.reset_after_error();
    // CATCH cannot swallow it.
    let caught = forth.evaluate(
        ": spin BEGIN AGAIN ; : t BEGIN ['] spin CATCH DROP AGAIN ; t",
        "t",
        &mut console,
    );
    assert_eq!(caught.unwrap_err().code, -256);
    forth.reset_after_error();
    assert_eq!(
        forth
            .evaluate("1000000000 SPACES", "t", &mut console)
            .unwrap_err()
            .code,
        -256
    );
    forth.reset_after_error();
    // Source that rewinds its own parse position is bounded too.
    let rewinding = forth.evaluate("1 DROP 0 >IN !", "t", &mut console);
    assert_eq!(rewinding.unwrap_err().code, -256);
    forth.reset_after_error();
    // Each evaluation gets a fresh budget.
    forth.evaluate("1 2 +", "t", &mut console).unwrap();
    assert_eq!(forth.data_stack(), &[3]);
}

#[test]
fn nesting_of_evaluate_is_bounded() {
    let failure = error(": again S\" again\" EVALUATE ; again");
    assert_eq!(failure.code, -258);
}

#[test]
fn deep_recursion_does_not_use_the_host_stack() {
    let limits = Limits {
        return_stack_cells: 1_000_000,
        ..Limits::default()
    };
    let mut forth = Forth::new(limits);
    let mut console = BufferConsole::new();
    forth
        .evaluate(
            ": down DUP IF 1- RECURSE THEN ; 900000 down",
            "t",
            &mut console,
        )
        .unwrap();
    assert_eq!(forth.data_stack(), &[0]);
}

#[test]
fn data_space_is_bounded() {
    let mut forth = Forth::new(Limits {
        data_space_bytes: 4096,
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let failure = forth.evaluate("5000 ALLOT", "t", &mut console).unwrap_err();
    assert_eq!(failure.code, -8);
    forth.reset_after_error();
    let failure = forth
        .evaluate(": t 1000 0 DO I , LOOP ; t", "t", &mut console)
        .unwrap_err();
    assert_eq!(failure.code, -8);
}

#[test]
fn included_source_is_capped_by_max_source_bytes() {
    let dir = tempfile_dir("cap");
    let path = dir.join("big.fs");
    std::fs::write(&path, format!("1 2 +\n{}", " ".repeat(100))).unwrap();
    let mut forth = Forth::new(Limits {
        max_source_bytes: 64,
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let failure = forth.include_file(&path, &mut console).unwrap_err();
    assert_eq!(failure.code, -37);
    let shown = path.display().to_string();
    assert_eq!(
        failure.message,
        format!("{shown} is larger than the source size limit of 64 bytes")
    );
    assert!(forth.data_stack().is_empty(), "nothing of it ran");
    forth.reset_after_error();
    // INCLUDED and INCLUDE refuse it the same way, and CATCH sees the code.
    let source = format!("S\" {shown}\" ' INCLUDED CATCH NIP NIP");
    forth.evaluate(&source, "t", &mut console).unwrap();
    assert_eq!(forth.data_stack(), &[-37]);
    forth.reset_after_error();
    let failure = forth
        .evaluate(&format!("INCLUDE {shown}"), "t", &mut console)
        .unwrap_err();
    assert_eq!(failure.code, -37);
    // A file of exactly the limit is accepted.
    std::fs::write(&path, format!("1 2 +{}", " ".repeat(59))).unwrap();
    forth.reset_after_error();
    forth.include_file(&path, &mut console).unwrap();
    assert_eq!(forth.data_stack(), &[3]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_endless_file_is_refused_at_the_limit() {
    let mut forth = Forth::new(Limits {
        max_source_bytes: 1 << 16,
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let failure = forth
        .evaluate("S\" /dev/zero\" INCLUDED", "t", &mut console)
        .unwrap_err();
    assert_eq!(failure.code, -37);
    assert!(failure.message.contains("/dev/zero"), "{}", failure.message);
    assert!(
        failure.message.contains("65536 bytes"),
        "{}",
        failure.message
    );
    assert_eq!(Limits::default().max_source_bytes, 64 << 20);
}

#[test]
fn source_is_bytes_in_files_and_host_text() {
    let dir = tempfile_dir("bytes");
    let path = dir.join("latin1.fs");
    // A Latin-1 comment and a word whose name is not UTF-8.
    std::fs::write(&path, b": \xff 1 ; \\ caf\xe9\n\xff \xff +\n").unwrap();
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    forth.include_file(&path, &mut console).unwrap();
    assert_eq!(forth.data_stack(), &[2]);
    forth
        .evaluate_bytes(b": \xfe 5 ; \xfe \xff", "t", &mut console)
        .unwrap();
    assert_eq!(forth.data_stack(), &[2, 5, 1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fastforth-errors-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_interrupt_throws_minus_28_into_the_running_word() {
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    forth
        .evaluate(": sq DUP * ; : spin BEGIN AGAIN ;", "t", &mut console)
        .unwrap();
    let interrupt_after = |flag: std::sync::Arc<std::sync::atomic::AtomicBool>| {
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        })
    };
    // Uncaught: an error naming the interrupted word; the session goes on.
    let setter = interrupt_after(forth.interrupt_handle());
    let failure = forth.evaluate("1 2 spin", "t", &mut console).unwrap_err();
    setter.join().unwrap();
    assert_eq!(
        (failure.code, failure.message.as_str()),
        (-28, "user interrupt")
    );
    assert_eq!(failure.word.as_deref(), Some("spin"));
    forth.reset_after_error();
    forth.evaluate("7 sq", "t", &mut console).unwrap();
    assert_eq!(forth.data_stack(), &[49]);
    // CATCH catches it, also in a loop that runs a host word each time round.
    let setter = interrupt_after(forth.interrupt_handle());
    forth
        .evaluate(
            ": busy BEGIN 0 SPACES AGAIN ; ' spin CATCH",
            "t",
            &mut console,
        )
        .unwrap();
    setter.join().unwrap();
    let setter = interrupt_after(forth.interrupt_handle());
    forth.evaluate("' busy CATCH", "t", &mut console).unwrap();
    setter.join().unwrap();
    assert_eq!(forth.data_stack(), &[49, -28, -28]);
    // The flag was cleared by the throw: the next evaluation runs normally.
    forth.evaluate("2 sq", "t", &mut console).unwrap();
    assert_eq!(forth.data_stack(), &[49, -28, -28, 4]);
    // An interrupt also stops a long compile that runs no word.
    forth
        .interrupt_handle()
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let failure = forth.evaluate("1 2 3", "t", &mut console).unwrap_err();
    assert_eq!(failure.code, -28);
}

#[test]
fn a_thrown_256_is_caught_but_an_exhausted_budget_is_not() {
    assert_eq!(common::stack(": t -256 THROW ; ' t CATCH"), [-256]);
    let mut forth = Forth::new(Limits {
        max_steps: Some(10_000),
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let error = forth
        .evaluate(
            ": t BEGIN AGAIN ; : u ['] t CATCH ; ' u CATCH",
            "test",
            &mut console,
        )
        .unwrap_err();
    assert_eq!(error.code, -256);
}
