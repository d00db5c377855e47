//! The Locals word set: `{: args | vals -- outs :}`, `(LOCAL)` and `TO` on locals.
//!
//! A definition's locals live on the return stack, pushed (`>R`) where they are declared,
//! so recursion gives each call its own, and THROW drops them with the rest of the return
//! stack. The compiler counts the return stack cells the definition itself pushes above
//! each local (`>R`, `2>R`, DO loop parameters), so a local's name compiles to "the cell
//! `offset` below the top": `offset LocalFetch`, and `TO name` to `offset LocalStore`.
//! EXIT, `;` and `DOES>` drop the frame first. A definition has at most [`MAX_LOCALS`].

use crate::definition::Scope;
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code, fail};
use crate::ir::{Op, Sys};

/// The most locals one definition may declare (ENVIRONMENT? #LOCALS).
pub const MAX_LOCALS: usize = 64;

/// The host words of this word set.
pub const LOCALS_WORDS: &[Sys] = &[
    Sys::LocalFetch,
    Sys::LocalStore,
    Sys::LocalsDrop,
    Sys::ParenLocal,
    Sys::BraceColon,
];

impl Forth {
    /// Executes one host word of the Locals word set.
    pub(crate) fn locals_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::LocalFetch => {
                let at = self.local_slot()?;
                self.push(self.machine.rs[at])
            }
            Sys::LocalStore => {
                let at = self.local_slot()?;
                self.machine.rs[at] = self.pop()?;
                Ok(())
            }
            Sys::LocalsDrop => {
                let count = self.pop_usize()?;
                if self.machine.rdepth < self.machine.rbase.saturating_add(count) {
                    return fail(code::RETURN_STACK_UNDERFLOW);
                }
                self.machine.rdepth -= count;
                Ok(())
            }
            Sys::ParenLocal => {
                let name = self.pop_bytes()?;
                if name.is_empty() {
                    return Ok(());
                }
                self.declare_local(name, false)
            }
            _ => self.brace_colon(),
        }
    }

    /// The return stack slot `offset` (popped) cells below the top, within this run.
    fn local_slot(&mut self) -> Fallible<usize> {
        let offset = self.pop_usize()?;
        let slot = self.machine.rdepth.checked_sub(offset.saturating_add(1));
        slot.filter(|&slot| slot >= self.machine.rbase)
            .ok_or_else(|| Throw::new(code::RETURN_STACK_UNDERFLOW))
    }

    /// Compiles code that moves the top of the data stack (or 0, for a value local) into a
    /// new local.
    fn declare_local(&mut self, name: Vec<u8>, zeroed: bool) -> Fallible<()> {
        if self.definition_mut()?.locals.names.len() >= MAX_LOCALS {
            return Err(Throw::with_message(
                code::UNSUPPORTED_OPERATION,
                format!("more than {MAX_LOCALS} locals in one definition"),
            ));
        }
        if zeroed {
            self.emit(Op::Lit(0))?;
        }
        self.emit(Op::ToR)?;
        let scope = &mut self.definition_mut()?.locals;
        scope.names.push((name.to_ascii_uppercase(), scope.height));
        Ok(())
    }

    /// `{: a b | c d -- outs :}`: the arguments take the stack items (the last name the top
    /// item), the values start at 0, the names after `--` are a comment.
    fn brace_colon(&mut self) -> Fallible<()> {
        let mut arguments = Vec::new();
        let mut values = Vec::new();
        let mut after_bar = false;
        loop {
            let name = self.next_name_across_lines()?;
            match name.to_ascii_uppercase().as_slice() {
                b":}" => break,
                b"|" if !after_bar => after_bar = true,
                b"--" => return self.finish_braces(arguments, values, true),
                _ if after_bar => values.push(name),
                _ => arguments.push(name),
            }
        }
        self.finish_braces(arguments, values, false)
    }

    fn finish_braces(
        &mut self,
        arguments: Vec<Vec<u8>>,
        values: Vec<Vec<u8>>,
        skip_outputs: bool,
    ) -> Fallible<()> {
        if skip_outputs {
            while self.next_name_across_lines()? != b":}" {}
        }
        for name in arguments.into_iter().rev() {
            self.declare_local(name, false)?;
        }
        values
            .into_iter()
            .try_for_each(|name| self.declare_local(name, true))
    }

    /// The next name of the input, reading more lines when one ends; -39 at the end.
    fn next_name_across_lines(&mut self) -> Fallible<Vec<u8>> {
        loop {
            let token = self.parse_token(b' ');
            if token.len > 0 {
                return Ok(self.mem[token.start..token.start + token.len].to_vec());
            }
            if !self.refill_line() {
                return fail(code::UNEXPECTED_EOF);
            }
        }
    }

    /// Compiles a reference to a local when `name` is one; false otherwise.
    pub(crate) fn compile_local(&mut self, name: &[u8]) -> Fallible<bool> {
        let offset = match &self.definition {
            Some(definition) if self.compiling() => definition.locals.offset(name),
            _ => None,
        };
        let Some(offset) = offset else {
            return Ok(false);
        };
        self.emit(Op::Lit(offset))?;
        self.emit(Op::Sys(Sys::LocalFetch))?;
        Ok(true)
    }

    /// `TO name` for a local: compiles the store and answers true; false (and nothing
    /// parsed) when the next name is not a local.
    pub(crate) fn compile_to_local(&mut self) -> Fallible<bool> {
        let before = self.to_in();
        let token = self.parse_token(b' ');
        let name = self.mem[token.start..token.start + token.len].to_vec();
        let offset = match &self.definition {
            Some(definition) if self.compiling() => definition.locals.offset(&name),
            _ => None,
        };
        let Some(offset) = offset else {
            self.set_to_in(before);
            return Ok(false);
        };
        self.emit(Op::Lit(offset))?;
        self.emit(Op::Sys(Sys::LocalStore))?;
        Ok(true)
    }

    /// Before EXIT, `;` and DOES>: drops the locals frame.
    pub(crate) fn emit_locals_drop(&mut self) -> Fallible<()> {
        let count = self.definition_mut()?.locals.names.len();
        if count == 0 {
            return Ok(());
        }
        self.emit(Op::Lit(count as i64))?;
        self.emit(Op::Sys(Sys::LocalsDrop))
    }

    /// `;` and DOES>: the locals frame is dropped and its names go out of scope.
    pub(crate) fn end_locals(&mut self) -> Fallible<()> {
        self.emit_locals_drop()?;
        self.definition_mut()?.locals = Scope::default();
        Ok(())
    }
}
