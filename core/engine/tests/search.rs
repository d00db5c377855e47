//! The Search-order word set: word lists, the search order and where definitions go.

mod common;

use common::{check_all, error, output, stack};
use fastforth_engine::{BufferConsole, Forth, Limits};

#[test]
fn the_default_order_is_the_forth_word_list() {
    check_all(&[
        ("GET-ORDER", &[1, 1]),
        ("GET-CURRENT FORTH-WORDLIST =", &[-1]),
        ("WORDLIST WORDLIST <>", &[-1]),
    ]);
}

#[test]
fn set_order_and_get_order_round_trip() {
    check_all(&[
        (
            "WORDLIST CONSTANT w FORTH-WORDLIST w 2 SET-ORDER GET-ORDER ONLY",
            &[1, 2, 2],
        ),
        ("-1 SET-ORDER GET-ORDER", &[1, 1]),
        (": t 0 SET-ORDER GET-ORDER -1 SET-ORDER ; t", &[0]),
    ]);
    assert_eq!(error("99 1 SET-ORDER").code, -24);
    assert_eq!(error("0 SET-ORDER DUP").code, -13);
}

#[test]
fn definitions_go_to_the_compilation_word_list() {
    let setup = "WORDLIST CONSTANT w w SET-CURRENT : hidden 5 ; FORTH-WORDLIST SET-CURRENT ";
    check_all(&[
        (
            &format!("{setup} S\" hidden\" w SEARCH-WORDLIST NIP"),
            &[-1],
        ),
        (
            &format!("{setup} S\" hidden\" FORTH-WORDLIST SEARCH-WORDLIST"),
            &[0],
        ),
        (
            &format!("{setup} S\" hidden\" w SEARCH-WORDLIST DROP EXECUTE"),
            &[5],
        ),
    ]);
    assert_eq!(error(&format!("{setup} hidden")).code, -13);
    assert_eq!(
        stack(&format!("{setup} GET-ORDER w SWAP 1+ SET-ORDER hidden")),
        [5]
    );
}

#[test]
fn also_only_forth_previous_and_definitions() {
    let setup = "WORDLIST CONSTANT w : (w) w ; ";
    check_all(&[
        (&format!("{setup} ONLY GET-ORDER"), &[1, 1]),
        (&format!("{setup} ALSO GET-ORDER"), &[1, 1, 2]),
        (&format!("{setup} ALSO FORTH GET-ORDER"), &[1, 1, 2]),
        (&format!("{setup} ALSO PREVIOUS GET-ORDER"), &[1, 1]),
        (
            &format!("{setup} FORTH-WORDLIST w 2 SET-ORDER DEFINITIONS GET-CURRENT ONLY w ="),
            &[-1],
        ),
        (
            &format!(
                "{setup} FORTH-WORDLIST w 2 SET-ORDER DEFINITIONS : x 7 ; PREVIOUS GET-CURRENT w = S\" x\" w SEARCH-WORDLIST NIP"
            ),
            &[-1, -1],
        ),
    ]);
    assert_eq!(error(": t PREVIOUS PREVIOUS ; t").code, -50);
    assert_eq!(error(": t 0 SET-ORDER DEFINITIONS ; t").code, -50);
}

#[test]
fn a_word_list_shadows_the_ones_after_it_in_the_order() {
    let program = "WORDLIST CONSTANT w : dup 1 ; w SET-CURRENT : dup 2 ; FORTH-WORDLIST SET-CURRENT \
                   dup GET-ORDER w SWAP 1+ SET-ORDER dup PREVIOUS dup";
    assert_eq!(stack(program), [1, 2, 1]);
}

#[test]
fn search_wordlist_and_find_tell_immediate_words() {
    check_all(&[
        ("S\" IF\" FORTH-WORDLIST SEARCH-WORDLIST NIP", &[1]),
        ("S\" dup\" FORTH-WORDLIST SEARCH-WORDLIST NIP", &[-1]),
        ("S\" no-such\" FORTH-WORDLIST SEARCH-WORDLIST", &[0]),
    ]);
    assert_eq!(error("S\" DUP\" 0 SEARCH-WORDLIST").code, -24);
}

#[test]
fn order_and_words_show_the_search_order() {
    assert_eq!(
        output("WORDLIST DROP WORDLIST ALSO FORTH-WORDLIST SWAP 2 SET-ORDER DEFINITIONS ORDER"),
        "\nsearch order: wid-3 FORTH\ncompiling into: wid-3\n"
    );
    assert_eq!(
        output("WORDLIST DUP SET-CURRENT : a ; : b ; FORTH-WORDLIST SWAP 2 SET-ORDER WORDS"),
        "b a "
    );
}

#[test]
fn too_many_lists_in_the_order_is_an_overflow() {
    let deep = "ALSO ".repeat(70);
    assert_eq!(error(&deep).code, -49);
    assert_eq!(error("65 SET-ORDER").code, -49);
}

#[test]
fn marker_forgets_the_words_of_every_list() {
    let program = "WORDLIST CONSTANT w MARKER m w SET-CURRENT : x 1 ; \
                   FORTH-WORDLIST SET-CURRENT m S\" x\" w SEARCH-WORDLIST";
    assert_eq!(stack(program), [0]);
}

#[test]
fn word_lists_and_the_order_survive_an_image() {
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    let setup = "WORDLIST CONSTANT w w SET-CURRENT : x 42 ; GET-ORDER w SWAP 1+ SET-ORDER \
                 S\" sub\" S\" k\" REPLACES";
    forth.evaluate(setup, "test", &mut console).unwrap();
    let image = forth.save_image();
    let mut loaded = Forth::load_image(&image, Limits::default()).unwrap();
    assert_eq!(loaded.save_image(), image);
    let check = ": y 7 ; x S\" y\" w SEARCH-WORDLIST NIP GET-CURRENT w = \
                 CREATE b 9 ALLOT S\" %k%\" b 9 SUBSTITUTE ROT DROP";
    loaded.evaluate(check, "test", &mut console).unwrap();
    assert_eq!(loaded.data_stack(), [42, -1, -1, 3, 1]);
}

#[test]
fn corrupt_word_list_sections_are_refused() {
    let forth = common::forth();
    let image = forth.save_image();
    // The image ends with the search order (count, then the list), the compilation list,
    // the substitution count, the heap section (five cells in a fresh session), the float
    // section (two) and the checksum: make the order name list 5, which does not exist.
    let mut bad = image.clone();
    let order_list_at = image.len() - 11 * 8;
    bad[order_list_at] = 5;
    let body = bad.len() - 8;
    let checksum = fnv1a(&bad[..body]);
    bad[body..].copy_from_slice(&checksum.to_le_bytes());
    let refused = Forth::load_image(&bad, Limits::default())
        .err()
        .expect("refused");
    assert!(refused.message.contains("word list"), "{}", refused.message);
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn marker_restores_the_search_order_and_compilation_list() {
    let program = "WORDLIST CONSTANT w MARKER m GET-ORDER w SWAP 1+ SET-ORDER DEFINITIONS \
                   m GET-ORDER GET-CURRENT";
    assert_eq!(stack(program), [1, 1, 1]);
}
