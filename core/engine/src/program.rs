//! The program as the engine leaves it after loading: its colon definitions with their
//! optimized code, and its data space.

use crate::AotError;
use fastforth_engine::ir::Op;
use fastforth_engine::{BufferConsole, Forth, Limits};

/// A colon definition: its name, execution token and code, with branch targets relative
/// to the start of the definition (call targets stay execution tokens).
#[derive(Debug, Clone)]
pub struct Word {
    pub name: String,
    pub xt: u32,
    pub code: Vec<Op>,
}

/// What the generated plugin starts every run from.
#[derive(Debug, Clone)]
pub struct Program {
    /// Colon definitions, oldest first.
    pub words: Vec<Word>,
    /// Built-in words made of instructions: execution token and instructions (for
    /// EXECUTE of their tokens).
    pub primitives: Vec<(u32, Vec<Op>)>,
    /// The program's data space from address 0, without trailing zeros.
    pub data: Vec<u8>,
    /// Where the system area starts, and its bytes without trailing zeros.
    pub system_base: usize,
    pub system: Vec<u8>,
    /// Size of the whole data space.
    pub memory_bytes: usize,
    /// The address of BASE.
    pub base_address: i64,
    /// The pictured numeric output buffer.
    pub hold_area: std::ops::Range<usize>,
    /// The engine limits the program was loaded with.
    pub limits: Limits,
    /// The end of the program's code: the interpreter's EXECUTE refuses a token at or past
    /// it (or below 0) with -257.
    pub code_end: u32,
}

/// Loads `source` into a fresh engine (its output is discarded) and reads back the result.
pub fn load(source: &str, name: &str) -> Result<Program, AotError> {
    let limits = Limits::default();
    let mut forth = Forth::new(limits.clone());
    let mut console = BufferConsole::new();
    forth
        .evaluate(source, name, &mut console)
        .map_err(|error| AotError::Program(error.to_string()))?;
    let words = forth
        .colon_definitions()
        .into_iter()
        .filter_map(|(name, xt)| {
            let code = forth.colon_code(xt)?;
            Some(Word {
                name,
                xt,
                code: code.into_iter().map(|op| localize(op, xt)).collect(),
            })
        })
        .collect();
    let primitives = forth
        .primitive_words()
        .into_iter()
        .map(|(_, xt, code)| (xt, code))
        .collect();
    let memory = forth.data_space();
    let system_base = forth.system_area();
    let mut program = Program {
        words,
        primitives,
        data: trimmed(&memory[..system_base]),
        system_base,
        system: trimmed(&memory[system_base..]),
        memory_bytes: memory.len(),
        base_address: forth.base_address() as i64,
        hold_area: forth.hold_area(),
        limits,
        code_end: 0,
    };
    // Last: the probe defines a word, after everything the plugin starts from was read.
    program.code_end = code_end(&mut forth, &program.words);
    Ok(program)
}

/// The end of the engine's code. Code is only appended to, so a `:NONAME` definition made
/// after the program starts there: its token is the end. Without one (the program left
/// the engine compiling), the end of the newest colon definition.
fn code_end(forth: &mut Forth, words: &[Word]) -> u32 {
    let depth = forth.data_stack().len();
    let probe = forth.evaluate(":noname ;", "code-end probe", &mut BufferConsole::new());
    match (probe, forth.data_stack()) {
        (Ok(_), stack) if stack.len() == depth + 1 => stack[depth] as u32,
        _ => words
            .iter()
            .map(|word| word.xt + word.code.len() as u32)
            .max()
            .unwrap_or(0),
    }
}

/// Makes a branch target relative to the definition at `xt`; a target before it becomes
/// `u32::MAX`, which no definition reaches.
fn localize(op: Op, xt: u32) -> Op {
    match op.target() {
        Some(target) => op.with_target(target.checked_sub(xt).unwrap_or(u32::MAX)),
        None => op,
    }
}

fn trimmed(bytes: &[u8]) -> Vec<u8> {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    bytes[..end].to_vec()
}
