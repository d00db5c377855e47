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
