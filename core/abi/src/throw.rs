//! The Forth throw codes and their messages (Forth-2012 table 9.1, plus FastForth's own),
//! for the native runtime and the host. The engine, which depends on nothing, keeps the same
//! table in `fastforth_engine::code` and `message_for`; `core/aot/tests/throw_codes.rs`
//! holds the two equal code by code and message by message.

pub const ABORT: i64 = -1;
pub const ABORT_QUOTE: i64 = -2;
pub const STACK_OVERFLOW: i64 = -3;
pub const STACK_UNDERFLOW: i64 = -4;
pub const RETURN_STACK_OVERFLOW: i64 = -5;
pub const RETURN_STACK_UNDERFLOW: i64 = -6;
pub const DICTIONARY_OVERFLOW: i64 = -8;
pub const INVALID_ADDRESS: i64 = -9;
pub const DIVISION_BY_ZERO: i64 = -10;
pub const RESULT_OUT_OF_RANGE: i64 = -11;
pub const UNDEFINED_WORD: i64 = -13;
pub const COMPILE_ONLY: i64 = -14;
pub const ZERO_LENGTH_NAME: i64 = -16;
pub const PICTURED_OVERFLOW: i64 = -17;
pub const PARSED_STRING_OVERFLOW: i64 = -18;
/// Also: EXECUTE of a token of a word that is not compiled into a native plugin, and a
/// host word that is not provided.
pub const UNSUPPORTED_OPERATION: i64 = -21;
pub const CONTROL_MISMATCH: i64 = -22;
pub const INVALID_NUMERIC_ARGUMENT: i64 = -24;
pub const RETURN_STACK_IMBALANCE: i64 = -25;
pub const USER_INTERRUPT: i64 = -28;
pub const COMPILER_NESTING: i64 = -29;
pub const INVALID_NAME_ARGUMENT: i64 = -32;
/// Also raised when the console cannot write the program's output.
pub const FILE_IO: i64 = -37;
pub const FILE_NOT_FOUND: i64 = -38;
pub const UNEXPECTED_EOF: i64 = -39;
/// Not in the standard's table: the evaluation used up its step budget.
pub const STEP_BUDGET_EXHAUSTED: i64 = -256;
/// Not in the standard's table: an execution token that is not one.
pub const INVALID_XT: i64 = -257;
pub const NESTING_TOO_DEEP: i64 = -258;

/// Every code that has a message of its own, with it.
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

/// The message of a code without one of its own.
pub const UNCAUGHT: &str = "uncaught exception";

/// The standard message for a throw code.
pub fn message(code: i64) -> &'static str {
    MESSAGES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or(UNCAUGHT, |(_, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_message_and_unknown_codes_are_uncaught() {
        assert_eq!(message(UNDEFINED_WORD), "undefined word");
        assert_eq!(message(INVALID_XT), "invalid execution token");
        assert_eq!(message(-35), "invalid block number");
        assert_eq!(message(-80), UNCAUGHT);
        assert_eq!(message(1), UNCAUGHT);
        let mut codes: Vec<i64> = MESSAGES.iter().map(|(code, _)| *code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), MESSAGES.len(), "a code listed twice");
    }
}
