//! Programs as the backend stage reads them: any bytes are refused with a reason or decode
//! into a program whose data space holds what it places in it, which encodes back to the
//! same program.
#![no_main]

use fastforth_engine::program::Program;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(program) = Program::decode(bytes) else {
        return;
    };
    assert!(program.data.len() <= program.system_base);
    assert!(program.system_base + program.system.len() <= program.memory_bytes);
    assert!(program.hold_area.end <= program.memory_bytes);
    assert_eq!(Program::decode(&program.encode()).as_ref(), Ok(&program));
});
