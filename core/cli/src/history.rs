//! The REPL's history file, `~/.fastforth_history`: one entry per line, read and appended
//! without ever waiting, as the engine opens files under a step budget (a FIFO, socket or
//! device in its place is refused, a file that would block on reading fails), and read only
//! when it is at most [`MAX_HISTORY_BYTES`]. Whatever goes wrong costs the history, never
//! the session: a warning says why once, at the start.

use crate::output::errln;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;

/// The largest history file the REPL reads (a line editor's history is some thousand lines).
const MAX_HISTORY_BYTES: u64 = 4 << 20;

/// The header line the line editor's own history format starts with, skipped when read.
const EDITOR_HEADER: &str = "#V2";

pub struct History {
    path: PathBuf,
}

impl History {
    /// The history file under `$HOME` (an absolute path) and its entries, oldest first;
    /// `None` when there is no home, or, after a warning, when the file cannot be kept.
    pub fn open() -> Option<(History, Vec<String>)> {
        let home = PathBuf::from(std::env::var_os("HOME")?);
        if !home.is_absolute() {
            return None;
        }
        let history = History {
            path: home.join(".fastforth_history"),
        };
        match history.entries() {
            Ok(entries) => Some((history, entries)),
            Err(why) => {
                let path = history.path.display();
                errln!("warning: {path}: {why}; no history is kept");
                None
            }
        }
    }

    /// The entries of the file: none when it does not exist yet.
    fn entries(&self) -> Result<Vec<String>, String> {
        if std::fs::metadata(&self.path).is_ok_and(|found| !found.is_file()) {
            return Err("not a regular file".to_owned());
        }
        let reading = OpenOptions::new().read(true).clone();
        let file = match fastforth_engine::open_file(&self.path, &reading, true) {
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return match std::fs::symlink_metadata(&self.path) {
                    Ok(_) => Err("a symbolic link to nothing".to_owned()),
                    Err(_) => Ok(Vec::new()),
                };
            }
            Err(error) => return Err(error.to_string()),
            Ok(file) => file,
        };
        let mut bytes = Vec::new();
        file.take(MAX_HISTORY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| match error.kind() {
                ErrorKind::WouldBlock => "cannot be read without waiting".to_owned(),
                _ => error.to_string(),
            })?;
        if bytes.len() as u64 > MAX_HISTORY_BYTES {
            return Err(format!(
                "more than {MAX_HISTORY_BYTES} bytes, more than a history may have"
            ));
        }
        let text = String::from_utf8_lossy(&bytes);
        let lines = text.lines().filter(|line| *line != EDITOR_HEADER);
        Ok(lines.map(str::to_owned).collect())
    }

    /// Appends `entry` (a failure loses the entry, and nothing else).
    pub fn append(&self, entry: &str) {
        let mut appending = OpenOptions::new();
        appending.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut appending, 0o600);
        if let Ok(mut file) = fastforth_engine::open_file(&self.path, &appending, true) {
            let _ = file.write_all(format!("{entry}\n").as_bytes());
        }
    }
}
