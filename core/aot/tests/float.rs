//! Floating-point words are not compiled natively: the generator names each word that
//! uses them and the float word it refused, and compiles the rest of the program.

use fastforth_aot::generate;

#[test]
fn float_words_are_named_as_not_compilable() {
    let c = generate(
        ": square fdup f* ;
         : half 0.5E ;
         : uses-square square ;
         : fine 1 ;",
        "test",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let reason = |name: &str| {
        c.skipped
            .iter()
            .find(|s| s.word == name)
            .unwrap_or_else(|| panic!("{name} is reported"))
            .reason
            .clone()
    };
    assert!(
        reason("square").contains("FDUP is not supported natively"),
        "{}",
        reason("square")
    );
    assert!(
        reason("half").contains("a float literal is not supported natively"),
        "{}",
        reason("half")
    );
    assert!(reason("uses-square").contains("calls square"));
    assert!(c.words.iter().any(|w| w.name == "fine"));
}
