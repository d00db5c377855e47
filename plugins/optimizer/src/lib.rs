//! The engine's optimizer as a stage plugin of kind "optimizer": each definition arrives as
//! the engine's unit encoding (`fastforth_engine::stage`), is optimized as the built-in
//! optimizer would (version 1.1.0 adds one fusion, `SWAP OVER` to `TUCK`), and goes back in
//! the same encoding. It keeps no state between calls.

use fastforth_abi::{ByteSink, FfiBytes};
use fastforth_engine::ir::{IR_VERSION, Op};
use fastforth_engine::optimizer::Replacement;
use fastforth_engine::stage::{Unit, optimize_unit, probe, probe_answer};

/// This build's semantic version.
pub const VERSION: &str = if cfg!(feature = "v2") {
    "1.1.0"
} else {
    "1.0.0"
};

/// The IR version the descriptor states (another one with the `fault-ir-version` feature).
const STATED_IR_VERSION: u32 = if cfg!(feature = "fault-ir-version") {
    IR_VERSION + 1
} else {
    IR_VERSION
};

/// Version 1.1.0's fusion: `SWAP OVER` ( x1 x2 -- x2 x1 x2 ) is `TUCK`.
fn tuck(_: usize, window: &[Op]) -> Replacement {
    match window {
        [Op::Swap, Op::Over, ..] => Some((2, vec![Op::Tuck])),
        _ => None,
    }
}

/// The optimized unit, or why not.
pub fn optimize_bytes(unit: &[u8]) -> Result<Vec<u8>, String> {
    let faulty = FAULTS && is_faulty(unit);
    if cfg!(feature = "fault-panic") && faulty {
        panic!("optimizer fault: panic");
    }
    if cfg!(feature = "fault-hang") && faulty {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    let answer = if cfg!(feature = "v2") {
        optimize_unit(unit, Some(&tuck))?
    } else {
        optimize_unit(unit, None)?
    };
    if cfg!(feature = "fault-bad-branch") && faulty {
        return Ok(with_bad_branch(&answer));
    }
    Ok(answer)
}

/// Whether this build has a fault that depends on the definition.
const FAULTS: bool = cfg!(any(
    feature = "fault-panic",
    feature = "fault-hang",
    feature = "fault-bad-branch"
));

/// Whether the fault features apply to this unit: a definition named `FAULT...` (in any
/// case).
fn is_faulty(unit: &[u8]) -> bool {
    Unit::decode(unit).is_ok_and(|unit| unit.name.to_ascii_uppercase().starts_with(b"FAULT"))
}

/// The answer with a branch past its end put first.
fn with_bad_branch(answer: &[u8]) -> Vec<u8> {
    let Ok(mut unit) = Unit::decode(answer) else {
        return answer.to_vec();
    };
    let past_the_end = unit.ops.len() as u32 + 10;
    unit.ops.insert(0, Op::Branch(past_the_end));
    unit.encode()
}

/// # Safety
/// `unit` must be readable for the duration of the call.
unsafe fn optimize(unit: FfiBytes, optimized: ByteSink<'_>, error: ByteSink<'_>) -> u32 {
    // SAFETY: guaranteed by the caller.
    let unit = unsafe { unit.as_bytes() };
    optimized.send_answer(optimize_bytes(unit), &error)
}

/// Optimizes the engine's probe definition and compares the answer with the built-in
/// optimizer's, byte for byte (`5 NIP`): the host checks every answer anyway, so the plugin
/// carries no checker of its own.
fn self_test() -> Result<(), String> {
    if optimize_bytes(&probe().encode())? == probe_answer().encode() {
        Ok(())
    } else {
        Err("optimized `: T 2 3 + SWAP DROP ;` to other code than `5 NIP`".to_owned())
    }
}

fastforth_abi::export_plugin! {
    kind: OPTIMIZER,
    name: "optimizer",
    version: VERSION,
    functions: OptimizerFunctions {
        optimize: fn(unit: FfiBytes, optimized: ByteSink<'_>, error: ByteSink<'_>) -> u32 = optimize,
    },
    self_test: self_test,
    ir_version: STATED_IR_VERSION,
}
