//! Where the engine's output goes and its input comes from, and how it reaches the words its
//! host provides: the `Console` trait, an in-memory console for tests and embedding, and a
//! console on stdin/stdout.

use crate::error::{Fallible, Throw, code};
use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};

/// Why a host word failed: the throw code and the message reported for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostWordError {
    pub code: i64,
    pub message: String,
}

/// Where the engine's output goes and its input comes from, and who runs host words.
pub trait Console {
    /// Writes program output. An error (a closed pipe, a full disk) is throw code -37 in
    /// the word that wrote, which stops it unless it is caught.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// The bytes of one line of input, as received (UTF-8 or not), without its line end
    /// (for ACCEPT); None = end of input.
    fn read_line(&mut self) -> Option<Vec<u8>> {
        None
    }
    /// One key (for KEY); None = end of input.
    fn read_key(&mut self) -> Option<u8> {
        None
    }
    /// Called at the end of each `evaluate`; consoles that buffer output push it out here.
    /// An error fails an evaluation that had succeeded with throw code -37.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// Runs the host word `id` (see [`crate::Forth::define_host_word`]) on the data stack
    /// in place: `cells` is the stack's storage, bottom first, of which the bottom `*depth`
    /// are in use. The word may change any cell and sets `*depth` to the depth it leaves,
    /// also when it fails. The default knows no host word.
    fn call_host_word(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), HostWordError> {
        let _ = (cells, depth);
        Err(HostWordError {
            code: crate::error::code::UNSUPPORTED_OPERATION,
            message: format!("host word {id} is not provided by this console"),
        })
    }
    /// Whether a key can be read without waiting (KEY?, EKEY?). The default, for consoles
    /// that cannot tell without waiting, is false.
    fn key_available(&mut self) -> bool {
        false
    }
}

/// A Console that collects output in memory (for tests and embedding).
#[derive(Debug, Default, Clone)]
pub struct BufferConsole {
    pub output: Vec<u8>,
    pub input_lines: VecDeque<String>,
    pending_keys: VecDeque<u8>,
}

impl BufferConsole {
    pub fn new() -> BufferConsole {
        BufferConsole::default()
    }

    /// A console whose input is `input`, one line per `read_line`.
    pub fn with_input(input: &str) -> BufferConsole {
        let input_lines = input.lines().map(str::to_owned).collect();
        BufferConsole {
            input_lines,
            ..BufferConsole::default()
        }
    }

    /// The output so far as text (invalid UTF-8 replaced).
    pub fn output_text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Returns the output so far and clears it.
    pub fn take_output(&mut self) -> String {
        let text = self.output_text();
        self.output.clear();
        text
    }
}

impl Console for BufferConsole {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.output.extend_from_slice(bytes);
        Ok(())
    }

    fn read_line(&mut self) -> Option<Vec<u8>> {
        self.input_lines.pop_front().map(String::into_bytes)
    }

    fn read_key(&mut self) -> Option<u8> {
        if self.pending_keys.is_empty() {
            let line = self.input_lines.pop_front()?;
            self.pending_keys.extend(line.bytes().chain([b'\n']));
        }
        self.pending_keys.pop_front()
    }

    fn key_available(&mut self) -> bool {
        !self.pending_keys.is_empty() || !self.input_lines.is_empty()
    }
}

/// Writes to stdout (flushed on newline and at the end of each evaluation), reads stdin.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdConsole;

impl Console for StdConsole {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        if bytes.contains(&b'\n') {
            out.flush()?;
        }
        Ok(())
    }

    fn read_line(&mut self) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        match std::io::stdin().lock().read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                    line.pop();
                }
                Some(line)
            }
        }
    }

    fn read_key(&mut self) -> Option<u8> {
        let mut byte = [0u8];
        match std::io::stdin().lock().read(&mut byte) {
            Ok(1) => Some(byte[0]),
            _ => None,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().lock().flush()
    }
}

/// Writes program output to `console`; a write error is throw code -37.
#[inline(never)]
pub(crate) fn write_output(console: &mut dyn Console, bytes: &[u8]) -> Fallible<()> {
    console.write(bytes).map_err(output_error)
}

/// The throw for an output error: -37, naming the error.
pub(crate) fn output_error(error: std::io::Error) -> Throw {
    Throw::with_message(
        code::FILE_IO,
        format!("file I/O exception: cannot write the output: {error}"),
    )
}
