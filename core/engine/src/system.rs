//! The host side of the engine: every word that parses, compiles, does I/O or needs the
//! whole engine state (the `Sys` instructions).

use crate::console::{Console, write_output};
use crate::dictionary::{Kind, Snapshot};
use crate::engine::Forth;
use crate::error::{Fallible, Stop, Throw, code, fail, unreachable_word};
use crate::input_source::SourceKind;
use crate::ir::{Op, Sys};
use crate::memory::{self, BASE_OFFSET, CELL, PAD_OFFSET, WORD_BYTES, WORD_OFFSET};
use crate::parser;

impl Forth {
    /// Executes one host word.
    pub(crate) fn system(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        match word {
            Sys::Emit => {
                let char = self.pop()?;
                write_output(console, &[char as u8])
            }
            Sys::Type => {
                let text = self.pop_type_range()?;
                write_output(console, &text)
            }
            Sys::Cr => write_output(console, b"\n"),
            Sys::Space => write_output(console, b" "),
            Sys::Spaces => {
                let count = self.pop()?;
                self.print_spaces(count, console)
            }
            Sys::Dot => self.print_number(true, console),
            Sys::UDot => self.print_number(false, console),
            Sys::DotR => self.print_number_right(true, console),
            Sys::UDotR => self.print_number_right(false, console),
            Sys::DotS => self.print_stack(console),
            Sys::Words => self.words(console),
            Sys::Key => match console.read_key() {
                Some(key) => self.push(key as i64),
                None => fail(code::UNEXPECTED_EOF),
            },
            Sys::Accept => self.accept(console),
            Sys::Refill => {
                let refilled = self.refill_block()? || self.refill(console);
                self.push(if refilled { -1 } else { 0 })
            }
            Sys::Source => {
                let (buffer, len) = self.input_buffer();
                self.push(buffer as i64)?;
                self.push(len as i64)
            }
            Sys::SourceId => self.push(self.source_id()),
            Sys::SaveInput => self.save_input(),
            Sys::RestoreInput => self.restore_input(),
            _ if crate::tools::owns(word) => self.tools_word(word, console),
            _ if crate::strings::owns(word) => self.string_word(word),
            _ if crate::double::owns(word) => self.double_word(word, console),
            _ if crate::facility::owns(word) => self.facility_word(word, console),
            _ if crate::search::owns(word) => self.search_word(word, console),
            Sys::Allocate => self.allocate_word(),
            Sys::Free => self.free_word(),
            Sys::Resize => self.resize_word(),
            word if crate::files::FILE_WORDS.contains(&word) => self.file_word(word, console),
            word if crate::locals::LOCALS_WORDS.contains(&word) => self.locals_word(word),
            word if crate::blocks::BLOCK_WORDS.contains(&word) => self.block_word(word, console),
            _ if crate::float::is_float_word(word) => self.float_word(word, console),
            _ => self.parsing_word(word, console),
        }
    }

    /// TYPE's text ( c-addr u -- ), its bytes charged to the step budget.
    fn pop_type_range(&mut self) -> Fallible<Vec<u8>> {
        let len = self.pop()?;
        let address = self.pop()?;
        if len <= 0 {
            return Ok(Vec::new());
        }
        let range = memory::range(&self.mem, address, len)
            .ok_or_else(|| Throw::new(code::INVALID_ADDRESS))?;
        self.charge_bytes(range.len())?;
        Ok(self.mem[range].to_vec())
    }

    fn accept(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let max = self.pop()?.max(0);
        let address = self.pop()?;
        let line = console.read_line().unwrap_or_default();
        let len = line.len().min(max as usize);
        let range = memory::range(&self.mem, address, len as i64)
            .ok_or_else(|| Throw::new(code::INVALID_ADDRESS))?;
        self.mem[range].copy_from_slice(&line[..len]);
        self.push(len as i64)
    }

    /// REFILL of a line-based source: its next line; for the user input device once the
    /// host's text has no more, the next line the console reads, as REFILL of a terminal
    /// would (the host's next text then starts after it).
    fn refill(&mut self, console: &mut dyn Console) -> bool {
        if self.refill_line() {
            return true;
        }
        let user = self.sources.last().map(|source| &source.kind) == Some(&SourceKind::User);
        let Some(line) = user.then(|| console.read_line()).flatten() else {
            return false;
        };
        if let Some(source) = self.sources.last_mut() {
            // With its line end: a text without one has no line when the line is empty.
            source.text = [line, vec![b'\n']].concat().into();
            source.next_line = 0;
            source.first_line = source.line + 1;
        }
        self.refill_line()
    }

    fn parsing_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        match word {
            Sys::Word => self.word(),
            Sys::Parse => {
                let delimiter = self.pop()? as u8;
                let token = self.parse_delimited(delimiter);
                self.push(token.start as i64)?;
                self.push(token.len as i64)
            }
            Sys::ParseName => {
                let token = self.parse_token(b' ');
                self.push(token.start as i64)?;
                self.push(token.len as i64)
            }
            Sys::Char => {
                let name = self.parse_name()?;
                self.push(name[0] as i64)
            }
            Sys::BracketChar => {
                let name = self.parse_name()?;
                self.emit(Op::Lit(name[0] as i64))
            }
            Sys::Tick => {
                let index = self.find_parsed()?;
                self.push(self.dict.words[index].xt as i64)
            }
            Sys::BracketTick => {
                let index = self.find_parsed()?;
                self.emit(Op::Lit(self.dict.words[index].xt as i64))
            }
            Sys::Paren => self.skip_comment(),
            Sys::Backslash if self.in_block() => self.skip_block_line(),
            Sys::Backslash => {
                let (_, len) = self.input_buffer();
                self.set_to_in(len);
                Ok(())
            }
            Sys::DotParen => {
                let text = self.parse_text(b')');
                write_output(console, &text)
            }
            Sys::SQuote => {
                let text = self.parse_text(b'"');
                self.string_literal(&text)
            }
            Sys::SBackslashQuote => {
                let text = self.parse_escaped_text();
                self.string_literal(&text)
            }
            Sys::CQuote => {
                let text = self.parse_text(b'"');
                let counted = counted(&text)?;
                let address = self.place_bytes(&counted)?;
                self.emit(Op::Lit(address as i64))
            }
            Sys::DotQuote => {
                let text = self.parse_text(b'"');
                if !self.compiling() {
                    return write_output(console, &text);
                }
                self.compile_string(&text)?;
                self.emit(Op::Sys(Sys::Type))
            }
            Sys::AbortQuote => {
                let text = self.parse_text(b'"');
                self.compile_string(&text)?;
                self.emit(Op::Sys(Sys::AbortIf))
            }
            Sys::AbortIf => {
                let message = self.pop_bytes()?;
                match self.pop()? {
                    0 => Ok(()),
                    _ => {
                        if self.machine.catch_frames.is_empty() {
                            // An output error loses only the message: the abort stops the
                            // word either way.
                            let _ = console.write(&message);
                        }
                        Err(Throw::with_message(
                            code::ABORT_QUOTE,
                            String::from_utf8_lossy(&message),
                        ))
                    }
                }
            }
            _ => self.interpreter_word(word, console),
        }
    }

    /// WORD ( char -- c-addr ): the parsed text as a counted string in the WORD buffer.
    fn word(&mut self) -> Fallible<()> {
        let delimiter = self.pop()? as u8;
        let token = self.parse_token(delimiter);
        if token.len > WORD_BYTES - 2 {
            return fail(code::PARSED_STRING_OVERFLOW);
        }
        let text = self.mem[token.start..token.start + token.len].to_vec();
        let address = self.system_address(WORD_OFFSET);
        self.mem[address] = text.len() as u8;
        self.mem[address + 1..address + 1 + text.len()].copy_from_slice(&text);
        self.mem[address + 1 + text.len()] = b' ';
        self.push(address as i64)
    }

    pub(crate) fn find_parsed(&mut self) -> Fallible<usize> {
        let name = self.parse_name()?;
        self.dict.find(&name).ok_or_else(|| {
            Throw::new(code::UNDEFINED_WORD).in_word(&String::from_utf8_lossy(&name))
        })
    }

    /// Text up to the delimiter (the rest of the line when there is none).
    #[inline(never)]
    fn parse_text(&mut self, delimiter: u8) -> Vec<u8> {
        let token = self.parse_delimited(delimiter);
        self.mem[token.start..token.start + token.len].to_vec()
    }

    fn parse_escaped_text(&mut self) -> Vec<u8> {
        let (buffer, len) = self.input_buffer();
        let (text, next) = parser::parse_escaped(&self.mem[buffer..buffer + len], self.to_in());
        self.set_to_in(next);
        text
    }

    /// `(`: skips to `)`, across lines of a file or the host text.
    fn skip_comment(&mut self) -> Fallible<()> {
        loop {
            let (buffer, len) = self.input_buffer();
            let rest = self.mem[buffer..buffer + len]
                .get(self.to_in()..)
                .unwrap_or(&[]);
            if let Some(at) = rest.iter().position(|&b| b == b')') {
                let next = self.to_in() + at + 1;
                self.set_to_in(next);
                return Ok(());
            }
            if !self.refill_line() {
                self.set_to_in(len);
                return Ok(());
            }
        }
    }

    /// S" and S\": compiled into the definition, or copied to a transient buffer.
    fn string_literal(&mut self, text: &[u8]) -> Fallible<()> {
        if self.compiling() {
            return self.compile_string(text);
        }
        let address = self.transient_copy(text)?;
        self.push(address as i64)?;
        self.push(text.len() as i64)
    }

    fn interpreter_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        match word {
            Sys::Evaluate => {
                let range = self.pop_range()?;
                self.charge_bytes(range.len())?;
                self.evaluate_range(range.start, range.len(), console)
            }
            Sys::Find => self.find(),
            Sys::Included => {
                let name = self.pop_bytes()?;
                let path = self.permitted_source(&name)?;
                self.include_path(&path, console)
            }
            Sys::Include => {
                let name = self.parse_name()?;
                let path = self.permitted_source(&name)?;
                self.include_path(&path, console)
            }
            Sys::Catch => self.catch(),
            Sys::Throw => match self.pop()? {
                0 => Ok(()),
                thrown => Err(Throw::new(thrown)),
            },
            Sys::Abort => fail(code::ABORT),
            Sys::Quit => Err(Throw::stop(Stop::Quit)),
            // Updated blocks are written first; an error writing them is BYE's.
            Sys::Bye => self.save_buffers().and(Err(Throw::stop(Stop::Bye))),
            Sys::ToNumber => self.convert_number(),
            Sys::Environment => self.environment(),
            Sys::LessNumber => {
                self.begin_pictured();
                Ok(())
            }
            Sys::NumberSign => self.pictured_digit(),
            Sys::NumberSignS => self.pictured_digits(),
            Sys::NumberGreater => self.end_pictured(),
            Sys::Hold => {
                let char = self.pop()?;
                self.hold_bytes(&[char as u8])
            }
            Sys::Holds => {
                let text = self.pop_bytes()?;
                self.hold_bytes(&text)
            }
            Sys::Sign => match self.pop()? {
                n if n < 0 => self.hold_bytes(b"-"),
                _ => Ok(()),
            },
            _ => self.defining_word(word),
        }
    }

    /// FIND ( c-addr -- c-addr 0 | xt 1 | xt -1 ).
    fn find(&mut self) -> Fallible<()> {
        let address = self.pop()?;
        let len =
            memory::byte(&self.mem, address).ok_or_else(|| Throw::new(code::INVALID_ADDRESS))?;
        let range = memory::range(&self.mem, address + 1, len as i64)
            .ok_or_else(|| Throw::new(code::INVALID_ADDRESS))?;
        match self.dict.find(&self.mem[range]) {
            Some(index) => {
                let word = &self.dict.words[index];
                let flag = if word.immediate { 1 } else { -1 };
                self.push(word.xt as i64)?;
                self.push(flag)
            }
            None => {
                self.push(address)?;
                self.push(0)
            }
        }
    }

    /// >NUMBER ( ud1 c-addr1 u1 -- ud2 c-addr2 u2 ).
    fn convert_number(&mut self) -> Fallible<()> {
        let range = self.pop_range()?;
        let high = self.pop()?;
        let low = self.pop()?;
        let base = self.checked_base()? as u64;
        let start = crate::vm::double(low, high) as u128;
        let (value, used) = parser::accumulate_digits(start, &self.mem[range.clone()], base);
        self.push(value as u64 as i64)?;
        self.push((value >> 64) as u64 as i64)?;
        self.push((range.start + used) as i64)?;
        self.push((range.len() - used) as i64)
    }

    /// ENVIRONMENT? ( c-addr u -- false | i*x true ).
    fn environment(&mut self) -> Fallible<()> {
        let query = self.pop_bytes()?.to_ascii_uppercase();
        let answer: &[i64] = match query.as_slice() {
            b"/COUNTED-STRING" => &[255],
            b"/HOLD" => &[crate::memory::HOLD_BYTES as i64],
            b"/PAD" => &[crate::memory::PAD_BYTES as i64],
            b"ADDRESS-UNIT-BITS" => &[8],
            b"FLOORED" => &[0],
            b"MAX-CHAR" => &[255],
            b"MAX-D" => &[-1, i64::MAX],
            b"MAX-N" => &[i64::MAX],
            b"MAX-U" => &[-1],
            b"MAX-UD" => &[-1, -1],
            b"RETURN-STACK-CELLS" => &[self.machine.rs.len() as i64],
            b"STACK-CELLS" => &[self.machine.ds.len() as i64 - 1],
            b"#LOCALS" => &[crate::locals::MAX_LOCALS as i64],
            b"FLOATING-STACK" => &[self.limits.float_stack_cells as i64],
            b"FLOATING" | b"FLOATING-EXT" => &[-1],
            b"MAX-FLOAT" => return self.fpush(f64::MAX).and_then(|()| self.push(-1)),
            _ => return self.push(0),
        };
        let answer = answer.to_vec();
        answer.into_iter().try_for_each(|value| self.push(value))?;
        self.push(-1)
    }

    fn defining_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::Colon => {
                let (name, column) = self.parse_name_at()?;
                self.begin_definition(Some(name), column).map(|_| ())
            }
            Sys::Semicolon => self.end_definition(),
            Sys::NoName => {
                let xt = self.begin_definition(None, self.to_in())?;
                self.latest = None;
                self.push(xt as i64)
            }
            Sys::Create => self.create_header().map(|_| ()),
            Sys::DoesCompile => self.compile_does(),
            Sys::Variable => {
                let name = self.parse_name()?;
                self.align_here()?;
                let body = self.here as i64;
                self.comma(0)?;
                self.define(name, &[Op::Lit(body)], Kind::Variable { body })
            }
            Sys::Constant => {
                let name = self.parse_name()?;
                let value = self.pop()?;
                self.define(name, &[Op::Lit(value)], Kind::Constant { value })
            }
            Sys::Value => {
                let name = self.parse_name()?;
                let value = self.pop()?;
                self.align_here()?;
                let body = self.here as i64;
                self.comma(value)?;
                self.define(name, &[Op::LitFetch(body)], Kind::Value { body })
            }
            Sys::Defer => {
                let name = self.parse_name()?;
                self.align_here()?;
                let body = self.here as i64;
                self.comma(0)?;
                self.define(name, &[Op::ExecuteAt(body)], Kind::Defer { body })
            }
            Sys::To if self.compile_to_local()? => Ok(()),
            Sys::To | Sys::Is => self.store_into_named(),
            Sys::ActionOf => {
                let body = self.parsed_body()?;
                if self.compiling() {
                    self.emit(Op::LitFetch(body))
                } else {
                    self.push(self.fetch_cell(body)?)
                }
            }
            Sys::DeferFetch => {
                let body = self.xt_body()?;
                self.push(self.fetch_cell(body)?)
            }
            Sys::DeferStore => {
                let body = self.xt_body()?;
                let xt = self.pop()?;
                self.store_cell(body, xt)
            }
            Sys::BufferColon => {
                let size = self.pop()?;
                self.create_header()?;
                self.allot(size)
            }
            Sys::Marker => self.marker(),
            Sys::RunMarker => self.run_marker(),
            _ => self.compiling_word(word),
        }
    }

    /// Adds a word whose code is `ops` followed by `Exit`.
    pub(crate) fn define(&mut self, name: Vec<u8>, ops: &[Op], kind: Kind) -> Fallible<()> {
        if self.definition.is_some() {
            return fail(code::COMPILER_NESTING);
        }
        self.room_for_word(Some(&name), ops.len() + 1)?;
        let xt = self.code.len() as u32;
        self.code.extend_from_slice(ops);
        self.code.push(Op::Exit);
        self.add_word(name, xt, kind);
        Ok(())
    }

    /// CREATE: a word that pushes its (aligned) data field address.
    fn create_header(&mut self) -> Fallible<i64> {
        let name = self.parse_name()?;
        self.align_here()?;
        let body = self.here as i64;
        self.define(name, &[Op::Lit(body)], Kind::Created { body })?;
        Ok(body)
    }

    /// The value cell ([`crate::dictionary::Word::value_cell`]) of the word named next in
    /// the input; -32 for a word without one.
    fn parsed_body(&mut self) -> Fallible<i64> {
        let index = self.find_parsed()?;
        self.dict.words[index]
            .value_cell()
            .ok_or_else(|| Throw::new(code::INVALID_NAME_ARGUMENT))
    }

    /// The value cell of the word whose execution token is on the stack.
    fn xt_body(&mut self) -> Fallible<i64> {
        let xt = self.pop()?;
        let index = self
            .dict
            .by_xt(xt)
            .ok_or_else(|| Throw::new(code::INVALID_XT))?;
        self.dict.words[index]
            .value_cell()
            .ok_or_else(|| Throw::new(code::INVALID_NAME_ARGUMENT))
    }

    /// TO and IS: store into a VALUE's or DEFER's value cell, a 2VALUE or an FVALUE; any
    /// other word is -32.
    fn store_into_named(&mut self) -> Fallible<()> {
        let index = self.find_parsed()?;
        if let Kind::TwoValue { body } = self.dict.words[index].kind {
            return self.store_two_value(body);
        }
        if self.is_float_value(index) {
            return self.store_float_value(index);
        }
        let body = self.dict.words[index]
            .value_cell()
            .ok_or_else(|| Throw::new(code::INVALID_NAME_ARGUMENT))?;
        if self.compiling() {
            return self.emit(Op::LitStore(body));
        }
        let value = self.pop()?;
        self.store_cell(body, value)
    }

    fn marker(&mut self) -> Fallible<()> {
        let name = self.parse_name()?;
        let snapshot = Snapshot {
            words: self.dict.words.len(),
            code: self.code.len(),
            here: self.here,
            latest: self.latest,
            order: self.dict.order().to_vec(),
            current: self.dict.current(),
        };
        let index = self.dict.words.len() as i64;
        self.define(
            name,
            &[Op::Lit(index), Op::Sys(Sys::RunMarker)],
            Kind::Marker(snapshot),
        )
    }

    /// A MARKER word runs: forget it and everything after it, then return to the caller
    /// (the marker's own code is gone).
    fn run_marker(&mut self) -> Fallible<()> {
        let index = self.pop_usize()?;
        let Some(Kind::Marker(snapshot)) = self.dict.words.get(index).map(|w| w.kind.clone())
        else {
            return fail(code::INVALID_NAME_ARGUMENT);
        };
        if self.definition.is_some() {
            return fail(code::COMPILER_NESTING);
        }
        self.dict.truncate(snapshot.words);
        self.dict.set_order(snapshot.order);
        self.dict.set_current(snapshot.current);
        self.code.truncate(snapshot.code);
        self.here = snapshot.here;
        self.latest = snapshot.latest;
        if self.machine.rdepth <= self.machine.rbase {
            return fail(code::RETURN_STACK_UNDERFLOW);
        }
        self.machine.rdepth -= 1;
        self.machine.ip = self.machine.rs[self.machine.rdepth] as u64 as usize;
        Ok(())
    }

    fn compiling_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::Immediate => {
                let index = self
                    .latest
                    .ok_or_else(|| Throw::new(code::INVALID_NAME_ARGUMENT))?;
                self.dict.words[index].immediate = true;
                Ok(())
            }
            Sys::Literal => {
                let value = self.pop()?;
                self.emit(Op::Lit(value))
            }
            Sys::Postpone => {
                let index = self.find_parsed()?;
                if self.dict.words[index].immediate {
                    return self.compile_word(index);
                }
                self.emit(Op::Lit(self.dict.words[index].xt as i64))?;
                self.emit(Op::Sys(Sys::CompileComma))
            }
            Sys::CompileComma => {
                let xt = self.pop()?;
                self.compile_xt(xt)
            }
            Sys::BracketCompile => {
                let index = self.find_parsed()?;
                self.compile_word(index)
            }
            Sys::LeftBracket => {
                self.set_compiling(false);
                Ok(())
            }
            Sys::RightBracket => {
                self.set_compiling(true);
                Ok(())
            }
            Sys::Recurse => self.compile_recurse(),
            Sys::If => self.compile_if(),
            Sys::Else => self.compile_else(),
            Sys::Then => self.compile_then(),
            Sys::Begin => self.compile_begin(),
            Sys::While => self.compile_while(),
            Sys::Repeat => self.compile_repeat(),
            Sys::Until => self.compile_until(),
            Sys::Again => self.compile_again(),
            Sys::Do => self.compile_do(false),
            Sys::QDo => self.compile_do(true),
            Sys::Loop => self.compile_loop(false),
            Sys::PlusLoop => self.compile_loop(true),
            Sys::Leave => self.compile_leave(),
            Sys::Case => self.compile_case(),
            Sys::Of => self.compile_of(),
            Sys::Endof => self.compile_endof(),
            Sys::Endcase => self.compile_endcase(),
            Sys::Exit => {
                self.emit_locals_drop()?;
                self.emit(Op::Exit)
            }
            _ => self.data_space_word(word),
        }
    }

    fn data_space_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::Here => self.push(self.here as i64),
            Sys::Allot => {
                let bytes = self.pop()?;
                self.allot(bytes)
            }
            Sys::Comma => {
                let value = self.pop()?;
                self.comma(value)
            }
            Sys::CComma => {
                let value = self.pop()?;
                self.place_bytes(&[value as u8]).map(|_| ())
            }
            Sys::Align => self.align_here(),
            Sys::Unused => self.push((self.data_space_end() - self.here) as i64),
            Sys::Pad => self.push(self.system_address(PAD_OFFSET) as i64),
            Sys::Decimal => {
                self.set_system_cell(BASE_OFFSET, 10);
                Ok(())
            }
            Sys::Hex => {
                self.set_system_cell(BASE_OFFSET, 16);
                Ok(())
            }
            Sys::ToBody => {
                let xt = self.pop()?;
                let index = self.dict.by_xt(xt).ok_or_else(|| Throw::new(-31))?;
                let body = self.dict.words[index]
                    .body()
                    .ok_or_else(|| Throw::new(-31))?;
                self.push(body)
            }
            other => unreachable_word(other, "host"),
        }
    }

    /// WORDS: the names of the words of the first word list of the search order, newest
    /// first.
    fn words(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let first = self.dict.order().first().copied();
        let indexes = std::iter::successors(first.and_then(|l| self.dict.newest_in(l)), |&i| {
            self.dict.older_in(i)
        });
        let names: Vec<u8> = indexes
            .flat_map(|i| self.dict.words[i].name.iter().copied().chain([b' ']))
            .collect();
        write_output(console, &names)
    }
}

fn counted(text: &[u8]) -> Fallible<Vec<u8>> {
    let len = u8::try_from(text.len()).map_err(|_| Throw::new(code::PARSED_STRING_OVERFLOW))?;
    Ok([len].into_iter().chain(text.iter().copied()).collect())
}

const _: () = assert!(CELL == 8);
