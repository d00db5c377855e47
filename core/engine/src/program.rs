//! The backend stage's seam: a loaded program as bytes (the backend's question) and what a
//! backend built from it (its answer). A program is what the engine leaves after loading
//! the source: its colon definitions with their optimized code, the built-in words made of
//! instructions, and its data space.
//!
//! A program is, little-endian: the IR version (u32); its name (u64 length, bytes); the
//! colon definitions (u64 count, then each: name as u64 length and bytes, execution token
//! u32, instructions as [`crate::stage`] encodes them, branch targets local to the
//! definition); the primitives (u64 count, then each: execution token u32, instructions);
//! the data space below the system area without trailing zeros (u64 length, bytes); the
//! system area's start (u64) and its bytes without trailing zeros (u64 length, bytes); the
//! data space's size (u64); BASE's address (u64); the pictured numeric output buffer's
//! start and end (u64 each); the data and return stack depths (u64 each); the end of the
//! code (u32). [`Program::decode`] checks every count against the bytes left and every
//! address against the data space.
//!
//! A build ([`Built`]) is: the plugin's file and the shared runtime's file (u64 length and
//! UTF-8 bytes each), whether it came from the cache (u8), the compiled words (u64 count,
//! then each: name, a u8 flag that is 1 when its stack effect is static followed by its
//! inputs and outputs as u32), and the words left out (u64 count, then each: name, reason).

use crate::ir::{DecodeError, IR_VERSION, Op, Reader};
use crate::stage::{encode_ops, read_ops};
use crate::{BufferConsole, Forth, Limits};

/// A colon definition: its name, execution token and code, with branch targets relative
/// to the start of the definition (call targets stay execution tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub name: String,
    pub xt: u32,
    pub code: Vec<Op>,
}

/// What the generated plugin starts every run from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The program's name (its file's stem), which names the plugin.
    pub name: String,
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
    /// The data and return stack depths the program was loaded with, in cells.
    pub data_stack_cells: usize,
    pub return_stack_cells: usize,
    /// The end of the program's code: the interpreter's EXECUTE refuses a token at or past
    /// it (or below 0) with -257.
    pub code_end: u32,
}

/// Loads `source` into a fresh engine with `limits` (its output is discarded) and reads
/// back the result; the error is the engine's (-256 once a step budget is used up, -39
/// when the source ends inside a definition).
pub fn load(source: &str, name: &str, limits: Limits) -> Result<Program, String> {
    let mut forth = Forth::new(limits);
    let mut console = BufferConsole::new();
    forth
        .evaluate(source, name, &mut console)
        .and_then(|_| forth.end_of_program(name))
        .map_err(|error| error.to_string())?;
    let limits = forth.limits.clone();
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
        name: name.to_owned(),
        words,
        primitives,
        data: trimmed(&memory[..system_base]),
        system_base,
        system: trimmed(&memory[system_base..]),
        memory_bytes: memory.len(),
        base_address: forth.base_address() as i64,
        hold_area: forth.hold_area(),
        data_stack_cells: limits.data_stack_cells,
        return_stack_cells: limits.return_stack_cells,
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

/// The most colon definitions or primitives a program may hold: the dictionary's bound.
const MAX_WORDS: usize = crate::dictionary::MAX_WORDS;

/// The largest data space a program may have (as [`crate::Limits::check`] allows).
const MAX_DATA_SPACE: u64 = 1 << 30;

/// The deepest stack a program may have, in cells (as [`crate::Limits::check`] allows).
const MAX_STACK_CELLS: u64 = 1 << 20;

impl Program {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(IR_VERSION.to_le_bytes());
        put_blob(&mut out, self.name.as_bytes());
        put_u64(&mut out, self.words.len());
        for word in &self.words {
            put_blob(&mut out, word.name.as_bytes());
            out.extend(word.xt.to_le_bytes());
            encode_ops(&word.code, &mut out);
        }
        put_u64(&mut out, self.primitives.len());
        for (xt, code) in &self.primitives {
            out.extend(xt.to_le_bytes());
            encode_ops(code, &mut out);
        }
        put_blob(&mut out, &self.data);
        put_u64(&mut out, self.system_base);
        put_blob(&mut out, &self.system);
        put_u64(&mut out, self.memory_bytes);
        out.extend(self.base_address.to_le_bytes());
        put_u64(&mut out, self.hold_area.start);
        put_u64(&mut out, self.hold_area.end);
        put_u64(&mut out, self.data_stack_cells);
        put_u64(&mut out, self.return_stack_cells);
        out.extend(self.code_end.to_le_bytes());
        out
    }

    /// Reads a program, checking the IR version, every instruction, every count against
    /// the bytes left, and every address and size against the data space.
    pub fn decode(bytes: &[u8]) -> Result<Program, DecodeError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u32()?;
        if version != IR_VERSION {
            return Err(DecodeError(format!(
                "IR version {version}, expected {IR_VERSION}"
            )));
        }
        let name = text(&mut reader, "the program's name")?;
        let words = (0..bounded(&mut reader, "colon definitions")?)
            .map(|_| {
                Ok(Word {
                    name: text(&mut reader, "a word's name")?,
                    xt: reader.u32()?,
                    code: read_ops(&mut reader)?,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        let primitives = (0..bounded(&mut reader, "primitives")?)
            .map(|_| Ok((reader.u32()?, read_ops(&mut reader)?)))
            .collect::<Result<_, DecodeError>>()?;
        let program = Program {
            name,
            words,
            primitives,
            data: reader.blob()?.to_vec(),
            system_base: size(&mut reader)?,
            system: reader.blob()?.to_vec(),
            memory_bytes: size(&mut reader)?,
            base_address: reader.i64()?,
            hold_area: size(&mut reader)?..size(&mut reader)?,
            data_stack_cells: size(&mut reader)?,
            return_stack_cells: size(&mut reader)?,
            code_end: reader.u32()?,
        };
        if !reader.is_empty() {
            return Err(DecodeError("trailing bytes after the program".to_owned()));
        }
        program.check_layout()?;
        Ok(program)
    }

    /// Whether the data space holds what the program places in it, and the stacks are
    /// sizes an engine accepts.
    fn check_layout(&self) -> Result<(), DecodeError> {
        let memory = self.memory_bytes;
        let problem = if memory as u64 > MAX_DATA_SPACE {
            Some(format!("a data space of {memory} bytes, more than 1 GiB"))
        } else if self.system_base > memory || self.data.len() > self.system_base {
            Some("the data reaches past the system area".to_owned())
        } else if self.system.len() > memory - self.system_base {
            Some("the system area reaches past the data space".to_owned())
        } else if self.hold_area.start > self.hold_area.end || self.hold_area.end > memory {
            Some("the pictured numeric output buffer lies outside the data space".to_owned())
        } else if !(0..memory as i64).contains(&self.base_address) {
            Some("BASE lies outside the data space".to_owned())
        } else if [self.data_stack_cells, self.return_stack_cells]
            .iter()
            .any(|&cells| cells == 0 || cells as u64 > MAX_STACK_CELLS)
        {
            Some("a stack depth outside 1 to 2^20 cells".to_owned())
        } else {
            None
        };
        problem.map_or(Ok(()), |problem| Err(DecodeError(problem)))
    }
}

/// A compiled word of a build: its name, and its stack effect when it is static (inputs
/// and outputs kept in locals) rather than on the explicit stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltWord {
    pub name: String,
    pub static_effect: Option<(u32, u32)>,
}

/// What the backend stage built from a program: the plugin, the shared runtime it links,
/// whether the build came from its cache, the words compiled and those left out with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub artifact: String,
    pub runtime: String,
    pub cache_hit: bool,
    pub words: Vec<BuiltWord>,
    pub skipped: Vec<(String, String)>,
}

impl Built {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_blob(&mut out, self.artifact.as_bytes());
        put_blob(&mut out, self.runtime.as_bytes());
        out.push(u8::from(self.cache_hit));
        put_u64(&mut out, self.words.len());
        for word in &self.words {
            put_blob(&mut out, word.name.as_bytes());
            match word.static_effect {
                Some((ins, outs)) => {
                    out.push(1);
                    out.extend(ins.to_le_bytes());
                    out.extend(outs.to_le_bytes());
                }
                None => out.push(0),
            }
        }
        put_u64(&mut out, self.skipped.len());
        for (word, reason) in &self.skipped {
            put_blob(&mut out, word.as_bytes());
            put_blob(&mut out, reason.as_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Built, DecodeError> {
        let mut reader = Reader::new(bytes);
        let artifact = text(&mut reader, "the plugin's file")?;
        let runtime = text(&mut reader, "the runtime's file")?;
        let cache_hit = flag(&mut reader, "the cache flag")?;
        let words = (0..bounded(&mut reader, "compiled words")?)
            .map(|_| {
                let name = text(&mut reader, "a word's name")?;
                let static_effect = match flag(&mut reader, "the stack effect flag")? {
                    true => Some((reader.u32()?, reader.u32()?)),
                    false => None,
                };
                Ok(BuiltWord {
                    name,
                    static_effect,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        let skipped = (0..bounded(&mut reader, "words left out")?)
            .map(|_| {
                Ok((
                    text(&mut reader, "a word's name")?,
                    text(&mut reader, "a reason")?,
                ))
            })
            .collect::<Result<_, DecodeError>>()?;
        if !reader.is_empty() {
            return Err(DecodeError("trailing bytes after the build".to_owned()));
        }
        Ok(Built {
            artifact,
            runtime,
            cache_hit,
            words,
            skipped,
        })
    }
}

fn put_u64(out: &mut Vec<u8>, value: usize) {
    out.extend((value as u64).to_le_bytes());
}

fn put_blob(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len());
    out.extend(bytes);
}

/// A count of items of at least one byte each, at most [`MAX_WORDS`].
fn bounded(reader: &mut Reader<'_>, what: &str) -> Result<usize, DecodeError> {
    let count = reader.count(1)?;
    if count > MAX_WORDS {
        return Err(DecodeError(format!(
            "{count} {what}, more than a dictionary holds ({MAX_WORDS})"
        )));
    }
    Ok(count)
}

/// A size or address in the data space (at most [`MAX_DATA_SPACE`]).
fn size(reader: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let value = reader.u64()?;
    if value > MAX_DATA_SPACE {
        return Err(DecodeError(format!(
            "{value} is larger than any data space"
        )));
    }
    Ok(value as usize)
}

fn text(reader: &mut Reader<'_>, what: &str) -> Result<String, DecodeError> {
    let bytes = reader.blob()?;
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError(format!("{what} is not UTF-8")))
}

fn flag(reader: &mut Reader<'_>, what: &str) -> Result<bool, DecodeError> {
    match reader.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(DecodeError(format!("{what} is {other}, expected 0 or 1"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fib() -> Program {
        let source = ": fib dup 2 < if exit then dup 1- recurse swap 2 - recurse + ; \
                      variable v 7 v ! : main 20 fib v @ + ;";
        load(source, "fib", Limits::default()).unwrap()
    }

    #[test]
    fn a_program_round_trips_with_its_words_and_data_space() {
        let program = fib();
        let names: Vec<&str> = program.words.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["fib", "main"]);
        assert!(!program.primitives.is_empty());
        assert!(!program.data.is_empty(), "the variable's 7");
        assert_eq!(Program::decode(&program.encode()).unwrap(), program);
    }

    #[test]
    fn a_program_that_ends_inside_a_definition_is_refused() {
        let refused = load(": main 1 2 +", "open", Limits::default()).unwrap_err();
        assert_eq!(
            refused,
            "-39 unexpected end of file inside the definition of main in open"
        );
    }

    #[test]
    fn truncated_or_inconsistent_programs_are_refused() {
        let bytes = fib().encode();
        for cut in [0, 3, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(Program::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Program::decode(&longer).unwrap_err().0.contains("trailing"));
        let mut program = fib();
        program.base_address = program.memory_bytes as i64;
        let error = Program::decode(&program.encode()).unwrap_err();
        assert!(error.0.contains("BASE lies outside"), "{error}");
        let mut program = fib();
        program.return_stack_cells = 0;
        assert!(Program::decode(&program.encode()).is_err());
    }

    #[test]
    fn a_build_round_trips() {
        let built = Built {
            artifact: "/cache/k/libffnative_k.so".to_owned(),
            runtime: "/cache/k/libstd-0123.so".to_owned(),
            cache_hit: true,
            words: vec![
                BuiltWord {
                    name: "fib".to_owned(),
                    static_effect: Some((1, 1)),
                },
                BuiltWord {
                    name: "pick3".to_owned(),
                    static_effect: None,
                },
            ],
            skipped: vec![("make".to_owned(), "CREATE is not compiled".to_owned())],
        };
        assert_eq!(Built::decode(&built.encode()).unwrap(), built);
        let bytes = built.encode();
        assert!(Built::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
