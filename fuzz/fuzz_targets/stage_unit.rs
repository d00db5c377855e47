//! Optimizer stage units, the bytes a stage plugin reads and answers: any bytes are refused
//! with a reason or decode into a unit the executor can run (branch targets inside it, an end
//! it cannot run past), which encodes back to the same unit. The engine's own optimizer
//! answers a unit whose stated effect is its computed one with a unit that passes the checks
//! the engine makes of a stage's answer.
#![no_main]

use fastforth_engine::stage::{Unit, optimize_unit, stack_effect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(unit) = Unit::decode(bytes) else {
        return;
    };
    for op in &unit.ops {
        assert!(op.target().is_none_or(|t| (t as usize) < unit.ops.len()));
    }
    assert_eq!(Unit::decode(&unit.encode()).as_ref(), Ok(&unit));
    if unit.callees.is_empty() && unit.effect == stack_effect(&unit.ops, &[]) {
        let answer = optimize_unit(bytes, None).expect("a decoded unit is optimized");
        let answer = Unit::decode(&answer).expect("the optimizer's answer decodes");
        unit.check_answer(&answer).expect("the optimizer's answer passes the checks");
    }
});
