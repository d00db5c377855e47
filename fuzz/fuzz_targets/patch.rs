//! Delta patches: any bytes as a patch against a fixed base, with a stated result size taken
//! from the first two bytes (up to 64 KiB, the size of a small plugin, so inputs stay cheap).
//! Applying may not panic, and a patch that applies gives exactly the stated size (the
//! decoder never holds more than one byte past it).
#![no_main]

use fastforth_update::patch;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The base every input is applied to: 60,000 bytes of a repeating, not too regular pattern
/// (a result of the same size fits the two size bytes).
fn base() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| (0u32..60_000).map(|i| (i * 31 % 251) as u8).collect())
}

fuzz_target!(|bytes: &[u8]| {
    let Some((size, patch)) = bytes.split_first_chunk::<2>() else {
        return;
    };
    let result_size = u64::from(u16::from_le_bytes(*size));
    if let Ok(result) = patch::apply(base(), patch, result_size) {
        assert_eq!(result.len() as u64, result_size);
    }
});
