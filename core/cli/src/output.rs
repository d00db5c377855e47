//! The command's own printing and the program's output: to standard output with an error
//! (a closed pipe, a full disk, a closed or read-only standard output) instead of the panic
//! of `println!`, and to standard error without failing.

use anyhow::Context;
use std::io::{self, Write};

/// `println!` that returns an error instead of panicking when standard output fails.
macro_rules! outln {
    () => {
        $crate::output::print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::print_line(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics: a report that cannot be written has nowhere else to go.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::report_line(format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};

/// Reports a Forth error on standard error with its control characters escaped: its text
/// is partly the program's (a file name, ABORT" text), which must not drive the terminal
/// that shows it, even when the program's own output goes elsewhere.
pub fn report_forth_error(message: &str) {
    errln!("{}", fastforth_host::printable(message));
}

/// `error` with its causes on one line (`{error:#}`), its control characters escaped: an
/// error's text can carry a file's name or a plugin's strings.
pub fn error_line(error: &impl std::fmt::Display) -> String {
    fastforth_host::printable(&format!("{error:#}")).into_owned()
}

/// Writes one line to standard output.
pub fn print_line(line: std::fmt::Arguments) -> anyhow::Result<()> {
    write_stdout(format!("{line}\n").as_bytes()).context("cannot write to standard output")
}

/// Writes `bytes` to standard output, unbuffered. Rust's `Stdout` reports a write to a
/// closed standard output as done, so on Unix this writes through a duplicate of its
/// descriptor, made once: a closed or read-only standard output is an error (EBADF), and
/// a full non-blocking pipe (EAGAIN) is waited for, not an error.
pub fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::sync::OnceLock;
        static STDOUT: OnceLock<Result<std::fs::File, i32>> = OnceLock::new();
        let _serialised = io::stdout().lock();
        let file = STDOUT.get_or_init(|| {
            let duplicate = io::stdout().as_fd().try_clone_to_owned();
            duplicate
                .map(std::fs::File::from)
                .map_err(|error| error.raw_os_error().unwrap_or(0))
        });
        let mut file = file
            .as_ref()
            .map_err(|&errno| io::Error::from_raw_os_error(errno))?;
        write_waiting(&mut file, bytes)
    }
    #[cfg(not(unix))]
    {
        let mut out = io::stdout().lock();
        out.write_all(bytes).and_then(|()| out.flush())
    }
}

/// `write_all` that waits for a non-blocking writer to take more instead of failing.
#[cfg(unix)]
fn write_waiting(out: &mut impl Write, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match out.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Writes one line to standard error, ignoring failure.
pub fn report_line(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
