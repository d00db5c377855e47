//! The generated crate: `Cargo.toml`, and `src/lib.rs` with the plugin's descriptor, the
//! program's image and one function per compiled definition.

use fastforth_engine::program::Program;
use std::fmt::Write;

/// The source of a native plugin crate, and what the compiler made of each definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCrate {
    /// The plugin's name (from the program's name).
    pub name: String,
    /// `src/lib.rs`.
    pub lib_rs: String,
    /// `src/data.bin` and `src/system.bin`: the program's data space and system area.
    pub data: Vec<u8>,
    pub system: Vec<u8>,
    /// The compiled definitions, oldest first.
    pub words: Vec<crate::CompiledWord>,
    /// The definitions that were not compiled, and why.
    pub skipped: Vec<crate::Skipped>,
}

impl GeneratedCrate {
    /// `Cargo.toml` for a crate named `package` in the cache, depending on the ABI and the
    /// runtime whose sources the compiler writes next to it.
    pub fn cargo_toml(&self, package: &str) -> String {
        let path = |krate: &str| format!("{:?}", crate::runtime_sources::relative_path(krate));
        format!(
            r#"[package]
name = "{package}"
version = "{version}"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"

[dependencies]
fastforth-abi = {{ path = {abi} }}
fastforth-native-runtime = {{ path = {runtime} }}

[profile.release]
opt-level = 3
codegen-units = 1
debug = false
strip = true

[workspace]
"#,
            version = env!("CARGO_PKG_VERSION"),
            abi = path("abi"),
            runtime = path("native-runtime"),
        )
    }
}

/// `src/lib.rs`: the image, the word table, the exports and the word functions.
pub fn lib_rs(
    program: &Program,
    version: &str,
    words: &[crate::CompiledWord],
    functions: &[String],
) -> String {
    let name = &program.name;
    let mut text = format!(
        "//! {name:?} compiled ahead of time to a FastForth plugin of kind \"forth-native\".\n"
    );
    text.push_str(HEADER);
    write_image(&mut text, program);
    text.push_str("static WORDS: &[(&str, rt::Entry)] = &[\n");
    for word in words {
        writeln!(text, "    ({:?}, e{}),", word.name, word.xt).expect("writing to a String");
    }
    text.push_str("];\n\n");
    write_execute(&mut text, program, words);
    text.push_str(
        &EXPORTS
            .replace("$NAME", &format!("{name:?}"))
            .replace("$VERSION", &format!("{version:?}")),
    );
    for function in functions {
        text.push('\n');
        text.push_str(function);
    }
    text
}

const HEADER: &str = r#"#![allow(
    unused_mut,
    unused_variables,
    unused_assignments,
    unused_labels,
    unused_braces,
    unused_parens,
    unreachable_code,
    dead_code,
    clippy::all
)]

use fastforth_abi::{ByteSink, ConsoleCallbacks, DataSpace, DataStack, EvalOutcome, FfiStr};
use fastforth_native_runtime::{self as rt, OrThrow, Vm};

"#;

const EXPORTS: &str = r#"fn words(names: ByteSink<'_>) {
    rt::words(WORDS, names)
}

/// # Safety
/// `name` must be readable for the duration of the call.
unsafe fn run_word(name: FfiStr, stack_room: usize, console: ConsoleCallbacks<'_>, stack: ByteSink<'_>, error: ByteSink<'_>) -> EvalOutcome {
    // SAFETY: guaranteed by the caller.
    unsafe { rt::run(&IMAGE, WORDS, name, stack_room, console, stack, error) }
}

fn data_stack_cells() -> usize {
    IMAGE.stack_cells
}

/// # Safety
/// `memory` and `stack` must be lent as `DataSpace::bytes` and `DataStack::cells_and_depth`
/// require.
unsafe fn call_word(word: u32, memory: &mut DataSpace<'_>, stack: &mut DataStack<'_>, stack_room: usize, console: &ConsoleCallbacks<'_>, error: &ByteSink<'_>) -> i64 {
    // SAFETY: guaranteed by the caller.
    unsafe { rt::call(&IMAGE, WORDS, word, memory, stack, stack_room, console, error) }
}

fn new_session(memory: ByteSink<'_>) {
    rt::new_session(&IMAGE, memory)
}

fastforth_abi::export_plugin! {
    kind: FORTH_NATIVE,
    name: $NAME,
    version: $VERSION,
    functions: NativeForthFunctions {
        words: fn(names: ByteSink) -> () = words,
        run_word: fn(
            name: FfiStr,
            stack_room: usize,
            console: ConsoleCallbacks,
            stack: ByteSink,
            error: ByteSink,
        ) -> EvalOutcome = run_word,
        data_stack_cells: fn() -> usize = data_stack_cells,
        call_word: fn(
            word: u32,
            memory: &mut DataSpace,
            stack: &mut DataStack,
            stack_room: usize,
            console: &ConsoleCallbacks,
            error: &ByteSink,
        ) -> i64 = call_word,
        new_session: fn(memory: ByteSink) -> () = new_session,
    },
}
"#;

fn write_image(text: &mut String, program: &Program) {
    write!(
        text,
        r#"/// Return stack cells: a deeper call or DO is -5.
const RS: usize = {rs};

static IMAGE: rt::Image = rt::Image {{
    memory_bytes: {memory},
    data: include_bytes!("data.bin"),
    system_base: {system_base},
    system: include_bytes!("system.bin"),
    base_address: {base},
    hold_area: {hold_start}..{hold_end},
    stack_cells: {stack},
}};

"#,
        rs = program.return_stack_cells,
        memory = program.memory_bytes,
        system_base = program.system_base,
        base = program.base_address,
        hold_start = program.hold_area.start,
        hold_end = program.hold_area.end,
        stack = program.data_stack_cells,
    )
    .expect("writing to a String");
}

/// `execute`: EXECUTE, CATCH and deferred words, for the execution tokens of compiled
/// definitions and of the built-in words that can run on the explicit stack. A token
/// outside the program's code is -257, as in the interpreter (`check_xt`); any other token
/// is -21 (the interpreter would run it, the plugin cannot). Both name `caller`, the
/// compiled word that executed the token.
fn write_execute(text: &mut String, program: &Program, words: &[crate::CompiledWord]) {
    write!(
        text,
        "/// Throws -257 in `caller` unless `xt` lies in the program's code.\n\
         fn check_xt(xt: i64, caller: &'static str) {{\n    \
         if !(0..{}).contains(&xt) {{\n        \
         rt::Throw(rt::code::INVALID_XT).raise_in(Some(caller))\n    }}\n}}\n\n",
        program.code_end
    )
    .expect("writing to a String");
    text.push_str("fn execute(vm: &mut Vm, rp: usize, xt: i64, caller: &'static str) {\n    const W: &str = \"EXECUTE\";\n    vm.check_stack(caller);\n    match xt {\n");
    for word in words {
        let call = crate::emit::on_explicit_stack(word.xt, word.mode, "rp");
        writeln!(text, "        {} => {call},", word.xt).expect("writing to a String");
    }
    for (xt, code) in &program.primitives {
        if let Some(run) = crate::emit::primitive_on_stack(code) {
            writeln!(text, "        {xt} => {run},").expect("writing to a String");
        }
    }
    text.push_str("        _ => {\n            check_xt(xt, caller);\n            rt::Throw(rt::code::UNSUPPORTED_OPERATION).raise_in(Some(caller))\n        }\n    }\n}\n\n");
}
