//! Number output: `.`, `U.`, `.R`, `U.R`, `.S` and pictured numeric output (`<#` ... `#>`).

use crate::console::{Console, write_output};
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code, fail};
use crate::memory::{CELL, HOLD_BYTES, HOLD_OFFSET};
use crate::vm::double;

/// The digits of `value` in `base` (2..=36), most significant first, upper case.
/// `fastforth-native-runtime` has its own copy: it may not depend on the engine, and the
/// engine depends on nothing.
pub fn digits(mut value: u128, base: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        out.push(digit_char((value % base as u128) as u32));
        value /= base as u128;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    out
}

fn digit_char(digit: u32) -> u8 {
    if digit < 10 {
        b'0' + digit as u8
    } else {
        b'A' + (digit - 10) as u8
    }
}

impl Forth {
    pub(crate) fn checked_base(&self) -> Fallible<u32> {
        match self.base() {
            base @ 2..=36 => Ok(base as u32),
            _ => fail(code::INVALID_NUMERIC_ARGUMENT),
        }
    }

    fn signed_text(&self, value: i64) -> Fallible<Vec<u8>> {
        let mut text = digits(value.unsigned_abs() as u128, self.checked_base()?);
        if value < 0 {
            text.insert(0, b'-');
        }
        Ok(text)
    }

    fn unsigned_text(&self, value: i64) -> Fallible<Vec<u8>> {
        Ok(digits(value as u64 as u128, self.checked_base()?))
    }

    /// `.` and `U.`: the number and a space.
    pub(crate) fn print_number(&mut self, signed: bool, console: &mut dyn Console) -> Fallible<()> {
        let value = self.pop()?;
        let mut text = if signed {
            self.signed_text(value)?
        } else {
            self.unsigned_text(value)?
        };
        text.push(b' ');
        write_output(console, &text)
    }

    /// `.R` and `U.R`: the number right-aligned in a field.
    pub(crate) fn print_number_right(
        &mut self,
        signed: bool,
        console: &mut dyn Console,
    ) -> Fallible<()> {
        let width = self.pop()?;
        let value = self.pop()?;
        let text = if signed {
            self.signed_text(value)?
        } else {
            self.unsigned_text(value)?
        };
        let padding = (width.max(0) as u64).saturating_sub(text.len() as u64);
        self.print_spaces(padding as i64, console)?;
        write_output(console, &text)
    }

    /// SPACES (and .R padding): one step of the budget per space.
    pub(crate) fn print_spaces(&mut self, count: i64, console: &mut dyn Console) -> Fallible<()> {
        let mut left = count.max(0) as u64;
        while left > 0 {
            self.check_interrupt()?;
            let chunk = left.min(256);
            if self.machine.steps_left < chunk {
                self.machine.steps_left = 0;
                return fail(code::STEP_BUDGET_EXHAUSTED);
            }
            self.machine.steps_left -= chunk;
            write_output(console, &[b' '; 256][..chunk as usize])?;
            left -= chunk;
        }
        Ok(())
    }

    /// `.S`: `<depth> items...` bottom first.
    pub(crate) fn print_stack(&mut self, console: &mut dyn Console) -> Fallible<()> {
        self.charge_bytes(self.machine.depth * CELL)?;
        let mut text = format!("<{}> ", self.machine.depth).into_bytes();
        for index in 1..=self.machine.depth {
            text.extend(self.signed_text(self.machine.ds[index])?);
            text.push(b' ');
        }
        write_output(console, &text)
    }

    fn hold_start(&self) -> usize {
        self.system_address(HOLD_OFFSET)
    }

    fn hold_end(&self) -> usize {
        self.hold_start() + HOLD_BYTES
    }

    pub(crate) fn begin_pictured(&mut self) {
        self.hold = self.hold_end();
    }

    pub(crate) fn hold_bytes(&mut self, bytes: &[u8]) -> Fallible<()> {
        if self.hold < self.hold_start() + bytes.len() || self.hold > self.hold_end() {
            return fail(code::PICTURED_OVERFLOW);
        }
        self.hold -= bytes.len();
        let at = self.hold;
        self.mem[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    fn pop_double(&mut self) -> Fallible<u128> {
        let high = self.pop()?;
        let low = self.pop()?;
        Ok(double(low, high) as u128)
    }

    fn push_double(&mut self, value: u128) -> Fallible<()> {
        self.push(value as u64 as i64)?;
        self.push((value >> 64) as u64 as i64)
    }

    /// `#`: ( ud1 -- ud2 ) one digit.
    pub(crate) fn pictured_digit(&mut self) -> Fallible<()> {
        let base = self.checked_base()? as u128;
        let value = self.pop_double()?;
        self.hold_bytes(&[digit_char((value % base) as u32)])?;
        self.push_double(value / base)
    }

    /// `#S`: ( ud -- 0 0 ) all remaining digits (at least one).
    pub(crate) fn pictured_digits(&mut self) -> Fallible<()> {
        loop {
            self.pictured_digit()?;
            if self.machine.ds[self.machine.depth] == 0
                && self.machine.ds[self.machine.depth - 1] == 0
            {
                return Ok(());
            }
        }
    }

    /// `#>`: ( xd -- c-addr u ).
    pub(crate) fn end_pictured(&mut self) -> Fallible<()> {
        self.pop_double()?;
        if self.hold > self.hold_end() || self.hold < self.hold_start() {
            return Err(Throw::new(code::PICTURED_OVERFLOW));
        }
        self.push(self.hold as i64)?;
        self.push((self.hold_end() - self.hold) as i64)
    }
}
