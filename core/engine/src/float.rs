//! The Floating-point word set and its extension: a separate stack of IEEE 754 doubles,
//! bounded like the data stack, and the host words that work on it. Text conversions are
//! in `float_text.rs`.
//!
//! Floats in memory are 8 bytes (`DF@`, `F@`) or 4 (`SF@`), little-endian, and need no
//! alignment; `FALIGN` aligns to a cell all the same so that `FALIGNED` and `FALIGN` agree.
//! Arithmetic is IEEE: division by zero gives an infinity, invalid operations a NaN, and
//! no float word throws for them. `F>D` and `F>S` of a NaN or of a value outside the
//! integer range throw -11 (result out of range).

use crate::console::{Console, write_output};
use crate::dictionary::Kind;
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code, fail};
use crate::float_stack::MAX_PRECISION;
use crate::float_text::{self, Syntax};
use crate::ir::{Op, Sys};
use crate::memory;

/// Whether the host word is one of this module's (they are contiguous in `Sys::ALL`).
pub fn is_float_word(word: Sys) -> bool {
    (Sys::FloatFromBits as usize..=Sys::SFFetch as usize).contains(&(word as usize))
}

/// The instructions that push `value` on the float stack.
pub fn float_literal(value: f64) -> [Op; 2] {
    [Op::Lit(value.to_bits() as i64), Op::Sys(Sys::FloatFromBits)]
}

fn unary(word: Sys) -> Option<fn(f64) -> f64> {
    let function: fn(f64) -> f64 = match word {
        Sys::FNegate => |r| -r,
        Sys::FAbs => f64::abs,
        Sys::Floor => f64::floor,
        Sys::FRound => f64::round_ties_even,
        Sys::FTrunc => f64::trunc,
        Sys::FSqrt => f64::sqrt,
        Sys::FExp => f64::exp,
        Sys::FExpm1 => f64::exp_m1,
        Sys::FLn => f64::ln,
        Sys::FLnp1 => f64::ln_1p,
        Sys::FLog => f64::log10,
        Sys::FAlog => |r| 10f64.powf(r),
        Sys::FSin => f64::sin,
        Sys::FCos => f64::cos,
        Sys::FTan => f64::tan,
        Sys::FAsin => f64::asin,
        Sys::FAcos => f64::acos,
        Sys::FAtan => f64::atan,
        Sys::FSinh => f64::sinh,
        Sys::FCosh => f64::cosh,
        Sys::FTanh => f64::tanh,
        Sys::FAsinh => asinh,
        Sys::FAcosh => f64::acosh,
        Sys::FAtanh => f64::atanh,
        _ => return None,
    };
    Some(function)
}

/// `f64::asinh` without its call to `hypot`, which needs glibc 2.35 (above the plugins'
/// floor, 2.34): `sqrt(1 + ix * ix)` for `hypot(1, ix)`, the same to an ulp, and the same at
/// the extremes (an infinite `ix` gives `ln_1p(|x|)`, exact for tiny x).
fn asinh(x: f64) -> f64 {
    let ax = x.abs();
    let ix = 1.0 / ax;
    (ax + ax / ((1.0 + ix * ix).sqrt() + ix))
        .ln_1p()
        .copysign(x)
}

fn binary(word: Sys) -> Option<fn(f64, f64) -> f64> {
    let function: fn(f64, f64) -> f64 = match word {
        Sys::FPlus => |a, b| a + b,
        Sys::FMinus => |a, b| a - b,
        Sys::FStar => |a, b| a * b,
        Sys::FSlash => |a, b| a / b,
        Sys::FStarStar => f64::powf,
        Sys::FAtan2 => f64::atan2,
        Sys::FMax => |a, b| if a < b { b } else { a },
        Sys::FMin => |a, b| if b < a { b } else { a },
        _ => return None,
    };
    Some(function)
}

/// `F~`: with r3 positive, |r1-r2| < r3; with r3 zero (either sign), the same encoding;
/// with r3 negative, |r1-r2| < |r3|*(|r1|+|r2|).
pub fn proximate(r1: f64, r2: f64, r3: f64) -> bool {
    if r3 > 0.0 {
        (r1 - r2).abs() < r3
    } else if r3 == 0.0 {
        r1.to_bits() == r2.to_bits()
    } else {
        (r1 - r2).abs() < r3.abs() * (r1.abs() + r2.abs())
    }
}

fn flag(condition: bool) -> i64 {
    if condition { -1 } else { 0 }
}

/// The integer part of `value` if it lies in `min..=max` (-11 otherwise, NaN included).
fn integer_part(value: f64, min: i128, max: i128) -> Fallible<i128> {
    let truncated = value.trunc();
    if truncated.is_nan() || truncated < min as f64 || truncated >= max as f64 + 1.0 {
        return fail(code::RESULT_OUT_OF_RANGE);
    }
    Ok(truncated as i128)
}

impl Forth {
    /// The float stack, bottom first.
    pub fn float_stack(&self) -> &[f64] {
        self.floats.items()
    }

    pub(crate) fn fpush(&mut self, value: f64) -> Fallible<()> {
        if self.floats.stack.len() >= self.floats.capacity {
            return fail(code::FLOAT_STACK_OVERFLOW);
        }
        self.floats.stack.push(value);
        Ok(())
    }

    pub(crate) fn fpop(&mut self) -> Fallible<f64> {
        self.floats
            .stack
            .pop()
            .ok_or_else(|| Throw::new(code::FLOAT_STACK_UNDERFLOW))
    }

    /// The item `depth` places below the top (0 is the top).
    fn fpick(&self, depth: usize) -> Fallible<f64> {
        let stack = &self.floats.stack;
        stack
            .len()
            .checked_sub(depth + 1)
            .map(|index| stack[index])
            .ok_or_else(|| Throw::new(code::FLOAT_STACK_UNDERFLOW))
    }

    /// Executes one word of the Floating-point word sets.
    pub(crate) fn float_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        if let Some(function) = unary(word) {
            let r = self.fpop()?;
            return self.fpush(function(r));
        }
        if let Some(function) = binary(word) {
            let r2 = self.fpop()?;
            let r1 = self.fpop()?;
            return self.fpush(function(r1, r2));
        }
        match word {
            Sys::FDot => self.print_float(float_text::fixed, console),
            Sys::FSDot => self.print_float(float_text::scientific, console),
            Sys::FEDot => self.print_float(float_text::engineering, console),
            _ => self.float_stack_word(word),
        }
    }

    fn print_float(
        &mut self,
        layout: fn(f64, usize) -> Vec<u8>,
        console: &mut dyn Console,
    ) -> Fallible<()> {
        let r = self.fpop()?;
        write_output(console, &layout(r, self.floats.precision))
    }

    fn float_stack_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::FDrop => self.fpop().map(drop),
            Sys::FDup => self.fpush(self.fpick(0)?),
            Sys::FOver => self.fpush(self.fpick(1)?),
            Sys::FSwap => {
                let r2 = self.fpop()?;
                let r1 = self.fpop()?;
                self.fpush(r2)?;
                self.fpush(r1)
            }
            Sys::FRot => {
                let r3 = self.fpop()?;
                let r2 = self.fpop()?;
                let r1 = self.fpop()?;
                [r2, r3, r1].into_iter().try_for_each(|r| self.fpush(r))
            }
            Sys::FDepth => self.push(self.floats.stack.len() as i64),
            Sys::FSinCos => {
                let (sin, cos) = self.fpop()?.sin_cos();
                self.fpush(sin)?;
                self.fpush(cos)
            }
            Sys::FZeroLess => {
                let r = self.fpop()?;
                self.push(flag(r < 0.0))
            }
            Sys::FZeroEquals => {
                let r = self.fpop()?;
                self.push(flag(r == 0.0))
            }
            Sys::FLess => {
                let r2 = self.fpop()?;
                let r1 = self.fpop()?;
                self.push(flag(r1 < r2))
            }
            Sys::FProximate => {
                let r3 = self.fpop()?;
                let r2 = self.fpop()?;
                let r1 = self.fpop()?;
                self.push(flag(proximate(r1, r2, r3)))
            }
            _ => self.float_conversion_word(word),
        }
    }

    fn float_conversion_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::FloatFromBits => {
                let bits = self.pop()?;
                self.fpush(f64::from_bits(bits as u64))
            }
            Sys::SToF => {
                let n = self.pop()?;
                self.fpush(n as f64)
            }
            Sys::DToF => {
                let high = self.pop()?;
                let low = self.pop()?;
                self.fpush(crate::vm::double(low, high) as f64)
            }
            Sys::FToS => {
                let r = self.fpop()?;
                let n = integer_part(r, i64::MIN.into(), i64::MAX.into())?;
                self.push(n as i64)
            }
            Sys::FToD => {
                let r = self.fpop()?;
                let d = integer_part(r, i128::MIN, i128::MAX)?;
                self.push(d as i64)?;
                self.push((d >> 64) as i64)
            }
            Sys::ToFloat => self.convert_to_float(),
            Sys::Represent => self.represent(),
            Sys::Precision => self.push(self.floats.precision as i64),
            Sys::SetPrecision => {
                let digits = self.pop()?;
                match usize::try_from(digits) {
                    Ok(digits @ 1..=MAX_PRECISION) => {
                        self.floats.precision = digits;
                        Ok(())
                    }
                    _ => fail(code::INVALID_NUMERIC_ARGUMENT),
                }
            }
            _ => self.float_memory_word(word),
        }
    }

    /// `>FLOAT` ( c-addr u -- r true | false ).
    fn convert_to_float(&mut self) -> Fallible<()> {
        let text = self.pop_bytes()?;
        self.charge_steps(text.len() / 256)?;
        match float_text::parse_float(&text, Syntax::Convert) {
            Some(r) => {
                self.fpush(r)?;
                self.push(-1)
            }
            None => self.push(0),
        }
    }

    /// `REPRESENT` ( c-addr u -- n flag1 flag2 ) ( F: r -- ).
    fn represent(&mut self) -> Fallible<()> {
        let range = self.pop_range()?;
        let r = self.fpop()?;
        self.charge_steps(range.len() / 256)?;
        let shown = float_text::represent(r, range.len());
        self.mem[range].copy_from_slice(&shown.digits);
        self.push(shown.exponent)?;
        self.push(flag(shown.negative))?;
        self.push(flag(shown.valid))
    }

    fn float_memory_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::FFetch => {
                let address = self.pop()?;
                let bits = self.fetch_cell(address)?;
                self.fpush(f64::from_bits(bits as u64))
            }
            Sys::FStore => {
                let address = self.pop()?;
                let r = self.fpop()?;
                self.store_cell(address, r.to_bits() as i64)
            }
            Sys::SFFetch => {
                let address = self.pop()?;
                let range = self.float_range(address, 4)?;
                let bytes: [u8; 4] = self.mem[range].try_into().unwrap_or_default();
                self.fpush(f32::from_le_bytes(bytes).into())
            }
            Sys::SFStore => {
                let address = self.pop()?;
                let r = self.fpop()?;
                let range = self.float_range(address, 4)?;
                self.mem[range].copy_from_slice(&(r as f32).to_le_bytes());
                Ok(())
            }
            Sys::SFAlign => {
                let padding = self.here.next_multiple_of(4) - self.here;
                self.allot(padding as i64)
            }
            _ => self.float_defining_word(word),
        }
    }

    fn float_range(&self, address: i64, len: i64) -> Fallible<std::ops::Range<usize>> {
        memory::range(&self.mem, address, len).ok_or_else(|| Throw::new(code::INVALID_ADDRESS))
    }

    fn float_defining_word(&mut self, word: Sys) -> Fallible<()> {
        match word {
            Sys::FLiteral => {
                let r = self.fpop()?;
                float_literal(r)
                    .into_iter()
                    .try_for_each(|op| self.emit(op))
            }
            Sys::FConstant => {
                let name = self.parse_name()?;
                let r = self.fpop()?;
                self.define(name, &float_literal(r), Kind::Colon)
            }
            Sys::FValue => {
                let name = self.parse_name()?;
                let r = self.fpop()?;
                self.align_here()?;
                let body = self.here as i64;
                self.comma(r.to_bits() as i64)?;
                let fetch = [Op::Lit(body), Op::Sys(Sys::FFetch)];
                self.define(name, &fetch, Kind::Created { body })
            }
            Sys::FField => self.float_field(8),
            Sys::SFField => self.float_field(4),
            other => crate::error::unreachable_word(other, "float"),
        }
    }

    /// `FFIELD:`, `DFFIELD:`, `SFFIELD:` ( n1 "name" -- n2 ): a field of `size` bytes at
    /// the offset n1 aligned to `size`; the word adds that offset to an address.
    fn float_field(&mut self, size: i64) -> Fallible<()> {
        let name = self.parse_name()?;
        let offset = self.pop()?.wrapping_add(size - 1) & !(size - 1);
        self.define(name, &[Op::LitAdd(offset)], Kind::Colon)?;
        self.push(offset.wrapping_add(size))
    }

    /// Whether the word is an FVALUE (its code fetches a float from its data field).
    pub(crate) fn is_float_value(&self, index: usize) -> bool {
        let word = &self.dict.words[index];
        let (Some(body), xt) = (word.body(), word.xt as usize) else {
            return false;
        };
        self.code.get(xt..xt + 2) == Some(&[Op::Lit(body), Op::Sys(Sys::FFetch)])
    }

    /// `TO` on an FVALUE: stores the top float (compiled: code that does).
    pub(crate) fn store_float_value(&mut self, index: usize) -> Fallible<()> {
        let body = self.dict.words[index].body().unwrap_or_default();
        if self.compiling() {
            self.emit(Op::Lit(body))?;
            return self.emit(Op::Sys(Sys::FStore));
        }
        let r = self.fpop()?;
        self.store_cell(body, r.to_bits() as i64)
    }

    /// A float literal in the text interpreter: pushed, or compiled into the definition.
    /// Only in decimal BASE; `None` when the token is not a float.
    pub(crate) fn float_token(&mut self, token: &[u8]) -> Option<Fallible<()>> {
        if self.base() != 10 {
            return None;
        }
        let r = float_text::parse_float(token, Syntax::Literal)?;
        Some(if self.compiling() {
            float_literal(r)
                .into_iter()
                .try_for_each(|op| self.emit(op))
        } else {
            self.fpush(r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::asinh;

    #[test]
    fn asinh_agrees_with_the_standard_library_to_an_ulp() {
        let values = [0.0, 1e-300, 1e-10, 0.5, 1.0, 3.0, 1e10, 1e150, 1e200, 1e300];
        for x in values.into_iter().flat_map(|x| [x, -x]) {
            let (ours, std) = (asinh(x), x.asinh());
            let ulps = (ours.to_bits() as i64 - std.to_bits() as i64).abs();
            assert!(ulps <= 1, "asinh({x}) = {ours}, std gives {std}");
            assert_eq!(ours.is_sign_negative(), x.is_sign_negative(), "asinh({x})");
        }
        assert_eq!(asinh(f64::INFINITY), f64::INFINITY);
        assert_eq!(asinh(f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(asinh(f64::NAN).is_nan());
    }
}
