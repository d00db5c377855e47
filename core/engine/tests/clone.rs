//! Copies of an engine: a copy of a fresh engine is a fresh engine, and a copy of a session
//! carries its whole state but then runs apart from the original.

use fastforth_engine::{BufferConsole, Forth, Limits};
use std::sync::atomic::Ordering;

fn small_limits() -> Limits {
    Limits {
        data_stack_cells: 64,
        return_stack_cells: 64,
        data_space_bytes: 64 << 10,
        max_steps: Some(20_000),
        ..Limits::default()
    }
}

fn run(forth: &mut Forth, source: &str) -> (String, Option<i64>) {
    let mut console = BufferConsole::new();
    let code = forth
        .evaluate(source, "test", &mut console)
        .err()
        .map(|e| e.code);
    (console.output_text(), code)
}

#[test]
fn a_copy_of_a_fresh_engine_is_a_fresh_engine() {
    let fresh = Forth::new(small_limits());
    let mut copy = fresh.clone();
    assert_eq!(copy.save_image(), Forth::new(small_limits()).save_image());
    let program = ": sq dup * ; 7 sq . words";
    let expected = run(&mut Forth::new(small_limits()), program);
    assert_eq!(run(&mut copy, program), expected);
    assert!(expected.0.starts_with("49 sq "), "{expected:?}");
    assert!(expected.0.contains(" WORDS "), "{expected:?}");
    // The step budget of the limits is kept.
    assert_eq!(run(&mut copy, ": spin begin again ; spin").1, Some(-256));
}

#[test]
fn a_copy_carries_the_session_and_then_runs_apart() {
    let mut original = Forth::new(Limits::default());
    run(
        &mut original,
        "variable v 5 v ! : get v @ ; : dup 2 ; 1 2 hex create buf 10 allot",
    );
    let before = original.save_image();
    let mut copy = original.clone();
    assert_eq!(copy.save_image(), before);
    assert_eq!(copy.data_stack(), &[1, 2]);

    let (output, code) = run(&mut copy, "decimal 99 v ! : get 0 ; get . 4 dup . marker m");
    assert_eq!((output.as_str(), code), ("0 2 ", None));
    assert_ne!(copy.save_image(), before);
    assert_eq!(
        original.save_image(),
        before,
        "the copy changed the original"
    );
    let (output, code) = run(&mut original, "get . dup .");
    assert_eq!((output.as_str(), code), ("5 2 ", None));
}

#[test]
fn a_copy_has_its_own_interrupt_flag() {
    let mut original = Forth::new(small_limits());
    let mut copy = original.clone();
    original.interrupt_handle().store(true, Ordering::Relaxed);
    assert_eq!(run(&mut copy, "1 2 + .").1, None);
    assert_eq!(run(&mut original, "1 2 + .").1, Some(-28));
    copy.interrupt_handle().store(true, Ordering::Relaxed);
    assert_eq!(run(&mut copy, "1").1, Some(-28));
    assert_eq!(run(&mut original, "1").1, None);
}
