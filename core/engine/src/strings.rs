//! The String word set: -TRAILING, CMOVE, CMOVE>, COMPARE, SEARCH, SLITERAL and the
//! text substitution words REPLACES, SUBSTITUTE and UNESCAPE. (`/STRING` and `BLANK` are
//! instruction sequences in the built-in word table.)
//!
//! Each word charges one step of the budget per byte it looks at, so `--max-steps`
//! bounds a long copy or search like a loop.

use crate::engine::Forth;
use crate::error::{Fallible, Throw, code, fail};
use crate::ir::Sys;
use crate::memory;

/// Whether the word belongs to this module.
pub(crate) fn owns(word: Sys) -> bool {
    matches!(
        word,
        Sys::DashTrailing
            | Sys::CMove
            | Sys::CMoveUp
            | Sys::Compare
            | Sys::Search
            | Sys::SLiteral
            | Sys::Replaces
            | Sys::Substitute
            | Sys::Unescape
    )
}

/// SUBSTITUTE's result when the text does not fit the buffer (table 9.1: SUBSTITUTE).
const SUBSTITUTE_OVERFLOW: i64 = -78;
/// REPLACES when the substitutions would outgrow the session (table 9.1: REPLACES).
const REPLACES_OVERFLOW: i64 = -79;

impl Forth {
    /// Executes a String word.
    pub(crate) fn string_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::DashTrailing => {
                let len = self.pop()?;
                let address = self.pop()?;
                let range = self.checked_range(address, len)?;
                self.charge_steps(range.len())?;
                let kept = self.mem[range]
                    .iter()
                    .rposition(|&b| b != b' ')
                    .map_or(0, |last| last + 1);
                self.push(address)?;
                self.push(kept as i64)
            }
            Sys::CMove | Sys::CMoveUp => self.cmove(word == Sys::CMoveUp),
            Sys::Compare => self.compare(),
            Sys::Search => self.search(),
            Sys::SLiteral => {
                let text = self.pop_bytes()?;
                self.compile_string(&text)
            }
            Sys::Replaces => self.replaces(),
            Sys::Substitute => self.substitute(),
            Sys::Unescape => self.unescape(),
            other => crate::error::unreachable_word(other, "string"),
        }
    }

    /// The memory range of ( c-addr u ); a zero length is valid anywhere.
    fn checked_range(&self, address: i64, len: i64) -> Fallible<std::ops::Range<usize>> {
        if len == 0 {
            return Ok(0..0);
        }
        memory::range(&self.mem, address, len).ok_or_else(|| Throw::new(code::INVALID_ADDRESS))
    }

    /// Pops ( c-addr u ) as bytes; a zero length needs no valid address.
    fn pop_text(&mut self) -> Fallible<(i64, Vec<u8>)> {
        let len = self.pop()?;
        let address = self.pop()?;
        let range = self.checked_range(address, len)?;
        self.charge_steps(range.len())?;
        Ok((address, self.mem[range].to_vec()))
    }

    /// CMOVE ( c-addr1 c-addr2 u -- ) copies byte by byte from low addresses up, CMOVE>
    /// from high addresses down (so an overlapping copy repeats or keeps the bytes as
    /// the standard says).
    fn cmove(&mut self, from_top: bool) -> Fallible<()> {
        let len = self.pop()?;
        let to = self.pop()?;
        let from = self.pop()?;
        if len <= 0 {
            return Ok(());
        }
        let source = self.checked_range(from, len)?;
        let target = self.checked_range(to, len)?;
        self.charge_steps(source.len())?;
        let offsets: Box<dyn Iterator<Item = usize>> = if from_top {
            Box::new((0..source.len()).rev())
        } else {
            Box::new(0..source.len())
        };
        for offset in offsets {
            self.mem[target.start + offset] = self.mem[source.start + offset];
        }
        Ok(())
    }

    /// COMPARE ( c-addr1 u1 c-addr2 u2 -- n ): -1, 0 or 1 comparing bytes, then lengths.
    fn compare(&mut self) -> Fallible<()> {
        let (_, second) = self.pop_text()?;
        let (_, first) = self.pop_text()?;
        let order = first.cmp(&second) as i64;
        self.push(order)
    }

    /// SEARCH ( c-addr1 u1 c-addr2 u2 -- c-addr3 u3 flag ): the rest of the first string
    /// from the first match of the second, or the first string and false.
    fn search(&mut self) -> Fallible<()> {
        let (_, needle) = self.pop_text()?;
        let len = self.pop()?;
        let address = self.pop()?;
        let range = self.checked_range(address, len)?;
        let found = self.find_bytes(range.clone(), &needle)?;
        match found {
            Some(offset) => {
                self.push(address + offset as i64)?;
                self.push(len - offset as i64)?;
                self.push(-1)
            }
            None => {
                self.push(address)?;
                self.push(len)?;
                self.push(0)
            }
        }
    }

    /// Where `needle` first occurs in the memory range, charging one step per byte
    /// compared.
    fn find_bytes(
        &mut self,
        range: std::ops::Range<usize>,
        needle: &[u8],
    ) -> Fallible<Option<usize>> {
        if needle.is_empty() {
            return Ok(Some(0));
        }
        let Some(last_start) = range.len().checked_sub(needle.len()) else {
            return Ok(None);
        };
        for start in 0..=last_start {
            let at = range.start + start;
            self.charge_steps(1)?;
            if self.mem[at] != needle[0] {
                continue;
            }
            self.charge_steps(needle.len())?;
            if self.mem[at..at + needle.len()] == *needle {
                return Ok(Some(start));
            }
        }
        Ok(None)
    }

    /// REPLACES ( c-addr1 u1 c-addr2 u2 -- ): the name c-addr2 u2 now stands for the text
    /// c-addr1 u1 in SUBSTITUTE.
    fn replaces(&mut self) -> Fallible<()> {
        let (_, name) = self.pop_text()?;
        let (_, text) = self.pop_text()?;
        let total = self.substitutions.bytes + name.len() + text.len();
        if total > self.limits.data_space_bytes.max(1 << 16) {
            return fail(REPLACES_OVERFLOW);
        }
        self.substitutions.set(&name, text);
        Ok(())
    }

    /// SUBSTITUTE ( c-addr1 u1 c-addr2 u2 -- c-addr2 u3 n ): copies the text into the
    /// buffer, replacing each `%name%` of a substitution by its text and `%%` by `%`; n is
    /// the number of substitutions, or -78 when the result does not fit.
    fn substitute(&mut self) -> Fallible<()> {
        let size = self.pop()?;
        let buffer = self.pop()?;
        let (_, text) = self.pop_text()?;
        let room = usize::try_from(size).unwrap_or(0).min(self.mem.len());
        self.push(buffer)?;
        let Some((result, count)) = self.substituted(&text, room) else {
            self.push(0)?;
            return self.push(SUBSTITUTE_OVERFLOW);
        };
        let target = self.checked_range(buffer, result.len() as i64)?;
        self.mem[target].copy_from_slice(&result);
        self.push(result.len() as i64)?;
        self.push(count)
    }

    /// The substituted text and the number of substitutions; `None` as soon as it grows
    /// past `room` bytes.
    fn substituted(&self, text: &[u8], room: usize) -> Option<(Vec<u8>, i64)> {
        let mut result = Vec::with_capacity(text.len().min(room));
        let mut count = 0;
        let mut at = 0;
        while at < text.len() {
            if text[at] != b'%' {
                result.push(text[at]);
                at += 1;
                continue;
            }
            let rest = &text[at + 1..];
            let Some(end) = rest.iter().position(|&b| b == b'%') else {
                result.extend_from_slice(&text[at..]);
                break;
            };
            let name = &rest[..end];
            match self.substitutions.text_of(name) {
                _ if name.is_empty() => result.push(b'%'),
                Some(replacement) => {
                    result.extend_from_slice(replacement);
                    count += 1;
                }
                None => result.extend_from_slice(&text[at..at + end + 2]),
            }
            at += end + 2;
            if result.len() > room {
                return None;
            }
        }
        (result.len() <= room).then_some((result, count))
    }

    /// UNESCAPE ( c-addr1 u1 c-addr2 -- c-addr2 u2 ): the text with each `%` doubled.
    fn unescape(&mut self) -> Fallible<()> {
        let buffer = self.pop()?;
        let (_, text) = self.pop_text()?;
        let escaped: Vec<u8> = text
            .iter()
            .flat_map(|&b| if b == b'%' { vec![b'%', b'%'] } else { vec![b] })
            .collect();
        let target = self.checked_range(buffer, escaped.len() as i64)?;
        self.mem[target].copy_from_slice(&escaped);
        self.push(buffer)?;
        self.push(escaped.len() as i64)
    }
}
