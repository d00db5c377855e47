//! The String word set, word by word, in the standard test suite's manner.

mod common;

use common::{check_all, error, output, stack};
use fastforth_engine::{BufferConsole, Forth, Limits};

#[test]
fn dash_trailing_drops_trailing_spaces() {
    check_all(&[
        ("S\" abc  \" -TRAILING NIP", &[3]),
        ("S\"    \" -TRAILING NIP", &[0]),
        ("S\" a b\" -TRAILING NIP", &[3]),
        ("0 0 -TRAILING", &[0, 0]),
    ]);
}

#[test]
fn slash_string_moves_the_start() {
    check_all(&[
        ("100 10 3 /STRING", &[103, 7]),
        ("100 10 -2 /STRING", &[98, 12]),
        (": t /STRING ; 100 10 10 t", &[110, 0]),
    ]);
}

#[test]
fn blank_fills_with_spaces() {
    assert_eq!(
        output("CREATE b 4 ALLOT b 4 CHAR x FILL b 1+ 2 BLANK b 4 TYPE"),
        "x  x"
    );
}

#[test]
fn cmove_copies_upwards_and_cmove_up_downwards() {
    let setup = "CREATE b S\" abcdef\" b SWAP CMOVE ";
    assert_eq!(
        output(&format!("{setup} b b 1+ 4 CMOVE b 6 TYPE")),
        "aaaaaf"
    );
    assert_eq!(
        output(&format!("{setup} b 1+ b 4 CMOVE> b 6 TYPE")),
        "eeeeef"
    );
    assert_eq!(
        output(&format!("{setup} b b 2 + 3 CMOVE> b 6 TYPE")),
        "ababcf"
    );
    assert_eq!(output(&format!("{setup} b b 0 CMOVE b 6 TYPE")), "abcdef");
    assert_eq!(error("-1 0 5 CMOVE").code, -9);
}

#[test]
fn compare_orders_bytes_then_lengths() {
    check_all(&[
        ("S\" abc\" S\" abc\" COMPARE", &[0]),
        ("S\" abc\" S\" abd\" COMPARE", &[-1]),
        ("S\" abd\" S\" abc\" COMPARE", &[1]),
        ("S\" ab\" S\" abc\" COMPARE", &[-1]),
        ("S\" abc\" S\" ab\" COMPARE", &[1]),
        ("S\" \" S\" \" COMPARE", &[0]),
        ("S\" ABC\" S\" abc\" COMPARE", &[-1]),
    ]);
}

#[test]
fn search_finds_the_first_match() {
    check_all(&[
        (
            ": t S\" abcabc\" OVER >R S\" ca\" SEARCH ROT R> - ROT ROT ; t",
            &[2, 4, -1],
        ),
        ("S\" abc\" S\" x\" SEARCH ROT DROP", &[3, 0]),
        ("S\" abc\" S\" abc\" SEARCH ROT DROP", &[3, -1]),
        ("S\" ab\" S\" abc\" SEARCH ROT DROP", &[2, 0]),
        ("S\" abc\" S\" \" SEARCH ROT DROP", &[3, -1]),
    ]);
}

#[test]
fn sliteral_compiles_a_copy() {
    check_all(&[(
        "CREATE b CHAR q C, : t [ b 1 ] SLITERAL ; t OVER b <> SWAP ROT C@",
        &[-1, 1, 113],
    )]);
    assert_eq!(error("S\" x\" SLITERAL").code, -14);
}

#[test]
fn unescape_doubles_percent_signs() {
    assert_eq!(
        output("CREATE b 40 ALLOT S\" a%b%%\" b UNESCAPE TYPE"),
        "a%%b%%%%"
    );
    assert_eq!(stack("CREATE b 40 ALLOT S\" \" b UNESCAPE NIP"), [0]);
}

#[test]
fn substitute_replaces_names_once_and_counts_them() {
    let setup = "CREATE b 40 ALLOT S\" wxyz\" S\" m1\" REPLACES S\" 12\" S\" M2\" REPLACES ";
    let cases = [
        ("S\" abc\" b 40 SUBSTITUTE", "abc", 0),
        ("S\" %m1%\" b 40 SUBSTITUTE", "wxyz", 1),
        ("S\" a%m1%b%m2%c\" b 40 SUBSTITUTE", "awxyzb12c", 2),
        ("S\" %%m1%%\" b 40 SUBSTITUTE", "%m1%", 0),
        ("S\" %m3%x\" b 40 SUBSTITUTE", "%m3%x", 0),
        ("S\" 50%\" b 40 SUBSTITUTE", "50%", 0),
        ("S\" %M1%\" b 40 SUBSTITUTE", "wxyz", 1),
    ];
    for (source, text, count) in cases {
        let program = format!("{setup} {source} . TYPE");
        assert_eq!(output(&program), format!("{count} {text}"), "{source}");
    }
    let replaced_again =
        format!("{setup} S\" new\" S\" m1\" REPLACES S\" %m1%\" b 40 SUBSTITUTE . TYPE");
    assert_eq!(output(&replaced_again), "1 new");
}

#[test]
fn substitute_reports_a_result_too_long_for_the_buffer() {
    let setup = "CREATE b 40 ALLOT S\" long-text\" S\" m\" REPLACES ";
    check_all(&[
        (&format!("{setup} S\" abcd\" b 4 SUBSTITUTE NIP NIP"), &[0]),
        (
            &format!("{setup} S\" abcd\" b 3 SUBSTITUTE NIP NIP 0<"),
            &[-1],
        ),
        (&format!("{setup} S\" %m%\" b 5 SUBSTITUTE NIP NIP"), &[-78]),
    ]);
}

#[test]
fn long_searches_and_copies_are_bounded_by_the_step_budget() {
    let limits = Limits {
        max_steps: Some(10_000),
        ..Limits::default()
    };
    for program in [
        "HERE 500000 2DUP S\" needle\" SEARCH",
        "HERE HERE 1+ 500000 CMOVE",
        "HERE 500000 HERE 500000 COMPARE",
    ] {
        let mut forth = Forth::new(limits.clone());
        let mut console = BufferConsole::new();
        let refused = forth.evaluate(program, "test", &mut console).unwrap_err();
        assert_eq!(refused.code, -256, "{program}");
    }
}

#[test]
fn filling_moving_typing_and_evaluating_charge_the_step_budget_by_size() {
    let limits = Limits {
        max_steps: Some(10_000),
        ..Limits::default()
    };
    // Ten calls on 500,000 bytes are ~19,500 steps at 256 bytes a step; the loop alone
    // costs under a hundred.
    for (word, call) in [
        ("FILL", "HERE 500000 0 FILL"),
        ("ERASE", "HERE 500000 ERASE"),
        ("BLANK", "HERE 500000 BLANK"),
        ("MOVE", "HERE HERE 1+ 500000 MOVE"),
        ("TYPE", "HERE 500000 TYPE"),
        ("EVALUATE", "HERE 500000 EVALUATE"),
    ] {
        let program = format!("HERE 500000 BLANK : t 10 0 DO {call} LOOP ; t");
        let mut forth = Forth::new(limits.clone());
        let mut console = BufferConsole::new();
        let refused = forth.evaluate(&program, "test", &mut console).unwrap_err();
        assert_eq!(refused.code, -256, "{word}");
        let mut forth = common::forth();
        let ran = forth.evaluate(&program, "test", &mut BufferConsole::new());
        assert!(ran.is_ok(), "{word} without a budget: {ran:?}");
    }
    let mut forth = Forth::new(Limits {
        max_steps: Some(100_000),
        data_stack_cells: 20_000,
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    forth
        .evaluate(
            ": fill-stack 10000 0 DO I LOOP ; fill-stack",
            "test",
            &mut console,
        )
        .unwrap();
    let refused = forth
        .evaluate(
            ": rolls 1000 0 DO 9990 ROLL LOOP ; rolls",
            "test",
            &mut console,
        )
        .unwrap_err();
    assert_eq!(refused.code, -256, "ROLL");
}

#[test]
fn substitute_stops_as_soon_as_the_result_outgrows_the_buffer() {
    // Each of the 300 names would expand to 60,000 bytes: 18 MB that is never built.
    let program = "CREATE big 60000 ALLOT big 60000 S\" x\" REPLACES \
                   CREATE text 900 ALLOT : fill-text 900 0 DO [CHAR] % text I + C! [CHAR] % text I + 2 + C! 3 +LOOP \
                   300 0 DO [CHAR] x text I 3 * + 1+ C! LOOP ; fill-text \
                   text 900 big 100 SUBSTITUTE NIP NIP";
    assert_eq!(stack(program), [-78]);
}
