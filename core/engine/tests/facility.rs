//! The Facility word set: structures, the terminal words and time.

mod common;

use common::{check_all, error, output, stack};
use fastforth_engine::{BufferConsole, Forth, Limits};

#[test]
fn structures_give_offsets_and_sizes() {
    let point = "BEGIN-STRUCTURE point FIELD: p.x FIELD: p.y CFIELD: p.tag END-STRUCTURE ";
    check_all(&[
        (&format!("{point} point"), &[17]),
        (&format!("{point} 0 p.x 0 p.y 0 p.tag"), &[0, 8, 16]),
        (&format!("{point} 100 p.y"), &[108]),
        (&format!("{point} : t p.tag ; 100 t"), &[116]),
        (
            "BEGIN-STRUCTURE s CFIELD: a FIELD: b END-STRUCTURE 0 b s",
            &[8, 16],
        ),
        (
            "BEGIN-STRUCTURE s 3 +FIELD a 5 +FIELD b END-STRUCTURE 0 b s",
            &[3, 8],
        ),
        ("BEGIN-STRUCTURE empty END-STRUCTURE empty", &[0]),
        ("0 4 +FIELD f 10 f", &[4, 10]),
    ]);
    let record = format!("{point} CREATE r point ALLOT 3 r p.x ! 4 r p.y ! 9 r p.tag C! ");
    assert_eq!(
        stack(&format!("{record} r p.x @ r p.y @ r p.tag C@")),
        [3, 4, 9]
    );
    assert_eq!(error("BEGIN-STRUCTURE").code, -16);
}

#[test]
fn terminal_words_write_ansi_sequences() {
    assert_eq!(output("PAGE"), "\x1b[2J\x1b[H");
    assert_eq!(output("4 2 AT-XY"), "\x1b[3;5H");
    assert_eq!(stack("EMIT?"), [-1]);
}

#[test]
fn key_question_and_ekey_read_the_console() {
    let mut forth = common::forth();
    let mut console = BufferConsole::with_input("ab");
    let program = "KEY? EKEY EKEY>CHAR EKEY EKEY EKEY? ";
    forth.evaluate(program, "test", &mut console).unwrap();
    assert_eq!(forth.data_stack(), [-1, 97, -1, 98, 10, 0]);
    let mut console = BufferConsole::new();
    let refused = forth.evaluate("EKEY", "test", &mut console).unwrap_err();
    assert_eq!(refused.code, -39);
}

#[test]
fn function_keys_are_told_apart_from_characters() {
    check_all(&[
        ("K-LEFT EKEY>FKEY NIP K-F1 EKEY>CHAR NIP", &[-1, 0]),
        ("65 EKEY>FKEY 65 EKEY>CHAR", &[65, 0, 65, -1]),
        ("K-F1 K-SHIFT-MASK OR EKEY>FKEY NIP", &[-1]),
        ("K-LEFT K-RIGHT <> K-F12 K-F11 <>", &[-1, -1]),
    ]);
}

#[test]
fn time_and_date_is_a_plausible_utc_date() {
    let fields = stack("TIME&DATE");
    let [second, minute, hour, day, month, year] = fields[..] else {
        panic!("six fields expected: {fields:?}");
    };
    assert!((0..60).contains(&second) && (0..60).contains(&minute) && (0..24).contains(&hour));
    assert!((1..=31).contains(&day) && (1..=12).contains(&month) && year >= 2024);
}

#[test]
fn ms_waits_and_is_bounded_by_the_step_budget() {
    let started = std::time::Instant::now();
    assert_eq!(stack("20 MS 0 MS -5 MS 1"), [1]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(20));
    let mut forth = Forth::new(Limits {
        max_steps: Some(100),
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let refused = forth
        .evaluate("1000000 MS", "test", &mut console)
        .unwrap_err();
    assert_eq!(refused.code, -256);
}
