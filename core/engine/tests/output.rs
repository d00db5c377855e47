//! Output errors: a console that cannot write (a closed pipe, a full disk) makes the
//! writing word throw -37, which stops an endless output loop and which CATCH can catch.

use fastforth_engine::{Console, Forth, Limits};
use std::io::{Error, ErrorKind};

/// A console that accepts `room` bytes, then fails every write (and its flush, when
/// `flush_fails`).
struct Full {
    room: usize,
    written: Vec<u8>,
    writes: usize,
    flush_fails: bool,
}

impl Full {
    fn new(room: usize) -> Full {
        Full {
            room,
            written: Vec::new(),
            writes: 0,
            flush_fails: false,
        }
    }
}

impl Console for Full {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writes += 1;
        if self.written.len() + bytes.len() > self.room {
            return Err(Error::from(ErrorKind::BrokenPipe));
        }
        self.written.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.flush_fails {
            true => Err(Error::from(ErrorKind::StorageFull)),
            false => Ok(()),
        }
    }
}

#[test]
fn a_write_error_stops_an_endless_output_loop_with_minus_37() {
    let mut forth = Forth::new(Limits::default());
    let mut console = Full::new(10);
    let error = forth
        .evaluate(": x begin 65 emit again ; x", "t", &mut console)
        .unwrap_err();
    assert_eq!(error.code, -37);
    assert_eq!(error.word.as_deref(), Some("EMIT"));
    assert!(
        error
            .message
            .starts_with("file I/O exception: cannot write the output: "),
        "{}",
        error.message
    );
    assert_eq!(console.written, b"AAAAAAAAAA");
    assert_eq!(
        console.writes, 11,
        "the loop went on after the failed write"
    );
}

#[test]
fn every_output_word_reports_the_error() {
    for code in [
        "1 .",
        "1 u.",
        "1 5 .r",
        "1 5 u.r",
        ".s",
        "65 emit",
        "cr",
        "space",
        "3 spaces",
        "s\" hi\" type",
        ".\" hi\"",
        ".( hi)",
        "words",
        ": q .\" hi\" ; q",
    ] {
        let mut forth = Forth::new(Limits::default());
        let error = forth.evaluate(code, "t", &mut Full::new(0)).unwrap_err();
        assert_eq!(error.code, -37, "{code}");
    }
}

#[test]
fn catch_catches_an_output_error_and_the_engine_goes_on() {
    let mut forth = Forth::new(Limits::default());
    let mut console = Full::new(0);
    forth
        .evaluate(": x begin 65 emit again ; ' x catch 7", "t", &mut console)
        .unwrap();
    assert_eq!(forth.data_stack(), &[-37, 7]);
}

#[test]
fn a_failed_flush_fails_the_evaluation() {
    let mut forth = Forth::new(Limits::default());
    let mut console = Full::new(100);
    console.flush_fails = true;
    let error = forth.evaluate("1 .", "t", &mut console).unwrap_err();
    assert_eq!(error.code, -37);
    assert_eq!(console.written, b"1 ");
}
