//! Delta patches: any bytes as a patch against a fixed base, with a stated result size taken
//! from the first two bytes. Applying may not panic, and a patch that applies gives exactly
//! the stated size (the decoder never holds more than one byte past it).
#![no_main]

use fastforth_update::patch;
use libfuzzer_sys::fuzz_target;

/// The base every input is applied to: 64 KiB of a repeating, not too regular pattern.
fn base() -> Vec<u8> {
    (0u32..65_536).map(|i| (i * 31 % 251) as u8).collect()
}

fuzz_target!(|bytes: &[u8]| {
    let Some((size, patch)) = bytes.split_first_chunk::<2>() else {
        return;
    };
    let result_size = u64::from(u16::from_le_bytes(*size)) * 16;
    if let Ok(result) = patch::apply(&base(), patch, result_size) {
        assert_eq!(result.len() as u64, result_size);
    }
});
