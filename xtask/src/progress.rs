//! A one-line status display for long commands: on a terminal the line is rewritten in
//! place as work advances; elsewhere (CI logs, pipes) only the lasting lines are printed.
//! It knows nothing of what the work is.

use std::io::{IsTerminal, Write};

/// Where status goes: standard error, so standard output stays the command's result.
pub struct Progress {
    live: bool,
}

impl Progress {
    /// Live when standard error is a terminal.
    pub fn new() -> Progress {
        Progress {
            live: std::io::stderr().is_terminal(),
        }
    }

    /// Replaces the status line (nothing when not on a terminal).
    pub fn status(&self, text: &str) {
        if self.live {
            let width = 100;
            let shown: String = text.chars().take(width).collect();
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K{shown}");
            let _ = stderr.flush();
        }
    }

    /// Prints a line that stays, above the status line.
    pub fn line(&self, text: &str) {
        self.clear();
        eprintln!("{text}");
    }

    /// Removes the status line.
    pub fn clear(&self) {
        if self.live {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K");
            let _ = stderr.flush();
        }
    }
}
