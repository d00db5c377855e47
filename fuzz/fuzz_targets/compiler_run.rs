//! Compiler stage runs and answers, the bytes a stage plugin reads and writes: any bytes are
//! refused with a reason or decode into a run that encodes back to the same run; the
//! engine's own compiler answers it with what passes the checks; and any answer the checks
//! accept keeps each word's fixed instructions and the run's change of stack depth.
#![no_main]

use fastforth_engine::compiler_stage::{Action, Run, compile_run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let (run, answer) = match bytes.iter().position(|&b| b == 0xfe) {
        Some(split) => (&bytes[..split], &bytes[split + 1..]),
        None => (bytes, &[][..]),
    };
    let Ok(decoded) = Run::decode(run) else {
        return;
    };
    assert_eq!(Run::decode(&decoded.encode()).as_ref(), Ok(&decoded));
    let built_in = compile_run(run, &|_, _| {}).expect("a decoded run is compiled");
    let actions = decoded
        .check_answer(&built_in)
        .expect("the built-in compiler's answer passes the checks");
    assert_eq!(actions, decoded.builtin_actions());
    if let Ok(actions) = decoded.check_answer(answer) {
        assert!(actions.len() <= decoded.tokens.len());
        for action in actions {
            if let Action::Compile(ops) = action {
                assert!(ops.iter().all(|op| op.target().is_none()));
            }
        }
    }
});
