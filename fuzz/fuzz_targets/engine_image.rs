//! Engine state images: any bytes are refused with an `ImageError` or load into a session
//! that runs (and ends the definition it may hold), and a loaded image saves back to one
//! that loads again. The input is an image without its trailing checksum, which the target
//! appends, so mutations reach the decoder instead of stopping at the checksum.
#![no_main]

use fastforth_engine::{BufferConsole, Forth, Limits};
use libfuzzer_sys::fuzz_target;

/// The image checksum (FNV-1a 64, as `core/engine/src/image.rs` computes it).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fuzz_target!(|body: &[u8]| {
    let mut image = body.to_vec();
    image.extend(fnv1a(body).to_le_bytes());
    let limits = Limits {
        max_steps: Some(20_000),
        ..Limits::default()
    };
    let Ok(mut forth) = Forth::load_image(&image, limits.clone()) else {
        return;
    };
    let mut console = BufferConsole::with_input("");
    let _ = forth.evaluate("1 2 + . words", "check", &mut console);
    // An image may hold a definition being compiled: end it, which optimizes its code.
    let _ = forth.evaluate(";", "check", &mut console);
    let saved = forth.save_image();
    assert!(
        Forth::load_image(&saved, limits).is_ok(),
        "an image saved by the engine is refused by it"
    );
});
