//! What a probe process runs on an engine plugin before a host uses it: a program through
//! the exported functions the host calls (a new instance, evaluation with a console,
//! errors and the reset after each, the state image, an instance made from it, the end of
//! the program). A build broken where its self-test does not reach then crashes or fails
//! in the probe, not in the host.

use crate::forth::{CollectingConsole, Evaluation, Forth, ForthInstance};
use fastforth_abi::ForthLimits;
use fastforth_host::{Plugin, PluginError};
use std::sync::Arc;

/// Standard words whose output every correct engine prints as [`PRINTS`]: definitions
/// calling definitions, arithmetic, loops, conditionals, strings, FILL, variables, DOES>,
/// CATCH and THROW (of a word's own and of an error), EVALUATE, BASE, pictured output and
/// floats.
const PROGRAM: &str = ": sq dup * ; 7 sq . 1 2 + . : sum 0 10 0 do i + loop ; sum . \
    : down begin 1- dup 0= until ; 5 down . : sign 0< if -1 else 1 then ; -4 sign . \
    s\" text\" type space variable v 12 v ! v @ . : k create , does> @ ; 42 k answer \
    answer . : t 7 throw ; ' t catch . hex ff decimal . 12 0 <# #s #> type space \
    1e 2e f+ f. 3 4 max . : u sq 1+ ; 3 u . s\" 2 3 *\" evaluate . 7 3 /mod . . \
    pad 3 char x fill pad 3 type space : z 1 0 / ; ' z catch .";
const PRINTS: &str = "49 3 45 0 -1 text 12 42 7 255 12 3. 4 10 6 2 1 xxx -10 ";

/// More words, whose output is the engine's own to format: this program must only end
/// well.
const MORE: &str = ": rr 1 2 2>r 2r> + ; rr drop : w begin dup while 1- repeat ; 1000 w drop \
    s\" x\" s\" y\" compare drop -5 abs drop char A emit 1 2 3 .s 2drop drop words \
    see rr : dd 1 0 ['] / catch ; dd 2drop drop";

/// Errors the host receives, each with its throw code, on a stack with cells or without.
const ERRORS: [(&str, i64); 3] = [
    ("no-such-word", -13),
    ("1 2 no-such-word", -13),
    ("1 0 /", -10),
];

/// Run on an instance made from the image of the first, after an error: the words
/// defined before it are there.
const AFTER_IMAGE: &str = "6 sq . answer .";
const AFTER_PRINTS: &str = "36 42 ";

/// Runs the program on `plugin`; `Err` says what went wrong.
pub(crate) fn engine(plugin: Arc<Plugin<Forth>>) -> Result<(), String> {
    let limits = ForthLimits {
        data_stack_cells: 1024,
        return_stack_cells: 1024,
        data_space_bytes: 1 << 20,
        max_steps: 1_000_000,
    };
    let text = |error: PluginError| error.to_string();
    let mut first = ForthInstance::create(plugin.clone(), limits, &[]).map_err(text)?;
    expect_output(&mut first, PROGRAM, PRINTS)?;
    let more = first
        .evaluate(MORE, "probe", &mut CollectingConsole::default())
        .map_err(text)?;
    if more != Evaluation::Continue {
        return Err(format!("`{MORE}` ended with {more:?}"));
    }
    for (source, code) in ERRORS {
        let failed = first
            .evaluate(source, "probe", &mut CollectingConsole::default())
            .map_err(text)?;
        if !matches!(failed, Evaluation::Error { code: thrown, .. } if thrown == code) {
            return Err(format!("`{source}` gave {failed:?}, not error {code}"));
        }
        first.reset_after_error().map_err(text)?;
    }
    let image = first.save_image().map_err(text)?;
    let mut second = ForthInstance::create(plugin, limits, &image).map_err(text)?;
    expect_output(&mut second, AFTER_IMAGE, AFTER_PRINTS)?;
    let ended = second.end_of_program("probe").map_err(text)?;
    if ended != Evaluation::Continue {
        return Err(format!("the end of the program gave {ended:?}"));
    }
    match second.data_stack().map_err(text)? {
        left if left.is_empty() => Ok(()),
        left => Err(format!("the data stack holds {left:?}, expected nothing")),
    }
}

/// Evaluates `source` on `instance` and checks that it printed `expected`.
fn expect_output(instance: &mut ForthInstance, source: &str, expected: &str) -> Result<(), String> {
    let mut console = CollectingConsole::default();
    let evaluation = instance
        .evaluate(source, "probe", &mut console)
        .map_err(|error| error.to_string())?;
    let printed = String::from_utf8_lossy(&console.0);
    match evaluation {
        Evaluation::Continue if printed == expected => Ok(()),
        Evaluation::Continue => Err(format!("`{source}` printed {printed:?}, not {expected:?}")),
        other => Err(format!("`{source}` ended with {other:?}")),
    }
}
