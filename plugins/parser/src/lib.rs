//! The engine's parser as a stage plugin of kind "parser": the rest of each line arrives in
//! the engine's line encoding (`fastforth_engine::parser_stage`), is split into
//! blank-delimited tokens as the built-in parser splits it, each read as a number as the
//! built-in parser reads it (version 1.1.0 also reads `_` between digits as nothing:
//! `1_000_000`), and goes back as the engine's token encoding. It keeps no state between calls.

use fastforth_abi::{ByteSink, FfiBytes};
use fastforth_engine::ir::IR_VERSION;
use fastforth_engine::parser_stage::{
    Line, Number, builtin_number, encode_tokens, parse_line, probe,
};

/// This build's semantic version.
pub const VERSION: &str = if cfg!(feature = "v2") {
    "1.1.0"
} else {
    "1.0.0"
};

/// How this build reads a token as a number in `base`.
fn number(token: &[u8], base: u64) -> Option<Number> {
    if !cfg!(feature = "v2") {
        return builtin_number(token, base);
    }
    let separated =
        |at: usize| token[at] == b'_' && at > 0 && at + 1 < token.len() && token[at - 1] != b'_';
    if (0..token.len()).any(|at| token[at] == b'_' && !separated(at)) {
        return None;
    }
    let digits: Vec<u8> = token.iter().copied().filter(|&b| b != b'_').collect();
    builtin_number(&digits, base)
}

/// The tokens of the line, or why not.
pub fn tokens_bytes(line: &[u8]) -> Result<Vec<u8>, String> {
    let faulty = FAULTS && is_faulty(line);
    if cfg!(feature = "fault-panic") && faulty {
        panic!("parser fault: panic");
    }
    if cfg!(feature = "fault-hang") && faulty {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    if cfg!(feature = "fault-bad-token") && faulty {
        return Ok(with_bad_token(line));
    }
    parse_line(line, &number)
}

/// Whether this build has a fault that depends on the line.
const FAULTS: bool = cfg!(any(
    feature = "fault-panic",
    feature = "fault-hang",
    feature = "fault-bad-token"
));

/// Whether the fault features apply to this line: one that holds `FAULT` (in any case).
fn is_faulty(line: &[u8]) -> bool {
    Line::decode(line).is_ok_and(|line| {
        line.text
            .to_ascii_uppercase()
            .windows(5)
            .any(|window| window == b"FAULT")
    })
}

/// The built-in tokens with the last one running past the end of the line.
fn with_bad_token(line: &[u8]) -> Vec<u8> {
    let Ok(line) = Line::decode(line) else {
        return Vec::new();
    };
    let mut tokens = line.tokens(&number);
    if let Some(last) = tokens.last_mut() {
        last.len = line.text.len() as u32 + 1 - last.start;
    }
    encode_tokens(&tokens)
}

/// # Safety
/// `line` must be readable for the duration of the call.
unsafe fn split(line: FfiBytes, tokens: ByteSink<'_>, error: ByteSink<'_>) -> u32 {
    // SAFETY: guaranteed by the caller.
    let line = unsafe { line.as_bytes() };
    tokens.send_answer(tokens_bytes(line), &error)
}

/// Parses the engine's probe line and compares the answer with the built-in parser's,
/// byte for byte: the host checks every answer anyway, so the plugin carries no checker of
/// its own.
fn self_test() -> Result<(), String> {
    let (line, expected) = probe();
    if tokens_bytes(&line.encode())? == encode_tokens(&expected) {
        Ok(())
    } else {
        Err("split the probe line into other tokens than the built-in parser".to_owned())
    }
}

fastforth_abi::export_plugin! {
    kind: PARSER,
    name: "parser",
    version: VERSION,
    functions: ParserFunctions {
        tokens: fn(line: FfiBytes, tokens: ByteSink<'_>, error: ByteSink<'_>) -> u32 = split,
    },
    self_test: self_test,
    ir_version: IR_VERSION,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_read_between_digits_only_in_version_2() {
        let read = |token: &str| number(token.as_bytes(), 10);
        assert_eq!(read("12"), Some(Number::Single(12)));
        assert_eq!(read("_1"), None);
        assert_eq!(read("1__0"), None);
        assert_eq!(read("1_"), None);
        let separated = read("1_000_000");
        if cfg!(feature = "v2") {
            assert_eq!(separated, Some(Number::Single(1_000_000)));
            assert_eq!(read("-1_0."), Some(Number::Double(-10, -1)));
        } else {
            assert_eq!(separated, None);
        }
    }

    #[test]
    fn the_probe_line_passes_the_self_test() {
        assert_eq!(self_test(), Ok(()));
    }
}
