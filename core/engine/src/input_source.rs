//! An input source of the outer interpreter (`Source`): host text, a file, an EVALUATE
//! string or a block, with its current line and where that line lies in memory; and where
//! skipping input for [IF] is (`Skip`).

use std::rc::Rc;

/// What kind of input source is being interpreted.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// Text given to `Forth::evaluate` (the user input device, SOURCE-ID 0).
    User,
    /// A file (SOURCE-ID is a positive number).
    File(i64),
    /// An EVALUATE string (SOURCE-ID -1).
    Evaluate,
    /// A block being LOADed (SOURCE-ID 0, BLK the block number).
    Block(i64),
}

/// An active input source. Line-based sources (host text and files) copy their current
/// line into a buffer at the end of memory; EVALUATE strings are interpreted in place.
#[derive(Debug, Clone)]
pub struct Source {
    pub kind: SourceKind,
    pub name: Rc<str>,
    pub text: Rc<[u8]>,
    /// Offset in `text` of the current line and of the next one.
    pub line_start: usize,
    pub next_line: usize,
    pub line: u32,
    /// The number of `text`'s first line: 1, or for the user input device the line that
    /// REFILL last read from the console in place of the text (SAVE-INPUT positions of
    /// earlier lines are gone).
    pub first_line: u32,
    /// The input buffer in memory.
    pub buffer: usize,
    pub len: usize,
    /// The enclosing source's >IN, restored when this one ends.
    pub saved_to_in: usize,
}

/// Where skipping for [IF] or [ELSE] is: how many nested [IF]s it is inside, and whether
/// an [ELSE] at the outer level ends it (it does for [IF]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Skip {
    pub depth: usize,
    pub stop_at_else: bool,
}
