//! Source and input with a size cap: source files read up to `--max-source-bytes`, and
//! standard input read a line at a time, each line capped, so that endless input
//! (`/dev/zero`, `yes`) never grows memory without bound.

use anyhow::Context;
use std::io::{BufRead, BufReader, Read, Stdin};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// The size of the CLI's standard input buffer: `std::io::Stdin`'s own, so that each read
/// into it passes `Stdin`'s buffer by (it only fills its own for smaller reads).
const STDIN_BUFFER_BYTES: usize = 8 * 1024;

/// Standard input as the CLI reads it (program lines, ACCEPT, KEY): through one buffer of
/// its own, which [`key_ready`] can look into; `Stdin` keeps its buffer to itself.
pub fn stdin() -> MutexGuard<'static, BufReader<Stdin>> {
    static STDIN: OnceLock<Mutex<BufReader<Stdin>>> = OnceLock::new();
    let buffered = STDIN.get_or_init(|| {
        Mutex::new(BufReader::with_capacity(
            STDIN_BUFFER_BYTES,
            std::io::stdin(),
        ))
    });
    buffered.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether reading standard input would not wait (KEY?): bytes are buffered or have
/// arrived, or the input has ended, so that a read ends at once. A terminal in its usual
/// line mode has input once a line was entered.
pub fn key_ready() -> bool {
    !stdin().buffer().is_empty() || readable_now(&std::io::stdin())
}

/// Whether `input` can be read without waiting: `poll` with no timeout.
#[cfg(unix)]
fn readable_now(input: &impl std::os::fd::AsFd) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut polled = [PollFd::new(input, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut polled, Some(&now)).is_ok_and(|ready| ready > 0)
}

/// Elsewhere there is no way to tell without waiting: never ready.
#[cfg(not(unix))]
fn readable_now(_: &Stdin) -> bool {
    false
}

/// One line of input, without its line end.
pub struct Line {
    pub text: Vec<u8>,
    /// False when the line went on past the cap: `text` holds its first `cap` bytes and
    /// the rest is still to be read.
    pub complete: bool,
}

/// Reads and drops the rest of the current line of `input`, up to and with its `\n`,
/// holding no more of it than a buffer's worth at a time.
pub fn skip_line(input: &mut impl BufRead) -> std::io::Result<()> {
    const PIECE_BYTES: usize = 8192;
    while let Some(piece) = read_line_capped(input, PIECE_BYTES)? {
        if piece.complete {
            break;
        }
    }
    Ok(())
}

/// Reads the next line of `input` (up to `\n`, without `\n` or `\r\n`), at most `cap`
/// bytes of it; `None` at the end of the input.
pub fn read_line_capped(input: &mut impl BufRead, cap: usize) -> std::io::Result<Option<Line>> {
    let mut text = Vec::new();
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            let complete = Line {
                text,
                complete: true,
            };
            return Ok((!complete.text.is_empty()).then_some(complete));
        }
        let newline = available.iter().position(|&byte| byte == b'\n');
        let end = newline.unwrap_or(available.len());
        let room = cap - text.len();
        if end > room {
            text.extend_from_slice(&available[..room]);
            input.consume(room);
            return Ok(Some(Line {
                text,
                complete: false,
            }));
        }
        text.extend_from_slice(&available[..end]);
        if newline.is_none() {
            input.consume(end);
            continue;
        }
        input.consume(end + 1);
        if text.last() == Some(&b'\r') {
            text.pop();
        }
        return Ok(Some(Line {
            text,
            complete: true,
        }));
    }
}

/// Why source `what` (a file, a line) is refused when longer than `cap` bytes.
pub fn over_cap(what: impl std::fmt::Display, cap: usize) -> String {
    format!("{what} is larger than the source size limit of {cap} bytes (--max-source-bytes)")
}

/// The contents of the source file `path` without a byte order mark at its start, refused
/// when longer than `cap` bytes (only `cap + 1` bytes are ever read, so an endless file
/// such as `/dev/zero` is refused too).
/// Under a step budget (`bounded`) nothing waits: a FIFO, socket or device is refused
/// without being opened, as the engine refuses them to INCLUDED.
pub fn read_source_file(path: &Path, cap: usize, bounded: bool) -> anyhow::Result<Vec<u8>> {
    let cannot_read = || format!("{}: cannot read", path.display());
    if bounded && fastforth_engine::is_special(path) {
        anyhow::bail!(
            "{}: {}",
            cannot_read(),
            fastforth_engine::BLOCKS_PAST_BUDGET
        );
    }
    let reading = std::fs::OpenOptions::new().read(true).clone();
    let file = fastforth_engine::open_file(path, &reading, bounded).with_context(cannot_read)?;
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(cannot_read)?;
    if bytes.len() > cap {
        anyhow::bail!(over_cap(path.display(), cap));
    }
    fastforth_engine::strip_byte_order_mark(&mut bytes);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], cap: usize) -> Vec<(String, bool)> {
        let mut input = std::io::BufReader::with_capacity(3, input);
        std::iter::from_fn(|| read_line_capped(&mut input, cap).unwrap())
            .map(|line| (String::from_utf8(line.text).unwrap(), line.complete))
            .collect()
    }

    #[test]
    fn lines_end_at_newline_or_end_of_input() {
        let expected = [("ab", true), ("", true), ("cd", true), ("e", true)];
        let expected: Vec<_> = expected.map(|(t, c)| (t.to_owned(), c)).into();
        assert_eq!(lines(b"ab\n\ncd\r\ne", 8), expected);
        assert_eq!(lines(b"", 8), []);
    }

    #[test]
    fn a_line_of_exactly_the_cap_is_complete_and_a_longer_one_is_cut() {
        assert_eq!(lines(b"abcd\n", 4), [("abcd".to_owned(), true)]);
        assert_eq!(lines(b"abcd", 4), [("abcd".to_owned(), true)]);
        let cut = lines(b"abcdef\nx\n", 4);
        let expected = [("abcd", false), ("ef", true), ("x", true)];
        assert_eq!(cut, expected.map(|(t, c)| (t.to_owned(), c)));
    }

    #[test]
    fn endless_input_without_newlines_reads_only_the_cap() {
        let mut zeros = std::io::BufReader::new(std::io::repeat(0));
        let line = read_line_capped(&mut zeros, 1000).unwrap().unwrap();
        assert_eq!((line.text.len(), line.complete), (1000, false));
    }

    #[test]
    fn a_source_file_over_the_cap_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.fs");
        std::fs::write(&path, "1 2 +").unwrap();
        assert_eq!(read_source_file(&path, 5, false).unwrap(), b"1 2 +");
        let refused = read_source_file(&path, 4, true).unwrap_err().to_string();
        assert_eq!(
            refused,
            format!(
                "{} is larger than the source size limit of 4 bytes (--max-source-bytes)",
                path.display()
            )
        );
    }
}
