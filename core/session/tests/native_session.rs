//! Mixed mode's sessions of a native plugin: the host keeps each plugin's data space from
//! call to call; a call that panics kills the session (its data space may be half-updated),
//! every later call says so, and linking the program again starts a new session.

#[path = "../../host/tests/common/mod.rs"]
mod common;

use common::*;
use fastforth_session::{ForthConsole, HostWordError, NativeWords};

/// The fixture's words: `count` ( -- n ) counts its calls in the data space; `panic` sets
/// the count to 100, then panics.
const COUNT: u32 = 0;
const PANIC: u32 = 1;

struct Silent;

impl ForthConsole for Silent {
    fn write(&mut self, _bytes: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        None
    }
    fn read_key(&mut self) -> Option<u8> {
        None
    }
}

/// Calls host word `id` on an empty stack: the stack it left, or the error.
fn call(natives: &NativeWords, id: u32) -> Result<Vec<i64>, HostWordError> {
    let mut cells = [0; 16];
    let mut depth = 0;
    natives.call_in_place(id, &mut cells, &mut depth, &mut Silent)?;
    Ok(cells[..depth].to_vec())
}

#[test]
fn a_panicking_call_kills_the_session_until_the_program_is_linked_again() {
    let plugin = built("fastforth-fixture-plugin", &["native"]);
    let (_dir, loader) = fresh_loader();
    let mut natives = NativeWords::new(loader);
    let linked = natives.link(&plugin, &mut |_, _| Ok(true)).unwrap();
    let ids: Vec<(&str, u32)> = linked
        .new_words
        .iter()
        .map(|(name, id)| (name.as_str(), *id))
        .collect();
    assert_eq!(ids, [("count", COUNT), ("panic", PANIC)]);

    assert_eq!(call(&natives, COUNT).unwrap(), [1]);
    assert_eq!(
        call(&natives, COUNT).unwrap(),
        [2],
        "the data space is kept"
    );

    let panicked = call(&natives, PANIC).unwrap_err();
    assert_eq!(panicked.code, -21);
    assert!(
        panicked.message.contains("panicked in `call_word`"),
        "{}",
        panicked.message
    );
    for _ in 0..2 {
        let dead = call(&natives, COUNT).unwrap_err();
        assert_eq!(dead.code, -21);
        assert!(
            dead.message.contains("no session of the native code")
                && dead.message.contains("the session is dead"),
            "{}",
            dead.message
        );
    }

    natives.link(&plugin, &mut |_, _| Ok(true)).unwrap();
    assert_eq!(
        call(&natives, COUNT).unwrap(),
        [1],
        "a new session, not the count of 100"
    );
}

#[test]
fn a_word_the_session_could_not_define_is_offered_again_at_the_next_link() {
    let plugin = built("fastforth-fixture-plugin", &["native"]);
    let (_dir, loader) = fresh_loader();
    let mut natives = NativeWords::new(loader);
    let mut refuse_panic = |word: &str, _| match word {
        "panic" => Err("-29 compiler nesting".to_owned()),
        _ => Ok(true),
    };
    let first = natives.link(&plugin, &mut refuse_panic).unwrap();
    assert_eq!(first.new_words, [("count".to_owned(), COUNT)]);
    assert_eq!(
        first.undefined,
        [("panic".to_owned(), "-29 compiler nesting".to_owned())]
    );
    // Every compiled word is offered again with its id; the session defines what it lacks.
    let mut offered = Vec::new();
    let again = natives
        .link(&plugin, &mut |word, id| {
            offered.push((word.to_owned(), id));
            Ok(word == "panic")
        })
        .unwrap();
    assert_eq!(
        offered,
        [("count".to_owned(), COUNT), ("panic".to_owned(), PANIC)]
    );
    assert_eq!(again.new_words, [("panic".to_owned(), PANIC)]);
    assert!(again.undefined.is_empty());
}
