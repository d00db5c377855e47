//! Ahead-of-time compilation of Forth to native plugins of kind "forth-native".
//!
//! [`generate`] loads a program into the engine, takes each colon definition's optimized
//! IR and writes a Rust crate with one function per definition: where the stack effect is
//! static the stack cells are Rust locals (so a recursive word becomes an ordinary
//! recursive function). Otherwise (paths that leave different depths, `PICK`, `ROLL`,
//! `DEPTH`, `EXECUTE`, `CATCH`, deferred words, a `?DUP` not followed by `IF`, and callers
//! of such words) they live on an explicit, bounds-checked stack. Return stack cells (loop
//! parameters, `>R`) are always locals; control flow becomes nested labeled blocks and
//! loops. Memory access and arithmetic go
//! through `fastforth-native-runtime`, which fails with the interpreter's throw codes. A
//! throw unwinds (the runtime's `Throw::raise`) to the innermost compiled `CATCH` or to the
//! start of the run, so word functions return plain values and the path without a throw
//! carries no error checks.
//! A definition the backend cannot compile is never approximated: it is left out and
//! reported with the reason, and so is every definition that calls it.
//!
//! [`compile`] writes the crate to a cache directory keyed by a hash of everything it is
//! built from, builds it with `cargo build --release` and returns the plugin's path; an
//! unchanged program is a cache hit that does not run cargo. The same crate can instead be
//! built into an executable that runs one compiled word, with std linked in: it starts as a
//! C program does, with no host, no plugin loading and no shared runtime.
//!
//! # Semantics
//!
//! A run (`run_word`) starts from the state the program left after loading (data space,
//! BASE) with empty stacks; runs share nothing. A call (`call_word`, how an interpreter
//! session calls a linked word) takes the caller's stack and continues the plugin's live
//! session: its data space is the one the previous call left. Throw codes are the
//! interpreter's; a run differs only in when it fails and in what the error names, never in
//! what a successful run computes:
//!
//! - A word with a static effect takes its inputs when it starts, so too few cells on the
//!   stack fail with -4 before it runs instead of at the instruction that needed them.
//! - Cells kept in locals do not count against the 1024-cell data stack (-3); the return
//!   stack bound (-5) is exact, counted per call, `DO` and `>R`, against the size the
//!   program was compiled with: a linked word keeps it whatever the calling session's
//!   `--return-stack-cells` says (its data stack is the smaller of the two sessions').
//! - An error names the compiled word it happened in (`-10 division by zero in avg`), where
//!   the interpreter names the built-in word (`in /`) and the position of the text it was
//!   interpreting.
//! - EXECUTE (and CATCH, which catches it) of a token outside the program's code is -257,
//!   and of a built-in on its caller's return stack frame (`>R`, `I`) -14, as in the
//!   interpreter; of a token that is neither a compiled definition nor a built-in word that
//!   runs on the data stack alone (`:NONAME` code, parsing words) it is -21. All name the
//!   compiled word that executed the token. There is no step budget.
//!
//! Not compiled (reported per word): defining and compiling words (`CREATE`, `DOES>`,
//! `,`, `ALLOT`...), input, `EVALUATE`, words that read
//! return stack cells they did not push or return with loop parameters on it, and
//! irreducible control flow.

mod cache;
mod cfg;
mod emit;
mod files;
mod krate;
mod ops;
mod runtime_sources;
mod shape;
mod structure;

pub use cache::{CompileOptions, Compiled, compile, compile_program};
pub use krate::{GeneratedCrate, Output};
pub use shape::{Mode, Signature};

use fastforth_engine::Limits;
use fastforth_engine::program::{self, Program};
use std::collections::HashMap;
use std::fmt;

/// A definition in the generated plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledWord {
    pub name: String,
    pub xt: u32,
    pub mode: Mode,
}

/// A definition left out of the plugin, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub word: String,
    pub reason: String,
}

/// Why a program could not be compiled.
#[derive(Debug)]
pub enum AotError {
    /// Loading the program into the engine failed.
    Program(String),
    /// No definition could be compiled.
    NothingCompiled(Vec<Skipped>),
    /// cargo could not be started.
    CargoMissing {
        cargo: String,
        error: std::io::Error,
    },
    /// cargo failed; its error output.
    Build(String),
    /// Reading or writing the cache failed.
    Io {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    /// The toolchain's shared Rust runtime, which the plugin links, cannot be found or copied.
    Runtime(String),
    /// An executable's entry word is not among the compiled words; why, when it was left
    /// out.
    EntryNotCompiled { entry: String, why: Option<String> },
}

impl fmt::Display for AotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AotError::Program(message) => write!(f, "the program does not load: {message}"),
            AotError::NothingCompiled(skipped) => {
                write!(f, "no definition can be compiled natively")?;
                skipped
                    .iter()
                    .try_for_each(|s| write!(f, "\n  {}: {}", s.word, s.reason))
            }
            AotError::CargoMissing { cargo, error } => write!(
                f,
                "cannot run `{cargo}` to build the native code: {error} (is a Rust toolchain installed?)"
            ),
            AotError::Build(stderr) => {
                write!(f, "cargo failed to build the native code:\n{stderr}")
            }
            AotError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            AotError::Runtime(problem) => write!(f, "{problem}"),
            AotError::EntryNotCompiled {
                entry,
                why: Some(why),
            } => write!(
                f,
                "the executable runs {entry}, which cannot be compiled natively: {why}"
            ),
            AotError::EntryNotCompiled { entry, why: None } => write!(
                f,
                "the executable runs {entry}, which the program does not define"
            ),
        }
    }
}

impl std::error::Error for AotError {}

/// Loads `source` (named `name` in messages and in the plugin): [`program::load`].
pub fn load(source: &str, name: &str) -> Result<Program, AotError> {
    program::load(source, name, Limits::default()).map_err(AotError::Program)
}

/// Loads `source` (named `name` in messages and in the plugin) and generates the crate.
pub fn generate(source: &str, name: &str) -> Result<GeneratedCrate, AotError> {
    generate_program(&load(source, name)?)
}

/// Generates the crate of a loaded program.
pub fn generate_program(program: &Program) -> Result<GeneratedCrate, AotError> {
    let names: HashMap<u32, String> = program
        .words
        .iter()
        .map(|word| (word.xt, word.name.clone()))
        .collect();
    let name_of = |xt: u32| {
        names
            .get(&xt)
            .cloned()
            .unwrap_or_else(|| format!("the code at {xt}"))
    };
    let mut modes: HashMap<u32, Mode> = HashMap::new();
    let (mut words, mut functions, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for word in &program.words {
        match compile_word(word, &modes, &name_of) {
            Ok((mode, text)) => {
                modes.insert(word.xt, mode);
                functions.push(text);
                words.push(CompiledWord {
                    name: word.name.clone(),
                    xt: word.xt,
                    mode,
                });
            }
            Err(reason) => skipped.push(Skipped {
                word: word.name.clone(),
                reason,
            }),
        }
    }
    if words.is_empty() {
        return Err(AotError::NothingCompiled(skipped));
    }
    Ok(GeneratedCrate {
        name: program.name.clone(),
        version: version_of(program),
        program_rs: krate::program_rs(program, &words, &functions),
        data: program.data.clone(),
        system: program.system.clone(),
        words,
        skipped,
    })
}

/// The plugin's version: the compiler's, with the program's hash as build metadata, so
/// that a swap reports which program replaced which.
fn version_of(program: &Program) -> String {
    let hash = files::fnv1a([program.encode().as_slice()].into_iter());
    format!("{}+{:08x}", env!("CARGO_PKG_VERSION"), hash as u32)
}

/// One definition's function and entry function, or why it cannot be compiled.
fn compile_word(
    word: &program::Word,
    modes: &HashMap<u32, Mode>,
    name_of: &dyn Fn(u32) -> String,
) -> Result<(Mode, String), String> {
    let cfg = cfg::build(&word.code)?;
    let shape = shape::analyze(&cfg, word.xt, modes, name_of)?;
    let successors: Vec<Vec<usize>> = cfg
        .blocks
        .iter()
        .map(|block| {
            let exits = block.term.exits().into_iter();
            exits
                .filter_map(|exit| match exit {
                    cfg::Exit::Block(to) => Some(to),
                    cfg::Exit::Return => None,
                })
                .collect()
        })
        .collect();
    let structure = structure::analyze(&successors)?;
    let function = emit::function(&emit::Definition {
        xt: word.xt,
        name: &word.name,
        cfg: &cfg,
        shape: &shape,
        structure: &structure,
        callees: modes,
    })?;
    let entry = emit::entry_function(word.xt, shape.mode, &word.name);
    Ok((
        shape.mode,
        format!("// {:?}\n{function}\n{entry}", word.name),
    ))
}
