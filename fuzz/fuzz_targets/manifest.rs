//! Signed manifests: the signature file and the manifest are parsed from untrusted bytes
//! (the signature before anything else): neither parser may panic, and a manifest that
//! parses serialises back to one that parses the same.
#![no_main]

use fastforth_update::{Manifest, TrustedKeys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let split = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let (manifest, signature) = bytes.split_at(split);
    let keys = TrustedKeys::new([]);
    let _ = keys.verify(manifest, signature);
    if let Ok(parsed) = Manifest::parse(manifest) {
        let _ = parsed.expires_at();
        let again = Manifest::parse(&parsed.to_bytes()).expect("a parsed manifest re-parses");
        assert_eq!(again, parsed);
    }
});
