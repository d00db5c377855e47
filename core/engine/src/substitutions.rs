//! The text substitutions that REPLACES defines and SUBSTITUTE uses (`Substitutions`).
//! The String words that use them are in `strings`.

/// The substitutions REPLACES defined: texts by name (names compared ignoring ASCII
/// case, kept in upper case), and how many bytes they hold. A vector sorted by name: the
/// session bounds how many there are (-79), and the engine needs no second ordered map's
/// code beside the heap's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Substitutions {
    texts: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) bytes: usize,
}

impl Substitutions {
    /// Each name and its text, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.texts.iter().map(|(n, t)| (n.as_slice(), t.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    fn position(&self, upper_name: &[u8]) -> Result<usize, usize> {
        self.texts
            .binary_search_by(|(name, _)| name.as_slice().cmp(upper_name))
    }

    pub(crate) fn text_of(&self, name: &[u8]) -> Option<&[u8]> {
        let at = self.position(&name.to_ascii_uppercase()).ok()?;
        Some(&self.texts[at].1)
    }

    /// Adds or replaces a substitution.
    pub fn set(&mut self, name: &[u8], text: Vec<u8>) {
        let name = name.to_ascii_uppercase();
        self.bytes += name.len() + text.len();
        match self.position(&name) {
            Ok(at) => {
                self.bytes -= name.len() + self.texts[at].1.len();
                self.texts[at].1 = text;
            }
            Err(at) => self.texts.insert(at, (name, text)),
        }
    }
}
