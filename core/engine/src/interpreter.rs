//! The outer interpreter: input sources (host text, files, EVALUATE strings), the text
//! interpreter loop, and error positions.

use crate::compiler_stage::Action;
use crate::console::{Console, output_error};
use crate::engine::{Flow, Forth, MAX_SOURCE_NESTING};
use crate::error::{Fallible, ForthError, Stop, Throw, code, fail};
use crate::input_source::{Source, SourceKind};
use crate::ir::Op;
use crate::parser::{self, Number};
use crate::parser_stage::{
    InputPosition, Line, MAX_STAGED_BYTES, ParserStage, Staged, StagedLine, line_budget,
};
use std::io::Read;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

/// Removes the UTF-8 byte order mark, which some editors start a file with, from the start
/// of a program's text: it is no word. Every reader of a program file does this (INCLUDED
/// here, the CLI for a file it hands an engine plugin or `compile`).
pub fn strip_byte_order_mark(text: &mut Vec<u8>) {
    const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
    if text.starts_with(UTF8_BOM) {
        text.drain(..UTF8_BOM.len());
    }
}

impl Forth {
    /// Interprets source text; source_name is used in error positions.
    pub fn evaluate(
        &mut self,
        source: &str,
        source_name: &str,
        console: &mut dyn Console,
    ) -> Result<Flow, ForthError> {
        self.evaluate_bytes(source.as_bytes(), source_name, console)
    }

    /// [`Forth::evaluate`] for source that need not be UTF-8: like a file, source is bytes.
    pub fn evaluate_bytes(
        &mut self,
        source: &[u8],
        source_name: &str,
        console: &mut dyn Console,
    ) -> Result<Flow, ForthError> {
        self.machine.steps_left = self.limits.max_steps.unwrap_or(u64::MAX);
        let result =
            self.interpret_text(source.into(), source_name.into(), SourceKind::User, console);
        let flushed = console.flush().map_err(output_error);
        self.finish(result.and(flushed))
    }

    /// INCLUDED semantics for a file path (file not found is a ForthError with code -38
    /// naming the path). A whole program file, unlike a line: one that ends inside a
    /// definition it began is -39.
    pub fn include_file(
        &mut self,
        path: &std::path::Path,
        console: &mut dyn Console,
    ) -> Result<Flow, ForthError> {
        self.machine.steps_left = self.limits.max_steps.unwrap_or(u64::MAX);
        let open_before = self.definition.is_some();
        let result = self
            .include_path(path, console)
            .and_then(|()| match open_before {
                true => Ok(()),
                false => self.finished_source(&path.display().to_string()),
            });
        let flushed = console.flush().map_err(output_error);
        self.finish(result.and(flushed))
    }

    /// Ends a program's source `source_name` (its last file, its `-e` code): -39 when it
    /// left a definition open.
    pub fn end_of_program(&self, source_name: &str) -> Result<(), ForthError> {
        self.finished_source(source_name).map_err(Throw::into_error)
    }

    fn finished_source(&self, source_name: &str) -> Fallible<()> {
        if self.pending_skip.is_some() {
            let message = "unexpected end of input inside [IF] or [ELSE], before its [THEN]";
            return Err(
                Throw::with_message(code::UNEXPECTED_EOF, message.to_owned()).in_word(source_name),
            );
        }
        let Some(definition) = &self.definition else {
            return Ok(());
        };
        let name = String::from_utf8_lossy(definition.name.as_deref().unwrap_or(b":NONAME"));
        let message = format!("unexpected end of file inside the definition of {name}");
        Err(Throw::with_message(code::UNEXPECTED_EOF, message).in_word(source_name))
    }

    fn finish(&mut self, result: Fallible<()>) -> Result<Flow, ForthError> {
        match result {
            Ok(()) => Ok(Flow::Continue),
            Err(throw) if throw.stop == Some(Stop::Bye) => Ok(Flow::Bye),
            Err(throw) if throw.stop == Some(Stop::Quit) => {
                self.machine.rdepth = 0;
                self.set_compiling(false);
                self.definition = None;
                self.pending_skip = None;
                Ok(Flow::Continue)
            }
            Err(throw) => Err(throw.into_error()),
        }
    }

    /// INCLUDED, and a program file: interprets the file at `path` from its start.
    pub(crate) fn include_path(
        &mut self,
        path: &std::path::Path,
        console: &mut dyn Console,
    ) -> Fallible<()> {
        let resolved = self.resolve_path(path);
        let mut text = self.read_source(path, &resolved)?;
        strip_byte_order_mark(&mut text);
        self.files.note_included(&resolved);
        let id = self.sources.len() as i64 + 1;
        let name: Rc<str> = resolved.display().to_string().into();
        self.interpret_text(text.into(), name, SourceKind::File(id), console)
    }

    /// The bytes of a source file: -38 when it does not exist, -37 when it cannot be opened
    /// or read or is larger than [`crate::Limits::max_source_bytes`] (read no further than
    /// that).
    fn read_source(&self, path: &Path, resolved: &Path) -> Fallible<Vec<u8>> {
        let shown = path.display().to_string();
        let mut reading = std::fs::OpenOptions::new();
        reading.read(true);
        let file = crate::sandbox::open(resolved, &reading, self.bounded()).map_err(|error| {
            let (code, message) = match error.kind() {
                std::io::ErrorKind::NotFound => (
                    code::FILE_NOT_FOUND,
                    format!("non-existent file: {shown} ({error})"),
                ),
                _ => (code::FILE_IO, format!("cannot open {shown}: {error}")),
            };
            Throw::with_message(code, message).in_word(&shown)
        })?;
        let cap = self.limits.max_source_bytes;
        let mut text = Vec::new();
        let read = file
            .take((cap as u64).saturating_add(1))
            .read_to_end(&mut text);
        let problem = match read {
            Err(error) => format!("cannot read {shown} ({error})"),
            Ok(_) if text.len() > cap => {
                format!("{shown} is larger than the source size limit of {cap} bytes")
            }
            Ok(_) => return Ok(text),
        };
        Err(Throw::with_message(code::FILE_IO, problem).in_word(&shown))
    }

    /// A relative path is looked up from the current directory, then from the directory
    /// of the file being included.
    pub(crate) fn resolve_path(&self, path: &std::path::Path) -> std::path::PathBuf {
        if path.is_absolute() || path.exists() {
            return path.to_path_buf();
        }
        let including = self
            .sources
            .iter()
            .rev()
            .find(|s| matches!(s.kind, SourceKind::File(_)));
        match including.and_then(|s| {
            std::path::Path::new(&*s.name)
                .parent()
                .map(|dir| dir.join(path))
        }) {
            Some(candidate) if candidate.exists() => candidate,
            _ => path.to_path_buf(),
        }
    }

    fn push_source(&mut self, source: Source) -> Fallible<()> {
        if self.sources.len() >= MAX_SOURCE_NESTING {
            return fail(code::NESTING_TOO_DEEP);
        }
        self.sources.push(source);
        self.staged_line = None;
        self.sync_blk();
        Ok(())
    }

    /// Ends every source above the first `keep`, restoring >IN and the memory they used.
    pub(crate) fn restore_sources(&mut self, keep: usize) {
        while self.sources.len() > keep {
            self.pop_source();
        }
    }

    fn pop_source(&mut self) {
        self.staged_line = None;
        if let Some(source) = self.sources.pop() {
            if source.kind != SourceKind::Evaluate {
                self.mem.truncate(source.buffer.max(self.system_end()));
            }
            self.set_to_in(source.saved_to_in);
        }
        self.sync_blk();
    }

    /// INCLUDE-FILE: interprets the text read from an open file.
    pub(crate) fn interpret_file_text(
        &mut self,
        text: Vec<u8>,
        name: String,
        fileid: i64,
        console: &mut dyn Console,
    ) -> Fallible<()> {
        self.interpret_text(text.into(), name.into(), SourceKind::File(fileid), console)
    }

    /// Interprets a line-based text (host text or a file) to its end.
    pub(crate) fn interpret_text(
        &mut self,
        text: Rc<[u8]>,
        name: Rc<str>,
        kind: SourceKind,
        console: &mut dyn Console,
    ) -> Fallible<()> {
        let source = Source {
            kind,
            name,
            text,
            line_start: 0,
            next_line: 0,
            line: 0,
            first_line: 1,
            buffer: self.mem.len(),
            len: 0,
            saved_to_in: self.to_in(),
        };
        self.push_source(source)?;
        let keep = self.sources.len() - 1;
        let result = self.interpret_lines(console);
        self.restore_sources(keep);
        result
    }

    /// Each line read is a step, so that a huge text of blank or comment lines is bounded
    /// by the budget like one of words.
    /// The host's text (the user input device) first goes on with a skip for [IF] that the
    /// end of its previous text interrupted.
    fn interpret_lines(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let host_text = self.sources.len() == 1
            && self.sources.last().map(|source| &source.kind) == Some(&SourceKind::User);
        while self.refill_line() {
            self.take_step()
                .map_err(|throw| self.locate_line_start(throw))?;
            if host_text {
                self.resume_skip()?;
            }
            self.interpret_buffer(console)?;
        }
        Ok(())
    }

    /// EVALUATE: interprets a string of memory in place.
    pub(crate) fn evaluate_range(
        &mut self,
        address: usize,
        len: usize,
        console: &mut dyn Console,
    ) -> Fallible<()> {
        let outer = self.sources.last();
        let name = outer.map_or_else(|| Rc::from("(evaluate)"), |s| s.name.clone());
        let source = Source {
            kind: SourceKind::Evaluate,
            name,
            text: Rc::from(Vec::new()),
            line_start: 0,
            next_line: 0,
            line: outer.map_or(1, |s| s.line),
            first_line: 1,
            buffer: address,
            len,
            saved_to_in: self.to_in(),
        };
        self.push_source(source)?;
        self.set_to_in(0);
        let keep = self.sources.len() - 1;
        let result = self.interpret_buffer(console);
        self.restore_sources(keep);
        result
    }

    /// REFILL for line-based sources: makes the next line the input buffer. False at the
    /// end of the text and for EVALUATE strings.
    pub(crate) fn refill_line(&mut self) -> bool {
        let Some(source) = self.sources.last() else {
            return false;
        };
        if source.kind == SourceKind::Evaluate || source.next_line >= source.text.len() {
            return false;
        }
        let text = source.text.clone();
        let start = source.next_line;
        let block = matches!(source.kind, SourceKind::Block(_));
        let end = text[start..]
            .iter()
            .position(|&b| b == b'\n' && !block)
            .map_or(text.len(), |n| start + n);
        let line = text[start..end]
            .strip_suffix(b"\r")
            .unwrap_or(&text[start..end]);
        let buffer = source.buffer;
        self.mem.truncate(buffer);
        self.mem.extend_from_slice(line);
        let len = line.len();
        if let Some(source) = self.sources.last_mut() {
            source.line_start = start;
            source.next_line = end + 1;
            source.line += 1;
            source.len = len;
        }
        self.set_to_in(0);
        // A new line: no answer about the one before serves it, refused or not.
        self.staged_line = None;
        true
    }

    /// The current input buffer's address and length.
    pub(crate) fn input_buffer(&self) -> (usize, usize) {
        self.sources
            .last()
            .map_or((self.system_end(), 0), |s| (s.buffer, s.len))
    }

    /// Parses the next token with the given delimiter (skipping leading delimiters).
    pub(crate) fn parse_token(&mut self, delimiter: u8) -> parser::Token {
        let (buffer, len) = self.input_buffer();
        let line = &self.mem[buffer..buffer + len];
        let (token, next) = parser::parse_word(line, self.to_in(), delimiter);
        self.set_to_in(next);
        parser::Token {
            start: buffer + token.start,
            len: token.len,
        }
    }

    /// Parses up to the delimiter without skipping leading delimiters.
    pub(crate) fn parse_delimited(&mut self, delimiter: u8) -> parser::Token {
        let (buffer, len) = self.input_buffer();
        let line = &self.mem[buffer..buffer + len];
        let (token, next) = parser::parse_until(line, self.to_in(), delimiter);
        self.set_to_in(next);
        parser::Token {
            start: buffer + token.start,
            len: token.len,
        }
    }

    /// The next blank-delimited name; -16 when the line has none.
    pub(crate) fn parse_name(&mut self) -> Fallible<Vec<u8>> {
        self.parse_name_at().map(|(name, _)| name)
    }

    /// Parses a name; also answers where in the input buffer it starts (from 0).
    pub(crate) fn parse_name_at(&mut self) -> Fallible<(Vec<u8>, usize)> {
        let (buffer, _) = self.input_buffer();
        let token = self.parse_token(b' ');
        if token.len == 0 {
            return fail(code::ZERO_LENGTH_NAME);
        }
        let name = self.mem[token.start..token.start + token.len].to_vec();
        Ok((name, token.start - buffer))
    }

    fn interpret_buffer(&mut self, console: &mut dyn Console) -> Fallible<()> {
        loop {
            let (token, number) = self.next_token();
            if token.len == 0 {
                return Ok(());
            }
            let name = self.mem[token.start..token.start + token.len].to_vec();
            let column = token.start - self.input_buffer().0;
            self.take_step()
                .and_then(|()| self.interpret_token(&name, token.start, number, console))
                .map_err(|throw| self.locate(throw, &name, column))?;
        }
    }

    /// The text interpreter's next token, from the parser stage's answer for the line when
    /// a stage is set and answered usably, else from the built-in parser; with the token's
    /// value as a number when the stage read it.
    fn next_token(&mut self) -> (parser::Token, Option<Option<Number>>) {
        if self.parser_stage.is_some()
            && let Some(staged) = self.staged_token()
        {
            return staged;
        }
        (self.parse_token(b' '), None)
    }

    /// The next token from the parser stage's answer for the line (asked for when the one
    /// held does not serve here), or `None` for the built-in parser: the stage gave no
    /// usable answer for this line, or the rest of the line is longer than
    /// [`MAX_STAGED_BYTES`].
    fn staged_token(&mut self) -> Option<(parser::Token, Option<Option<Number>>)> {
        let at = self.input_position();
        let rest = at.len - at.to_in.min(at.len);
        if rest > MAX_STAGED_BYTES {
            return None;
        }
        let mut staged = self.staged_line.take();
        let range = at.buffer..at.buffer + at.len;
        let mut next = staged
            .as_mut()
            .and_then(|line| line.next(at, &self.mem[range.clone()]));
        if next.is_none() {
            let sent = staged.as_ref().map_or(0, |line| line.sent_on(at)) + rest;
            let asked = if sent > line_budget(at.len) {
                self.stage_fault(
                    at,
                    "asked about it again and again (BASE changed, or >IN moved back or into a token)",
                )
            } else {
                self.ask_parser_stage(at, sent)
            };
            next = staged.insert(asked).next(at, &self.mem[range]);
        }
        self.staged_line = staged;
        match next? {
            Staged::Token(token) => {
                self.set_to_in((token.end() + 1).min(at.len));
                let start = at.buffer + token.start as usize;
                let len = token.len as usize;
                Some((parser::Token { start, len }, Some(token.number)))
            }
            Staged::End => {
                self.set_to_in(at.len);
                let end = at.buffer + at.len;
                Some((parser::Token { start: end, len: 0 }, None))
            }
            Staged::BuiltIn => None,
        }
    }

    pub(crate) fn input_position(&self) -> InputPosition {
        let (buffer, len) = self.input_buffer();
        InputPosition {
            sources: self.sources.len(),
            line: self.sources.last().map_or(0, |source| source.line),
            buffer,
            len,
            base: self.base(),
            to_in: self.to_in(),
        }
    }

    /// The parser stage's answer for the input buffer from `at` on, checked, `sent` bytes of
    /// the line asked about in all; a line whose answer fails the checks is read by the
    /// built-in parser, and why is kept.
    fn ask_parser_stage(&mut self, at: InputPosition, sent: usize) -> StagedLine {
        let source = self.sources.last();
        let line = Line {
            source: source
                .filter(|source| source.kind != SourceKind::Evaluate)
                .map_or_else(Vec::new, |source| source.name.as_bytes().to_vec()),
            line: at.line,
            base: u64::try_from(at.base).unwrap_or(0),
            from: at.to_in.min(at.len) as u32,
            text: self.mem[at.buffer..at.buffer + at.len].to_vec(),
        };
        let Some(stage) = self.parser_stage.clone() else {
            return StagedLine::refused(at);
        };
        let answer = stage.tokens(&line.encode()).and_then(|answer| {
            line.check_answer(&answer)
                .map_err(|error| format!("answer refused: {error}"))
        });
        match answer {
            Ok(tokens) => StagedLine::answered(at, line.text, tokens, sent),
            Err(reason) => self.stage_fault(at, &reason),
        }
    }

    /// Keeps why the parser stage gave no usable answer for the line at `at`, which the
    /// built-in parser reads from here on.
    fn stage_fault(&mut self, at: InputPosition, reason: &str) -> StagedLine {
        let file = match self.sources.last() {
            Some(source) if source.kind != SourceKind::Evaluate => source.name.to_string(),
            _ => "EVALUATE".to_owned(),
        };
        self.push_stage_fault(format!(
            "the parser stage gave no usable answer for line {} of {file}: {reason}; the \
             built-in parser read it",
            at.line
        ));
        StagedLine::refused(at)
    }

    /// Sets the parser stage that splits the text interpreter's input from now on (`None`:
    /// the built-in parser).
    pub fn set_parser_stage(&mut self, stage: Option<Arc<dyn ParserStage>>) {
        self.parser_stage = stage;
        self.staged_line = None;
    }

    /// One step of the budget per interpreted token, so that source which re-reads itself
    /// (`0 >IN !`) is bounded like a loop; an interrupt stops it here too.
    fn take_step(&mut self) -> Fallible<()> {
        self.check_interrupt()?;
        match self.machine.steps_left.checked_sub(1) {
            Some(left) => {
                self.machine.steps_left = left;
                Ok(())
            }
            None => fail(code::STEP_BUDGET_EXHAUSTED),
        }
    }

    /// Adds the start of the current line as the position of an error raised before any of
    /// its words (the step that reading a line costs).
    fn locate_line_start(&self, mut throw: Throw) -> Throw {
        if throw.location.is_none() {
            throw.location = self.source_position(0);
        }
        throw
    }

    /// Adds the word and position to an error passing through this source.
    fn locate(&self, mut throw: Throw, name: &[u8], column: usize) -> Throw {
        if throw.word.is_none() {
            throw.word = Some(String::from_utf8_lossy(name).into_owned());
        }
        if throw.location.is_none() {
            throw.location = self.source_position(column);
        }
        throw
    }

    /// Interprets one token, at address `start` of the input buffer; `staged` is its value
    /// as a number when the parser stage read it (`None`: the built-in parser reads it here,
    /// if the dictionary has no such word). While compiling, a compiler stage says what to
    /// compile for it, or leaves it to what follows.
    fn interpret_token(
        &mut self,
        name: &[u8],
        start: usize,
        staged: Option<Option<Number>>,
        console: &mut dyn Console,
    ) -> Fallible<()> {
        if self.compiler_stage.is_some() && self.compiling() {
            match self.staged_action(name, start, staged) {
                Some(Action::Compile(ops)) => {
                    return ops.into_iter().try_for_each(|op| self.emit(op));
                }
                Some(Action::Undefined) => return fail(code::UNDEFINED_WORD),
                Some(Action::Engine) | None => {}
            }
        }
        if self.compile_local(name)? {
            return Ok(());
        }
        if let Some(index) = self.dict.find(name) {
            let word = &self.dict.words[index];
            let compiling = self.compiling();
            return if compiling && !word.immediate {
                self.compile_word(index)
            } else if !compiling && word.compile_only {
                fail(code::COMPILE_ONLY)
            } else {
                self.execute_xt(word.xt as i64, console)
            };
        }
        let base = u64::try_from(self.base()).unwrap_or(0);
        let number = staged.unwrap_or_else(|| parser::parse_number(name, base));
        match number {
            Some(number) => self.literal(number),
            None => self
                .float_token(name)
                .unwrap_or_else(|| fail(code::UNDEFINED_WORD)),
        }
    }

    fn literal(&mut self, number: Number) -> Fallible<()> {
        let cells = match number {
            Number::Single(value) => vec![value],
            Number::Double(low, high) => vec![low, high],
        };
        for cell in cells {
            if self.compiling() {
                self.emit(Op::Lit(cell))?
            } else {
                self.push(cell)?
            }
        }
        Ok(())
    }

    /// SOURCE-ID.
    pub(crate) fn source_id(&self) -> i64 {
        match self.sources.last().map(|s| &s.kind) {
            Some(SourceKind::File(id)) => *id,
            Some(SourceKind::Evaluate) => -1,
            _ => 0,
        }
    }

    /// SAVE-INPUT: ( -- line-offset line >IN 3 ).
    pub(crate) fn save_input(&mut self) -> Fallible<()> {
        if self.in_block() {
            return self.save_block_input();
        }
        let (start, line) = self
            .sources
            .last()
            .map_or((0, 0), |s| (s.line_start, s.line));
        self.push(start as i64)?;
        self.push(line as i64)?;
        self.push(self.to_in() as i64)?;
        self.push(3)
    }

    /// RESTORE-INPUT: ( line-offset line >IN 3 -- flag ), flag false on success.
    pub(crate) fn restore_input(&mut self) -> Fallible<()> {
        if self.in_block() {
            return self.restore_block_input();
        }
        let count = self.pop()?;
        if count != 3 {
            (0..count.max(0)).try_for_each(|_| self.pop().map(|_| ()))?;
            return self.push(-1);
        }
        let to_in = self.pop_usize()?;
        let line = self.pop()?;
        let start = self.pop_usize()?;
        let line_based = self
            .sources
            .last()
            .is_some_and(|s| s.kind != SourceKind::Evaluate);
        if line_based
            && self
                .sources
                .last()
                .is_some_and(|s| line < i64::from(s.first_line))
        {
            return self.push(-1);
        }
        if line_based && self.sources.last().is_some_and(|s| s.line_start != start) {
            if let Some(source) = self.sources.last_mut() {
                source.next_line = start;
                source.line = (line as u32).saturating_sub(1);
            }
            self.refill_line();
        }
        self.set_to_in(to_in);
        self.push(0)
    }
}
