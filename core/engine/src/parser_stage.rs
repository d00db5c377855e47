//! The parser stage's seam: the rest of one line of source as bytes (a [`Line`]), the trait
//! through which a parser built elsewhere (a stage plugin) splits it into tokens and reads
//! their numbers, and the checks its answer passes before the text interpreter uses it.
//!
//! The text interpreter asks for the tokens of its input buffer from `>IN` on and takes them
//! one at a time for as long as nothing else moved `>IN`, changed BASE or the buffer. A
//! parsing word (`:`, `(`, `S"`, `\` ...) moves `>IN`, and the stage is asked again from
//! there: parsing stays interleaved with execution as the standard requires. The parsing
//! words themselves (PARSE-NAME, WORD, PARSE) and floating-point literals keep the built-in
//! parser.
//!
//! A line is, little-endian: the IR version (u32); the source's name (u64 length, bytes;
//! empty in `EVALUATE`d text); the line number (u32, from 1); BASE (u64); where in the text
//! to start (u32); the text (u64 length, bytes). An answer is the IR version (u32), the
//! number of tokens (u32), then each token's offset in the text (u32), its length (u32) and
//! what it reads as in that BASE (u8: 0 not a number, 1 a single cell as an i64, 2 a double
//! cell as its low and high i64). Tokens start at or after the start, are not empty, end
//! within the text and come in order with at least one byte between two of them (the
//! delimiter that `>IN` steps over).

use crate::ir::{DecodeError, IR_VERSION, Reader, write_blob};
use crate::parser;
pub use crate::parser::Number;

/// A parser in another build: takes a line's bytes, answers its tokens' bytes or why it
/// could not. The engine checks the answer ([`Line::check_answer`]) and parses a line whose
/// answer fails with its own parser, reporting why ([`crate::Forth::take_stage_faults`]).
pub trait ParserStage: Send + Sync {
    fn tokens(&self, line: &[u8]) -> Result<Vec<u8>, String>;
}

/// The rest of one line of source on its way through the parser stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The source's name; empty in `EVALUATE`d text.
    pub source: Vec<u8>,
    pub line: u32,
    pub base: u64,
    /// Where in `text` parsing starts (`>IN`).
    pub from: u32,
    pub text: Vec<u8>,
}

/// A token of a line: where it is in the line's text, and its value when it is a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineToken {
    pub start: u32,
    pub len: u32,
    pub number: Option<Number>,
}

impl LineToken {
    /// The offset just past the token.
    pub fn end(self) -> usize {
        self.start as usize + self.len as usize
    }
}

/// The longest rest of a line a stage is asked about: the built-in parser reads a longer
/// one until the rest is this short, so that the copies and the answer a line costs stay
/// bounded however long it is.
pub const MAX_STAGED_BYTES: usize = 1 << 20;

/// The most bytes of one line of `len` bytes sent to a stage, over all the questions about
/// it (a BASE change, or `>IN` moved back or into a token, makes the interpreter ask again
/// from where `>IN` is): beyond this, the built-in parser reads the rest of the line, so
/// that a line of many BASE changes costs a bounded multiple of its length, not its length
/// squared.
pub fn line_budget(len: usize) -> usize {
    len.saturating_mul(16).saturating_add(64 << 10)
}

/// The bytes one encoded token takes at least: offset, length and number tag.
const MIN_TOKEN_BYTES: usize = 4 + 4 + 1;

impl Line {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.source.len() + self.text.len() + 40);
        out.extend(IR_VERSION.to_le_bytes());
        write_blob(&self.source, &mut out);
        out.extend(self.line.to_le_bytes());
        out.extend(self.base.to_le_bytes());
        out.extend(self.from.to_le_bytes());
        write_blob(&self.text, &mut out);
        out
    }

    /// Reads a line, refusing another IR version, a start past the end, truncation and
    /// trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Line, DecodeError> {
        let mut reader = Reader::new(bytes);
        reader.ir_version()?;
        let source = reader.blob()?.to_vec();
        let line = reader.u32()?;
        let base = reader.u64()?;
        let from = reader.u32()?;
        let text = reader.blob()?.to_vec();
        if from as usize > text.len() {
            return Err(refused(format!(
                "start {from} is past the end of a line of {} bytes",
                text.len()
            )));
        }
        reader.finish()?;
        Ok(Line {
            source,
            line,
            base,
            from,
            text,
        })
    }

    /// The built-in parser's tokens of the line: blank-delimited, numbers read with
    /// `number` (the built-in reading is [`builtin_number`]).
    pub fn tokens(&self, number: &dyn Fn(&[u8], u64) -> Option<Number>) -> Vec<LineToken> {
        let mut tokens = Vec::new();
        let mut at = self.from as usize;
        loop {
            let (token, next) = parser::parse_word(&self.text, at, b' ');
            if token.len == 0 {
                return tokens;
            }
            let bytes = &self.text[token.start..token.start + token.len];
            tokens.push(LineToken {
                start: token.start as u32,
                len: token.len as u32,
                number: number(bytes, self.base),
            });
            at = next;
        }
    }

    /// Decodes a stage's answer to this line and checks every token against it.
    pub fn check_answer(&self, answer: &[u8]) -> Result<Vec<LineToken>, DecodeError> {
        let mut reader = Reader::new(answer);
        reader.ir_version()?;
        let count = reader.u32()? as usize;
        if count.saturating_mul(MIN_TOKEN_BYTES) > answer.len() {
            return Err(refused(format!("{count} tokens in {} bytes", answer.len())));
        }
        let mut tokens = Vec::with_capacity(count);
        let mut earliest = self.from as usize;
        for index in 0..count {
            let token = read_token(&mut reader)?;
            let (start, end) = (token.start as usize, token.end());
            if token.len == 0 || start < earliest || end > self.text.len() {
                return Err(refused(format!(
                    "token {index} at {start}..{end} is empty, overlaps the one before or lies \
                     outside {earliest}..{}",
                    self.text.len()
                )));
            }
            earliest = end + 1;
            tokens.push(token);
        }
        reader.finish()?;
        Ok(tokens)
    }
}

/// The encoding of an answer.
pub fn encode_tokens(tokens: &[LineToken]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + tokens.len() * (MIN_TOKEN_BYTES + 16));
    out.extend(IR_VERSION.to_le_bytes());
    out.extend((tokens.len() as u32).to_le_bytes());
    for token in tokens {
        out.extend(token.start.to_le_bytes());
        out.extend(token.len.to_le_bytes());
        encode_number(token.number, &mut out);
    }
    out
}

/// How the built-in parser reads a token as a number in `base`: `'c'`, the prefixes `#`,
/// `$` and `%`, a leading `-` and a trailing `.` for a double cell.
pub fn builtin_number(token: &[u8], base: u64) -> Option<Number> {
    parser::parse_number(token, base)
}

/// The answer of a parser over the seam: the line decoded, split as the built-in parser
/// splits it, numbers read by `number`. What a parser stage plugin answers.
pub fn parse_line(
    line: &[u8],
    number: &dyn Fn(&[u8], u64) -> Option<Number>,
) -> Result<Vec<u8>, String> {
    let line = Line::decode(line).map_err(|error| error.to_string())?;
    Ok(encode_tokens(&line.tokens(number)))
}

/// The line a stage plugin's self-test parses, and the built-in answer to it.
pub fn probe() -> (Line, Vec<LineToken>) {
    let line = Line {
        source: b"probe".to_vec(),
        line: 1,
        base: 16,
        from: 2,
        text: b"\\ : t ff -1. $10 'a' dup ; \t".to_vec(),
    };
    let tokens = line.tokens(&builtin_number);
    (line, tokens)
}

/// Where the text interpreter is in its input: a parser stage's answer serves the tokens
/// that follow only from where the last of them left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputPosition {
    /// How many sources are nested, and the current one's line.
    pub sources: usize,
    pub line: u32,
    /// The input buffer's address and length.
    pub buffer: usize,
    pub len: usize,
    pub base: i64,
    pub to_in: usize,
}

impl InputPosition {
    fn same_line(self, other: InputPosition) -> bool {
        (self.sources, self.line, self.buffer, self.len)
            == (other.sources, other.line, other.buffer, other.len)
    }
}

/// The parser stage's answer for the rest of the current line, taken a token at a time.
#[derive(Debug, Clone)]
pub struct StagedLine {
    /// Where the question was asked from: input that comes back there unchanged (`0 >IN !`)
    /// takes the same answer again instead of asking the same question.
    asked: InputPosition,
    /// Where the next token is taken from.
    at: InputPosition,
    /// The line as it was asked about, so that a token is only taken while the bytes it
    /// was read from are unchanged.
    text: Vec<u8>,
    tokens: Vec<LineToken>,
    /// The index in `tokens` of the next token.
    next: usize,
    /// Set when the stage gave no usable answer: the built-in parser reads the line.
    built_in: bool,
    /// The bytes of this line sent to the stage so far, this answer's question included.
    sent: usize,
}

/// What the text interpreter does next, by a [`StagedLine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staged {
    /// Takes this token and sets `>IN` past its delimiter.
    Token(LineToken),
    /// Ends the line (`>IN` at its end).
    End,
    /// Reads the next token with the built-in parser.
    BuiltIn,
}

impl StagedLine {
    /// The stage's tokens of `text` (the input buffer at `at`), after `sent` bytes of the
    /// line went to the stage.
    pub fn answered(
        at: InputPosition,
        text: Vec<u8>,
        tokens: Vec<LineToken>,
        sent: usize,
    ) -> StagedLine {
        StagedLine {
            asked: at,
            at,
            text,
            tokens,
            next: 0,
            built_in: false,
            sent,
        }
    }

    /// No usable answer for the line at `at`.
    pub fn refused(at: InputPosition) -> StagedLine {
        StagedLine {
            built_in: true,
            ..StagedLine::answered(at, Vec::new(), Vec::new(), 0)
        }
    }

    /// The tokens still to be taken when the next one would be taken at `at` (none when
    /// this answer does not serve there); the bytes are compared as they are taken.
    pub fn upcoming(&self, at: InputPosition) -> impl Iterator<Item = LineToken> + '_ {
        let serves = !self.built_in && at == self.at;
        let upcoming = if serves {
            &self.tokens[self.next..]
        } else {
            &[]
        };
        upcoming.iter().copied()
    }

    /// The bytes of the line at `at` that went to the stage so far (0 for another line).
    pub fn sent_on(&self, at: InputPosition) -> usize {
        if self.at.same_line(at) { self.sent } else { 0 }
    }

    /// Takes the answer from its start again when the input came back, unchanged, to where
    /// the question was asked from: the question would be the same.
    fn rewind(&mut self, at: InputPosition, text: &[u8]) -> bool {
        let same = at == self.asked && text == self.text;
        if same {
            (self.at, self.next) = (self.asked, 0);
        }
        same
    }

    /// Skips the tokens a parsing word took when it moved `>IN` forward on this line, BASE
    /// unchanged: the answer serves on from its first token after `>IN`, unless `>IN` is
    /// inside a token (a stage's tokens from a place outside them are those of its answer
    /// from any earlier place).
    fn skip_to(&mut self, at: InputPosition) -> bool {
        let forward = self.at.same_line(at) && at.base == self.at.base && at.to_in > self.at.to_in;
        if !forward {
            return false;
        }
        let skipped = self.tokens[self.next..]
            .iter()
            .take_while(|token| token.end() <= at.to_in)
            .count();
        let next = self.next + skipped;
        if self
            .tokens
            .get(next)
            .is_some_and(|token| (token.start as usize) < at.to_in)
        {
            return false;
        }
        (self.at.to_in, self.next) = (at.to_in, next);
        true
    }

    /// The next step at `at`, the input buffer holding `text`; `None` when this answer does
    /// not serve there (the stage is asked again). Bytes are compared as far as the next
    /// token's delimiter, each once per answer, and the whole line when the input comes
    /// back to where the question was asked from.
    pub fn next(&mut self, at: InputPosition, text: &[u8]) -> Option<Staged> {
        if self.built_in {
            return self.at.same_line(at).then_some(Staged::BuiltIn);
        }
        if at != self.at && !self.rewind(at, text) && !self.skip_to(at) {
            return None;
        }
        let token = self.tokens.get(self.next).copied();
        let upto = token.map_or(text.len(), |token| (token.end() + 1).min(text.len()));
        if text.get(at.to_in..upto) != self.text.get(at.to_in..upto) {
            return None;
        }
        self.at.to_in = upto;
        Some(match token {
            Some(token) => {
                self.next += 1;
                Staged::Token(token)
            }
            None => Staged::End,
        })
    }
}

fn read_token(reader: &mut Reader<'_>) -> Result<LineToken, DecodeError> {
    let start = reader.u32()?;
    let len = reader.u32()?;
    let number = read_number(reader)?;
    Ok(LineToken { start, len, number })
}

/// A token's value as a number, as the stages' encodings write it: a u8 (0 none, 1 a single
/// cell, 2 a double cell), then the cells as i64, low first.
pub(crate) fn encode_number(number: Option<Number>, out: &mut Vec<u8>) {
    match number {
        None => out.push(0),
        Some(Number::Single(value)) => {
            out.push(1);
            out.extend(value.to_le_bytes());
        }
        Some(Number::Double(low, high)) => {
            out.push(2);
            out.extend(low.to_le_bytes());
            out.extend(high.to_le_bytes());
        }
    }
}

/// Reads what [`encode_number`] wrote.
pub(crate) fn read_number(reader: &mut Reader<'_>) -> Result<Option<Number>, DecodeError> {
    Ok(match reader.u8()? {
        0 => None,
        1 => Some(Number::Single(reader.i64()?)),
        2 => Some(Number::Double(reader.i64()?, reader.i64()?)),
        tag => return Err(refused(format!("unknown number tag {tag}"))),
    })
}

fn refused(why: String) -> DecodeError {
    DecodeError(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_round_trips_and_splits_as_the_interpreter_does() {
        let (line, tokens) = probe();
        assert_eq!(Line::decode(&line.encode()), Ok(line.clone()));
        let words: Vec<&[u8]> = tokens
            .iter()
            .map(|token| &line.text[token.start as usize..token.end()])
            .collect();
        assert_eq!(
            words,
            [&b":"[..], b"t", b"ff", b"-1.", b"$10", b"'a'", b"dup", b";"]
        );
        let numbers: Vec<Option<Number>> = tokens.iter().map(|token| token.number).collect();
        assert_eq!(
            numbers,
            [
                None,
                None,
                Some(Number::Single(255)),
                Some(Number::Double(-1, -1)),
                Some(Number::Single(16)),
                Some(Number::Single(97)),
                None,
                None
            ]
        );
        let answer = parse_line(&line.encode(), &builtin_number).unwrap();
        assert_eq!(line.check_answer(&answer), Ok(tokens));
    }

    #[test]
    fn answers_that_would_mislead_the_interpreter_are_refused() {
        let (line, tokens) = probe();
        let with = |change: &dyn Fn(&mut Vec<LineToken>)| {
            let mut changed = tokens.clone();
            change(&mut changed);
            line.check_answer(&encode_tokens(&changed))
        };
        let refused = |result: Result<Vec<LineToken>, DecodeError>| result.unwrap_err().0;
        assert!(refused(with(&|t| t[0].len = 0)).contains("token 0"));
        assert!(refused(with(&|t| t[0].start = 0)).contains("outside 2.."));
        assert!(refused(with(&|t| t[7].len = 100)).contains("token 7"));
        assert!(refused(with(&|t| t[2].start = t[1].start)).contains("overlaps"));
        assert!(refused(with(&|t| t[2].start = t[1].end() as u32)).contains("token 2"));
        let mut answer = encode_tokens(&tokens);
        answer.push(0);
        assert_eq!(refused(line.check_answer(&answer)), "trailing bytes");
        let answer = encode_tokens(&tokens);
        assert_eq!(
            refused(line.check_answer(&answer[..answer.len() - 1])),
            "truncated"
        );
        let mut answer = encode_tokens(&tokens);
        answer[0] ^= 1;
        assert!(refused(line.check_answer(&answer)).starts_with("IR version"));
        let mut huge = encode_tokens(&[]);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(refused(line.check_answer(&huge)).contains("tokens in"));
    }

    #[test]
    fn a_line_whose_start_lies_past_its_end_is_refused() {
        let (mut line, _) = probe();
        line.from = line.text.len() as u32 + 1;
        assert!(Line::decode(&line.encode()).is_err());
        line.from = line.text.len() as u32;
        assert_eq!(
            line.check_answer(&encode_tokens(&[])),
            Ok(Vec::new()),
            "nothing left to parse"
        );
    }
}
