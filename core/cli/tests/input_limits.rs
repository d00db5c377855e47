//! Bounded input: source files over `--max-source-bytes` are refused, and standard input
//! is evaluated a line at a time as it arrives, each line capped, so endless input never
//! grows memory and a program ends without waiting for the end of its input.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MINUTE: Duration = Duration::from_secs(60);

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("HOME", std::env::temp_dir())
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child`; one that has not ended after a minute (a hang) fails the test.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + MINUTE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("fastforth did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn fastforth(args: &[&str], stdin: &str) -> Output {
    let mut child = spawn(args);
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    finish(child)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn program(dir: &Path, source: &str) -> PathBuf {
    let path = dir.join("prog.fs");
    std::fs::write(&path, source).unwrap();
    path
}

#[test]
fn a_source_file_over_the_limit_is_refused_naming_it_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let prog = program(dir.path(), "1 2 + .");
    let path = prog.to_str().unwrap();
    let fits = fastforth(&["--max-source-bytes", "7", "run", path], "");
    assert!(fits.status.success(), "{fits:?}");
    assert_eq!(text(&fits.stdout), "3 ");
    let refused = fastforth(&["run", "--max-source-bytes", "6", path], "");
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(text(&refused.stdout), "");
    let expected = format!("{path} is larger than the source size limit of 6 bytes");
    assert!(text(&refused.stderr).contains(&expected), "{refused:?}");
}

#[cfg(unix)]
#[test]
fn an_endless_source_file_is_refused() {
    let output = fastforth(&["--max-source-bytes", "1000000", "run", "/dev/zero"], "");
    assert_eq!(output.status.code(), Some(1));
    let expected = "/dev/zero is larger than the source size limit of 1000000 bytes";
    assert!(text(&output.stderr).contains(expected), "{output:?}");
}

#[cfg(unix)]
#[test]
fn compile_reads_its_source_under_the_same_limit() {
    let output = fastforth(&["compile", "--max-source-bytes", "1000", "/dev/zero"], "");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let expected = "/dev/zero is larger than the source size limit of 1000 bytes";
    assert!(text(&output.stderr).contains(expected), "{output:?}");
}

#[test]
fn compile_names_where_its_source_stops_being_utf8() {
    let path = std::env::temp_dir().join(format!("latin1-{}.fs", std::process::id()));
    std::fs::write(&path, b": x 1 ;\n\\ caf\xe9\n").unwrap();
    let output = fastforth(&["compile", path.to_str().unwrap()], "");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let expected = format!(
        "{}:2:6: byte 0xe9 is not UTF-8; `compile` takes UTF-8 source",
        path.display()
    );
    assert!(text(&output.stderr).contains(&expected), "{output:?}");
}

#[test]
fn a_standard_input_line_over_the_limit_is_refused_without_reading_it_all() {
    let mut child = spawn(&["--max-source-bytes", "1000"]);
    let mut stdin = child.stdin.take().unwrap();
    // Endless input with no newline: only the cap may be read before the refusal.
    std::thread::spawn(move || while stdin.write_all(&[b' '; 4096]).is_ok() {});
    let output = finish(child);
    assert_eq!(output.status.code(), Some(1));
    let expected =
        "<stdin line 1> is larger than the source size limit of 1000 bytes (--max-source-bytes)";
    assert!(text(&output.stderr).contains(expected), "{output:?}");
}

#[test]
fn standard_input_runs_line_by_line_as_it_arrives() {
    let mut child = spawn(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = lines.send(line.unwrap());
        }
    });
    stdin.write_all(b": sq dup * ;\n7 sq . cr\n").unwrap();
    // Standard input is still open: the answer must come before its end.
    assert_eq!(received.recv_timeout(MINUTE).unwrap(), "49 ");
    stdin.write_all(b"3 sq . cr\n").unwrap();
    assert_eq!(received.recv_timeout(MINUTE).unwrap(), "9 ");
    drop(stdin);
    let output = finish(child);
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn bye_ends_an_endless_input_stream() {
    let mut child = spawn(&[]);
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&b": x 1 ;\n".repeat(10_000));
        let _ = stdin.write_all(b"42 . bye\n");
        while stdin.write_all(b": x 1 ;\n").is_ok() {}
    });
    let output = finish(child);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "42 ");
}

#[test]
fn standard_input_runs_like_the_same_text_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let source = ": sq\n  dup *\n;\n\\ a comment line\n3 sq . ( a comment ) 4 sq .\r\nvariable v 5 v ! v @ .\n";
    let prog = program(dir.path(), source);
    let from_file = fastforth(&["run", prog.to_str().unwrap()], "");
    let from_stdin = fastforth(&[], source);
    assert!(from_stdin.status.success(), "{from_stdin:?}");
    assert_eq!(text(&from_stdin.stdout), "9 16 5 ");
    assert_eq!(from_stdin.stdout, from_file.stdout);
}

#[test]
fn a_paren_comment_on_standard_input_ends_at_the_end_of_its_line() {
    // Unlike in a file, where `(` reads on to the `)` on a later line: each line of
    // standard input is evaluated as it arrives, as the REPL evaluates a line.
    let output = fastforth(&[], "( open\nclosed ) 1 .\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("<stdin line 2>:1:1: -13 undefined word in closed"),
        "{output:?}"
    );
}

#[test]
fn an_error_stops_standard_input_at_its_line() {
    let output = fastforth(&[], "1 .\n2 nosuch\n3 .\n");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "1 ");
    assert!(text(&output.stderr).contains("<stdin line 2>:1:3: -13 undefined word in nosuch"));
}

#[test]
fn accept_reads_the_line_after_the_one_running() {
    let output = fastforth(&[], "pad 80 accept pad swap type\nhello there\n.( done)\n");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "hello theredone");
}

#[test]
fn accept_reads_a_line_over_the_limit_in_pieces() {
    let code = "pad 80 accept . pad 80 accept . pad 80 accept .";
    let output = fastforth(
        &["--max-source-bytes", "5", "run", "-e", code],
        "abcdefgh\nxy\n",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "5 3 2 ");
}
