//! What a probe process runs on an engine plugin before a host uses it: a program through
//! the exported functions the host calls (a new instance, evaluation with a console, an
//! error and the reset after it, the state image and an instance made from it). A build
//! broken where its self-test does not reach then crashes or fails in the probe, not in
//! the host.

use crate::forth::{CollectingConsole, Evaluation, Forth, ForthInstance};
use fastforth_abi::ForthLimits;
use fastforth_host::{Plugin, PluginError};
use std::sync::Arc;

/// Standard words whose output every correct engine prints as [`PRINTS`]: definitions,
/// arithmetic, loops, conditionals, strings, variables, DOES>, CATCH and THROW, BASE,
/// pictured output and floats.
const PROGRAM: &str = ": sq dup * ; 7 sq . 1 2 + . : sum 0 10 0 do i + loop ; sum . \
    : down begin 1- dup 0= until ; 5 down . : sign 0< if -1 else 1 then ; -4 sign . \
    s\" text\" type space variable v 12 v ! v @ . : k create , does> @ ; 42 k answer \
    answer . : t 7 throw ; ' t catch . hex ff decimal . 12 0 <# #s #> type space \
    1e 2e f+ f. 3 4 max .";
const PRINTS: &str = "49 3 45 0 -1 text 12 42 7 255 12 3. 4 ";

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
    let undefined = first
        .evaluate("no-such-word", "probe", &mut CollectingConsole::default())
        .map_err(text)?;
    if !matches!(undefined, Evaluation::Error { code: -13, .. }) {
        return Err(format!(
            "an undefined word gave {undefined:?}, not error -13"
        ));
    }
    first.reset_after_error().map_err(text)?;
    let image = first.save_image().map_err(text)?;
    let mut second = ForthInstance::create(plugin, limits, &image).map_err(text)?;
    expect_output(&mut second, AFTER_IMAGE, AFTER_PRINTS)?;
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
