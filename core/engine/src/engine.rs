//! The engine state (`Forth`), its construction from `Limits`, and the stack and memory
//! helpers shared by the host-side words.

use crate::compiler_stage::{CompiledRun, CompilerStage};
use crate::definition::Definition;
use crate::dictionary::{Builtin, COMPILE_ONLY, Dictionary, IMMEDIATE, Kind, Word};
use crate::error::{Fallible, Throw, code, fail};
use crate::float_stack::FloatState;
use crate::input_source::{Skip, Source};
use crate::ir::Op;
use crate::limits::Limits;
use crate::machine::{HALT_ADDRESS, Machine};
use crate::memory::{self, BASE_OFFSET, CELL, STATE_OFFSET, SYSTEM_BYTES, TO_IN_OFFSET};
use crate::parser_stage::{ParserStage, StagedLine};
use crate::stage::OptimizerStage;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How an evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// BYE was executed.
    Bye,
}

/// Most input sources (EVALUATE, INCLUDED) that may be nested.
pub const MAX_SOURCE_NESTING: usize = 64;

/// Most reasons a stage gave no usable answer kept until the host takes them
/// (the first ones, which name the cause; later ones are counted).
pub const MAX_STAGE_FAULTS: usize = 16;

/// Room reserved after the system area for input lines, so that reading the first line
/// does not move the whole data space.
const INPUT_HEADROOM: usize = 4 << 10;

/// A Forth system: dictionary, code, data space, stacks and interpreter state.
pub struct Forth {
    pub(crate) limits: Limits,
    /// Data space, then the system area, then the input buffers.
    pub(crate) mem: Vec<u8>,
    pub(crate) here: usize,
    pub(crate) code: Vec<Op>,
    pub(crate) dict: Dictionary,
    /// The executor's state: stacks, instruction pointer, step budget, catch frames.
    pub(crate) machine: Machine,
    pub(crate) definition: Option<Definition>,
    /// An [IF] or [ELSE] whose skipping the end of the host's text interrupted: the next
    /// text goes on skipping, as the user input device refills (see `tools`).
    pub(crate) pending_skip: Option<Skip>,
    /// The newest defined word (for IMMEDIATE and DOES>).
    pub(crate) latest: Option<usize>,
    pub(crate) hold: usize,
    pub(crate) sources: Vec<Source>,
    pub(crate) next_transient: usize,
    /// Set from any thread to throw -28 into the running evaluation.
    pub(crate) interrupt: Arc<AtomicBool>,
    /// The text substitutions of REPLACES.
    pub(crate) substitutions: crate::substitutions::Substitutions,
    pub(crate) heap: crate::heap::Heap,
    pub(crate) files: crate::open_files::Files,
    pub(crate) blocks: crate::block_buffers::Blocks,
    pub(crate) floats: FloatState,
    /// The optimizer stage that optimizes new definitions instead of the built-in optimizer.
    pub(crate) optimizer_stage: Option<Arc<dyn OptimizerStage>>,
    /// The parser stage that splits the text interpreter's input instead of the built-in
    /// parser, and its answer for the current line.
    pub(crate) parser_stage: Option<Arc<dyn ParserStage>>,
    pub(crate) staged_line: Option<StagedLine>,
    /// The compiler stage that says what to compile for the tokens met while compiling,
    /// and its answer for the current run of them.
    pub(crate) compiler_stage: Option<Arc<dyn CompilerStage>>,
    pub(crate) compiled_run: Option<CompiledRun>,
    /// Why a stage gave no usable answer, oldest first: the first [`MAX_STAGE_FAULTS`],
    /// and how many more there were.
    pub(crate) stage_faults: Vec<String>,
    pub(crate) stage_faults_left_out: usize,
}

/// `len` zero bytes with room for [`INPUT_HEADROOM`] more. Allocated zeroed (so a large data
/// space costs no work until touched) and then shortened, which keeps the room.
fn zeroed_with_headroom(len: usize) -> Vec<u8> {
    let mut mem = vec![0; len + INPUT_HEADROOM];
    mem.truncate(len);
    mem
}

/// A copy of the whole state (dictionary, code, data space, stacks, input sources), which
/// then runs on its own: a copy of a fresh engine is a fresh engine without rebuilding the
/// built-in words. The copy gets its own [`Forth::interrupt_handle`] flag, unset.
impl Clone for Forth {
    fn clone(&self) -> Forth {
        let mut mem = Vec::with_capacity(self.mem.len() + INPUT_HEADROOM);
        mem.extend_from_slice(&self.mem);
        Forth {
            limits: self.limits.clone(),
            mem,
            here: self.here,
            code: self.code.clone(),
            dict: self.dict.clone(),
            machine: self.machine.clone(),
            definition: self.definition.clone(),
            pending_skip: self.pending_skip,
            latest: self.latest,
            hold: self.hold,
            sources: self.sources.clone(),
            next_transient: self.next_transient,
            interrupt: Arc::new(AtomicBool::new(false)),
            substitutions: self.substitutions.clone(),
            heap: self.heap.clone(),
            files: self.files.clone(),
            blocks: self.blocks.clone(),
            floats: self.floats.clone(),
            optimizer_stage: self.optimizer_stage.clone(),
            parser_stage: self.parser_stage.clone(),
            staged_line: None,
            compiler_stage: self.compiler_stage.clone(),
            compiled_run: None,
            stage_faults: Vec::new(),
            stage_faults_left_out: 0,
        }
    }
}

impl Forth {
    /// A new engine with these limits.
    ///
    /// # Panics
    /// When `limits` fail [`Limits::check`]; [`Forth::try_new`] returns that error instead.
    pub fn new(limits: Limits) -> Forth {
        Forth::try_new(limits).unwrap_or_else(|refused| panic!("invalid engine limits: {refused}"))
    }

    /// A new engine with these limits, or why they are refused (see [`Limits::check`]).
    pub fn try_new(limits: Limits) -> Result<Forth, String> {
        limits.check()?;
        Ok(Forth::with_checked_limits(limits))
    }

    fn with_checked_limits(limits: Limits) -> Forth {
        let mut forth = Forth::without_words(limits);
        forth.install_builtins();
        forth
    }

    /// An engine with these (checked) limits and an empty dictionary: the start of
    /// [`Forth::new`], and of [`Forth::load_image`], which replaces code and words anyway.
    pub(crate) fn without_words(limits: Limits) -> Forth {
        let mut forth = Forth {
            mem: zeroed_with_headroom(memory::aligned(limits.data_space_bytes) + SYSTEM_BYTES),
            here: 0,
            code: vec![Op::Halt, Op::CatchOk],
            dict: Dictionary::default(),
            machine: Machine::new(&limits),
            definition: None,
            pending_skip: None,
            latest: None,
            hold: 0,
            sources: Vec::new(),
            next_transient: 0,
            interrupt: Arc::new(AtomicBool::new(false)),
            substitutions: Default::default(),
            heap: crate::heap::Heap::default(),
            files: crate::open_files::Files::default(),
            blocks: crate::block_buffers::Blocks::default(),
            floats: FloatState::new(limits.float_stack_cells),
            optimizer_stage: None,
            parser_stage: None,
            staged_line: None,
            compiler_stage: None,
            compiled_run: None,
            stage_faults: Vec::new(),
            stage_faults_left_out: 0,
            limits,
        };
        forth.set_system_cell(BASE_OFFSET, 10);
        forth
    }

    fn install_builtins(&mut self) {
        let count = crate::dictionary::BUILTIN_COUNT;
        self.dict.reserve(count);
        self.code.reserve(count * 3);
        for builtin in crate::dictionary::builtins() {
            let xt = self.code.len() as u32;
            let kind = match builtin.behaviour {
                Builtin::Ops(ops) => {
                    self.code.extend_from_slice(ops);
                    Kind::Primitive {
                        len: ops.len() as u32,
                    }
                }
                Builtin::System(word) => {
                    self.code.push(Op::Sys(word));
                    Kind::Primitive { len: 1 }
                }
                Builtin::Constant(value) => {
                    self.code.push(Op::Lit(value));
                    Kind::Constant { value }
                }
                Builtin::SystemVariable(offset) => {
                    let body = self.system_address(offset) as i64;
                    self.code.push(Op::Lit(body));
                    Kind::Variable { body }
                }
            };
            self.code.push(Op::Exit);
            self.dict.add(Word {
                name: builtin.name.as_bytes().into(),
                xt,
                kind,
                immediate: builtin.flags & IMMEDIATE != 0,
                compile_only: builtin.flags & COMPILE_ONLY != 0,
            });
        }
    }

    /// A flag that interrupts the engine: setting it (from any thread, a signal handler
    /// included) throws -28 "user interrupt" into the running word within a few thousand
    /// instructions, or into the next evaluation when none runs; CATCH can catch it. The
    /// engine clears the flag when it throws.
    pub fn interrupt_handle(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    /// Takes a pending interrupt: -28 when the flag was set (and clears it).
    pub(crate) fn check_interrupt(&self) -> Fallible<()> {
        if self.interrupt.load(Ordering::Relaxed) && self.interrupt.swap(false, Ordering::Relaxed) {
            return fail(code::USER_INTERRUPT);
        }
        Ok(())
    }

    /// Charges `work` steps of the budget for a word that does work proportional to its
    /// input, so that `--max-steps` bounds it; -256 when the budget runs out.
    #[inline(never)]
    pub(crate) fn charge_steps(&mut self, work: usize) -> Fallible<()> {
        self.check_interrupt()?;
        let work = work as u64;
        if self.machine.steps_left < work {
            self.machine.steps_left = 0;
            return fail(code::STEP_BUDGET_EXHAUSTED);
        }
        self.machine.steps_left -= work;
        Ok(())
    }

    /// Where the system area starts (just after the program's data space).
    pub(crate) fn system_base(&self) -> usize {
        memory::aligned(self.limits.data_space_bytes)
    }

    pub(crate) fn system_address(&self, offset: usize) -> usize {
        self.system_base() + offset
    }

    /// End of the system area: the input buffers start here.
    pub(crate) fn system_end(&self) -> usize {
        self.system_base() + SYSTEM_BYTES
    }

    #[inline(never)]
    pub(crate) fn system_cell(&self, offset: usize) -> i64 {
        memory::cell(&self.mem, self.system_address(offset) as i64).unwrap_or(0)
    }

    #[inline(never)]
    pub(crate) fn set_system_cell(&mut self, offset: usize, value: i64) {
        let address = self.system_address(offset) as i64;
        let _ = memory::set_cell(&mut self.mem, address, value);
    }

    pub(crate) fn compiling(&self) -> bool {
        self.system_cell(STATE_OFFSET) != 0
    }

    pub(crate) fn set_compiling(&mut self, on: bool) {
        self.set_system_cell(STATE_OFFSET, if on { -1 } else { 0 });
    }

    pub(crate) fn base(&self) -> i64 {
        self.system_cell(BASE_OFFSET)
    }

    pub(crate) fn to_in(&self) -> usize {
        usize::try_from(self.system_cell(TO_IN_OFFSET)).unwrap_or(usize::MAX)
    }

    pub(crate) fn set_to_in(&mut self, position: usize) {
        self.set_system_cell(TO_IN_OFFSET, position as i64);
    }

    /// Data stack, bottom first.
    pub fn data_stack(&self) -> &[i64] {
        &self.machine.ds[1..=self.machine.depth]
    }

    /// Out of line, like the other stack and memory helpers of the host words: a few
    /// hundred call sites each held a copy (18 KB of the engine plugin); the executor's
    /// loop has its own.
    #[inline(never)]
    pub(crate) fn push(&mut self, value: i64) -> Fallible<()> {
        if self.machine.depth + 1 >= self.machine.ds.len() {
            return fail(code::STACK_OVERFLOW);
        }
        self.machine.depth += 1;
        self.machine.ds[self.machine.depth] = value;
        Ok(())
    }

    #[inline(never)]
    pub(crate) fn pop(&mut self) -> Fallible<i64> {
        if self.machine.depth == 0 {
            return fail(code::STACK_UNDERFLOW);
        }
        self.machine.depth -= 1;
        Ok(self.machine.ds[self.machine.depth + 1])
    }

    pub(crate) fn pop_usize(&mut self) -> Fallible<usize> {
        Ok(usize::try_from(self.pop()?).unwrap_or(usize::MAX))
    }

    /// Pops ( c-addr u ) and checks that the range lies in memory.
    #[inline(never)]
    pub(crate) fn pop_range(&mut self) -> Fallible<std::ops::Range<usize>> {
        let len = self.pop()?;
        let address = self.pop()?;
        memory::range(&self.mem, address, len).ok_or_else(|| Throw::new(code::INVALID_ADDRESS))
    }

    pub(crate) fn pop_bytes(&mut self) -> Fallible<Vec<u8>> {
        let range = self.pop_range()?;
        Ok(self.mem[range].to_vec())
    }

    #[inline(never)]
    pub(crate) fn push_rs(&mut self, value: i64) -> Fallible<()> {
        if self.machine.rdepth >= self.machine.rs.len() {
            return fail(code::RETURN_STACK_OVERFLOW);
        }
        self.machine.rs[self.machine.rdepth] = value;
        self.machine.rdepth += 1;
        Ok(())
    }

    #[inline(never)]
    pub(crate) fn fetch_cell(&self, address: i64) -> Fallible<i64> {
        memory::cell(&self.mem, address).ok_or_else(|| Throw::new(code::INVALID_ADDRESS))
    }

    #[inline(never)]
    pub(crate) fn store_cell(&mut self, address: i64, value: i64) -> Fallible<()> {
        memory::set_cell(&mut self.mem, address, value)
            .ok_or_else(|| Throw::new(code::INVALID_ADDRESS))
    }

    /// Reserves `bytes` of data space at HERE (negative values give space back).
    #[inline(never)]
    pub(crate) fn allot(&mut self, bytes: i64) -> Fallible<()> {
        let new_here = (self.here as i64).checked_add(bytes).filter(|&h| h >= 0);
        match new_here {
            Some(h) if h as usize <= self.data_space_end() => {
                self.here = h as usize;
                Ok(())
            }
            _ => fail(code::DICTIONARY_OVERFLOW),
        }
    }

    pub(crate) fn align_here(&mut self) -> Fallible<()> {
        let target = memory::aligned(self.here);
        self.allot((target - self.here) as i64)
    }

    pub(crate) fn comma(&mut self, value: i64) -> Fallible<()> {
        let at = self.here as i64;
        self.allot(CELL as i64)?;
        self.store_cell(at, value)
    }

    /// Copies bytes to HERE and returns their address.
    pub(crate) fn place_bytes(&mut self, bytes: &[u8]) -> Fallible<usize> {
        let at = self.here;
        self.allot(bytes.len() as i64)?;
        self.mem[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(at)
    }

    /// After an uncaught error (REPL behaviour): empty both stacks, back to interpretation
    /// state; dictionary and data space kept.
    pub fn reset_after_error(&mut self) {
        self.machine.depth = 0;
        self.machine.rdepth = 0;
        self.machine.rbase = 0;
        self.machine.ip = HALT_ADDRESS;
        self.machine.catch_frames.clear();
        self.definition = None;
        self.pending_skip = None;
        self.set_compiling(false);
        self.sources.clear();
        self.floats.clear();
        let end = self.system_end();
        self.mem.truncate(end);
    }
}

impl Forth {
    /// The executed instructions of a colon definition (including its final `Exit`), for
    /// inspection and tests; `None` when the name is not a colon definition.
    pub fn compiled_code(&self, name: &str) -> Option<Vec<Op>> {
        self.colon_code(self.dict.words[self.dict.find(name.as_bytes())?].xt)
    }

    /// The colon definitions in the dictionary, oldest first: name and execution token
    /// (a SYNONYM, which shares an older word's token, is not one of them).
    pub fn colon_definitions(&self) -> Vec<(String, u32)> {
        self.dict
            .words
            .iter()
            .enumerate()
            .filter(|&(index, word)| {
                word.kind == Kind::Colon && self.dict.by_xt(word.xt as i64) == Some(index)
            })
            .map(|(_, word)| word)
            .map(|word| (String::from_utf8_lossy(&word.name).into_owned(), word.xt))
            .collect()
    }

    /// The words whose code is copied into the definitions that use them (the built-in
    /// words made of instructions, and host words), oldest first: name, execution token and
    /// instructions.
    pub fn primitive_words(&self) -> Vec<(String, u32, Vec<Op>)> {
        self.dict
            .words
            .iter()
            .filter_map(|word| match word.kind {
                Kind::Primitive { len } => {
                    let code = self.code[word.xt as usize..(word.xt + len) as usize].to_vec();
                    Some((
                        String::from_utf8_lossy(&word.name).into_owned(),
                        word.xt,
                        code,
                    ))
                }
                _ => None,
            })
            .collect()
    }

    /// The instructions of the colon definition with this execution token, as executed
    /// (branch and call targets are code addresses); `None` when `xt` is not one.
    pub fn colon_code(&self, xt: u32) -> Option<Vec<Op>> {
        let word = &self.dict.words[self.dict.by_xt(xt as i64)?];
        if word.kind != Kind::Colon {
            return None;
        }
        let start = xt as usize;
        let next = self
            .dict
            .words
            .iter()
            .map(|w| w.xt as usize)
            .filter(|&xt| xt > start)
            .min();
        Some(self.code[start..next.unwrap_or(self.code.len())].to_vec())
    }

    /// Data space as the program sees it: its own bytes from address 0, then the system
    /// area from [`Forth::system_area`] on.
    pub fn data_space(&self) -> &[u8] {
        &self.mem[..self.system_end()]
    }

    /// The address where the system area (STATE, BASE, >IN, PAD, ...) starts.
    pub fn system_area(&self) -> usize {
        self.system_base()
    }

    /// The address of BASE.
    pub fn base_address(&self) -> usize {
        self.system_address(BASE_OFFSET)
    }

    /// The addresses of the pictured numeric output buffer (`<#` ... `#>` fill it from its
    /// end down).
    pub fn hold_area(&self) -> std::ops::Range<usize> {
        let start = self.system_address(memory::HOLD_OFFSET);
        start..start + memory::HOLD_BYTES
    }
}
