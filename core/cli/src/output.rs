//! The command's own printing: to standard output with an error (a closed pipe, a full
//! disk) instead of the panic of `println!`, and to standard error without failing.

use anyhow::Context;
use std::io::Write;

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

/// Writes one line to standard output.
pub fn print_line(line: std::fmt::Arguments) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

/// Writes one line to standard error, ignoring failure.
pub fn report_line(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
