//! What the generator makes of programs at the edge of what rustc can take: the Rust it
//! writes stays linear in the size of the source, nesting past the bound is refused with
//! the reason, and a crate whose build failed leaves nothing in the cache.

use fastforth_aot::{AotError, CompileOptions, compile, generate};
use std::path::Path;

/// A word whose `IF`s nest `depth` deep.
fn nested(name: &str, depth: usize) -> String {
    format!(
        ": {name} 1 {} {} ;\n",
        "dup if ".repeat(depth),
        "then ".repeat(depth)
    )
}

#[test]
fn generated_rust_is_linear_in_the_source() {
    let source: String = (0..40).map(|i| nested(&format!("w{i}"), 200)).collect();
    let generated = generate(&source, "deep").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        generated.words.len(),
        40,
        "skipped: {:?}",
        generated.skipped
    );
    assert!(
        generated.program_rs.len() < 40 * source.len(),
        "{} bytes of Rust for {} bytes of Forth",
        generated.program_rs.len(),
        source.len()
    );
}

#[test]
fn nesting_deeper_than_rustc_takes_is_refused_with_the_reason() {
    let source = format!("{}: shallow 1 2 + ;", nested("deep", 2000));
    let generated = generate(&source, "deep").unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = generated.words.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["shallow"]);
    assert_eq!(generated.skipped.len(), 1);
    assert_eq!(generated.skipped[0].word, "deep");
    assert_eq!(
        generated.skipped[0].reason,
        "control flow nests more than 256 levels deep (the most the native backend compiles)"
    );
    assert!(generated.program_rs.len() < 100 * source.len());
}

#[test]
fn a_failed_build_leaves_no_cache_entry() {
    let cache_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("failed-build-cache");
    let _ = std::fs::remove_dir_all(&cache_dir);
    let options = CompileOptions {
        cache_dir: cache_dir.clone(),
        cargo: "false".to_owned(),
        release: false,
        output: fastforth_aot::Output::Plugin,
    };
    match compile(": sq dup * ;", "failing", &options) {
        Err(AotError::Build(_)) => {}
        other => panic!("expected a build error, got {other:?}"),
    }
    // Only the runtime's shared sources stay, for the next program.
    let left: Vec<_> = std::fs::read_dir(&cache_dir)
        .map(|entries| entries.map(|e| e.expect("entry").file_name()).collect())
        .unwrap_or_default();
    let crates: Vec<_> = left
        .iter()
        .filter(|name| !name.to_string_lossy().starts_with("runtime-"))
        .collect();
    assert!(crates.is_empty(), "left in the cache: {left:?}");
}
