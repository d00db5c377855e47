//! The parser: splits the input buffer into blank-delimited tokens (with their position),
//! parses delimited strings, and converts tokens to numbers.
//!
//! Forth parsing is interleaved with execution (a word may move `>IN` or parse the rest of
//! the line itself), so these functions work on the current input buffer and a parse
//! position rather than producing the whole token list up front.

/// A parsed token: its offset in the input buffer and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub len: usize,
}

/// Whether a byte separates blank-delimited tokens (space and every control character).
pub fn is_blank(byte: u8) -> bool {
    byte <= b' '
}

fn is_delimiter(byte: u8, delimiter: u8) -> bool {
    if delimiter == b' ' {
        is_blank(byte)
    } else {
        byte == delimiter
    }
}

/// Skips leading delimiters, then takes everything up to the next delimiter (PARSE-NAME,
/// WORD). Returns the token and the new parse position (after the delimiter, if any).
pub fn parse_word(buffer: &[u8], position: usize, delimiter: u8) -> (Token, usize) {
    let start = buffer
        .get(position..)
        .and_then(|rest| rest.iter().position(|&b| !is_delimiter(b, delimiter)))
        .map_or(buffer.len(), |skip| position + skip);
    parse_until(buffer, start, delimiter)
}

/// Takes everything from the position up to the delimiter (PARSE). The new parse position
/// is after the delimiter, or the end of the buffer when there is none.
pub fn parse_until(buffer: &[u8], position: usize, delimiter: u8) -> (Token, usize) {
    let start = position.min(buffer.len());
    let rest = &buffer[start..];
    match rest.iter().position(|&b| is_delimiter(b, delimiter)) {
        Some(len) => (Token { start, len }, start + len + 1),
        None => (
            Token {
                start,
                len: rest.len(),
            },
            buffer.len(),
        ),
    }
}

/// Parses a string with the escapes of `S\"` up to the closing quote. Returns the
/// translated bytes and the new parse position.
pub fn parse_escaped(buffer: &[u8], position: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut at = position.min(buffer.len());
    while let Some(&byte) = buffer.get(at) {
        at += 1;
        match byte {
            b'"' => return (out, at),
            b'\\' => at = escape(buffer, at, &mut out),
            other => out.push(other),
        }
    }
    (out, at)
}

fn escape(buffer: &[u8], at: usize, out: &mut Vec<u8>) -> usize {
    let Some(&code) = buffer.get(at) else {
        return at;
    };
    let simple = match code {
        b'a' => Some(7),
        b'b' => Some(8),
        b'e' => Some(27),
        b'f' => Some(12),
        b'l' => Some(10),
        b'n' => Some(10),
        b'q' | b'"' => Some(b'"'),
        b'r' => Some(13),
        b't' => Some(9),
        b'v' => Some(11),
        b'z' => Some(0),
        b'\\' => Some(b'\\'),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return at + 1;
    }
    match code {
        b'm' => {
            out.extend([13, 10]);
            at + 1
        }
        b'x' => hex_escape(buffer, at + 1, out),
        other => {
            out.push(other);
            at + 1
        }
    }
}

fn hex_escape(buffer: &[u8], at: usize, out: &mut Vec<u8>) -> usize {
    let digit = |i: usize| buffer.get(i).and_then(|&b| (b as char).to_digit(16));
    match (digit(at), digit(at + 1)) {
        (Some(high), Some(low)) => {
            out.push((high * 16 + low) as u8);
            at + 2
        }
        (Some(only), None) => {
            out.push(only as u8);
            at + 1
        }
        _ => at,
    }
}

/// A number literal: a single cell, or a double cell (written with a trailing `.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Number {
    Single(i64),
    Double(i64, i64),
}

/// The value of a digit in a base, if it is one.
pub fn digit_value(byte: u8, base: u64) -> Option<u64> {
    let value = match byte {
        b'0'..=b'9' => byte - b'0',
        b'a'..=b'z' => byte - b'a' + 10,
        b'A'..=b'Z' => byte - b'A' + 10,
        _ => return None,
    } as u64;
    (value < base).then_some(value)
}

/// `>NUMBER`: accumulates digits into an unsigned double (wrapping). Returns the new
/// value and how many bytes were converted.
pub fn accumulate_digits(mut value: u128, text: &[u8], base: u64) -> (u128, usize) {
    let mut used = 0;
    for &byte in text {
        let Some(digit) = digit_value(byte, base) else {
            break;
        };
        value = value.wrapping_mul(base as u128).wrapping_add(digit as u128);
        used += 1;
    }
    (value, used)
}

/// Converts a token to a number: `'c'` characters, the prefixes `#` (decimal), `$` (hex)
/// and `%` (binary), a leading `-`, and a trailing `.` for a double-cell number. Digits
/// whose value does not fit in the cell (or the double cell) are no number.
pub fn parse_number(token: &[u8], base: u64) -> Option<Number> {
    if let [b'\'', char, b'\''] = token {
        return Some(Number::Single(*char as i64));
    }
    let (base, rest) = match token.split_first() {
        Some((b'#', rest)) => (10, rest),
        Some((b'$', rest)) => (16, rest),
        Some((b'%', rest)) => (2, rest),
        _ => (base, token),
    };
    let (negative, rest) = match rest.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, rest),
    };
    let (double, digits) = match rest.split_last() {
        Some((b'.', digits)) => (true, digits),
        _ => (false, rest),
    };
    if digits.is_empty() || !(2..=36).contains(&base) {
        return None;
    }
    let magnitude = digits.iter().try_fold(0u128, |value, &byte| {
        let digit = digit_value(byte, base)?;
        value.checked_mul(base as u128)?.checked_add(digit as u128)
    })?;
    // A cell holds any unsigned 64-bit magnitude (`-1` and `18446744073709551615` are the
    // same cell) and a negative one down to the smallest signed number; a larger one is no
    // number rather than a silently wrapped one. So does a double cell, in 128 bits.
    let bits = if double { 128 } else { 64 };
    let largest = match negative {
        true => 1u128 << (bits - 1),
        false => u128::MAX >> (128 - bits),
    };
    if magnitude > largest {
        return None;
    }
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    Some(if double {
        Number::Double(value as u64 as i64, (value >> 64) as u64 as i64)
    } else {
        Number::Single(value as u64 as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_positions() {
        let line = b"  : sq\tdup * ;";
        let (token, next) = parse_word(line, 0, b' ');
        assert_eq!(token, Token { start: 2, len: 1 });
        let (token, _) = parse_word(line, next, b' ');
        assert_eq!(&line[token.start..token.start + token.len], b"sq");
    }

    #[test]
    fn numbers_with_prefixes() {
        assert_eq!(parse_number(b"$ff", 10), Some(Number::Single(255)));
        assert_eq!(parse_number(b"#-12", 16), Some(Number::Single(-12)));
        assert_eq!(parse_number(b"%101", 10), Some(Number::Single(5)));
        assert_eq!(parse_number(b"'a'", 10), Some(Number::Single(97)));
        assert_eq!(parse_number(b"-1.", 10), Some(Number::Double(-1, -1)));
        assert_eq!(parse_number(b"-", 10), None);
        assert_eq!(parse_number(b"1x", 10), None);
    }

    #[test]
    fn a_number_too_large_for_its_cell_is_no_number() {
        let max = Some(Number::Single(-1));
        assert_eq!(parse_number(b"18446744073709551615", 10), max);
        assert_eq!(parse_number(b"$FFFFFFFFFFFFFFFF", 10), max);
        assert_eq!(parse_number(b"18446744073709551616", 10), None);
        assert_eq!(parse_number(b"99999999999999999999", 10), None);
        assert_eq!(parse_number(b"-18446744073709551616", 10), None);
        let double = parse_number(b"18446744073709551616.", 10);
        assert_eq!(double, Some(Number::Double(0, 1)));
        let too_large = format!("{}0.", u128::MAX);
        assert_eq!(parse_number(too_large.as_bytes(), 10), None);
        assert_eq!(
            parse_number(b"-9223372036854775808", 10),
            Some(Number::Single(i64::MIN))
        );
        assert_eq!(parse_number(b"-9223372036854775809", 10), None);
        assert_eq!(parse_number(b"-18446744073709551615", 10), None);
        let min = format!("-{}.", 1u128 << 127);
        let min = parse_number(min.as_bytes(), 10);
        assert_eq!(min, Some(Number::Double(0, i64::MIN)));
        let below = format!("-{}.", (1u128 << 127) + 1);
        assert_eq!(parse_number(below.as_bytes(), 10), None);
    }

    #[test]
    fn escapes() {
        let (text, next) = parse_escaped(br#"a\tb\x41\"c" rest"#, 0);
        assert_eq!(text, b"a\tbA\"c");
        assert_eq!(next, 12);
    }
}
