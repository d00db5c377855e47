//! What the generator makes of definitions: static stack effects in locals, the explicit
//! stack where the depth is not static, and refusals that name the word and the reason.

use fastforth_aot::{AotError, GeneratedCrate, Mode, Output, Signature, generate};

fn generated(source: &str) -> GeneratedCrate {
    generate(source, "test").unwrap_or_else(|e| panic!("{e}"))
}

fn mode(crate_: &GeneratedCrate, name: &str) -> Mode {
    crate_
        .words
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("{name} compiled"))
        .mode
}

fn signature(inputs: usize, outputs: usize) -> Mode {
    Mode::Static(Signature { inputs, outputs })
}

#[test]
fn recursion_and_loops_get_static_effects() {
    let c = generated(
        ": fib dup 2 < if exit then dup 1- recurse swap 2 - recurse + ;
         : sum ( n -- s ) 0 swap 0 ?do i + loop ;
         : both ( a b -- c d ) 2dup + >r * r> ;
         : safe ( a b -- c ) ?dup if / else drop 0 then ;
         : nonzero ( a -- ) ?dup 0= if exit then drop ;",
    );
    assert_eq!(mode(&c, "safe"), signature(2, 1));
    assert_eq!(mode(&c, "nonzero"), signature(1, 0));
    assert_eq!(mode(&c, "fib"), signature(1, 1));
    assert_eq!(mode(&c, "sum"), signature(1, 1));
    assert_eq!(mode(&c, "both"), signature(2, 2));
    assert!(c.program_rs.contains("fn w"), "functions are generated");
    assert!(c.skipped.is_empty());
}

#[test]
fn depth_dependent_words_execute_and_their_callers_use_the_explicit_stack() {
    let c = generated(
        ": third 2 pick ;
         : uses-third 1 2 3 third ;
         : maybe ?dup if 1+ then ;
         : run-it execute ;
         : plain 1 2 + ;",
    );
    assert_eq!(mode(&c, "run-it"), Mode::Dynamic);
    assert_eq!(mode(&c, "third"), Mode::Dynamic);
    assert_eq!(mode(&c, "uses-third"), Mode::Dynamic);
    assert_eq!(mode(&c, "maybe"), Mode::Dynamic);
    assert_eq!(mode(&c, "plain"), signature(0, 1));
}

#[test]
fn unsupported_words_and_their_callers_are_named_with_the_reason() {
    let c = generated(
        ": maker create 8 allot ;
         : calls-maker maker ;
         : steals r> drop ;
         : keeps 1 >r ;
         : fine 1 ;",
    );
    let reason = |name: &str| {
        c.skipped
            .iter()
            .find(|s| s.word == name)
            .unwrap_or_else(|| panic!("{name} is reported"))
            .reason
            .clone()
    };
    assert!(
        reason("maker").contains("CREATE is not supported"),
        "{}",
        reason("maker")
    );
    assert!(reason("calls-maker").contains("calls maker"));
    assert!(reason("steals").contains("return stack"));
    assert!(reason("keeps").contains("return stack"));
    assert_eq!(mode(&c, "fine"), signature(0, 1));
}

#[test]
fn a_program_without_compilable_words_is_an_error() {
    match generate(": maker create ;", "test") {
        Err(AotError::NothingCompiled(skipped)) => assert_eq!(skipped[0].word, "maker"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        generate("1 0 /", "test"),
        Err(AotError::Program(_))
    ));
}

#[test]
fn the_data_space_is_carried_over() {
    let c = generated("variable v 1234 v ! : get v @ ;");
    // The first cell holds 1234; trailing zero bytes are left out.
    assert_eq!(c.data, 1234i64.to_le_bytes()[..2]);
}

/// The same program builds into a plugin exporting its words, or into an executable whose
/// `main` runs the entry word, with std linked in (no shared runtime flags, no exports).
#[test]
fn an_executable_crate_runs_its_entry_word_from_main() {
    let c = generated(": sq dup * ; : main 7 sq . ;");
    let executable = Output::Executable {
        entry: "main".to_owned(),
    };
    let (file, text) = c.source_file(&executable);
    assert_eq!(file, "main.rs");
    assert!(text.contains("rt::main(&IMAGE, WORDS, \"main\")"), "{text}");
    assert!(!text.contains("export_plugin!"), "{text}");
    let (file, text) = c.source_file(&Output::Plugin);
    assert_eq!(file, "lib.rs");
    assert!(text.contains("export_plugin!") && !text.contains("fn main()"));
    let manifest = c.cargo_toml("ffnative-x", &executable);
    assert!(manifest.contains("[[bin]]\nname = \"ffnative-x\"\npath = \"src/main.rs\""));
    assert!(!manifest.contains("cdylib"), "{manifest}");
}

/// The generated crate builds without the FastForth checkout: it names the ABI and the
/// runtime by a path inside the cache, where the compiler writes their sources.
#[test]
fn the_manifest_names_the_runtime_inside_the_cache_not_the_checkout() {
    let manifest = generated(": sq dup * ;").cargo_toml("ffnative-test", &Output::Plugin);
    let checkout = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(|core| core.parent())
        .expect("core/aot lies two levels down");
    assert!(
        !manifest.contains(&*checkout.to_string_lossy()),
        "{manifest}"
    );
    for line in [
        "fastforth-abi = { path = \"../runtime-",
        "fastforth-native-runtime = { path = \"../runtime-",
    ] {
        assert!(manifest.contains(line), "{line} missing from\n{manifest}");
    }
}

#[test]
fn a_small_self_recursive_word_calls_copies_of_itself_and_the_last_calls_it_again() {
    let c = generated(": fib dup 2 < if exit then dup 1- recurse swap 2 - recurse + ;");
    let xt = c
        .program_rs
        .split("// \"fib\"\nfn w")
        .nth(1)
        .and_then(|rest| rest.split('(').next())
        .expect("fib's function")
        .to_owned();
    let copies = (1..5)
        .filter(|level| c.program_rs.contains(&format!("fn w{xt}_{level}(")))
        .count();
    assert_eq!(copies, 4, "{}", c.program_rs);
    assert!(!c.program_rs.contains(&format!("fn w{xt}_5(")));
    assert!(c.program_rs.contains(&format!("= w{xt}_1(vm, rp + 1,")));
    assert!(
        c.program_rs.contains(&format!("= w{xt}(vm, rp + 1,")),
        "the last copy recurses"
    );
    let guard = format!("if rt::is_deep(rp + 4, RS) {{ return w{xt}_deep(vm, rp, s0); }}");
    assert_eq!(c.program_rs.matches(&guard).count(), 1, "{}", c.program_rs);
    let copies = c
        .program_rs
        .split(&format!("fn w{xt}_1("))
        .nth(1)
        .expect("copies");
    let copies = copies
        .split(&format!("fn w{xt}_deep("))
        .next()
        .expect("copies");
    assert!(
        !copies.contains("is_deep"),
        "the guard covers the copies: {copies}"
    );
    let deep = c
        .program_rs
        .split(&format!("fn w{xt}_deep("))
        .nth(1)
        .expect("deep copy");
    assert!(
        deep.contains("if rt::is_deep(rp, RS)") && deep.contains(&format!("= w{xt}(vm, rp + 1,")),
        "the deep copy checks its level and calls the guarded function: {deep}"
    );
}

#[test]
fn a_large_self_recursive_word_is_not_copied() {
    let body = "dup 1+ drop ".repeat(250);
    let c = generated(&format!(": big dup 0> if 1- recurse then {body};"));
    assert!(!c.program_rs.contains("_1("), "{}", c.program_rs);
}
