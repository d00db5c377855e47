//! Plugin inspection: the structural checks that run on a file's bytes before anything is
//! loaded must refuse or accept any bytes without panicking.
#![no_main]

use fastforth_host::inspect;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    let _ = inspect::check_bytes(Path::new("fuzz.so"), bytes);
    let _ = inspect::exported_symbols(bytes);
});
