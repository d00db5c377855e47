//! Console output: `EMIT`, `TYPE`, `CR`, `SPACE(S)` and number output in BASE.

use crate::{FLUSH_BYTES, Res, Throw, Vm, code};

impl Vm<'_> {
    /// Queues bytes for the console (-37 when the host could not write a full chunk).
    pub fn write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        if self.out.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    /// `EMIT`.
    pub fn emit(&mut self, char: i64) {
        self.write(&[char as u8]);
    }

    /// `TYPE`: nothing when the length is not positive.
    pub fn type_text(&mut self, address: i64, len: i64) -> Res<()> {
        if len <= 0 {
            return Ok(());
        }
        let range = self
            .range(address, len)
            .ok_or(Throw(code::INVALID_ADDRESS))?;
        let text = self.mem[range].to_vec();
        self.write(&text);
        Ok(())
    }

    /// `SPACES`.
    pub fn spaces(&mut self, count: i64) {
        for _ in 0..count.max(0) {
            self.write(b" ");
        }
    }

    /// `.` and `U.`: the number in BASE and a space.
    pub fn dot(&mut self, value: i64, signed: bool) -> Res<()> {
        let mut text = self.number_text(value, signed)?;
        text.push(b' ');
        self.write(&text);
        Ok(())
    }

    /// `.R` and `U.R`: the number right-aligned in a field of `width`.
    pub fn dot_r(&mut self, value: i64, width: i64, signed: bool) -> Res<()> {
        let text = self.number_text(value, signed)?;
        let padding = (width.max(0) as u64).saturating_sub(text.len() as u64);
        self.spaces(padding as i64);
        self.write(&text);
        Ok(())
    }

    /// BASE, when it is one numbers can be written in (-24 otherwise).
    pub(crate) fn number_base(&self) -> Res<u32> {
        match self.fetch(self.base_address)? {
            base @ 2..=36 => Ok(base as u32),
            _ => Err(Throw(code::INVALID_NUMERIC_ARGUMENT)),
        }
    }

    fn number_text(&self, value: i64, signed: bool) -> Res<Vec<u8>> {
        let base = self.number_base()?;
        let magnitude = if signed {
            value.unsigned_abs()
        } else {
            value as u64
        };
        let mut text = digits(magnitude as u128, base);
        if signed && value < 0 {
            text.insert(0, b'-');
        }
        Ok(text)
    }
}

/// The character of one digit, upper case.
pub(crate) fn digit_char(digit: u8) -> u8 {
    if digit < 10 {
        b'0' + digit
    } else {
        b'A' + digit - 10
    }
}

/// The digits of `value` in `base`, most significant first, upper case; the engine's
/// `format::digits` again, as this crate may not depend on the engine.
fn digits(mut value: u128, base: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        out.push(digit_char((value % base as u128) as u8));
        value /= base as u128;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    out
}
