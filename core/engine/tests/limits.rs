//! Engine limits: sizes out of range are refused with an error naming them (never a panic,
//! an allocation abort or a wrapped address), and the largest accepted sizes work.

use fastforth_engine::{BufferConsole, Forth, Limits};

fn refusal(limits: Limits) -> String {
    match Forth::try_new(limits) {
        Ok(_) => panic!("accepted"),
        Err(refused) => refused,
    }
}

#[test]
fn absurd_sizes_are_refused_with_their_bounds() {
    let cases = [
        (
            Limits {
                data_space_bytes: usize::MAX,
                ..Limits::default()
            },
            format!(
                "data space of {} bytes is out of range: expected 0 to 1073741824 bytes",
                usize::MAX
            ),
        ),
        (
            Limits {
                data_space_bytes: 100_000_000_000,
                ..Limits::default()
            },
            "data space of 100000000000 bytes is out of range: expected 0 to 1073741824 bytes"
                .to_owned(),
        ),
        (
            Limits {
                return_stack_cells: usize::MAX,
                ..Limits::default()
            },
            format!(
                "return stack of {} cells is out of range: expected 1 to 1048576 cells",
                usize::MAX
            ),
        ),
        (
            Limits {
                data_stack_cells: 0,
                ..Limits::default()
            },
            "data stack of 0 cells is out of range: expected 1 to 1048576 cells".to_owned(),
        ),
        (
            Limits {
                max_source_bytes: 0,
                ..Limits::default()
            },
            "source text limit of 0 bytes is out of range: expected 1 to 1073741824 bytes"
                .to_owned(),
        ),
    ];
    for (limits, expected) in cases {
        assert_eq!(limits.check(), Err(expected.clone()));
        assert_eq!(refusal(limits), expected);
    }
}

#[test]
fn the_largest_sizes_work_and_user_data_stays_apart_from_system_variables() {
    let mut forth = Forth::try_new(Limits {
        data_space_bytes: Limits::MAX_DATA_SPACE_BYTES,
        data_stack_cells: Limits::MAX_STACK_CELLS,
        return_stack_cells: Limits::MAX_STACK_CELLS,
        ..Limits::default()
    })
    .unwrap();
    let mut console = BufferConsole::new();
    forth
        .evaluate("5 0 ! 0 @ . base @ . unused .", "t", &mut console)
        .unwrap();
    assert_eq!(console.take_output(), "5 10 1073741824 ");
}

#[test]
fn an_image_loaded_with_absurd_limits_is_refused() {
    let image = Forth::new(Limits::default()).save_image();
    let limits = Limits {
        return_stack_cells: usize::MAX,
        ..Limits::default()
    };
    let refused = Forth::load_image(&image, limits).err().expect("accepted");
    assert!(
        refused.message.contains("return stack of"),
        "{}",
        refused.message
    );
}

#[test]
#[should_panic(expected = "invalid engine limits: data space of")]
fn new_names_the_refused_size() {
    let _ = Forth::new(Limits {
        data_space_bytes: usize::MAX,
        ..Limits::default()
    });
}

/// Evaluates `source`, which must fail: its throw code. The engine answers afterwards,
/// once reset as a host resets it after an error.
fn thrown_then_answers(forth: &mut Forth, source: &str) -> i64 {
    let mut console = BufferConsole::new();
    let error = forth
        .evaluate(source, "t", &mut console)
        .expect_err("refused");
    forth.reset_after_error();
    forth.evaluate("1 2 + .", "t", &mut console).unwrap();
    assert!(console.take_output().ends_with("3 "));
    error.code
}

#[test]
fn defining_words_without_end_is_a_dictionary_overflow() {
    let mut forth = Forth::new(Limits::default());
    let source = ": many 0 begin s\" create w\" evaluate 1+ again ; many";
    assert_eq!(thrown_then_answers(&mut forth, source), -8);
    // The words defined before the overflow are there, the last one findable.
    let mut console = BufferConsole::new();
    forth.evaluate("' w drop", "t", &mut console).unwrap();
}

#[test]
fn code_without_end_is_a_dictionary_overflow() {
    let mut forth = Forth::new(Limits::default());
    let source = ": grow 0 do postpone dup loop ; immediate : big [ 5000000 ] grow ;";
    assert_eq!(thrown_then_answers(&mut forth, source), -8);
    assert_eq!(
        thrown_then_answers(&mut forth, "big"),
        -13,
        "big is not defined"
    );
}

#[test]
fn a_name_longer_than_a_counted_string_is_too_long() {
    let mut forth = Forth::new(Limits::default());
    let longest = "n".repeat(255);
    let mut console = BufferConsole::new();
    forth
        .evaluate(
            &format!("create {longest} : {longest}x ;"),
            "t",
            &mut console,
        )
        .unwrap_err();
    let source = format!(": {longest} 7 ; {longest}");
    forth.evaluate(&source, "t", &mut console).unwrap();
    assert_eq!(forth.data_stack(), [7]);
    for definer in ["create", ":", "variable", "synonym"] {
        let source = format!("{definer} {longest}x dup");
        assert_eq!(thrown_then_answers(&mut forth, &source), -19, "{definer}");
    }
}

#[test]
fn control_flow_without_end_is_bounded() {
    let mut forth = Forth::new(Limits::default());
    let cases = [
        // AHEAD THEN compiles a branch each time: the definition's bound.
        (
            ": big 2000000 0 do postpone ahead postpone then loop ; immediate",
            -8,
        ),
        // BEGIN only grows the control-flow stack.
        (": big 1100000 0 do postpone begin loop ; immediate", -52),
        (
            ": big postpone begin 1100000 0 do 0 cs-pick loop ; immediate",
            -52,
        ),
        // A CASE is no orig or dest: CS-PICK may not copy it (with its exits).
        (": big postpone case 0 cs-pick ; immediate", -22),
    ];
    for (source, expected) in cases {
        let source = format!("{source} : x big ;");
        assert_eq!(
            thrown_then_answers(&mut forth, &source),
            expected,
            "{source}"
        );
    }
}

#[test]
fn a_definition_longer_than_its_bound_is_a_dictionary_overflow() {
    // A million calls of a word that inlining would make eight instructions each: the
    // definition's own bound stops it before it is optimized.
    let mut forth = Forth::new(Limits::default());
    let source = ": s8 over over over over over over over over ; \
                  : big 1100000 0 do postpone s8 loop ; immediate : x big ;";
    assert_eq!(thrown_then_answers(&mut forth, source), -8);
}
