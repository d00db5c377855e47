//! The compiler: builds one definition's IR, resolves control structures with a
//! control-flow stack, and turns word references into instructions.

use crate::definition::{Control, Definition};
use crate::dictionary::{
    Kind, MAX_CODE_OPS, MAX_CONTROL_DEPTH, MAX_DEFINITION_OPS, MAX_NAME_BYTES, MAX_WORDS, Word,
};
use crate::engine::{Forth, MAX_STAGE_FAULTS};
use crate::error::{Fallible, SourceLocation, Throw, code, fail};
use crate::input_source::SourceKind;
use crate::ir::Op;
use crate::machine::is_xt;
use crate::optimizer;
use crate::stage::{OptimizerStage, Unit};
use std::sync::Arc;

impl Forth {
    #[inline(never)]
    pub(crate) fn definition_mut(&mut self) -> Fallible<&mut Definition> {
        self.definition
            .as_mut()
            .ok_or_else(|| Throw::new(code::COMPILE_ONLY))
    }

    #[inline(never)]
    pub(crate) fn emit(&mut self, op: Op) -> Fallible<()> {
        let code = self.code.len();
        let definition = self.definition_mut()?;
        let length = definition.ir.len();
        if length >= MAX_DEFINITION_OPS || code + length >= MAX_CODE_OPS {
            return fail(code::DICTIONARY_OVERFLOW);
        }
        definition.locals.track(op);
        definition.ir.push(op);
        Ok(())
    }

    /// Room for a word named `name` (none for :NONAME) with `ops` instructions of code:
    /// -19 for a name longer than [`MAX_NAME_BYTES`], -8 when the dictionary holds
    /// [`MAX_WORDS`] or the code space would exceed [`MAX_CODE_OPS`].
    pub(crate) fn room_for_word(&self, name: Option<&[u8]>, ops: usize) -> Fallible<()> {
        if name.is_some_and(|name| name.len() > MAX_NAME_BYTES) {
            return fail(code::NAME_TOO_LONG);
        }
        let words_full = name.is_some() && self.dict.words.len() >= MAX_WORDS;
        if words_full || self.code.len() + ops > MAX_CODE_OPS {
            return fail(code::DICTIONARY_OVERFLOW);
        }
        Ok(())
    }

    /// Starts a definition (`:` and :NONAME) whose name (`:NONAME`'s end) is at `column`
    /// (from 0) of the input buffer; returns its execution token.
    pub(crate) fn begin_definition(
        &mut self,
        name: Option<Vec<u8>>,
        column: usize,
    ) -> Fallible<u32> {
        if self.definition.is_some() {
            return fail(code::COMPILER_NESTING);
        }
        self.room_for_word(name.as_deref(), 1)?;
        let xt =
            u32::try_from(self.code.len()).map_err(|_| Throw::new(code::DICTIONARY_OVERFLOW))?;
        // Only a stage is told where a definition is.
        let position = self
            .optimizer_stage
            .as_ref()
            .and_then(|_| self.source_position(column));
        self.definition = Some(Definition {
            name,
            xt,
            position,
            ir: Vec::new(),
            control: Vec::new(),
            locals: Default::default(),
        });
        self.set_compiling(true);
        Ok(xt)
    }

    /// `;`: checks the control structures, optimizes, appends the code and makes the word
    /// findable.
    pub(crate) fn end_definition(&mut self) -> Fallible<()> {
        self.end_locals()?;
        let definition = self
            .definition
            .as_ref()
            .ok_or_else(|| Throw::new(code::COMPILE_ONLY))?;
        if !definition.control.is_empty() {
            return fail(code::CONTROL_MISMATCH);
        }
        let Some(mut definition) = self.definition.take() else {
            return fail(code::COMPILE_ONLY);
        };
        definition.ir.push(Op::Exit);
        if definition.xt as usize != self.code.len() {
            return fail(code::COMPILER_NESTING);
        }
        let optimized = self.optimize(&mut definition);
        self.room_for_word(None, optimized.len())?;
        let base = definition.xt;
        self.code
            .extend(optimized.into_iter().map(|op| relocate(op, base)));
        self.set_compiling(false);
        if let Some(name) = definition.name {
            self.add_word(name, definition.xt, Kind::Colon);
        }
        Ok(())
    }

    pub(crate) fn add_word(&mut self, name: Vec<u8>, xt: u32, kind: Kind) -> usize {
        let index = self.dict.add(Word {
            name: name.into(),
            xt,
            kind,
            immediate: false,
            compile_only: false,
        });
        self.latest = Some(index);
        index
    }

    /// A finished definition's code, optimized by the optimizer stage when one is set and
    /// its answer passes the checks, else by the built-in optimizer.
    fn optimize(&mut self, definition: &mut Definition) -> Vec<Op> {
        let ir = std::mem::take(&mut definition.ir);
        let Some(stage) = self.optimizer_stage.clone() else {
            return optimizer::optimize(ir, &|xt| self.inline_body(xt));
        };
        let name = definition.name.clone().unwrap_or_default();
        let position = definition.position.clone();
        let unit = Unit::new(name, position, ir, &|xt| self.inline_body(xt));
        match ask_stage(&*stage, &unit) {
            Ok(optimized) => optimized,
            Err(reason) => {
                self.record_stage_fault(definition, &reason);
                optimizer::optimize(unit.ops, &|xt| self.inline_body(xt))
            }
        }
    }

    fn record_stage_fault(&mut self, definition: &Definition, reason: &str) {
        let name = match &definition.name {
            Some(name) => String::from_utf8_lossy(name).into_owned(),
            None => "a :NONAME definition".to_owned(),
        };
        let place = match &definition.position {
            Some(at) => format!(" ({}:{}:{})", at.file, at.line, at.column),
            None => String::new(),
        };
        self.push_stage_fault(format!(
            "the optimizer stage gave no usable answer for {name}{place}: {reason}; \
             the built-in optimizer compiled it"
        ));
    }

    /// Keeps why a stage gave no usable answer: the first [`MAX_STAGE_FAULTS`], then a count.
    pub(crate) fn push_stage_fault(&mut self, fault: String) {
        if self.stage_faults.len() == MAX_STAGE_FAULTS {
            self.stage_faults_left_out += 1;
        } else {
            self.stage_faults.push(fault);
        }
    }

    /// `column` (from 0) of the current line of a file or the terminal as a position;
    /// `None` in `EVALUATE`d text.
    pub(crate) fn source_position(&self, column: usize) -> Option<SourceLocation> {
        let source = self.sources.last()?;
        (source.kind != SourceKind::Evaluate).then(|| SourceLocation {
            file: source.name.to_string(),
            line: source.line,
            column: column as u32 + 1,
        })
    }

    /// Sets the optimizer stage that optimizes the definitions compiled from now on
    /// (`None`: the built-in optimizer). Definitions compiled already keep their code.
    pub fn set_optimizer_stage(&mut self, stage: Option<Arc<dyn OptimizerStage>>) {
        self.optimizer_stage = stage;
    }

    /// Why a stage gave no usable answer since the last call, oldest first (the first
    /// [`MAX_STAGE_FAULTS`], then a line counting the others): each of those definitions was
    /// compiled by the built-in optimizer, each of those lines read by the built-in parser.
    pub fn take_stage_faults(&mut self) -> Vec<String> {
        let mut faults = std::mem::take(&mut self.stage_faults);
        let left_out = std::mem::take(&mut self.stage_faults_left_out);
        if left_out > 0 {
            faults.push(format!(
                "and {left_out} more definitions or lines that the built-in stage took over \
                 for the same or other reasons"
            ));
        }
        faults
    }

    /// The instructions of a short straight-line colon definition, for inlining.
    fn inline_body(&self, xt: u32) -> Option<Vec<Op>> {
        let word = &self.dict.words[self.dict.by_xt(xt as i64)?];
        if word.kind != Kind::Colon {
            return None;
        }
        let body: Vec<Op> = self
            .code
            .get(xt as usize..)?
            .iter()
            .take_while(|&&op| op != Op::Exit)
            .copied()
            .collect();
        let short = body.len() <= optimizer::INLINE_LIMIT;
        (short && body.iter().all(|&op| op.inlinable())).then_some(body)
    }

    /// COMPILE, for a dictionary word: the cheapest code with its execution semantics. A
    /// CREATEd word compiles to its address unless DOES> may still change it (it has a
    /// DOES> behaviour, or it is the latest word and no definition is under way that would
    /// become the latest).
    pub(crate) fn compile_word(&mut self, index: usize) -> Fallible<()> {
        self.builtin_form(index)
            .into_iter()
            .try_for_each(|op| self.emit(op))
    }

    /// What the built-in compiler compiles for word `index`: a primitive's instructions,
    /// a constant's, variable's or data field's address as a literal, a VALUE's or DEFER's
    /// access, else a call.
    pub(crate) fn builtin_form(&self, index: usize) -> Vec<Op> {
        let word = &self.dict.words[index];
        let xt = word.xt;
        match word.kind {
            Kind::Primitive { len } => self.code[xt as usize..(xt + len) as usize].to_vec(),
            Kind::Constant { value } => vec![Op::Lit(value)],
            Kind::Variable { body } => vec![Op::Lit(body)],
            Kind::Value { body } => vec![Op::LitFetch(body)],
            Kind::Defer { body } => vec![Op::ExecuteAt(body)],
            Kind::Created { body }
                if self.code.get(xt as usize + 1) == Some(&Op::Exit)
                    && (self.definition.is_some() || self.latest != Some(index)) =>
            {
                vec![Op::Lit(body)]
            }
            _ => vec![Op::Call(xt)],
        }
    }

    /// COMPILE, for any execution token.
    pub(crate) fn compile_xt(&mut self, xt: i64) -> Fallible<()> {
        if let Some(index) = self.dict.by_xt(xt) {
            return self.compile_word(index);
        }
        match u32::try_from(xt) {
            Ok(target) if is_xt(xt, self.code.len()) => self.emit(Op::Call(target)),
            _ => fail(code::INVALID_XT),
        }
    }

    fn here_ir(&mut self) -> Fallible<usize> {
        Ok(self.definition_mut()?.ir.len())
    }

    /// Pushes on the control-flow stack (-52 beyond [`MAX_CONTROL_DEPTH`] entries).
    #[inline(never)]
    pub(crate) fn push_control(&mut self, entry: Control) -> Fallible<()> {
        let control = &mut self.definition_mut()?.control;
        if control.len() >= MAX_CONTROL_DEPTH {
            return fail(code::CONTROL_FLOW_OVERFLOW);
        }
        control.push(entry);
        Ok(())
    }

    #[inline(never)]
    fn pop_control(&mut self) -> Fallible<Control> {
        self.definition_mut()?
            .control
            .pop()
            .ok_or_else(|| Throw::new(code::CONTROL_MISMATCH))
    }

    fn pop_orig(&mut self) -> Fallible<usize> {
        match self.pop_control()? {
            Control::Orig(at) => Ok(at),
            _ => fail(code::CONTROL_MISMATCH),
        }
    }

    fn pop_dest(&mut self) -> Fallible<usize> {
        match self.pop_control()? {
            Control::Dest(at) => Ok(at),
            _ => fail(code::CONTROL_MISMATCH),
        }
    }

    /// Points the branch at `at` to the current end of the definition.
    fn resolve(&mut self, at: usize) -> Fallible<()> {
        let definition = self.definition_mut()?;
        let target = definition.ir.len() as u32;
        let op = definition
            .ir
            .get_mut(at)
            .ok_or_else(|| Throw::new(code::CONTROL_MISMATCH))?;
        *op = op.with_target(target);
        Ok(())
    }

    #[inline(never)]
    fn emit_forward(&mut self, op: Op) -> Fallible<usize> {
        let at = self.here_ir()?;
        self.emit(op)?;
        Ok(at)
    }

    pub(crate) fn compile_if(&mut self) -> Fallible<()> {
        let at = self.emit_forward(Op::ZBranch(0))?;
        self.push_control(Control::Orig(at))
    }

    pub(crate) fn compile_else(&mut self) -> Fallible<()> {
        let earlier = self.pop_orig()?;
        let at = self.emit_forward(Op::Branch(0))?;
        self.resolve(earlier)?;
        self.push_control(Control::Orig(at))
    }

    pub(crate) fn compile_then(&mut self) -> Fallible<()> {
        let at = self.pop_orig()?;
        self.resolve(at)
    }

    pub(crate) fn compile_begin(&mut self) -> Fallible<()> {
        let at = self.here_ir()?;
        self.push_control(Control::Dest(at))
    }

    pub(crate) fn compile_while(&mut self) -> Fallible<()> {
        let dest = self.pop_dest()?;
        let at = self.emit_forward(Op::ZBranch(0))?;
        self.push_control(Control::Orig(at))?;
        self.push_control(Control::Dest(dest))
    }

    pub(crate) fn compile_repeat(&mut self) -> Fallible<()> {
        let dest = self.pop_dest()?;
        self.emit(Op::Branch(dest as u32))?;
        let at = self.pop_orig()?;
        self.resolve(at)
    }

    pub(crate) fn compile_until(&mut self) -> Fallible<()> {
        let dest = self.pop_dest()?;
        self.emit(Op::ZBranch(dest as u32))
    }

    pub(crate) fn compile_again(&mut self) -> Fallible<()> {
        let dest = self.pop_dest()?;
        self.emit(Op::Branch(dest as u32))
    }

    pub(crate) fn compile_do(&mut self, conditional: bool) -> Fallible<()> {
        let exits = if conditional {
            vec![self.emit_forward(Op::QDo(0))?]
        } else {
            Vec::new()
        };
        if !conditional {
            self.emit(Op::Do)?;
        }
        let body = self.here_ir()?;
        self.push_control(Control::Do { body, exits })
    }

    pub(crate) fn compile_loop(&mut self, plus: bool) -> Fallible<()> {
        let Control::Do { body, exits } = self.pop_control()? else {
            return fail(code::CONTROL_MISMATCH);
        };
        self.emit(if plus {
            Op::PlusLoop(body as u32)
        } else {
            Op::Loop(body as u32)
        })?;
        exits.into_iter().try_for_each(|at| self.resolve(at))
    }

    pub(crate) fn compile_leave(&mut self) -> Fallible<()> {
        self.emit(Op::Unloop)?;
        let at = self.emit_forward(Op::Branch(0))?;
        let definition = self.definition_mut()?;
        let innermost = definition
            .control
            .iter_mut()
            .rev()
            .find_map(|entry| match entry {
                Control::Do { exits, .. } => Some(exits),
                _ => None,
            });
        innermost
            .ok_or_else(|| Throw::new(code::CONTROL_MISMATCH))?
            .push(at);
        Ok(())
    }

    pub(crate) fn compile_case(&mut self) -> Fallible<()> {
        self.push_control(Control::Case { exits: Vec::new() })
    }

    pub(crate) fn compile_of(&mut self) -> Fallible<()> {
        let at = self.emit_forward(Op::Of(0))?;
        self.push_control(Control::Of(at))
    }

    pub(crate) fn compile_endof(&mut self) -> Fallible<()> {
        let Control::Of(of) = self.pop_control()? else {
            return fail(code::CONTROL_MISMATCH);
        };
        let at = self.emit_forward(Op::Branch(0))?;
        match self.definition_mut()?.control.last_mut() {
            Some(Control::Case { exits }) => exits.push(at),
            _ => return fail(code::CONTROL_MISMATCH),
        }
        self.resolve(of)
    }

    pub(crate) fn compile_endcase(&mut self) -> Fallible<()> {
        let Control::Case { exits } = self.pop_control()? else {
            return fail(code::CONTROL_MISMATCH);
        };
        self.emit(Op::Drop)?;
        exits.into_iter().try_for_each(|at| self.resolve(at))
    }

    pub(crate) fn compile_does(&mut self) -> Fallible<()> {
        self.end_locals()?;
        let after = self.here_ir()? as u32 + 2;
        self.emit(Op::Does(after))?;
        self.emit(Op::Exit)
    }

    pub(crate) fn compile_recurse(&mut self) -> Fallible<()> {
        let xt = self.definition_mut()?.xt;
        self.emit(Op::Call(xt))
    }

    /// Compiles a string literal kept in data space: ( -- c-addr u ).
    pub(crate) fn compile_string(&mut self, bytes: &[u8]) -> Fallible<()> {
        let address = self.place_bytes(bytes)?;
        self.emit(Op::Lit(address as i64))?;
        self.emit(Op::Lit(bytes.len() as i64))
    }
}

/// Moves a definition-local branch target to the definition's place in the code space.
fn relocate(op: Op, base: u32) -> Op {
    match op.target() {
        Some(target) => op.with_target(target + base),
        None => op,
    }
}

/// The stage's answer to `unit`, checked.
fn ask_stage(stage: &dyn OptimizerStage, unit: &Unit) -> Result<Vec<Op>, String> {
    let answer = stage.optimize(&unit.encode())?;
    let answer = Unit::decode(&answer).map_err(|refused| refused.0)?;
    unit.check_answer(&answer)?;
    Ok(answer.ops)
}
