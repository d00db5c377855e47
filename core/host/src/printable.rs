//! Text from outside the program (a manifest, a plugin, a line of input) made safe to print
//! on a terminal.

/// `text` with every control character (terminal escapes, newlines, ...) written as a
/// `\u{..}` escape, so that a string from a manifest, a state file, a plugin or the user's
/// input can be printed without taking over the terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| match c.is_control() {
            true => format!("\\u{{{:x}}}", u32::from(c)),
            false => c.to_string(),
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped_for_printing() {
        assert_eq!(super::printable("1.0.1"), "1.0.1");
        assert_eq!(
            super::printable("1.0.1-\u{1b}[2J\n"),
            "1.0.1-\\u{1b}[2J\\u{a}"
        );
    }
}
