//! Arithmetic with the interpreter's semantics: wrapping, symmetric `/` and `MOD`, floored
//! `FM/MOD`, double-cell products and quotients, and the throw codes of what can fail.

use crate::{Res, Throw, code};

/// A Forth flag: -1 for true, 0 for false.
#[inline(always)]
pub fn flag(b: bool) -> i64 {
    -(b as i64)
}

#[inline]
fn nonzero(divisor: i64) -> Res<()> {
    if divisor == 0 {
        return Err(Throw(code::DIVISION_BY_ZERO));
    }
    Ok(())
}

/// `/`: symmetric quotient; -10 on a zero divisor, -11 when it does not fit (the smallest
/// number divided by -1).
#[inline]
pub fn div(a: i64, b: i64) -> Res<i64> {
    nonzero(b)?;
    a.checked_div(b).ok_or(Throw(code::RESULT_OUT_OF_RANGE))
}

/// `MOD`: remainder with the sign of the dividend.
#[inline]
pub fn rem(a: i64, b: i64) -> Res<i64> {
    nonzero(b)?;
    Ok(a.wrapping_rem(b))
}

/// `/MOD`: ( rem quot ).
#[inline]
pub fn div_mod(a: i64, b: i64) -> Res<(i64, i64)> {
    Ok((rem(a, b)?, div(a, b)?))
}

/// `*/MOD`: ( rem quot ) of a*b/c with a double-cell intermediate, symmetric.
pub fn star_slash_mod(a: i64, b: i64, c: i64) -> Res<(i64, i64)> {
    nonzero(c)?;
    symmetric(a as i128 * b as i128, c)
}

/// `*/`.
pub fn star_slash(a: i64, b: i64, c: i64) -> Res<i64> {
    Ok(star_slash_mod(a, b, c)?.1)
}

/// The double cell ( low high ) as one signed number; the engine's `vm::double` again, as
/// this crate may not depend on the engine.
#[inline]
fn double(low: i64, high: i64) -> i128 {
    ((high as i128) << 64) | (low as u64 as i128)
}

#[inline]
fn symmetric(dividend: i128, divisor: i64) -> Res<(i64, i64)> {
    let out_of_range = Throw(code::RESULT_OUT_OF_RANGE);
    let quotient = dividend.checked_div(divisor as i128).ok_or(out_of_range)?;
    let remainder = dividend.checked_rem(divisor as i128).ok_or(out_of_range)?;
    Ok((
        remainder as i64,
        i64::try_from(quotient).map_err(|_| out_of_range)?,
    ))
}

/// `SM/REM`: ( d n -- rem quot ) symmetric.
pub fn sm_slash_rem(low: i64, high: i64, n: i64) -> Res<(i64, i64)> {
    nonzero(n)?;
    symmetric(double(low, high), n)
}

/// `FM/MOD`: ( d n -- rem quot ) floored.
pub fn fm_slash_mod(low: i64, high: i64, n: i64) -> Res<(i64, i64)> {
    nonzero(n)?;
    let out_of_range = Throw(code::RESULT_OUT_OF_RANGE);
    let (dividend, divisor) = (double(low, high), n as i128);
    let mut quotient = dividend.checked_div_euclid(divisor).ok_or(out_of_range)?;
    let mut remainder = dividend - quotient * divisor;
    if remainder != 0 && (remainder < 0) != (divisor < 0) {
        remainder += divisor;
        quotient -= 1;
    }
    Ok((
        remainder as i64,
        i64::try_from(quotient).map_err(|_| out_of_range)?,
    ))
}

/// `UM/MOD`: ( ud u -- urem uquot ).
pub fn um_slash_mod(low: i64, high: i64, u: i64) -> Res<(i64, i64)> {
    nonzero(u)?;
    let divisor = u as u64 as u128;
    let dividend = double(low, high) as u128;
    let quotient = dividend / divisor;
    if quotient > u64::MAX as u128 {
        return Err(Throw(code::RESULT_OUT_OF_RANGE));
    }
    Ok(((dividend % divisor) as u64 as i64, quotient as u64 as i64))
}

/// `M*`: ( n1 n2 -- d ).
pub fn m_star(a: i64, b: i64) -> (i64, i64) {
    let product = a as i128 * b as i128;
    (product as i64, (product >> 64) as i64)
}

/// `UM*`: ( u1 u2 -- ud ).
pub fn um_star(a: i64, b: i64) -> (i64, i64) {
    let product = a as u64 as u128 * b as u64 as u128;
    (product as u64 as i64, (product >> 64) as u64 as i64)
}

/// `LSHIFT`: zero when the count is 64 or more.
#[inline]
pub fn lshift(x: i64, u: i64) -> i64 {
    if (u as u64) < 64 { x << u } else { 0 }
}

/// `RSHIFT`: logical; zero when the count is 64 or more.
#[inline]
pub fn rshift(x: i64, u: i64) -> i64 {
    if (u as u64) < 64 {
        ((x as u64) >> u) as i64
    } else {
        0
    }
}

/// `WITHIN`: lo <= x < hi in modular arithmetic.
#[inline]
pub fn within(x: i64, low: i64, high: i64) -> i64 {
    flag((x.wrapping_sub(low) as u64) < (high.wrapping_sub(low) as u64))
}

/// `+LOOP`: adds the step to the index and tells whether to loop again (the index did not
/// cross the boundary between limit-1 and limit). Offset by `limit - MIN`, that boundary
/// lies between `MAX` and `MIN`, so the index crosses it exactly when adding the step to
/// the offset index overflows: one flag test (siev: 301 -> 248 M instructions).
#[inline]
pub fn plus_loop(limit: i64, index: &mut i64, step: i64) -> bool {
    let offset = index.wrapping_sub(limit) ^ i64::MIN;
    *index = index.wrapping_add(step);
    !offset.overflowing_add(step).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quotient_that_does_not_fit_throws_minus_11_as_the_interpreter_does() {
        let code = |result: Res<i64>| result.map_err(|thrown| thrown.0);
        assert_eq!(code(div(i64::MIN, -1)), Err(code::RESULT_OUT_OF_RANGE));
        assert_eq!(code(div_mod(i64::MIN, -1).map(|(_, q)| q)), Err(-11));
        assert_eq!(code(div(1, 0)), Err(code::DIVISION_BY_ZERO));
        assert_eq!(code(rem(i64::MIN, -1)), Ok(0));
        assert_eq!(div_mod(7, -2).map_err(|thrown| thrown.0), Ok((1, -3)));
    }

    /// `+LOOP` by the standard's words: the loop ends when the index crosses the boundary
    /// between limit-1 and limit, in either direction, wrapping around the cell's range.
    fn crosses(limit: i64, index: i64, step: i64) -> bool {
        let before = index.wrapping_sub(limit);
        let after = before.wrapping_add(step);
        (before ^ after) < 0 && (before ^ step) < 0
    }

    #[test]
    fn plus_loop_ends_exactly_where_the_index_crosses_the_limit() {
        let values = [
            i64::MIN,
            i64::MIN + 1,
            -3,
            -2,
            -1,
            0,
            1,
            2,
            3,
            10,
            i64::MAX - 1,
            i64::MAX,
        ];
        for limit in values {
            for index in values {
                for step in values {
                    let mut next = index;
                    let again = plus_loop(limit, &mut next, step);
                    assert_eq!(next, index.wrapping_add(step));
                    assert_eq!(
                        !again,
                        crosses(limit, index, step),
                        "{limit} {index} {step}"
                    );
                }
            }
        }
        let mut index = 0;
        assert!(plus_loop(10, &mut index, 9), "0 -> 9 stays below 10");
        assert!(!plus_loop(10, &mut index, 1), "9 -> 10 crosses");
        let mut index = 10;
        assert!(!plus_loop(10, &mut index, -1), "10 -> 9 crosses going down");
    }
}
