//! Forth-2012 conformance points that the per-word tests do not cover: behaviour the
//! standard prescribes for exceptions, parsing and the text interpreter.

mod common;

use common::{check_all, output, stack};

#[test]
fn abort_quote_is_silent_when_caught() {
    assert_eq!(
        output(": t ABORT\" hidden\" ; -1 ' t CATCH ."),
        "-2 ",
        "a CATCH frame exists, so the message is not displayed"
    );
    assert_eq!(output(": t ABORT\" hidden\" ; 0 ' t CATCH ."), "0 ");
    check_all(&[(": t 7 SWAP ABORT\" x\" ; 1 2 ' t CATCH", &[1, 7, -2])]);
}

#[test]
fn abort_quote_displays_its_message_when_uncaught() {
    let mut forth = common::forth();
    let mut console = fastforth_engine::BufferConsole::new();
    let result = forth.evaluate(": t ABORT\" shown\" ; -1 t", "test", &mut console);
    assert_eq!(result.map_err(|e| e.code), Err(-2));
    assert_eq!(console.output_text(), "shown");
}

#[test]
fn catch_in_an_outer_word_sees_throws_from_evaluated_text() {
    check_all(&[(
        ": t S\" 1 2 THROW\" EVALUATE ; : u ['] t CATCH ; 9 u",
        &[9, 2],
    )]);
    assert_eq!(
        stack(": a 1 THROW ; : b ['] a CATCH 2 THROW ; : c ['] b CATCH ; c"),
        [2]
    );
}

#[test]
fn unwinding_restores_both_stacks_and_input_sources() {
    check_all(&[
        (
            ": d 1- DUP IF RECURSE THEN 55 THROW ; : c 8 ['] d CATCH ; 1 c",
            &[1, 0, 55],
        ),
        (
            ": e 2DROP 2DROP 3 THROW ; : chk DEPTH >R 2DROP 2DROP R> ; 1 2 3 4 ' e CATCH chk",
            &[3, 5],
        ),
        (
            ": in S\" 10 missing-word 11\" EVALUATE ; \
             : out S\" 20 in 21\" EVALUATE ; 1 ' out CATCH 2",
            &[1, -13, 2],
        ),
        (
            ": t 4 0 DO I 2 = IF 9 THROW THEN LOOP ; ' t CATCH : u 5 0 DO I LOOP ; u",
            &[9, 0, 1, 2, 3, 4],
        ),
    ]);
}

#[test]
fn plus_loop_with_run_time_steps() {
    let count = |limit: i64, start: i64, step: i64| {
        stack(&format!(
            ": t 0 {limit} {start} DO 1+ DUP 6 = IF LEAVE THEN {step} +LOOP ; t"
        ))[0]
    };
    assert_eq!(
        count(3, 3, 1),
        6,
        "limit = start runs until it wraps or leaves"
    );
    assert_eq!(
        count(3, 3, -1),
        1,
        "a negative step crosses the boundary at once"
    );
    assert_eq!(count(0, 0, 0), 6, "a zero step never crosses");
    assert_eq!(count(-20, 31, -10), 6);
    assert_eq!(count(-20, 30, -10), 6);
    assert_eq!(count(-20, 29, -10), 5);
    let step = 1i64 << 56;
    assert_eq!(count(0, 0, step), 6);
    assert_eq!(
        stack(&format!(": t 0 -1 0 DO 1+ {step} +LOOP ; t")),
        [256],
        "unsigned range in big steps"
    );
    assert_eq!(
        stack(&format!(
            ": t 0 {} {} DO 1+ {} +LOOP ; t",
            i64::MIN,
            i64::MAX,
            -step
        )),
        [256]
    );
    assert_eq!(
        stack(&format!(
            ": t 0 {} 0 DO 1+ {} +LOOP ; t",
            i64::MAX,
            i64::MAX
        )),
        [1]
    );
    assert_eq!(
        stack(&format!(
            ": t 0 {} -1 DO 1+ {} +LOOP ; t",
            i64::MAX,
            i64::MAX
        )),
        [2]
    );
}

#[test]
fn interpreting_rereads_text_after_to_in_moves() {
    check_all(&[
        ("1 >IN @ 13 + >IN ! 7 8 9", &[1, 8, 9]),
        (
            "VARIABLE k 2 k ! : back k @ IF -1 k +! 0 >IN ! THEN ;\n6 back",
            &[6, 6, 6],
        ),
    ]);
    assert_eq!(stack("1 DEPTH 2* >IN +! 2 3 4 5"), [1, 3, 4, 5]);
}

#[test]
fn immediate_applies_to_the_newest_word_of_any_kind() {
    check_all(&[
        ("6 CONSTANT six IMMEDIATE : t six LITERAL ; t", &[6]),
        ("VARIABLE v IMMEDIATE 3 v ! : t v [ @ ] LITERAL ; t", &[3]),
        ("CREATE c 8 , IMMEDIATE : t c [ @ ] LITERAL ; t", &[8]),
        (
            ": mk CREATE , IMMEDIATE DOES> @ 2* ; 4 mk m : t m LITERAL ; t",
            &[8],
        ),
        (
            "VARIABLE n : t 1 n +! ; IMMEDIATE IMMEDIATE : u t ; n @",
            &[1],
        ),
    ]);
    let flags = stack(
        ": mk CREATE , DOES> @ IMMEDIATE ; : imm? BL WORD FIND NIP ; \
         1 mk w imm? w w imm? w",
    );
    assert_eq!(
        flags,
        [-1, 1, 1],
        "IMMEDIATE inside the DOES> part runs at each use"
    );
}

#[test]
fn delimited_text_ends_right_after_its_delimiter() {
    check_all(&[
        (": t S\" ab\"NIP ; t", &[2]),
        ("( no space after )7", &[7]),
        (": t C\" xyz\"COUNT NIP ; t", &[3]),
        (": t S\\\" q\\\"\"NIP ; t", &[2]),
    ]);
    assert_eq!(output(": t .\" a\".\" b\"( c) ; t"), "ab");
    assert_eq!(output(".( one).( two)"), "onetwo");
}

#[test]
fn number_prefixes_compile_and_keep_base() {
    check_all(&[
        (": t #99 $-1F %101 'q' ''' ; t", &[99, -31, 5, 113, 39]),
        ("HEX #10 $10 %10 BASE @ DECIMAL", &[10, 16, 2, 16]),
    ]);
}

#[test]
fn names_may_hold_any_graphic_character() {
    check_all(&[
        (": ;:()\"'[]\\ 11 ; ;:()\"'[]\\", &[11]),
        (": abc{|} 1 ; : abc{|~ 2 ; abc{|} abc{|~", &[1, 2]),
    ]);
}

#[test]
fn find_reports_missing_and_empty_names() {
    check_all(&[
        ("CREATE e 0 C, e FIND SWAP e =", &[0, -1]),
        (
            "CREATE n 4 C, CHAR q C, CHAR z C, CHAR q C, CHAR z C, n FIND SWAP n =",
            &[0, -1],
        ),
    ]);
}

#[test]
fn control_flow_may_be_unstructured() {
    check_all(&[
        (
            ": t IF BEGIN 1+ DUP 4 > IF EXIT THEN REPEAT ; 0 t 1 5 t",
            &[5],
        ),
        (": t IF 10 ELSE 20 ELSE 30 ELSE 40 THEN ; -1 t", &[10, 30]),
        (": t CASE ENDCASE ; : u CASE 3 SWAP ENDCASE ; 5 t 5 u", &[3]),
        (": t CASE 1 OF ENDOF 7 ENDCASE ; 1 t 2 t", &[2]),
    ]);
}

#[test]
fn does_changes_a_created_word_used_before() {
    check_all(&[
        (
            ": two@ DOES> 2@ ; CREATE p 4 , p , two@ p SWAP ' p >BODY =",
            &[4, -1],
        ),
        (
            ": d1 DOES> @ ; : d2 DOES> @ NEGATE ; CREATE x 3 , d1 x d2 x",
            &[3, -3],
        ),
    ]);
}

#[test]
fn transient_buffers_leave_pad_alone() {
    check_all(&[(
        "PAD 100 7 FILL BL WORD 1234567812345678123456781234567812 DROP \
         -1 -1 <# #S #> 2DROP PAD 99 + C@ PAD C@",
        &[7, 7],
    )]);
}

#[test]
fn input_words_on_evaluated_strings() {
    check_all(&[
        (": t S\" REFILL\" EVALUATE ; t", &[0]),
        (": t S\" PARSE-NAME\" EVALUATE NIP ; t", &[0]),
        ("PARSE-NAME\nNIP DEPTH", &[0, 1]),
        (
            "VARIABLE skip : s skip @ >IN +! 15 skip ! ; S\" SAVE-INPUT s RESTORE-INPUT 123456\" EVALUATE",
            &[0, 23456],
        ),
        ("CHAR # PARSE 12 34# EVALUATE", &[12, 34]),
    ]);
}

#[test]
fn anonymous_and_deferred_words_recurse_and_defer() {
    check_all(&[
        (
            ":NONAME DUP 3 < IF DROP EXIT THEN 1- DUP RECURSE ; 5 SWAP EXECUTE",
            &[4, 3, 2],
        ),
        (": mkdefer DEFER ; mkdefer d ' NEGATE IS d 5 d", &[-5]),
        (": h HOLDS ; : t 0 0 <# S\" xy\" h #> NIP ; t", &[2]),
        ("MARKER m : w 1 ; : w 2 ; MARKER m2 : w 3 ; m2 w", &[2]),
    ]);
}
