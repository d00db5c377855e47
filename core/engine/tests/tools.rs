//! The Programming-tools word set, word by word, in the standard test suite's manner.

mod common;

use common::{check_all, error, output, stack};
use fastforth_engine::{BufferConsole, Forth, Limits};

#[test]
fn question_mark_prints_the_cell_at_an_address() {
    assert_eq!(output("VARIABLE v -42 v ! v ?"), "-42 ");
    assert_eq!(output("HEX VARIABLE v 1F v ! v ?"), "1F ");
    assert_eq!(error("-8 ?").code, -9);
}

#[test]
fn dump_shows_addresses_bytes_and_text() {
    let text = output("CREATE b CHAR A C, CHAR z C, 0 C, 255 C, b 4 DUMP");
    let line = text.lines().nth(1).expect("a dump line");
    assert!(line.contains(": 41 7A 00 FF "), "{text:?}");
    assert!(line.ends_with("Az.."), "{text:?}");
    assert_eq!(output("CREATE b 40 ALLOT b 40 DUMP").lines().count(), 4);
    assert_eq!(error("-1 16 DUMP").code, -9);
}

#[test]
fn see_decompiles_definitions_and_names_other_words() {
    let text = output(": sq DUP * ; : quad sq sq ; SEE quad");
    assert!(text.starts_with(": quad\n"), "{text:?}");
    assert!(text.trim_end().ends_with(';'), "{text:?}");
    let text = output(": t IF 7 THEN ; SEE t");
    assert!(
        text.contains(": ZBranch(") && text.contains(": 7\n"),
        "{text:?}"
    );
    assert_eq!(output("5 CONSTANT five SEE five"), "5 CONSTANT five\n");
    assert_eq!(output("1 2 2VALUE dv SEE dv"), "1 2 2VALUE dv\n");
    assert!(output(": i1 ; IMMEDIATE SEE i1").contains("IMMEDIATE"));
    assert!(output("SEE DUP").starts_with("DUP is built in:"));
    assert_eq!(error("SEE no-such-word").code, -13);
}

#[test]
fn see_shows_a_deferred_words_action_and_a_locals_run_time_parts() {
    let set = output("DEFER d : x 1 ; ' x IS d SEE d");
    assert_eq!(set, "DEFER d ' x IS d\n");
    let unset = output("DEFER d SEE d");
    assert_eq!(unset, "DEFER d \\ its action is execution token 0\n");
    let text = output(": w {: a b :} a b + TO a ; SEE w");
    for part in ["(local@)", "(local!)", "(locals-drop)"] {
        assert!(text.contains(part), "{part} in {text:?}");
    }
    assert!(!text.contains("{:"), "{text:?}");
}

#[test]
fn bracket_if_else_then_interpret_and_compile() {
    check_all(&[
        ("TRUE [IF] 1 [ELSE] 2 [THEN]", &[1]),
        ("FALSE [IF] 1 [ELSE] 2 [THEN]", &[2]),
        ("FALSE [IF] 1 [THEN] 3", &[3]),
        (": t [ TRUE ] [IF] 4 [ELSE] 5 [THEN] ; t", &[4]),
        ("FALSE [IF] [IF] 1 [ELSE] 2 [THEN] 3 [ELSE] 6 [THEN]", &[6]),
        ("TRUE [IF] 1 [ELSE] [IF] 2 [THEN] 3 [THEN] 4", &[1, 4]),
        ("FALSE [if] 1 [else] 2 [then]", &[2]),
        ("FALSE [IF]\n 1 2\n [ELSE]\n 3\n [THEN]", &[3]),
        ("[ELSE] 1 [THEN] 2", &[2]),
        ("7 [THEN]", &[7]),
    ]);
}

#[test]
fn defined_and_undefined_test_the_search_order() {
    check_all(&[
        ("[DEFINED] DUP [DEFINED] no-such", &[-1, 0]),
        ("[UNDEFINED] DUP [UNDEFINED] no-such", &[0, -1]),
        (": t [DEFINED] SWAP [IF] 1 [ELSE] 2 [THEN] ; t", &[1]),
    ]);
}

#[test]
fn ahead_cs_pick_and_cs_roll_build_control_structures() {
    check_all(&[
        (": t AHEAD 1 THEN 2 ; t", &[2]),
        // An IF inside BEGIN ... UNTIL whose true branch jumps back to the BEGIN.
        (
            ": t BEGIN DUP 5 < IF 1+ [ 1 CS-PICK ] AGAIN THEN 1 UNTIL ; 0 t 7 t",
            &[5, 7],
        ),
        // A loop entered in its middle: the IF's orig rolled above the BEGIN's dest.
        (
            ": t 0 SWAP DUP IF BEGIN 1- SWAP 1+ SWAP [ 1 CS-ROLL ] THEN DUP 0= UNTIL ; 3 t 0 t",
            &[3, 0, 0, 0],
        ),
    ]);
    assert_eq!(error("AHEAD").code, -14);
    assert_eq!(error(": t [ 5 CS-PICK ] ;").code, -22);
}

#[test]
fn n_to_r_and_n_r_from_move_counted_groups() {
    check_all(&[
        (
            ": t N>R -1 NR> ; 1 2 3 4 5 6 7 4 t",
            &[1, 2, 3, -1, 4, 5, 6, 7, 4],
        ),
        (": t N>R -1 NR> ; 1 0 t", &[1, -1, 0]),
        (
            ": t N>R N>R -1 NR> -2 NR> ; 1 2 2 3 4 5 3 t",
            &[-1, 1, 2, 2, -2, 3, 4, 5, 3],
        ),
    ]);
    assert_eq!(error(": t N>R NR> ; 1 5 t").code, -4);
    assert_eq!(error("1 N>R").code, -14);
}

#[test]
fn synonyms_share_behaviour_and_immediacy() {
    check_all(&[
        (": a 1234 ; SYNONYM b a b", &[1234]),
        (
            ": a 2345 ; IMMEDIATE SYNONYM b a : c b LITERAL ; c",
            &[2345],
        ),
        ("SYNONYM plus + 3 4 plus : t 5 plus ; 1 t", &[7, 6]),
        (": a 9 ; SYNONYM b a ' a ' b =", &[-1]),
    ]);
    assert_eq!(error("SYNONYM x no-such").code, -13);
    // Forgetting a synonym keeps the original's execution token known.
    assert_eq!(stack(": a 5 ; MARKER m SYNONYM b a m ' a EXECUTE"), [5]);
}

#[test]
fn traverse_wordlist_visits_newest_first_until_false() {
    let count = "WORDLIST CONSTANT wl : count-words DROP 1+ TRUE ; \
                 wl SET-CURRENT : w1 ; : w2 ; : w3 ; FORTH-WORDLIST SET-CURRENT ";
    check_all(&[
        (
            &format!("{count} 0 ' count-words wl TRAVERSE-WORDLIST"),
            &[3],
        ),
        ("WORDLIST CONSTANT wl 0 ' DROP wl TRAVERSE-WORDLIST", &[0]),
        (
            &format!(
                "{count} : first-only ( nt -- nt false ) FALSE ; ' first-only wl TRAVERSE-WORDLIST NAME>INTERPRET EXECUTE"
            ),
            &[],
        ),
    ]);
    let names = "WORDLIST CONSTANT wl wl SET-CURRENT : alpha 11 ; : Beta 22 ; \
                 FORTH-WORDLIST SET-CURRENT : show NAME>STRING TYPE SPACE TRUE ; \
                 ' show wl TRAVERSE-WORDLIST";
    assert_eq!(output(names), "Beta alpha ");
}

#[test]
fn name_tokens_give_names_and_semantics() {
    let setup = ": newest-of ( x nt -- nt false ) NIP FALSE ; \
                 : oldest-of ( x nt -- nt true ) NIP TRUE ; \
                 WORDLIST CONSTANT wl wl SET-CURRENT : seven 7 ; : imm 8 ; IMMEDIATE \
                 FORTH-WORDLIST SET-CURRENT \
                 : newest ( -- nt ) 0 ['] newest-of wl TRAVERSE-WORDLIST ; \
                 : oldest ( -- nt ) 0 ['] oldest-of wl TRAVERSE-WORDLIST ;";
    check_all(&[
        (&format!("{setup} newest NAME>INTERPRET EXECUTE"), &[8]),
        (&format!("{setup} newest NAME>STRING NIP"), &[3]),
        (
            &format!("{setup} newest NAME>COMPILE ' EXECUTE = SWAP EXECUTE"),
            &[-1, 8],
        ),
        (
            &format!("{setup} oldest NAME>COMPILE ' COMPILE, = NIP"),
            &[-1],
        ),
        (&format!("{setup} oldest NAME>COMPILE DROP EXECUTE"), &[7]),
    ]);
    assert_eq!(error("0 NAME>STRING").code, -32);
    assert_eq!(error("-5 NAME>INTERPRET").code, -32);
}

#[test]
fn scanning_skipped_text_is_bounded_by_the_step_budget() {
    let mut forth = Forth::new(Limits {
        max_steps: Some(1000),
        ..Limits::default()
    });
    let skipped = "x ".repeat(5000);
    let source = format!("FALSE [IF] {skipped} [THEN]");
    let mut console = BufferConsole::new();
    let refused = forth.evaluate(&source, "test", &mut console).unwrap_err();
    assert_eq!(refused.code, -256);
}

/// The host's texts are the user input device: skipping for [IF] or [ELSE] goes on in the
/// next one, as REFILL of the terminal would, and a program that ends inside it is -39.
#[test]
fn conditional_skipping_goes_on_in_the_hosts_next_text() {
    let mut forth = Forth::new(Limits::default());
    let mut console = BufferConsole::new();
    for line in [
        "0 [IF] 1 [IF] 2",
        "[ELSE] 3 [THEN] 4",
        "[ELSE] 5",
        "[THEN] 6",
    ] {
        forth.evaluate(line, "line", &mut console).unwrap();
    }
    assert_eq!(forth.data_stack(), [5, 6]);
    assert_eq!(forth.end_of_program("input").map_err(|e| e.code), Ok(()));
    forth.evaluate("0 [IF] 7", "line", &mut console).unwrap();
    let ended = forth.end_of_program("input").unwrap_err();
    assert_eq!(ended.code, -39);
    assert!(
        ended.to_string().contains("inside [IF] or [ELSE]"),
        "{ended}"
    );
    // The reset after the error ends the skip: the next text is interpreted.
    forth.reset_after_error();
    forth.evaluate("8", "line", &mut console).unwrap();
    assert_eq!(forth.data_stack(), [8]);
    // An EVALUATE string that ends inside [IF] just ends it.
    forth
        .evaluate("s\" 0 [IF] 9\" evaluate 10", "line", &mut console)
        .unwrap();
    assert_eq!(forth.data_stack(), [8, 10]);
}
