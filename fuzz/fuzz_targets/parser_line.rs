//! Parser stage lines and answers, the bytes a stage plugin reads and writes: any bytes are
//! refused with a reason or decode into a line that encodes back to the same line; the
//! engine's own parser answers it with what passes the checks; and any answer the checks
//! accept holds tokens inside the line, in order, each after the one before's delimiter.
#![no_main]

use fastforth_engine::parser_stage::{Line, builtin_number, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let (line, answer) = match bytes.iter().position(|&b| b == 0xff) {
        Some(split) => (&bytes[..split], &bytes[split + 1..]),
        None => (bytes, &[][..]),
    };
    let Ok(decoded) = Line::decode(line) else {
        return;
    };
    assert_eq!(Line::decode(&decoded.encode()).as_ref(), Ok(&decoded));
    let built_in = parse_line(line, &builtin_number).expect("a decoded line is parsed");
    decoded
        .check_answer(&built_in)
        .expect("the built-in parser's answer passes the checks");
    if let Ok(tokens) = decoded.check_answer(answer) {
        let mut earliest = decoded.from as usize;
        for token in tokens {
            assert!(token.len > 0 && token.start as usize >= earliest);
            assert!(token.end() <= decoded.text.len());
            earliest = token.end() + 1;
        }
    }
});
