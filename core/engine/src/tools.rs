//! The Programming-tools word set: inspecting memory and code (`?`, DUMP, SEE), the
//! conditional-compilation words ([IF] [ELSE] [THEN] [DEFINED] [UNDEFINED]), the
//! control-flow stack words (AHEAD, CS-PICK, CS-ROLL), N>R/NR>, SYNONYM and name tokens.
//!
//! There is no assembler: `CODE`, `;CODE`, `ASSEMBLER` and `EDITOR` are not provided, and
//! `FORGET` (obsolescent) is left out in favour of MARKER.
//!
//! A name token (nt) is the word's position in the dictionary plus one, so it is never 0.

use crate::console::{Console, write_output};
use crate::definition::Control;
use crate::dictionary::{Kind, Word, op_name};
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code, fail};
use crate::input_source::{Skip, SourceKind};
use crate::ir::{Op, Sys};

/// Whether the word belongs to this module.
pub(crate) fn owns(word: Sys) -> bool {
    matches!(
        word,
        Sys::Question
            | Sys::Dump
            | Sys::See
            | Sys::BracketIf
            | Sys::BracketElse
            | Sys::BracketThen
            | Sys::BracketDefined
            | Sys::BracketUndefined
            | Sys::Ahead
            | Sys::CsPick
            | Sys::CsRoll
            | Sys::NToR
            | Sys::NRFrom
            | Sys::Synonym
            | Sys::TraverseWordlist
            | Sys::NameToString
            | Sys::NameToInterpret
            | Sys::NameToCompile
    )
}

/// Bytes per line of DUMP.
const DUMP_LINE: usize = 16;

impl Forth {
    /// Executes a Programming-tools word.
    pub(crate) fn tools_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        match word {
            Sys::Question => {
                let address = self.pop()?;
                let value = self.fetch_cell(address)?;
                self.push(value)?;
                self.system(Sys::Dot, console)
            }
            Sys::Dump => self.dump(console),
            Sys::See => self.see(console),
            Sys::BracketIf => match self.pop()? {
                0 => self.skip_conditional(Skip {
                    depth: 0,
                    stop_at_else: true,
                }),
                _ => Ok(()),
            },
            Sys::BracketElse => self.skip_conditional(Skip {
                depth: 0,
                stop_at_else: false,
            }),
            Sys::BracketThen => Ok(()),
            Sys::BracketDefined | Sys::BracketUndefined => {
                let token = self.parse_token(b' ');
                let name = self.mem[token.start..token.start + token.len].to_vec();
                let found = token.len > 0 && self.dict.find(&name).is_some();
                let flag = found == (word == Sys::BracketDefined);
                self.push(if flag { -1 } else { 0 })
            }
            Sys::Ahead => self.compile_ahead(),
            Sys::CsPick => self.cs_pick(),
            Sys::CsRoll => self.cs_roll(),
            Sys::NToR => self.n_to_r(),
            Sys::NRFrom => self.n_r_from(),
            Sys::Synonym => self.synonym(),
            Sys::TraverseWordlist => self.traverse_wordlist(console),
            Sys::NameToString => {
                let index = self.pop_nt()?;
                let name = self.dict.words[index].name.clone();
                let address = self.transient_copy(&name)?;
                self.push(address as i64)?;
                self.push(name.len() as i64)
            }
            Sys::NameToInterpret => {
                let index = self.pop_nt()?;
                self.push(self.dict.words[index].xt as i64)
            }
            Sys::NameToCompile => {
                let index = self.pop_nt()?;
                let word = &self.dict.words[index];
                let (xt, immediate) = (word.xt as i64, word.immediate);
                let action = if immediate { "EXECUTE" } else { "COMPILE," };
                self.push(xt)?;
                self.push(self.builtin_xt(action)?)
            }
            other => crate::error::unreachable_word(other, "tools"),
        }
    }

    /// The execution token of a built-in word, looked up among the built-in words so
    /// that a user redefinition does not change it.
    fn builtin_xt(&self, name: &str) -> Fallible<i64> {
        self.dict
            .words
            .iter()
            .find(|w| matches!(w.kind, Kind::Primitive { .. }) && *w.name == *name.as_bytes())
            .map(|w| w.xt as i64)
            .ok_or_else(|| Throw::new(code::UNDEFINED_WORD).in_word(name))
    }

    /// Pops a name token: the word's index plus one; -32 for anything else.
    pub(crate) fn pop_nt(&mut self) -> Fallible<usize> {
        let nt = self.pop()?;
        usize::try_from(nt)
            .ok()
            .and_then(|nt| nt.checked_sub(1))
            .filter(|&index| index < self.dict.words.len())
            .ok_or_else(|| Throw::new(code::INVALID_NAME_ARGUMENT))
    }

    /// Copies bytes into the next of the transient string buffers (interpreted S" and
    /// NAME>STRING use them); -18 when they do not fit.
    pub(crate) fn transient_copy(&mut self, bytes: &[u8]) -> Fallible<usize> {
        use crate::memory::{TRANSIENT_BYTES, TRANSIENT_COUNT, TRANSIENT_OFFSET};
        if bytes.len() > TRANSIENT_BYTES {
            return fail(code::PARSED_STRING_OVERFLOW);
        }
        let slot = self.next_transient % TRANSIENT_COUNT;
        self.next_transient = (slot + 1) % TRANSIENT_COUNT;
        let address = self.system_address(TRANSIENT_OFFSET + slot * TRANSIENT_BYTES);
        self.mem[address..address + bytes.len()].copy_from_slice(bytes);
        Ok(address)
    }

    /// DUMP ( addr u -- ): lines of an address, 16 bytes in hex and the same as text,
    /// written a line at a time.
    fn dump(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let range = self.pop_range()?;
        for start in range.clone().step_by(DUMP_LINE) {
            let end = (start + DUMP_LINE).min(range.end);
            self.charge_steps(end - start)?;
            let line = dump_line(start, &self.mem[start..end]);
            write_output(console, line.as_bytes())?;
        }
        write_output(console, b"\n")
    }

    /// SEE name: the word's definition, one instruction of its IR a line.
    fn see(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let index = self.find_parsed()?;
        let word = self.dict.words[index].clone();
        let shown = String::from_utf8_lossy(&word.name).into_owned();
        let mut text = match word.kind {
            Kind::Constant { value } => format!("{value} CONSTANT {shown}"),
            Kind::Variable { body } => format!("VARIABLE {shown} \\ at {body}"),
            Kind::Value { body } => {
                format!("{} VALUE {shown}", self.fetch_cell(body)?)
            }
            Kind::Defer { body } => self.see_defer(&shown, body)?,
            Kind::Marker(_) => format!("MARKER {shown}"),
            Kind::TwoValue { body } => format!(
                "{} {} 2VALUE {shown}",
                self.fetch_cell(body + 8)?,
                self.fetch_cell(body)?
            ),
            Kind::Created { body } => {
                format!("CREATE {shown} \\ data at {body}{}", self.see_body(&word))
            }
            Kind::Primitive { .. } if self.host_word(&word).is_some() => {
                format!("{shown} is a host word, provided by the program running Forth")
            }
            Kind::Primitive { .. } => format!("{shown} is built in:{}", self.see_body(&word)),
            Kind::Colon => format!(": {shown}{}\n;", self.see_body(&word)),
        };
        if word.immediate {
            text.push_str(" IMMEDIATE");
        }
        text.push('\n');
        self.charge_bytes(text.len())?;
        write_output(console, text.as_bytes())
    }

    /// A deferred word as the source that sets it: `DEFER d ' x IS d`, or its action's
    /// token when that has no name (unset is 0, which is no word's).
    fn see_defer(&self, shown: &str, body: i64) -> Fallible<String> {
        let action = self.fetch_cell(body)?;
        Ok(match self.dict.by_xt(action) {
            Some(index) => {
                let name = String::from_utf8_lossy(&self.dict.words[index].name);
                format!("DEFER {shown} ' {name} IS {shown}")
            }
            None => format!("DEFER {shown} \\ its action is execution token {action}"),
        })
    }

    /// The instructions from the word's execution token up to the next word's code.
    fn see_body(&self, word: &Word) -> String {
        let start = word.xt as usize;
        let end = self
            .dict
            .words
            .iter()
            .map(|w| w.xt as usize)
            .filter(|&xt| xt > start)
            .min()
            .unwrap_or(self.code.len());
        let end = match word.kind {
            Kind::Primitive { len } => start + len as usize,
            Kind::Created { .. } => start + 2,
            _ => end,
        };
        (start..end.min(self.code.len()))
            .map(|address| format!("\n  {address:>6}: {}", self.describe(self.code[address])))
            .collect()
    }

    /// One instruction as text: literals as numbers, calls by the name of their target.
    fn describe(&self, op: Op) -> String {
        match op {
            Op::Lit(n) => n.to_string(),
            Op::Call(target) => match self.dict.by_xt(target as i64) {
                Some(index) => String::from_utf8_lossy(&self.dict.words[index].name).into(),
                None => format!("call {target}"),
            },
            Op::Exit => "EXIT".to_owned(),
            Op::CallHost(id) => {
                let mut newest_first = self.dict.words.iter().rev();
                let named =
                    newest_first.find(|word| self.host_word(word).map(i64::from) == Some(id));
                named.map_or_else(
                    || format!("host word {id}"),
                    |word| String::from_utf8_lossy(&word.name).into(),
                )
            }
            // A local's run-time parts, after the literal of its return stack offset.
            Op::Sys(Sys::LocalFetch) => "(local@)".to_owned(),
            Op::Sys(Sys::LocalStore) => "(local!)".to_owned(),
            Op::Sys(Sys::LocalsDrop) => "(locals-drop)".to_owned(),
            Op::Sys(_) => op_name(op).map_or_else(|| format!("{op:?}"), str::to_owned),
            _ => match (plain(op), op_name(op)) {
                (true, Some(name)) => name.to_owned(),
                _ => format!("{op:?}"),
            },
        }
    }

    /// [IF] with a false flag and [ELSE]: discards words up to the matching [THEN] (or, for
    /// [IF], [ELSE]), across lines, nested [IF]s included. A file that ends first is -39.
    /// When the host's text (the user input device) ends first, the next text the host
    /// gives goes on skipping ([`Forth::resume_skip`]), as REFILL of the terminal would;
    /// other text (an EVALUATE string, a block) just ends.
    pub(crate) fn skip_conditional(&mut self, mut skip: Skip) -> Fallible<()> {
        loop {
            let token = self.parse_token(b' ');
            if token.len == 0 {
                if self.refill_line() {
                    continue;
                }
                return match self.sources.last().map(|source| &source.kind) {
                    Some(SourceKind::File(_)) => {
                        let message =
                            "unexpected end of file inside [IF] or [ELSE], before its [THEN]";
                        let mut throw =
                            Throw::with_message(code::UNEXPECTED_EOF, message.to_owned());
                        // Where the file ended, not where the word that began the skip was.
                        throw.location = self.source_position(self.input_buffer().1);
                        Err(throw)
                    }
                    Some(SourceKind::User) if self.sources.len() == 1 => {
                        self.pending_skip = Some(skip);
                        Ok(())
                    }
                    _ => Ok(()),
                };
            }
            self.charge_steps(1)?;
            let name = self.mem[token.start..token.start + token.len].to_ascii_uppercase();
            match name.as_slice() {
                b"[IF]" => skip.depth += 1,
                b"[ELSE]" if skip.depth == 0 && skip.stop_at_else => return Ok(()),
                b"[THEN]" if skip.depth == 0 => return Ok(()),
                b"[THEN]" => skip.depth -= 1,
                _ => {}
            }
        }
    }

    /// Goes on with the skip that the end of the host's previous text interrupted, if any,
    /// in the host's new text.
    pub(crate) fn resume_skip(&mut self) -> Fallible<()> {
        match self.pending_skip.take() {
            Some(skip) => self.skip_conditional(skip),
            None => Ok(()),
        }
    }

    fn compile_ahead(&mut self) -> Fallible<()> {
        let at = self.definition_mut()?.ir.len();
        self.emit(Op::Branch(0))?;
        self.push_control(Control::Orig(at))
    }

    /// CS-PICK ( u -- ): copies the u-th entry of the control-flow stack, an orig or a
    /// dest, to its top (-22 for a DO or CASE entry, which the standard does not let it
    /// pick).
    fn cs_pick(&mut self) -> Fallible<()> {
        let u = self.pop_usize()?;
        let control = &self.definition_mut()?.control;
        let entry = control
            .len()
            .checked_sub(u.saturating_add(1))
            .map(|at| &control[at])
            .filter(|entry| matches!(entry, Control::Orig(_) | Control::Dest(_)))
            .cloned()
            .ok_or_else(|| Throw::new(code::CONTROL_MISMATCH))?;
        self.push_control(entry)
    }

    /// CS-ROLL ( u -- ): moves the u-th entry of the control-flow stack to its top.
    fn cs_roll(&mut self) -> Fallible<()> {
        let u = self.pop_usize()?;
        let control = &mut self.definition_mut()?.control;
        let at = control
            .len()
            .checked_sub(u.saturating_add(1))
            .ok_or_else(|| Throw::new(code::CONTROL_MISMATCH))?;
        let entry = control.remove(at);
        control.push(entry);
        Ok(())
    }

    /// N>R ( i*x n -- ) ( R: -- i*x n ).
    fn n_to_r(&mut self) -> Fallible<()> {
        let n = self.pop()?;
        let count = usize::try_from(n).map_err(|_| Throw::new(code::INVALID_NUMERIC_ARGUMENT))?;
        if count > self.machine.depth {
            return fail(code::STACK_UNDERFLOW);
        }
        if self.machine.rdepth + count + 1 > self.machine.rs.len() {
            return fail(code::RETURN_STACK_OVERFLOW);
        }
        self.charge_steps(count)?;
        let first = self.machine.depth - count + 1;
        for index in first..=self.machine.depth {
            self.push_rs(self.machine.ds[index])?;
        }
        self.machine.depth -= count;
        self.push_rs(n)
    }

    /// NR> ( -- i*x n ) ( R: i*x n -- ).
    fn n_r_from(&mut self) -> Fallible<()> {
        let n = self.pop_rs()?;
        let count = usize::try_from(n).map_err(|_| Throw::new(code::RETURN_STACK_IMBALANCE))?;
        if count > self.machine.rdepth - self.machine.rbase {
            return fail(code::RETURN_STACK_UNDERFLOW);
        }
        self.charge_steps(count)?;
        let first = self.machine.rdepth - count;
        for index in first..self.machine.rdepth {
            self.push(self.machine.rs[index])?;
        }
        self.machine.rdepth = first;
        self.push(n)
    }

    fn pop_rs(&mut self) -> Fallible<i64> {
        if self.machine.rdepth <= self.machine.rbase {
            return fail(code::RETURN_STACK_UNDERFLOW);
        }
        self.machine.rdepth -= 1;
        Ok(self.machine.rs[self.machine.rdepth])
    }

    /// SYNONYM newname oldname: a word with the old word's execution token, kind and
    /// flags.
    fn synonym(&mut self) -> Fallible<()> {
        let name = self.parse_name()?;
        let old = self.find_parsed()?;
        if self.definition.is_some() {
            return fail(code::COMPILER_NESTING);
        }
        self.room_for_word(Some(&name), 0)?;
        let word = self.dict.words[old].clone();
        let index = self.add_word(name, word.xt, word.kind);
        let new = &mut self.dict.words[index];
        new.immediate = word.immediate;
        new.compile_only = word.compile_only;
        Ok(())
    }

    /// TRAVERSE-WORDLIST ( i*x xt wid -- j*x ): runs xt ( k*x nt -- l*x flag ) on each
    /// word of the list, newest first, until it returns false.
    fn traverse_wordlist(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let list = self.pop_wordlist()?;
        let xt = self.pop()?;
        let mut next = self.dict.newest_in(list);
        while let Some(index) = next {
            self.push(index as i64 + 1)?;
            self.execute_xt(xt, console)?;
            if self.pop()? == 0 {
                return Ok(());
            }
            next = self.dict.older_in(index);
        }
        Ok(())
    }
}

/// One line of DUMP: a newline, the address, the bytes in hex, then as text.
fn dump_line(address: usize, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!(" {b:02X}")).collect();
    let text: String = bytes
        .iter()
        .map(|&b| match b {
            0x20..=0x7E => b as char,
            _ => '.',
        })
        .collect();
    let padding = "   ".repeat(DUMP_LINE - bytes.len());
    format!("\n{address:08X}:{hex}{padding}  {text}")
}

/// Whether the instruction has no operands (its name says all of it).
fn plain(op: Op) -> bool {
    let mut encoded = Vec::new();
    crate::ir::encode_op(op, &mut encoded);
    encoded.len() == 1
}
