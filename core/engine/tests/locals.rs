//! The Locals word set: `{: ... :}`, `(LOCAL)` and `TO`, with loops, recursion and
//! exceptions.

mod common;

use common::{check_all, error};

#[test]
fn arguments_take_the_stack_items_in_order() {
    check_all(&[
        (": t {: a :} a ; 5 t", &[5]),
        (": t {: a b :} b a ; 1 2 t", &[2, 1]),
        (": t {: a b c :} c b a a ; 1 2 3 t", &[3, 2, 1, 1]),
        (": t {: :} ; 4 t", &[4]),
        (": t DEPTH {: d a :} d a ; 9 t", &[9, 1]),
    ]);
}

#[test]
fn values_start_at_zero_and_to_stores_into_any_local() {
    check_all(&[
        (": t {: | x y :} x y ; t", &[0, 0]),
        (": t {: a | x :} a 2* TO x x a ; 5 t", &[10, 5]),
        (": t {: a :} 7 TO a a ; 1 t", &[7]),
        (": t {: a b | c -- d :} a b + TO c c ; 3 4 t", &[7]),
    ]);
}

#[test]
fn the_output_part_is_a_comment_and_may_span_lines() {
    check_all(&[
        (": t {: a -- DUP SWAP :} a DUP ; 3 t", &[3, 3]),
        (": t {: a\n b :} a b - ; 10 4 t", &[6]),
    ]);
}

#[test]
fn locals_shadow_words_and_numbers_only_inside_their_definition() {
    check_all(&[
        (": t {: dup 10 :} dup 10 + ; 1 2 t 3 dup", &[3, 3, 3]),
        (": t {: I J :} 2 0 DO I J LOOP ; 7 8 t", &[7, 8, 7, 8]),
        (": a 1 ; : t {: a :} a ; 5 t a", &[5, 1]),
    ]);
}

#[test]
fn locals_work_inside_loops_and_beside_the_return_stack() {
    check_all(&[
        (": t {: n :} 0 n 0 DO I n + + LOOP ; 3 t", &[12]),
        (": t {: a :} 5 >R a R> a ; 1 t", &[1, 5, 1]),
        (": t {: a :} 1 2 2>R a 2R> ; 9 t", &[9, 1, 2]),
        (
            ": t {: a :} 3 0 DO I 1 = IF a UNLOOP EXIT THEN LOOP 0 ; 6 t",
            &[6],
        ),
    ]);
}

#[test]
fn recursion_gives_each_call_its_own_locals() {
    check_all(&[(
        ": fact {: n :} n 1 > IF n 1- RECURSE n * ELSE 1 THEN ; 10 fact",
        &[3628800],
    )]);
}

#[test]
fn throw_drops_the_locals_of_the_words_it_leaves() {
    check_all(&[(
        ": inner {: a b :} a b + THROW ; \
         : outer {: x :} 1 2 ['] inner CATCH NIP NIP x ; 42 outer",
        &[3, 42],
    )]);
}

#[test]
fn exit_and_does_drop_the_frame() {
    check_all(&[
        (": t {: a :} a 0> IF a EXIT THEN 0 ; 4 t -4 t", &[4, 0]),
        (
            ": mk {: a :} CREATE a , DOES> @ {: v :} v v ; 5 mk five five",
            &[5, 5],
        ),
        (":NONAME {: a b :} a b * ; 6 7 ROT EXECUTE", &[42]),
    ]);
}

#[test]
fn paren_local_declares_from_immediate_words() {
    check_all(&[(
        ": LOCAL BL WORD COUNT (LOCAL) ; IMMEDIATE \
         : END-LOCALS 0 0 (LOCAL) ; IMMEDIATE \
         : t LOCAL a LOCAL b END-LOCALS a b ; 1 2 t",
        &[2, 1],
    )]);
}

#[test]
fn the_number_of_locals_is_bounded_and_reported() {
    check_all(&[("S\" #LOCALS\" ENVIRONMENT?", &[64, -1])]);
    let names: Vec<String> = (0..65).map(|i| format!("l{i}")).collect();
    let failure = error(&format!(": t {{: {} :}} ;", names.join(" ")));
    assert_eq!(failure.code, -21);
    assert!(failure.message.contains("more than 64 locals"), "{failure}");
}

#[test]
fn an_unterminated_declaration_is_an_error() {
    assert_eq!(error(": t {: a b").code, -39);
}
