//! Errors: standard throw codes with messages, the `ForthError` reported to hosts and the
//! `ImageError` for refused state images.

use crate::ir::Sys;
use std::fmt;

/// A position in a source text: file (or source name), 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// An uncaught Forth exception: the throw code, its message, the word that raised it and
/// where in the source the interpreter was.
#[derive(Debug, Clone, PartialEq)]
pub struct ForthError {
    pub code: i64,
    pub message: String,
    pub word: Option<String>,
    pub location: Option<SourceLocation>,
}

impl fmt::Display for ForthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.location {
            write!(f, "{}:{}:{}: ", at.file, at.line, at.column)?;
        }
        write!(f, "{} {}", self.code, self.message)?;
        if let Some(word) = &self.word {
            write!(f, " in {}", ShownName(word))?;
        }
        Ok(())
    }
}

/// The most characters of a word's name an error shows.
const SHOWN_NAME_CHARS: usize = 64;

/// A word's name as an error shows it: control characters escaped, cut after
/// [`SHOWN_NAME_CHARS`] characters (a name can be as long as the source line it is on).
pub struct ShownName<'a>(pub &'a str);

impl fmt::Display for ShownName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars().take(SHOWN_NAME_CHARS) {
            if c.is_control() {
                write!(f, "{}", c.escape_debug())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        if self.0.chars().nth(SHOWN_NAME_CHARS).is_some() {
            write!(f, "...")?;
        }
        Ok(())
    }
}

impl std::error::Error for ForthError {}

/// Why a state image was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageError {
    pub message: String,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid engine image: {}", self.message)
    }
}

impl std::error::Error for ImageError {}

/// The throw codes the engine raises itself (Forth-2012 table 9.1, plus one of its own).
pub mod code {
    pub const ABORT: i64 = -1;
    pub const ABORT_QUOTE: i64 = -2;
    pub const STACK_OVERFLOW: i64 = -3;
    pub const STACK_UNDERFLOW: i64 = -4;
    pub const RETURN_STACK_OVERFLOW: i64 = -5;
    pub const RETURN_STACK_UNDERFLOW: i64 = -6;
    pub const INVALID_ADDRESS: i64 = -9;
    pub const DIVISION_BY_ZERO: i64 = -10;
    pub const RESULT_OUT_OF_RANGE: i64 = -11;
    pub const UNDEFINED_WORD: i64 = -13;
    pub const COMPILE_ONLY: i64 = -14;
    pub const DICTIONARY_OVERFLOW: i64 = -8;
    pub const ZERO_LENGTH_NAME: i64 = -16;
    pub const PICTURED_OVERFLOW: i64 = -17;
    pub const PARSED_STRING_OVERFLOW: i64 = -18;
    pub const NAME_TOO_LONG: i64 = -19;
    pub const UNSUPPORTED_OPERATION: i64 = -21;
    pub const CONTROL_MISMATCH: i64 = -22;
    pub const INVALID_NUMERIC_ARGUMENT: i64 = -24;
    pub const RETURN_STACK_IMBALANCE: i64 = -25;
    pub const COMPILER_NESTING: i64 = -29;
    pub const CONTROL_FLOW_OVERFLOW: i64 = -52;
    pub const INVALID_NAME_ARGUMENT: i64 = -32;
    pub const USER_INTERRUPT: i64 = -28;
    /// Also raised when the console cannot write the program's output.
    pub const FILE_IO: i64 = -37;
    pub const FILE_NOT_FOUND: i64 = -38;
    pub const UNEXPECTED_EOF: i64 = -39;
    pub const NESTING_TOO_DEEP: i64 = -258;
    /// Not in the standard's table: the evaluation used up `Limits::max_steps`.
    pub const STEP_BUDGET_EXHAUSTED: i64 = -256;
    /// Not in the standard's table: an execution token that is not one.
    pub const INVALID_XT: i64 = -257;
    pub const FLOAT_STACK_OVERFLOW: i64 = -44;
    pub const FLOAT_STACK_UNDERFLOW: i64 = -45;
}

/// Every code that has a message of its own, with it (the same table as
/// `fastforth_abi::throw::MESSAGES`, held equal by `core/aot/tests/throw_codes.rs`).
pub const MESSAGES: [(i64, &str); 82] = [
    (-1, "aborted"),
    (-2, "aborted"),
    (-3, "stack overflow"),
    (-4, "stack underflow"),
    (-5, "return stack overflow"),
    (-6, "return stack underflow"),
    (-7, "do-loops nested too deeply during execution"),
    (-8, "dictionary overflow"),
    (-9, "invalid memory address"),
    (-10, "division by zero"),
    (-11, "result out of range"),
    (-12, "argument type mismatch"),
    (-13, "undefined word"),
    (-14, "interpreting a compile-only word"),
    (-15, "invalid FORGET"),
    (-16, "attempt to use zero-length string as a name"),
    (-17, "pictured numeric output string overflow"),
    (-18, "parsed string overflow"),
    (-19, "definition name too long"),
    (-20, "write to a read-only location"),
    (-21, "unsupported operation"),
    (-22, "control structure mismatch"),
    (-23, "address alignment exception"),
    (-24, "invalid numeric argument"),
    (-25, "return stack imbalance"),
    (-26, "loop parameters unavailable"),
    (-27, "invalid recursion"),
    (-28, "user interrupt"),
    (-29, "compiler nesting"),
    (-30, "obsolescent feature"),
    (-31, ">BODY used on non-CREATEd definition"),
    (-32, "invalid name argument"),
    (-33, "block read exception"),
    (-34, "block write exception"),
    (-35, "invalid block number"),
    (-36, "invalid file position"),
    (-37, "file I/O exception"),
    (-38, "non-existent file"),
    (-39, "unexpected end of file"),
    (-40, "invalid BASE for floating point conversion"),
    (-41, "loss of precision"),
    (-42, "floating-point divide by zero"),
    (-43, "floating-point result out of range"),
    (-44, "floating-point stack overflow"),
    (-45, "floating-point stack underflow"),
    (-46, "floating-point invalid argument"),
    (-47, "compilation word list deleted"),
    (-48, "invalid POSTPONE"),
    (-49, "search-order overflow"),
    (-50, "search-order underflow"),
    (-51, "compilation word list changed"),
    (-52, "control-flow stack overflow"),
    (-53, "exception stack overflow"),
    (-54, "floating-point underflow"),
    (-55, "floating-point unidentified fault"),
    (-56, "QUIT"),
    (-57, "exception in sending or receiving a character"),
    (-58, "[IF], [ELSE], or [THEN] exception"),
    (-59, "ALLOCATE"),
    (-60, "FREE"),
    (-61, "RESIZE"),
    (-62, "CLOSE-FILE"),
    (-63, "CREATE-FILE"),
    (-64, "DELETE-FILE"),
    (-65, "FILE-POSITION"),
    (-66, "FILE-SIZE"),
    (-67, "FILE-STATUS"),
    (-68, "FLUSH-FILE"),
    (-69, "OPEN-FILE"),
    (-70, "READ-FILE"),
    (-71, "READ-LINE"),
    (-72, "RENAME-FILE"),
    (-73, "REPOSITION-FILE"),
    (-74, "RESIZE-FILE"),
    (-75, "WRITE-FILE"),
    (-76, "WRITE-LINE"),
    (-77, "Malformed xchar"),
    (-78, "SUBSTITUTE"),
    (-79, "REPLACES"),
    (-256, "step budget exhausted"),
    (-257, "invalid execution token"),
    (-258, "input sources nested too deeply"),
];

/// The standard message for a throw code.
pub fn message_for(throw_code: i64) -> &'static str {
    MESSAGES
        .iter()
        .find(|(code, _)| *code == throw_code)
        .map_or("uncaught exception", |(_, text)| text)
}

/// BYE and QUIT: they unwind to the top level like an exception, but no throw code can
/// stand for them, so neither THROW nor CATCH can fake or stop them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Bye,
    Quit,
}

/// An exception on its way to a CATCH or to the host: the code, an optional message that
/// replaces the standard one (ABORT", file names), and the word that raised it; or BYE and
/// QUIT on their way out (`stop`), which only the top level sees.
///
/// One pointer wide, so that `Fallible<T>` of a cell comes back in two registers and every
/// `?` on the engine's many error paths moves a pointer rather than the whole record.
/// Making one allocates, which only a throw does.
#[derive(Debug, Clone, PartialEq)]
pub struct Throw(Box<Thrown>);

/// What a [`Throw`] carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Thrown {
    pub code: i64,
    pub message: Option<String>,
    pub word: Option<String>,
    pub location: Option<SourceLocation>,
    pub stop: Option<Stop>,
}

impl std::ops::Deref for Throw {
    type Target = Thrown;

    fn deref(&self) -> &Thrown {
        &self.0
    }
}

impl std::ops::DerefMut for Throw {
    fn deref_mut(&mut self) -> &mut Thrown {
        &mut self.0
    }
}

impl Throw {
    /// Out of line and cold: the error paths that raise a bare code are one call each.
    #[cold]
    #[inline(never)]
    pub fn new(throw_code: i64) -> Throw {
        Throw(Box::new(Thrown {
            code: throw_code,
            message: None,
            word: None,
            location: None,
            stop: None,
        }))
    }

    /// BYE or QUIT leaving the executor.
    pub fn stop(stop: Stop) -> Throw {
        let mut throw = Throw::new(0);
        throw.stop = Some(stop);
        throw
    }

    pub fn with_message(throw_code: i64, message: impl Into<String>) -> Throw {
        let mut throw = Throw::new(throw_code);
        throw.message = Some(message.into());
        throw
    }

    pub fn in_word(mut self, word: &str) -> Throw {
        if self.word.is_none() {
            self.word = Some(word.to_owned());
        }
        self
    }

    pub fn into_error(self) -> ForthError {
        let Thrown {
            code,
            message,
            word,
            location,
            ..
        } = *self.0;
        let message = message.unwrap_or_else(|| message_for(code).to_owned());
        ForthError {
            code,
            message,
            word,
            location,
        }
    }
}

/// Shorthand for results inside the engine.
pub type Fallible<T> = Result<T, Throw>;

/// Shorthand for raising a bare throw code.
pub fn fail<T>(throw_code: i64) -> Fallible<T> {
    Err(Throw::new(throw_code))
}

/// -21 for a word that a word set's dispatch was handed but does not own (never, as the
/// dispatch is written): one out-of-line copy of the message for every word set.
#[cold]
#[inline(never)]
pub(crate) fn unreachable_word(word: Sys, set: &str) -> Fallible<()> {
    Err(Throw::with_message(
        code::UNSUPPORTED_OPERATION,
        format!("{word:?} is not a {set} word"),
    ))
}
