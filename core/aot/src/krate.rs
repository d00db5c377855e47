//! The generated crate: `Cargo.toml`, and the program's image and one function per compiled
//! definition, in `src/lib.rs` with the plugin's descriptor, or in `src/main.rs` with a
//! `main` that runs one of them.

use fastforth_engine::program::Program;
use std::fmt::Write;

/// The source of a native plugin crate, and what the compiler made of each definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCrate {
    /// The plugin's name (from the program's name).
    pub name: String,
    /// The plugin's version: the compiler's, with the program's hash as build metadata.
    pub version: String,
    /// The program as Rust: the image, the word table and one function per compiled
    /// definition, which [`GeneratedCrate::lib_rs`] exports as a plugin and
    /// [`GeneratedCrate::main_rs`] runs as an executable.
    pub program_rs: String,
    /// `src/data.bin` and `src/system.bin`: the program's data space and system area.
    pub data: Vec<u8>,
    pub system: Vec<u8>,
    /// The compiled definitions, oldest first.
    pub words: Vec<crate::CompiledWord>,
    /// The definitions that were not compiled, and why.
    pub skipped: Vec<crate::Skipped>,
}

/// What the crate builds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Output {
    /// A native plugin of kind "forth-native", linking the shared Rust runtime.
    Plugin,
    /// An executable that runs the compiled word `entry`, with std linked in.
    Executable { entry: String },
}

impl GeneratedCrate {
    /// `Cargo.toml` for a crate named `package` in the cache that builds `output`,
    /// depending on the ABI and the runtime whose sources the compiler writes next to it.
    pub fn cargo_toml(&self, package: &str, output: &Output) -> String {
        let path = |krate: &str| format!("{:?}", crate::runtime_sources::relative_path(krate));
        let target = match output {
            Output::Plugin => "[lib]\ncrate-type = [\"cdylib\"]\npath = \"src/lib.rs\"".to_owned(),
            Output::Executable { .. } => {
                format!("[[bin]]\nname = \"{package}\"\npath = \"src/main.rs\"")
            }
        };
        format!(
            r#"[package]
name = "{package}"
version = "{version}"
edition = "2024"
publish = false

{target}

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

    /// The crate's one source file: its name under `src/`, and its text.
    pub fn source_file(&self, output: &Output) -> (&'static str, String) {
        match output {
            Output::Plugin => ("lib.rs", self.lib_rs()),
            Output::Executable { entry } => ("main.rs", self.main_rs(entry)),
        }
    }

    /// `src/lib.rs` of the plugin: the program and the plugin's exports.
    pub fn lib_rs(&self) -> String {
        let exports = EXPORTS
            .replace("$NAME", &format!("{:?}", self.name))
            .replace("$VERSION", &format!("{:?}", self.version));
        format!(
            "//! {:?} compiled ahead of time to a FastForth plugin of kind \"forth-native\".\n{}{exports}",
            self.name, self.program_rs
        )
    }

    /// `src/main.rs` of the executable: the program and a `main` that runs `entry`.
    pub fn main_rs(&self, entry: &str) -> String {
        format!(
            "//! {:?} compiled ahead of time to an executable that runs {entry:?}.\n{}\
             fn main() -> std::process::ExitCode {{\n    rt::main(&IMAGE, WORDS, {entry:?})\n}}\n",
            self.name, self.program_rs
        )
    }
}

/// The program as Rust (see [`GeneratedCrate::program_rs`]).
pub fn program_rs(
    program: &Program,
    words: &[crate::CompiledWord],
    functions: &[String],
) -> String {
    let mut text = HEADER.to_owned();
    write_image(&mut text, program);
    text.push_str("static WORDS: &[(&str, rt::Entry)] = &[\n");
    for word in words {
        writeln!(text, "    ({:?}, e{}),", word.name, word.xt).expect("writing to a String");
    }
    text.push_str("];\n\n");
    write_execute(&mut text, program, words);
    for function in functions {
        text.push_str(function);
        text.push('\n');
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

use fastforth_native_runtime::{self as rt, OrThrow, Vm};

"#;

const EXPORTS: &str = r#"use fastforth_abi::{ByteSink, ConsoleCallbacks, DataSpace, DataStack, EvalOutcome, FfiStr};

fn words(names: ByteSink<'_>) {
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
/// definitions and of the built-in words that can run on the explicit stack. As in the
/// interpreter, a token outside the program's words' code is -257 (`check_xt`) and one of a
/// built-in on its caller's return stack frame (R>, I...) -14; any other token is -21 (the
/// interpreter would run it, the plugin cannot). All name `caller`, the compiled word that
/// executed the token.
fn write_execute(text: &mut String, program: &Program, words: &[crate::CompiledWord]) {
    write!(
        text,
        "/// Throws -257 in `caller` unless `xt` lies in the program's code.\n\
         fn check_xt(xt: i64, caller: &'static str) {{\n    \
         if !({}..{}).contains(&xt) {{\n        \
         rt::Throw(rt::code::INVALID_XT).raise_in(Some(caller))\n    }}\n}}\n\n",
        fastforth_engine::FIRST_WORD_ADDRESS,
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
        } else if let [op] = code.as_slice()
            && op.works_on_callers_frame()
        {
            // As in the interpreter: the built-in has no frame of its own to work on.
            let raise = "rt::Throw(rt::code::COMPILE_ONLY).raise_in(Some(caller))";
            writeln!(text, "        {xt} => {raise},").expect("writing to a String");
        }
    }
    text.push_str("        _ => {\n            check_xt(xt, caller);\n            rt::Throw(rt::code::UNSUPPORTED_OPERATION).raise_in(Some(caller))\n        }\n    }\n}\n\n");
}
