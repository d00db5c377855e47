//! Host words: defined by the embedding program, run by its console on the data stack,
//! called interpreted, compiled, through EXECUTE and under CATCH, with their errors
//! reported like any other word's.

use fastforth_engine::{BufferConsole, Console, Forth, HostWordError, Limits};

/// A console whose host word 0 is `sum` ( n*x n -- total ), 1 is `fail` (throws -10
/// with its own message), 2 is `flood` (fills the free cells and claims a depth past
/// them) and 3 is `fill` (fills the free cells and claims them all).
#[derive(Default)]
struct Host {
    output: BufferConsole,
    calls: usize,
}

impl Console for Host {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.output.write(bytes)
    }

    fn call_host_word(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), HostWordError> {
        self.calls += 1;
        match id {
            0 => {
                let Some(top) = depth.checked_sub(1) else {
                    return Err(HostWordError {
                        code: -4,
                        message: "stack underflow in sum".to_owned(),
                    });
                };
                let count = cells[top].max(0) as usize;
                let from = top.saturating_sub(count);
                cells[from] = cells[from..top].iter().sum();
                *depth = from + 1;
                Ok(())
            }
            1 => Err(HostWordError {
                code: -10,
                message: "division by zero in native word fail".to_owned(),
            }),
            2 => {
                cells[*depth..].fill(7);
                *depth = cells.len() + 100;
                Ok(())
            }
            _ => {
                cells[*depth..].fill(7);
                *depth = cells.len();
                Ok(())
            }
        }
    }
}

fn engine() -> Forth {
    let mut forth = Forth::new(Limits {
        data_stack_cells: 64,
        ..Limits::default()
    });
    for (name, id) in [("sum", 0), ("fail", 1), ("flood", 2), ("fill", 3)] {
        forth.define_host_word(name, id).unwrap();
    }
    forth
}

#[test]
fn a_host_word_runs_interpreted_compiled_and_through_execute() {
    let mut forth = engine();
    let mut host = Host::default();
    forth
        .evaluate(
            "1 2 3 3 sum . : twice 2 sum ; 10 20 twice . 4 5 2 ' sum execute .",
            "t",
            &mut host,
        )
        .unwrap();
    assert_eq!(host.output.output_text(), "6 30 9 ");
    assert_eq!(host.calls, 3);
    assert_eq!(forth.data_stack(), &[] as &[i64]);
}

#[test]
fn a_host_word_error_carries_its_code_message_and_position() {
    let mut forth = engine();
    let error = forth
        .evaluate("1 2\n  fail", "prog.fs", &mut Host::default())
        .unwrap_err();
    assert_eq!(error.code, -10);
    assert_eq!(error.message, "division by zero in native word fail");
    let location = error.location.expect("a position");
    assert_eq!((location.line, location.column), (2, 3));
}

#[test]
fn catch_catches_a_host_word_error_and_the_engine_goes_on() {
    let mut forth = engine();
    let mut host = Host::default();
    forth
        .evaluate("' fail catch . 1 1 2 sum .", "t", &mut host)
        .unwrap();
    assert_eq!(host.output.output_text(), "-10 2 ");
}

#[test]
fn a_host_word_that_claims_more_cells_than_the_stack_holds_is_minus_3_and_keeps_the_depth() {
    let mut forth = engine();
    let error = forth
        .evaluate("1 2 flood", "t", &mut Host::default())
        .unwrap_err();
    assert_eq!(error.code, -3);
    assert_eq!(forth.data_stack(), &[1, 2]);
}

#[test]
fn a_host_word_is_lent_every_cell_of_the_stack_and_may_fill_it() {
    let mut forth = engine();
    forth
        .evaluate(": filled 1 2 fill ; filled", "t", &mut Host::default())
        .unwrap();
    assert_eq!(forth.data_stack().len(), 64);
    assert_eq!(forth.data_stack()[..3], [1, 2, 7]);
    let error = forth.evaluate("0", "t", &mut Host::default()).unwrap_err();
    assert_eq!(error.code, -3);
}

#[test]
fn a_console_without_host_words_refuses_them_with_minus_21() {
    let mut forth = engine();
    let error = forth
        .evaluate("1 sum", "t", &mut BufferConsole::new())
        .unwrap_err();
    assert_eq!(error.code, -21);
    assert_eq!(error.message, "host word 0 is not provided by this console");
}

#[test]
fn host_word_names_must_be_one_token() {
    let mut forth = engine();
    for bad in ["", "two words"] {
        let error = forth.define_host_word(bad, 9).unwrap_err();
        assert_eq!(error.code, -32, "{bad:?}");
    }
}

#[test]
fn defining_a_host_word_the_dictionary_has_changes_nothing_unless_a_marker_forgot_it() {
    let mut forth = engine();
    let mut host = Host::default();
    assert!(
        !forth.define_host_word("sum", 0).unwrap(),
        "defined already"
    );
    forth.evaluate(": sum 7 ;", "t", &mut host).unwrap();
    assert!(
        !forth.define_host_word("sum", 0).unwrap(),
        "shadowed, still there"
    );
    forth.evaluate("sum", "t", &mut host).unwrap();
    assert_eq!(forth.data_stack(), [7], "the later definition still serves");
    forth.evaluate("drop marker gone", "t", &mut host).unwrap();
    assert!(forth.define_host_word("twice", 9).unwrap());
    forth.evaluate("gone", "t", &mut host).unwrap();
    assert!(forth.define_host_word("twice", 9).unwrap(), "forgotten");
    assert!(!forth.define_host_word("twice", 9).unwrap());
    let named_twice = forth
        .primitive_words()
        .into_iter()
        .filter(|(name, ..)| name == "twice");
    assert_eq!(named_twice.count(), 1);
}

#[test]
fn a_later_host_word_of_the_same_name_shadows_the_earlier() {
    let mut forth = Forth::new(Limits::default());
    forth.define_host_word("sum", 0).unwrap();
    forth.define_host_word("sum", 1).unwrap();
    let error = forth
        .evaluate("1 1 sum", "t", &mut Host::default())
        .unwrap_err();
    assert_eq!(error.code, -10);
}

#[test]
fn a_host_word_runs_on_a_full_stack_interpreted_and_compiled() {
    let mut forth = engine();
    let mut host = Host::default();
    // 63 items and the count: the stack is full when `sum` starts.
    let items = vec!["1"; 63].join(" ");
    forth
        .evaluate(&format!("{items} 63 sum ."), "t", &mut host)
        .unwrap();
    forth
        .evaluate(
            &format!(": add-all 63 sum ; {items} add-all ."),
            "t",
            &mut host,
        )
        .unwrap();
    assert_eq!(host.output.output_text(), "63 63 ");
    assert_eq!(forth.data_stack(), &[] as &[i64]);
}

#[test]
fn see_names_host_words_and_their_callers_call_them_by_name() {
    let mut forth = engine();
    let mut host = BufferConsole::new();
    forth
        .evaluate(
            ": twice 2 sum ; : starts sum twice ; see sum see twice see starts",
            "t",
            &mut host,
        )
        .unwrap();
    let text = host.output_text();
    assert!(
        text.starts_with("sum is a host word, provided by the program running Forth\n"),
        "{text}"
    );
    let lines = text.lines().skip(1).collect::<Vec<_>>();
    assert_eq!(lines.len(), 10, "{text}");
    assert!(
        lines[1].ends_with(": 2") && lines[2].ends_with(": sum"),
        "{text}"
    );
    // A definition that starts with a host word is no host word itself.
    assert_eq!(lines[5], ": starts", "{text}");
    assert!(
        lines[6].ends_with(": sum") && lines[7].ends_with(": twice"),
        "{text}"
    );
}
