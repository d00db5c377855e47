//! Floating-point numbers as text: the forms the text interpreter and `>FLOAT` accept,
//! `REPRESENT`'s digit strings, and the layouts of `F.`, `FE.` and `FS.`. Pure functions
//! on bytes; the words that use them live in `float.rs`.

/// Which syntax a conversion accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// The text interpreter (12.3.7): a significand with digits, then `E` or `e`, an
    /// optional sign and optional digits: `1E`, `1.5e-3`, `-2.E+10`.
    Literal,
    /// `>FLOAT` (12.6.1.0558): the exponent is optional and its marker may also be `D`,
    /// `d`, or only a sign (`1+5`); a string of blanks is zero.
    Convert,
}

/// A double-precision value has at most 767 significant decimal digits; beyond them every
/// digit of its exact expansion is zero.
const EXACT_DIGITS: usize = 800;

/// The value of `text` in decimal, or `None` when it is not in the syntax. Conversion
/// rounds correctly (to nearest, ties to even); magnitudes too large are infinite and too
/// small are zero, like the standard's IEEE arithmetic.
pub fn parse_float(text: &[u8], syntax: Syntax) -> Option<f64> {
    if syntax == Syntax::Convert && text.iter().all(|&b| b == b' ') {
        return Some(0.0);
    }
    let (negative, rest) = split_sign(text);
    let (integer, rest) = split_digits(rest);
    let (fraction, rest) = match rest.split_first() {
        Some((b'.', after)) => split_digits(after),
        _ => (&[][..], rest),
    };
    if integer.is_empty() && fraction.is_empty() {
        return None;
    }
    let exponent = parse_exponent(rest, syntax)?;
    let normalized = format!(
        "{}{}.{}e{}",
        if negative { "-" } else { "" },
        ascii(integer),
        ascii(fraction),
        exponent
    );
    normalized.parse().ok()
}

/// The exponent after the significand: `Some(0)` when there is none and none is needed.
fn parse_exponent(text: &[u8], syntax: Syntax) -> Option<String> {
    let after_marker = match (text.split_first(), syntax) {
        (None, Syntax::Convert) => return Some("0".to_owned()),
        (Some((b'E' | b'e', after)), _) => after,
        (Some((b'D' | b'd', after)), Syntax::Convert) => after,
        (Some((b'+' | b'-', _)), Syntax::Convert) => text,
        _ => return None,
    };
    let (negative, rest) = split_sign(after_marker);
    let (digits, rest) = split_digits(rest);
    if !rest.is_empty() {
        return None;
    }
    // Leading zeros are dropped so that a long run of them cannot hide a small exponent.
    let significant = ascii(digits).trim_start_matches('0').to_owned();
    let magnitude = if significant.is_empty() {
        "0".to_owned()
    } else if significant.len() > 9 {
        "999999999".to_owned()
    } else {
        significant
    };
    Some(format!("{}{magnitude}", if negative { "-" } else { "" }))
}

fn split_sign(text: &[u8]) -> (bool, &[u8]) {
    match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    }
}

fn split_digits(text: &[u8]) -> (&[u8], &[u8]) {
    let count = text.iter().take_while(|b| b.is_ascii_digit()).count();
    text.split_at(count)
}

fn ascii(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).unwrap_or("")
}

/// What `REPRESENT` returns: the significand's digits (a decimal fraction with the point
/// before the first digit), the decimal exponent, the sign and whether the value is finite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Represented {
    pub digits: Vec<u8>,
    pub exponent: i64,
    pub negative: bool,
    pub valid: bool,
}

/// The `count` most significant decimal digits of `value`, correctly rounded (to nearest,
/// ties to even); the exponent counts the rounded magnitude. Zero is all zeros with
/// exponent 1. An infinity or NaN is not valid: its digits are `INF` or `NAN`, cut or
/// padded with blanks to `count`.
pub fn represent(value: f64, count: usize) -> Represented {
    let negative = value.is_sign_negative();
    if !value.is_finite() {
        let name: &[u8] = if value.is_nan() { b"NAN" } else { b"INF" };
        let digits = name.iter().copied().chain(std::iter::repeat(b' '));
        return Represented {
            digits: digits.take(count).collect(),
            exponent: 0,
            negative,
            valid: false,
        };
    }
    let shown = count.clamp(1, EXACT_DIGITS);
    let text = format!("{:.*e}", shown - 1, value.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    digits.resize(count, b'0');
    Represented {
        digits,
        exponent: exponent.parse::<i64>().unwrap_or(0) + 1,
        negative,
        valid: true,
    }
}

/// `F.`: fixed-point notation with `precision` significant digits, trailing zeros of the
/// fraction dropped, and a trailing blank: `1.`, `0.00023`, `-66.667`.
pub fn fixed(value: f64, precision: usize) -> Vec<u8> {
    let Some(shown) = finite(value, precision) else {
        return special(value);
    };
    let mut digits = shown.digits;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    let point = shown.exponent;
    let mut text = sign(shown.negative);
    if point <= 0 {
        text.extend(b"0.");
        text.extend(std::iter::repeat_n(b'0', point.unsigned_abs() as usize));
        text.extend(&digits);
    } else {
        let point = point as usize;
        let integer_len = point.min(digits.len());
        text.extend(&digits[..integer_len]);
        text.extend(std::iter::repeat_n(b'0', point - integer_len));
        text.push(b'.');
        text.extend(&digits[integer_len..]);
    }
    text.push(b' ');
    text
}

/// `FS.`: scientific notation, one digit before the point and `precision` in all:
/// `1.0000E0 `, `-3.3300E4 `.
pub fn scientific(value: f64, precision: usize) -> Vec<u8> {
    exponential(value, precision, 1)
}

/// `FE.`: engineering notation, an exponent that is a multiple of three and one to three
/// digits before the point: `20.000E0 `, `333.33E-3 `.
pub fn engineering(value: f64, precision: usize) -> Vec<u8> {
    exponential(value, precision, 3)
}

/// A mantissa and an exponent that is a multiple of `step`.
fn exponential(value: f64, precision: usize, step: i64) -> Vec<u8> {
    let Some(shown) = finite(value, precision) else {
        return special(value);
    };
    let exponent = (shown.exponent - 1).div_euclid(step) * step;
    let integer_len = (shown.exponent - exponent) as usize;
    let mut digits = shown.digits;
    if digits.len() < integer_len {
        digits.resize(integer_len, b'0');
    }
    let mut text = sign(shown.negative);
    text.extend(&digits[..integer_len]);
    text.push(b'.');
    text.extend(&digits[integer_len..]);
    text.extend(format!("E{exponent} ").bytes());
    text
}

fn finite(value: f64, precision: usize) -> Option<Represented> {
    value
        .is_finite()
        .then(|| represent(value, precision.max(1)))
}

fn sign(negative: bool) -> Vec<u8> {
    if negative { b"-".to_vec() } else { Vec::new() }
}

/// An infinity or NaN as the output words show it.
fn special(value: f64) -> Vec<u8> {
    let text: &[u8] = match value {
        v if v.is_nan() => b"NaN ",
        v if v > 0.0 => b"+Inf ",
        _ => b"-Inf ",
    };
    text.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_syntax_needs_an_exponent_marker() {
        assert_eq!(parse_float(b"1E", Syntax::Literal), Some(1.0));
        assert_eq!(parse_float(b"1.5e-3", Syntax::Literal), Some(0.0015));
        assert_eq!(parse_float(b"1.5", Syntax::Literal), None);
        assert_eq!(parse_float(b"1+5", Syntax::Literal), None);
        assert_eq!(parse_float(b"E5", Syntax::Literal), None);
    }

    #[test]
    fn huge_exponents_saturate() {
        assert_eq!(
            parse_float(b"1E0000000000000000000000001", Syntax::Literal),
            Some(10.0)
        );
        assert_eq!(
            parse_float(b"1E99999999999999999999", Syntax::Literal),
            Some(f64::INFINITY)
        );
        assert_eq!(
            parse_float(b"1E-99999999999999999999", Syntax::Literal),
            Some(0.0)
        );
    }

    #[test]
    fn represent_rounds_ties_to_even() {
        assert_eq!(represent(0.125, 2).digits, b"12");
        assert_eq!(represent(0.375, 2).digits, b"38");
        assert_eq!(represent(9.5, 1).exponent, 2);
    }

    #[test]
    fn fixed_point_keeps_significant_digits() {
        assert_eq!(fixed(1000.0, 5), b"1000. ");
        assert_eq!(fixed(0.000234, 5), b"0.000234 ");
        assert_eq!(fixed(200.0 / 3.0, 5), b"66.667 ");
        assert_eq!(fixed(0.0, 5), b"0. ");
        assert_eq!(fixed(-0.0, 5), b"-0. ");
    }
}
