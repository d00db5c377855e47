//! The compiler stage's seam: a run of tokens the text interpreter meets while it compiles,
//! each with what the dictionary says of it, as bytes (a [`Run`]); the trait through which
//! a compiler built elsewhere (a stage plugin) says what to do with each; and the checks
//! its answer passes before any of it is compiled.
//!
//! While STATE is compiling, the interpreter asks about the token it reached and the ones
//! after it on the line, up to the first one it must handle itself: an immediate word or a
//! local (it runs or compiles those as built in, and they may parse, change STATE or the
//! dictionary, so it asks again after them). The look-ups and number readings in the
//! question are the executor's; compile-time execution stays the executor's. The stage
//! answers, for a prefix of the run, each token's action: compile these instructions,
//! leave the token to the engine, or undefined.
//!
//! A run is, little-endian: the IR version (u32); the definition's name (u64 length, bytes;
//! empty for `:NONAME`); the source's name (u64 length, bytes; empty in `EVALUATE`d text)
//! and the line (u32); then the tokens (u32 count), each: its text (u64 length, bytes) and
//! what it is (u8): 0 not a word, with what it reads as a number (u8: 0 none, 1 a single
//! cell as an i64, 2 a double cell as two i64, low first); 1 a word the engine handles (an
//! immediate word or a local); 2 a word, with its execution token (u32) and the instructions
//! the built-in compiler compiles for it (u64 count, each as [`crate::ir::encode_op`]
//! writes it). An answer is the IR version (u32) and the actions (u32 count, at most the
//! run's), each a u8: 0 leave it to the engine, 1 compile (then the instructions, as
//! above), 2 undefined (only for a token that is not a word).
//!
//! The checks: an instruction of an answer is one that may be inlined (straight-line stack
//! code: no branch, no return stack, no host word) or one of the token's own built-in
//! instructions; each token keeps the built-in form's other instructions (calls, return
//! stack and system words), in order; and the answered prefix changes the data stack depth
//! by as much as the built-in forms would. A stage may so choose the straight-line code
//! between the words' fixed parts, and fuse across tokens (`2 *` as `1 LSHIFT`).

use crate::ir::{DecodeError, IR_VERSION, Op, Reader, write_blob};
pub use crate::parser::Number;
use crate::parser_stage::{encode_number, read_number};
use crate::stage::encode_ops;

/// A compiler in another build: takes a run's bytes, answers its actions' bytes or why it
/// could not. The engine checks the answer ([`Run::check_answer`]) and compiles a run whose
/// answer fails as built in, reporting why ([`crate::Forth::take_stage_faults`]).
pub trait CompilerStage: Send + Sync {
    fn compile(&self, run: &[u8]) -> Result<Vec<u8>, String>;
}

/// What the dictionary says of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facts {
    /// Not a word; what it reads as a number, if anything.
    NotFound(Option<Number>),
    /// An immediate word or a local: the engine runs or compiles it.
    Engine,
    /// A word: its execution token and what the built-in compiler compiles for it.
    Word { xt: u32, ops: Vec<Op> },
}

impl Facts {
    /// The instructions the built-in compiler compiles for the token (none for the engine's
    /// and for what is neither word nor number).
    pub fn builtin_ops(&self) -> Vec<Op> {
        match self {
            Facts::NotFound(Some(Number::Single(value))) => vec![Op::Lit(*value)],
            Facts::NotFound(Some(Number::Double(low, high))) => vec![Op::Lit(*low), Op::Lit(*high)],
            Facts::Word { ops, .. } => ops.clone(),
            Facts::NotFound(None) | Facts::Engine => Vec::new(),
        }
    }
}

/// What to do with a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// As built in: the engine runs, compiles or refuses it.
    Engine,
    Compile(Vec<Op>),
    Undefined,
}

/// A run of tokens on its way through the compiler stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub definition: Vec<u8>,
    pub source: Vec<u8>,
    pub line: u32,
    pub tokens: Vec<(Vec<u8>, Facts)>,
}

/// The most tokens one run holds.
pub const MAX_RUN_TOKENS: usize = 64;

/// Which line and definition a run's answer serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlace {
    /// How many sources are nested, the current one's line, and the input buffer.
    pub sources: usize,
    pub line: u32,
    pub buffer: usize,
    pub len: usize,
    /// The execution token of the definition being compiled.
    pub xt: u32,
}

/// The actions of a run not taken yet: each for the token at an address of the input
/// buffer, with the token's text.
#[derive(Debug, Clone)]
pub struct CompiledRun {
    place: RunPlace,
    actions: std::collections::VecDeque<(usize, Vec<u8>, Action)>,
}

impl CompiledRun {
    /// `actions` for the tokens of `run`, which start at `starts` in the input buffer.
    pub fn new(place: RunPlace, run: Run, starts: &[usize], actions: Vec<Action>) -> Self {
        let tokens = run.tokens.into_iter().zip(starts).zip(actions);
        let actions = tokens
            .map(|(((text, _), &start), action)| (start, text, action))
            .collect();
        CompiledRun { place, actions }
    }

    /// The action for the token `text` at `start`, when it is the next one of this run.
    pub fn take(&mut self, place: RunPlace, start: usize, text: &[u8]) -> Option<Action> {
        let (next_start, next_text, _) = self.actions.front()?;
        if place != self.place || *next_start != start || next_text != text {
            return None;
        }
        self.actions.pop_front().map(|(_, _, action)| action)
    }
}

/// The most instructions one action may compile.
const MAX_ACTION_OPS: usize = 64;

impl Run {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(IR_VERSION.to_le_bytes());
        write_blob(&self.definition, &mut out);
        write_blob(&self.source, &mut out);
        out.extend(self.line.to_le_bytes());
        out.extend((self.tokens.len() as u32).to_le_bytes());
        for (text, facts) in &self.tokens {
            write_blob(text, &mut out);
            match facts {
                Facts::NotFound(number) => {
                    out.push(0);
                    encode_number(*number, &mut out);
                }
                Facts::Engine => out.push(1),
                Facts::Word { xt, ops } => {
                    out.push(2);
                    out.extend(xt.to_le_bytes());
                    encode_ops(ops, &mut out);
                }
            }
        }
        out
    }

    /// Reads a run, refusing another IR version, more than [`MAX_RUN_TOKENS`] tokens,
    /// unknown tags and instructions, truncation and trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Run, DecodeError> {
        let mut reader = Reader::new(bytes);
        reader.ir_version()?;
        let definition = reader.blob()?.to_vec();
        let source = reader.blob()?.to_vec();
        let line = reader.u32()?;
        let count = reader.u32()? as usize;
        if count > MAX_RUN_TOKENS {
            return Err(refused(format!(
                "{count} tokens, more than a run holds ({MAX_RUN_TOKENS})"
            )));
        }
        let mut tokens = Vec::with_capacity(count);
        for _ in 0..count {
            let text = reader.blob()?.to_vec();
            let facts = match reader.u8()? {
                0 => Facts::NotFound(read_number(&mut reader)?),
                1 => Facts::Engine,
                2 => Facts::Word {
                    xt: reader.u32()?,
                    ops: read_ops(&mut reader)?,
                },
                tag => return Err(refused(format!("unknown token tag {tag}"))),
            };
            tokens.push((text, facts));
        }
        reader.finish()?;
        Ok(Run {
            definition,
            source,
            line,
            tokens,
        })
    }

    /// The run's tokens as they read, for messages.
    pub fn text(&self) -> String {
        let texts: Vec<String> = self
            .tokens
            .iter()
            .map(|(text, _)| String::from_utf8_lossy(text).into_owned())
            .collect();
        texts.join(" ")
    }

    /// Where the run is, for messages: the definition, and the file and line.
    pub fn place(&self) -> String {
        let definition = match &self.definition[..] {
            [] => "a :NONAME definition".to_owned(),
            name => String::from_utf8_lossy(name).into_owned(),
        };
        match &self.source[..] {
            [] => format!("{definition} (EVALUATE)"),
            file => format!(
                "{definition} ({}:{})",
                String::from_utf8_lossy(file),
                self.line
            ),
        }
    }

    /// The built-in compiler's actions: each word's and number's built-in instructions, the
    /// engine's tokens to the engine, and the rest to the engine too (which tries a
    /// floating-point literal before it calls the token undefined).
    pub fn builtin_actions(&self) -> Vec<Action> {
        let action = |facts: &Facts| match facts {
            Facts::Engine | Facts::NotFound(None) => Action::Engine,
            other => Action::Compile(other.builtin_ops()),
        };
        self.tokens.iter().map(|(_, facts)| action(facts)).collect()
    }

    /// Decodes a stage's answer to this run and checks it (see the module's documentation).
    pub fn check_answer(&self, answer: &[u8]) -> Result<Vec<Action>, DecodeError> {
        let actions = decode_actions(answer, self.tokens.len())?;
        let (mut builtin_change, mut answer_change) = (0i64, 0i64);
        for (index, ((text, facts), action)) in self.tokens.iter().zip(&actions).enumerate() {
            let named = || format!("token {index} ({})", String::from_utf8_lossy(text));
            let builtin = facts.builtin_ops();
            match action {
                Action::Engine => {}
                Action::Undefined if matches!(facts, Facts::NotFound(_)) => {}
                Action::Undefined => {
                    return Err(refused(format!(
                        "{} is a word, answered undefined",
                        named()
                    )));
                }
                Action::Compile(_) if facts == &Facts::Engine => {
                    return Err(refused(format!(
                        "{} is the engine's, answered compile",
                        named()
                    )));
                }
                Action::Compile(ops) => {
                    check_ops(ops, &builtin)
                        .map_err(|why| refused(format!("{}: {why}", named())))?;
                    builtin_change += depth_change(&builtin);
                    answer_change += depth_change(ops);
                }
            }
        }
        if builtin_change != answer_change {
            return Err(refused(format!(
                "the answered tokens change the stack depth by {answer_change}, as built in by \
                 {builtin_change}"
            )));
        }
        Ok(actions)
    }
}

/// The encoding of an answer.
pub fn encode_actions(actions: &[Action]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(IR_VERSION.to_le_bytes());
    out.extend((actions.len() as u32).to_le_bytes());
    for action in actions {
        match action {
            Action::Engine => out.push(0),
            Action::Compile(ops) => {
                out.push(1);
                encode_ops(ops, &mut out);
            }
            Action::Undefined => out.push(2),
        }
    }
    out
}

/// The answer of a compiler over the seam: the run decoded, its built-in actions changed by
/// `rewrite` (a stage's own choices), encoded. What a compiler stage plugin answers.
pub fn compile_run(run: &[u8], rewrite: &dyn Fn(&Run, &mut [Action])) -> Result<Vec<u8>, String> {
    let run = Run::decode(run).map_err(|error| error.to_string())?;
    let mut actions = run.builtin_actions();
    rewrite(&run, &mut actions);
    Ok(encode_actions(&actions))
}

/// A rewrite a stage may make (the compiler plugin's version 1.1.0 does): a literal power
/// of two followed by `*` compiled as a shift, `8 *` as `3 LSHIFT`.
pub fn power_of_two_shifts(run: &Run, actions: &mut [Action]) {
    for at in 1..run.tokens.len().min(actions.len()) {
        let (Facts::NotFound(Some(Number::Single(n))), Facts::Word { ops, .. }) =
            (&run.tokens[at - 1].1, &run.tokens[at].1)
        else {
            continue;
        };
        if *ops == [Op::Mul] && *n > 0 && n.count_ones() == 1 {
            actions[at - 1] = Action::Compile(Vec::new());
            actions[at] = Action::Compile(vec![Op::Lit(n.trailing_zeros().into()), Op::LShift]);
        }
    }
}

/// The run a stage plugin's self-test compiles: a word, a literal, a double literal, a
/// word of the engine's and a token that is none.
pub fn probe() -> Run {
    Run {
        definition: b"t".to_vec(),
        source: b"probe".to_vec(),
        line: 1,
        tokens: vec![
            (
                b"dup".to_vec(),
                Facts::Word {
                    xt: 7,
                    ops: vec![Op::Dup],
                },
            ),
            (b"5".to_vec(), Facts::NotFound(Some(Number::Single(5)))),
            (
                b"-1.".to_vec(),
                Facts::NotFound(Some(Number::Double(-1, -1))),
            ),
            (b"if".to_vec(), Facts::Engine),
            (b"1e0".to_vec(), Facts::NotFound(None)),
        ],
    }
}

/// Whether an instruction does what a stage may not choose freely: a call, the return
/// stack, a system or host word, a branch (anything but straight-line stack code).
fn fixed(op: Op) -> bool {
    !op.inlinable() || op.effect().is_none() || op.target().is_some()
}

/// The instructions of an action against the token's built-in ones: no more than
/// [`MAX_ACTION_OPS`], each inlinable or one of the built-in ones, and the built-in form's
/// fixed instructions kept, in order.
fn check_ops(ops: &[Op], builtin: &[Op]) -> Result<(), String> {
    if ops.len() > MAX_ACTION_OPS {
        return Err(format!(
            "{} instructions, at most {MAX_ACTION_OPS}",
            ops.len()
        ));
    }
    if let Some(op) = ops.iter().find(|op| fixed(**op) && !builtin.contains(op)) {
        return Err(format!(
            "{op:?} is neither straight-line stack code nor the word's own"
        ));
    }
    let kept: Vec<&Op> = ops.iter().filter(|op| fixed(**op)).collect();
    let required: Vec<&Op> = builtin.iter().filter(|op| fixed(**op)).collect();
    if kept != required {
        return Err(format!("the word's {required:?} became {kept:?}"));
    }
    Ok(())
}

/// The data stack depth change of straight-line code (fixed instructions count as none:
/// they are the same on both sides).
fn depth_change(ops: &[Op]) -> i64 {
    ops.iter()
        .filter(|op| !fixed(**op))
        .filter_map(|op| op.effect())
        .map(|effect| effect.outs as i64 - effect.ins as i64)
        .sum()
}

fn decode_actions(answer: &[u8], asked: usize) -> Result<Vec<Action>, DecodeError> {
    let mut reader = Reader::new(answer);
    reader.ir_version()?;
    let count = reader.u32()? as usize;
    if count > asked {
        return Err(refused(format!("{count} actions for {asked} tokens")));
    }
    let mut actions = Vec::with_capacity(count);
    for _ in 0..count {
        actions.push(match reader.u8()? {
            0 => Action::Engine,
            1 => Action::Compile(read_ops(&mut reader)?),
            2 => Action::Undefined,
            tag => return Err(refused(format!("unknown action {tag}"))),
        });
    }
    reader.finish()?;
    Ok(actions)
}

fn read_ops(reader: &mut Reader<'_>) -> Result<Vec<Op>, DecodeError> {
    let count = reader.count(1)?;
    if count > MAX_ACTION_OPS {
        return Err(refused(format!(
            "{count} instructions, at most {MAX_ACTION_OPS}"
        )));
    }
    (0..count).map(|_| reader.op()).collect()
}

fn refused(why: String) -> DecodeError {
    DecodeError(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_round_trips_and_the_built_in_answer_passes() {
        let run = probe();
        assert_eq!(Run::decode(&run.encode()), Ok(run.clone()));
        let answer = compile_run(&run.encode(), &|_, _| {}).unwrap();
        let actions = run.check_answer(&answer).unwrap();
        assert_eq!(
            actions,
            [
                Action::Compile(vec![Op::Dup]),
                Action::Compile(vec![Op::Lit(5)]),
                Action::Compile(vec![Op::Lit(-1), Op::Lit(-1)]),
                Action::Engine,
                Action::Engine,
            ]
        );
    }

    #[test]
    fn a_stage_may_rewrite_straight_line_code_across_tokens() {
        let run = Run {
            tokens: vec![
                (b"2".to_vec(), Facts::NotFound(Some(Number::Single(2)))),
                (
                    b"*".to_vec(),
                    Facts::Word {
                        xt: 30,
                        ops: vec![Op::Mul],
                    },
                ),
            ],
            ..probe()
        };
        let fused = [
            Action::Compile(vec![]),
            Action::Compile(vec![Op::Lit(1), Op::LShift]),
        ];
        assert_eq!(
            run.check_answer(&encode_actions(&fused)),
            Ok(fused.to_vec())
        );
        let half = [Action::Compile(vec![])];
        let error = run.check_answer(&encode_actions(&half)).unwrap_err().0;
        assert!(
            error.contains("change the stack depth by 0, as built in by 1"),
            "{error}"
        );
    }

    #[test]
    fn answers_that_change_what_a_word_does_are_refused() {
        let word = |ops: Vec<Op>| Run {
            tokens: vec![(b"w".to_vec(), Facts::Word { xt: 40, ops })],
            ..probe()
        };
        let refused =
            |run: &Run, action: Action| run.check_answer(&encode_actions(&[action])).unwrap_err().0;
        let call = word(vec![Op::Call(40)]);
        assert!(refused(&call, Action::Compile(vec![])).contains("[Call(40)] became []"));
        assert!(
            refused(&call, Action::Compile(vec![Op::Call(41)])).contains("Call(41) is neither")
        );
        let to_r = word(vec![Op::ToR]);
        assert!(refused(&to_r, Action::Compile(vec![Op::Drop])).contains("became"));
        assert!(refused(&call, Action::Undefined).contains("is a word, answered undefined"));
        let engine = Run {
            tokens: vec![(b"if".to_vec(), Facts::Engine)],
            ..probe()
        };
        assert!(refused(&engine, Action::Compile(vec![])).contains("the engine's"));
        let branch = Action::Compile(vec![Op::Branch(0)]);
        assert!(refused(&call, branch).contains("Branch(0) is neither"));
    }

    #[test]
    fn malformed_answers_are_refused() {
        let run = probe();
        let answer = encode_actions(&run.builtin_actions());
        let refused = |bytes: &[u8]| run.check_answer(bytes).unwrap_err().0;
        assert_eq!(refused(&answer[..answer.len() - 1]), "truncated");
        let mut trailing = answer.clone();
        trailing.push(0);
        assert_eq!(refused(&trailing), "trailing bytes");
        let mut too_many = answer.clone();
        too_many[4..8].copy_from_slice(&6u32.to_le_bytes());
        assert!(refused(&too_many).contains("6 actions for 5 tokens"));
        let mut unknown = encode_actions(&[Action::Engine]);
        unknown[8] = 9;
        assert_eq!(refused(&unknown), "unknown action 9");
    }
}
