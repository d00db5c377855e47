//! The Double-number word set: double-cell arithmetic, comparison and output, and the
//! defining words 2CONSTANT, 2VARIABLE, 2VALUE and 2LITERAL. (`D0=`, `D0<` and `D>S`
//! are instruction sequences in the built-in word table; the text interpreter reads
//! `1.`-style numbers as doubles.)
//!
//! A double is two cells, the high cell on top; arithmetic wraps modulo 2^128 like
//! single-cell arithmetic wraps modulo 2^64. `M*/` is symmetric (truncating), like `/`.

use crate::console::{Console, write_output};
use crate::dictionary::Kind;
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code, fail};
use crate::format::digits;
use crate::ir::{Op, Sys};
use crate::vm::double;

/// Whether the word belongs to this module.
pub(crate) fn owns(word: Sys) -> bool {
    matches!(
        word,
        Sys::TwoConstant
            | Sys::TwoLiteral
            | Sys::TwoVariable
            | Sys::TwoValue
            | Sys::DPlus
            | Sys::DMinus
            | Sys::DDot
            | Sys::DDotR
            | Sys::DTwoStar
            | Sys::DTwoSlash
            | Sys::DLess
            | Sys::DEqual
            | Sys::DULess
            | Sys::DAbs
            | Sys::DMax
            | Sys::DMin
            | Sys::DNegate
            | Sys::MStarSlash
            | Sys::MPlus
            | Sys::TwoRot
    )
}

impl Forth {
    /// Executes a Double-number word.
    pub(crate) fn double_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        match word {
            Sys::TwoConstant => {
                let name = self.parse_name()?;
                let (low, high) = self.pop_pair()?;
                self.define(name, &[Op::Lit(low), Op::Lit(high)], Kind::Colon)
            }
            Sys::TwoLiteral => {
                let (low, high) = self.pop_pair()?;
                self.emit(Op::Lit(low))?;
                self.emit(Op::Lit(high))
            }
            Sys::TwoVariable => self.two_cell_word(0, 0, |body| Kind::Variable { body }),
            Sys::TwoValue => {
                let (low, high) = self.pop_pair()?;
                self.two_cell_word(low, high, |body| Kind::TwoValue { body })
            }
            Sys::DPlus => self.double_binary(i128::wrapping_add),
            Sys::DMinus => self.double_binary(i128::wrapping_sub),
            Sys::DDot => {
                let value = self.pop_d()?;
                let mut text = self.double_text(value)?;
                text.push(b' ');
                write_output(console, &text)
            }
            Sys::DDotR => {
                let width = self.pop()?;
                let text = self.pop_d().and_then(|value| self.double_text(value))?;
                let padding = (width.max(0) as u64).saturating_sub(text.len() as u64);
                self.print_spaces(padding as i64, console)?;
                write_output(console, &text)
            }
            Sys::DTwoStar => self.double_unary(|d| d.wrapping_shl(1)),
            Sys::DTwoSlash => self.double_unary(|d| d >> 1),
            Sys::DLess => self.double_compare(|a, b| a < b),
            Sys::DEqual => self.double_compare(|a, b| a == b),
            Sys::DULess => self.double_compare(|a, b| (a as u128) < (b as u128)),
            Sys::DAbs => self.double_unary(i128::wrapping_abs),
            Sys::DMax => self.double_binary(i128::max),
            Sys::DMin => self.double_binary(i128::min),
            Sys::DNegate => self.double_unary(i128::wrapping_neg),
            Sys::MStarSlash => self.m_star_slash(),
            Sys::MPlus => {
                let n = self.pop()?;
                let d = self.pop_d()?;
                self.push_d(d.wrapping_add(n as i128))
            }
            Sys::TwoRot => {
                let top = self.pop_pair()?;
                let middle = self.pop_pair()?;
                let bottom = self.pop_pair()?;
                [middle, top, bottom]
                    .into_iter()
                    .try_for_each(|(low, high)| self.push(low).and_then(|()| self.push(high)))
            }
            other => crate::error::unreachable_word(other, "double-number"),
        }
    }

    /// Pops two cells ( x1 x2 -- ) as (x1, x2).
    fn pop_pair(&mut self) -> Fallible<(i64, i64)> {
        let high = self.pop()?;
        let low = self.pop()?;
        Ok((low, high))
    }

    pub(crate) fn pop_d(&mut self) -> Fallible<i128> {
        let (low, high) = self.pop_pair()?;
        Ok(double(low, high))
    }

    pub(crate) fn push_d(&mut self, value: i128) -> Fallible<()> {
        self.push(value as i64)?;
        self.push((value >> 64) as i64)
    }

    fn double_unary(&mut self, f: impl FnOnce(i128) -> i128) -> Fallible<()> {
        let d = self.pop_d()?;
        self.push_d(f(d))
    }

    fn double_binary(&mut self, f: impl FnOnce(i128, i128) -> i128) -> Fallible<()> {
        let b = self.pop_d()?;
        let a = self.pop_d()?;
        self.push_d(f(a, b))
    }

    fn double_compare(&mut self, f: impl FnOnce(i128, i128) -> bool) -> Fallible<()> {
        let b = self.pop_d()?;
        let a = self.pop_d()?;
        self.push(if f(a, b) { -1 } else { 0 })
    }

    /// The digits of a signed double in BASE, with a leading `-` when negative.
    fn double_text(&self, value: i128) -> Fallible<Vec<u8>> {
        let mut text = digits(value.unsigned_abs(), self.checked_base()?);
        if value < 0 {
            text.insert(0, b'-');
        }
        Ok(text)
    }

    /// 2VARIABLE and 2VALUE: a word over two aligned cells holding ( low high ).
    fn two_cell_word(&mut self, low: i64, high: i64, kind: fn(i64) -> Kind) -> Fallible<()> {
        let name = self.parse_name()?;
        self.align_here()?;
        let body = self.here as i64;
        self.comma(high)?;
        self.comma(low)?;
        let ops: &[Op] = match kind(body) {
            Kind::TwoValue { .. } => &[Op::Lit(body), Op::TwoFetch],
            _ => &[Op::Lit(body)],
        };
        self.define(name, ops, kind(body))
    }

    /// TO on a 2VALUE: stores ( x1 x2 ) into its two cells, or compiles that.
    pub(crate) fn store_two_value(&mut self, body: i64) -> Fallible<()> {
        if self.compiling() {
            self.emit(Op::Lit(body))?;
            return self.emit(Op::TwoStore);
        }
        let (low, high) = self.pop_pair()?;
        self.store_cell(body, high)?;
        self.store_cell(body + 8, low)
    }

    /// M*/ ( d1 n1 +n2 -- d2 ): d1*n1/n2 with a triple-cell intermediate, truncating; -10
    /// when n2 is zero, -11 when the quotient does not fit a double or n2 is negative.
    fn m_star_slash(&mut self) -> Fallible<()> {
        let divisor = self.pop()?;
        let multiplier = self.pop()?;
        let d = self.pop_d()?;
        if divisor == 0 {
            return fail(code::DIVISION_BY_ZERO);
        }
        if divisor < 0 {
            return fail(code::RESULT_OUT_OF_RANGE);
        }
        let negative = (d < 0) != (multiplier < 0);
        let product = multiply_wide(d.unsigned_abs(), multiplier.unsigned_abs());
        let quotient = divide_wide(product, divisor as u64)
            .filter(|&q| q <= i128::MAX as u128 + u128::from(negative))
            .ok_or_else(|| Throw::new(code::RESULT_OUT_OF_RANGE))?;
        let quotient = quotient as i128;
        self.push_d(if negative {
            quotient.wrapping_neg()
        } else {
            quotient
        })
    }
}

/// A 192-bit number as three 64-bit limbs, least significant first.
type Wide = [u64; 3];

fn multiply_wide(a: u128, b: u64) -> Wide {
    let low = (a as u64 as u128) * b as u128;
    let high = (a >> 64) * b as u128 + (low >> 64);
    [low as u64, high as u64, (high >> 64) as u64]
}

/// The quotient when it fits 128 bits.
fn divide_wide(value: Wide, divisor: u64) -> Option<u128> {
    let mut remainder = 0u128;
    let mut quotient = [0u64; 3];
    for limb in (0..3).rev() {
        let current = (remainder << 64) | value[limb] as u128;
        quotient[limb] = (current / divisor as u128) as u64;
        remainder = current % divisor as u128;
    }
    (quotient[2] == 0).then(|| (quotient[1] as u128) << 64 | quotient[0] as u128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_products_divide_back() {
        let product = multiply_wide(u128::MAX, u64::MAX);
        assert_eq!(divide_wide(product, u64::MAX), Some(u128::MAX));
        assert_eq!(divide_wide(product, 1), None);
        assert_eq!(divide_wide(multiply_wide(10, 3), 4), Some(7));
    }
}
