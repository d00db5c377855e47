//! Pictured numeric output: `<#`, `#`, `#S`, `HOLD`, `HOLDS`, `SIGN` and `#>`, building the
//! text from its end down in the same buffer of data space as the interpreter.

use crate::output::digit_char;
use crate::{Res, Throw, Vm, code};

/// The double cell ( low high ) as one unsigned number.
fn double(low: i64, high: i64) -> u128 {
    ((high as u64 as u128) << 64) | low as u64 as u128
}

/// The unsigned number as ( low high ).
fn cells(value: u128) -> (i64, i64) {
    (value as u64 as i64, (value >> 64) as u64 as i64)
}

impl Vm<'_> {
    /// `<#`.
    pub fn begin_pictured(&mut self) {
        self.hold = self.hold_area.end;
    }

    /// Puts `bytes` in front of the text so far (-17 when the buffer is full or `<#` is
    /// missing).
    pub fn hold_bytes(&mut self, bytes: &[u8]) -> Res<()> {
        let area = self.hold_area.clone();
        if self.hold < area.start + bytes.len() || self.hold > area.end {
            return Err(Throw(code::PICTURED_OVERFLOW));
        }
        self.hold -= bytes.len();
        self.mem[self.hold..self.hold + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    /// `HOLD`.
    pub fn hold_char(&mut self, char: i64) -> Res<()> {
        self.hold_bytes(&[char as u8])
    }

    /// `HOLDS`: ( c-addr u -- ).
    pub fn holds(&mut self, address: i64, len: i64) -> Res<()> {
        let range = self
            .range(address, len)
            .ok_or(Throw(code::INVALID_ADDRESS))?;
        let text = self.mem[range].to_vec();
        self.hold_bytes(&text)
    }

    /// `SIGN`: a minus sign when n is negative.
    pub fn sign(&mut self, n: i64) -> Res<()> {
        if n < 0 { self.hold_bytes(b"-") } else { Ok(()) }
    }

    /// `#`: ( ud1 -- ud2 ) one digit.
    pub fn pictured_digit(&mut self, low: i64, high: i64) -> Res<(i64, i64)> {
        let base = self.number_base()? as u128;
        let value = double(low, high);
        self.hold_bytes(&[digit_char((value % base) as u8)])?;
        Ok(cells(value / base))
    }

    /// `#S`: ( ud -- 0 0 ) every remaining digit, at least one.
    pub fn pictured_digits(&mut self, low: i64, high: i64) -> Res<(i64, i64)> {
        let (mut low, mut high) = self.pictured_digit(low, high)?;
        while (low, high) != (0, 0) {
            (low, high) = self.pictured_digit(low, high)?;
        }
        Ok((0, 0))
    }

    /// `#>`: ( xd -- c-addr u ).
    pub fn end_pictured(&mut self) -> Res<(i64, i64)> {
        let area = self.hold_area.clone();
        if self.hold < area.start || self.hold > area.end {
            return Err(Throw(code::PICTURED_OVERFLOW));
        }
        Ok((self.hold as i64, (area.end - self.hold) as i64))
    }
}
