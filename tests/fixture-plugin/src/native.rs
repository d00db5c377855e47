//! A "forth-native" plugin with two words over a data space of one cell: `count` adds one
//! to the cell and pushes it; `panic` sets the cell to 100, then panics (a bug in compiled
//! code, not a Forth exception), leaving its session's data space half-updated.

use fastforth_abi::{ByteSink, ConsoleCallbacks, DataSpace, DataStack, EvalOutcome, FfiStr};

fn words(names: ByteSink<'_>) {
    names.send(b"count\npanic");
}

fn run_word(
    _name: FfiStr,
    _stack_room: usize,
    _console: ConsoleCallbacks<'_>,
    _stack: ByteSink<'_>,
    error: ByteSink<'_>,
) -> EvalOutcome {
    error.send(b"-21 the fixture only answers calls");
    EvalOutcome {
        flow: EvalOutcome::ERROR,
        error_code: -21,
    }
}

fn data_stack_cells() -> usize {
    16
}

/// # Safety
/// `memory` and `stack` must be lent as `DataSpace::bytes` and `DataStack::cells_and_depth`
/// require.
unsafe fn call_word(
    word: u32,
    memory: &mut DataSpace<'_>,
    stack: &mut DataStack<'_>,
    _stack_room: usize,
    _console: &ConsoleCallbacks<'_>,
    error: &ByteSink<'_>,
) -> i64 {
    // SAFETY: guaranteed by the caller.
    let (memory, (cells, depth)) = unsafe { (memory.bytes(), stack.cells_and_depth()) };
    let Some(cell) = memory.first_chunk_mut::<8>() else {
        error.send(b"the data space has no cell");
        return -21;
    };
    match word {
        0 => {
            let count = i64::from_le_bytes(*cell) + 1;
            *cell = count.to_le_bytes();
            let Some(top) = cells.get_mut(*depth) else {
                error.send(b"stack overflow");
                return -3;
            };
            *top = count;
            *depth += 1;
            0
        }
        1 => {
            *cell = 100i64.to_le_bytes();
            panic!("fixture: the word panics halfway");
        }
        _ => {
            error.send(b"undefined word");
            -13
        }
    }
}

fn new_session(memory: ByteSink<'_>) {
    memory.send(&[0; 8]);
}

fastforth_abi::export_plugin! {
    kind: FORTH_NATIVE,
    name: "fixture",
    version: "0.0.1",
    functions: NativeForthFunctions {
        words: fn(names: ByteSink) -> () = words,
        run_word: fn(
            name: FfiStr,
            stack_room: usize,
            console: ConsoleCallbacks,
            stack: ByteSink,
            error: ByteSink,
        ) -> EvalOutcome = run_word,
        data_stack_cells: fn() -> usize = data_stack_cells,
        call_word: fn(
            word: u32,
            memory: &mut DataSpace,
            stack: &mut DataStack,
            stack_room: usize,
            console: &ConsoleCallbacks,
            error: &ByteSink,
        ) -> i64 = call_word,
        new_session: fn(memory: ByteSink) -> () = new_session,
    },
}
