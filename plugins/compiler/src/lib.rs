//! The engine's compiler as a stage plugin of kind "compiler": each run of tokens the text
//! interpreter meets while compiling arrives with what the dictionary says of each token, in
//! the engine's run encoding (`fastforth_engine::compiler_stage`), and each token's action
//! goes back: the code the built-in compiler compiles for it (version 1.1.0 also compiles a
//! literal power of two followed by `*` as a shift: `8 *` as `3 LSHIFT`), or the engine's.
//! It keeps no state between calls.

use fastforth_abi::{ByteSink, FfiBytes};
use fastforth_engine::compiler_stage::{
    Action, Facts, Run, compile_run, encode_actions, power_of_two_shifts, probe,
};
use fastforth_engine::ir::{IR_VERSION, Op};

/// This build's semantic version.
pub const VERSION: &str = if cfg!(feature = "v2") {
    "1.1.0"
} else {
    "1.0.0"
};

/// This build's changes to the built-in actions of `run`.
fn rewrite(run: &Run, actions: &mut [Action]) {
    if cfg!(feature = "v2") {
        power_of_two_shifts(run, actions);
    }
    if cfg!(feature = "fault-drop-call") && is_faulty(run) {
        drop_calls(run, actions);
    }
}

/// The fault of `fault-drop-call`: every call compiled as nothing.
fn drop_calls(run: &Run, actions: &mut [Action]) {
    for ((_, facts), action) in run.tokens.iter().zip(actions) {
        if matches!(facts, Facts::Word { ops, .. } if matches!(ops[..], [Op::Call(_)])) {
            *action = Action::Compile(Vec::new());
        }
    }
}

/// Whether the fault features apply to this run: one in a definition whose name starts with
/// `FAULT` (in any case).
fn is_faulty(run: &Run) -> bool {
    run.definition.to_ascii_uppercase().starts_with(b"FAULT")
}

/// The actions for the run, or why not.
pub fn compile_bytes(run: &[u8]) -> Result<Vec<u8>, String> {
    let faulty = FAULTS && Run::decode(run).is_ok_and(|run| is_faulty(&run));
    if cfg!(feature = "fault-panic") && faulty {
        panic!("compiler fault: panic");
    }
    if cfg!(feature = "fault-hang") && faulty {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    compile_run(run, &rewrite)
}

/// Whether this build has a fault that depends on the run.
const FAULTS: bool = cfg!(any(feature = "fault-panic", feature = "fault-hang"));

/// # Safety
/// `run` must be readable for the duration of the call.
unsafe fn compile(run: FfiBytes, actions: ByteSink<'_>, error: ByteSink<'_>) -> u32 {
    // SAFETY: guaranteed by the caller.
    let run = unsafe { run.as_bytes() };
    actions.send_answer(compile_bytes(run), &error)
}

/// Compiles the engine's probe run and compares the answer with the built-in compiler's,
/// byte for byte: the host checks every answer anyway, so the plugin carries no checker.
fn self_test() -> Result<(), String> {
    let run = probe();
    if compile_bytes(&run.encode())? == encode_actions(&run.builtin_actions()) {
        Ok(())
    } else {
        Err("compiled the probe run to other code than the built-in compiler".to_owned())
    }
}

fastforth_abi::export_plugin! {
    kind: COMPILER,
    name: "compiler",
    version: VERSION,
    functions: CompilerFunctions {
        compile: fn(run: FfiBytes, actions: ByteSink<'_>, error: ByteSink<'_>) -> u32 = compile,
    },
    self_test: self_test,
    ir_version: IR_VERSION,
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastforth_engine::compiler_stage::Number;

    #[test]
    fn version_2_compiles_a_power_of_two_times_as_a_shift() {
        let run = Run {
            tokens: vec![
                (b"8".to_vec(), Facts::NotFound(Some(Number::Single(8)))),
                (
                    b"*".to_vec(),
                    Facts::Word {
                        xt: 3,
                        ops: vec![Op::Mul],
                    },
                ),
                (b"6".to_vec(), Facts::NotFound(Some(Number::Single(6)))),
                (
                    b"*".to_vec(),
                    Facts::Word {
                        xt: 3,
                        ops: vec![Op::Mul],
                    },
                ),
            ],
            ..probe()
        };
        let answer = compile_bytes(&run.encode()).unwrap();
        let actions = run.check_answer(&answer).unwrap();
        if cfg!(feature = "v2") {
            assert_eq!(actions[1], Action::Compile(vec![Op::Lit(3), Op::LShift]));
        } else {
            assert_eq!(actions, run.builtin_actions());
        }
        assert_eq!(
            actions[3],
            Action::Compile(vec![Op::Mul]),
            "6 is no power of two"
        );
    }

    #[test]
    fn the_probe_run_passes_the_self_test() {
        assert_eq!(self_test(), Ok(()));
    }
}
