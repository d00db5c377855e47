//! The File-access word set on real files in temporary directories, its iors, and the
//! file access policy (off, within a directory, full) against each word that names a file.

use fastforth_engine::{BufferConsole, FileAccess, Forth, ForthError, Limits};
use std::path::Path;

const NO_SUCH_FILE: i64 = -514;
const BAD_FILEID: i64 = -521;
const REFUSED: i64 = -525;
const TOO_MANY_FILES: i64 = -536;
const INVALID: i64 = -534;

fn engine(access: FileAccess) -> Forth {
    Forth::new(Limits {
        file_access: access,
        ..Limits::default()
    })
}

/// Runs `source` in a session confined to `dir`; the data stack, or the error.
fn run_in(dir: &Path, source: &str) -> Result<Vec<i64>, ForthError> {
    run(&mut engine(FileAccess::Within(dir.into())), source)
}

fn run(forth: &mut Forth, source: &str) -> Result<Vec<i64>, ForthError> {
    let mut console = BufferConsole::new();
    forth.evaluate(source, "test", &mut console)?;
    Ok(forth.data_stack().to_vec())
}

fn stack_in(dir: &Path, source: &str) -> Vec<i64> {
    run_in(dir, source).unwrap_or_else(|error| panic!("{source:?} failed: {error}"))
}

const WRITE_TWO_LINES: &str = "S\" a.txt\" W/O CREATE-FILE DROP VALUE f \
    S\" first\" f WRITE-LINE DROP S\" second\" f WRITE-LINE DROP f CLOSE-FILE DROP ";

#[test]
fn written_lines_are_read_back_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "{WRITE_TWO_LINES} CREATE buf 80 ALLOT \
         S\" a.txt\" R/O OPEN-FILE DROP TO f \
         buf 80 f READ-LINE buf 80 f READ-LINE buf 80 f READ-LINE f CLOSE-FILE"
    );
    assert_eq!(
        stack_in(dir.path(), &source),
        [5, -1, 0, 6, -1, 0, 0, 0, 0, 0]
    );
    let text = std::fs::read_to_string(dir.path().join("a.txt")).unwrap();
    assert_eq!(text, "first\nsecond\n");
}

#[test]
fn read_line_stops_at_the_buffer_size_and_accepts_crlf_and_cr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.txt"), b"abcdef\r\nxy\rz").unwrap();
    let source = "CREATE buf 80 ALLOT S\" b.txt\" R/O OPEN-FILE DROP VALUE f \
        buf 4 f READ-LINE buf 80 f READ-LINE buf 80 f READ-LINE buf 80 f READ-LINE \
        buf C@ buf 80 f READ-LINE";
    assert_eq!(
        stack_in(dir.path(), source),
        [4, -1, 0, 2, -1, 0, 2, -1, 0, 1, -1, 0, b'z' as i64, 0, 0, 0]
    );
}

#[test]
fn positions_sizes_and_binary_reads() {
    let dir = tempfile::tempdir().unwrap();
    let source = "S\" c.bin\" R/W BIN CREATE-FILE DROP VALUE f \
        PAD 50 f WRITE-FILE f FILE-SIZE f FILE-POSITION \
        10 0 f REPOSITION-FILE f FILE-POSITION \
        PAD 100 f READ-FILE PAD 100 f READ-FILE";
    assert_eq!(
        stack_in(dir.path(), source),
        [0, 50, 0, 0, 50, 0, 0, 0, 10, 0, 0, 40, 0, 0, 0]
    );
}

#[test]
fn resize_file_shortens_and_extends() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.bin"), [7u8; 100]).unwrap();
    let source = "S\" d.bin\" R/W OPEN-FILE DROP VALUE f \
        30 0 f RESIZE-FILE f FILE-SIZE 500 0 f RESIZE-FILE f FILE-SIZE -1 -1 f RESIZE-FILE";
    assert_eq!(
        stack_in(dir.path(), source),
        [0, 30, 0, 0, 0, 500, 0, 0, INVALID]
    );
    assert_eq!(
        std::fs::metadata(dir.path().join("d.bin")).unwrap().len(),
        500
    );
}

#[test]
fn delete_rename_and_status() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.txt"), "x").unwrap();
    let source = "S\" old.txt\" FILE-STATUS NIP S\" old.txt\" S\" new.txt\" RENAME-FILE \
        S\" old.txt\" FILE-STATUS NIP S\" new.txt\" DELETE-FILE S\" new.txt\" DELETE-FILE";
    assert_eq!(
        stack_in(dir.path(), source),
        [0, 0, NO_SUCH_FILE, 0, NO_SUCH_FILE]
    );
    assert!(!dir.path().join("new.txt").exists());
}

#[test]
fn opening_a_missing_file_names_the_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let source = "S\" none.txt\" R/O OPEN-FILE S\" x\" 7 CREATE-FILE NIP";
    assert_eq!(stack_in(dir.path(), source), [0, NO_SUCH_FILE, INVALID]);
}

#[test]
fn words_on_fileids_refuse_ids_that_are_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let source = "99 CLOSE-FILE  PAD 1 -5 READ-FILE NIP  PAD 1 0 WRITE-FILE \
        PAD 9 3 READ-LINE NIP NIP  7 FILE-SIZE NIP NIP  7 FILE-POSITION NIP NIP \
        0 0 7 REPOSITION-FILE  0 0 7 RESIZE-FILE  7 FLUSH-FILE \
        S\" e\" W/O CREATE-FILE DROP DUP CLOSE-FILE SWAP CLOSE-FILE";
    let refused = [BAD_FILEID; 9];
    let mut expected = refused.to_vec();
    expected.extend([0, BAD_FILEID]);
    assert_eq!(stack_in(dir.path(), source), expected);
}

#[test]
fn open_files_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut forth = Forth::new(Limits {
        file_access: FileAccess::Within(dir.path().into()),
        max_open_files: 2,
        ..Limits::default()
    });
    let source = "S\" f\" W/O CREATE-FILE NIP S\" f\" R/O OPEN-FILE NIP S\" f\" R/O OPEN-FILE \
        1 CLOSE-FILE S\" f\" R/O OPEN-FILE";
    assert_eq!(
        run(&mut forth, source).unwrap(),
        [0, 0, 0, TOO_MANY_FILES, 0, 1, 0]
    );
}

#[test]
fn include_file_and_required_include_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inc.fs"), "n 1+ TO n\n").unwrap();
    let source = "0 VALUE n S\" inc.fs\" R/O OPEN-FILE DROP VALUE g g INCLUDE-FILE \
        g CLOSE-FILE n S\" inc.fs\" INCLUDED S\" inc.fs\" REQUIRED REQUIRE inc.fs n \
        INCLUDE inc.fs n";
    assert_eq!(stack_in(dir.path(), source), [0, 1, 2, 3]);
}

#[test]
fn a_byte_order_mark_at_the_start_of_a_file_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bom.fs"), b"\xEF\xBB\xBF1 2 +\n").unwrap();
    assert_eq!(stack_in(dir.path(), "S\" bom.fs\" INCLUDED"), [3]);
    // Elsewhere it is text like any other: not a word.
    let mut forth = fastforth_engine::Forth::new(fastforth_engine::Limits::default());
    let mut console = fastforth_engine::BufferConsole::new();
    let error = forth
        .evaluate("\u{feff}1", "line", &mut console)
        .unwrap_err();
    assert_eq!(error.code, -13);
}

#[test]
fn required_includes_a_new_file_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("once.fs"), "1+\n").unwrap();
    let source = "0 S\" once.fs\" REQUIRED REQUIRE once.fs S\" once.fs\" REQUIRED";
    assert_eq!(stack_in(dir.path(), source), [1]);
}

#[test]
fn full_access_reaches_any_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.txt");
    let source = format!(
        "S\" {}\" W/O CREATE-FILE NIP",
        path.display().to_string().replace('\\', "/")
    );
    assert_eq!(run(&mut engine(FileAccess::Full), &source).unwrap(), [0]);
    assert!(path.exists());
}

/// Each word that names a file, with the stack it leaves when the policy refuses.
const NAMING_WORDS: [(&str, &[i64]); 5] = [
    ("S\" x\" R/O OPEN-FILE", &[0, REFUSED]),
    ("S\" x\" R/W CREATE-FILE", &[0, REFUSED]),
    ("S\" x\" DELETE-FILE", &[REFUSED]),
    ("S\" x\" S\" y\" RENAME-FILE", &[REFUSED]),
    ("S\" x\" FILE-STATUS", &[0, REFUSED]),
];

/// The words that include source or use the block file throw -37 when refused.
const THROWING_WORDS: [&str; 6] = [
    "S\" x\" INCLUDED",
    "INCLUDE x",
    "S\" x\" REQUIRED",
    "REQUIRE x",
    "1 BLOCK",
    "1 LOAD",
];

#[test]
fn file_access_off_refuses_every_word_that_names_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x"), "1\n").unwrap();
    let inside = dir.path().display().to_string();
    for (word, expected) in NAMING_WORDS {
        let source = word.replace("\" x\"", &format!("\" {inside}/x\""));
        let stack = run(&mut engine(FileAccess::Off), &source).unwrap();
        assert_eq!(stack, expected, "{source}");
    }
    for word in THROWING_WORDS {
        let failure = run(&mut engine(FileAccess::Off), word).unwrap_err();
        assert_eq!(failure.code, -37, "{word}");
        assert!(failure.message.contains("file access is off"), "{failure}");
    }
    assert!(dir.path().join("x").exists());
}

#[test]
fn within_refuses_names_that_leave_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = root.path().join("box");
    std::fs::create_dir(&sandbox).unwrap();
    std::fs::write(root.path().join("x"), "1\n").unwrap();
    let outside = root.path().join("x").display().to_string();
    for escape in ["../x", outside.as_str(), "sub/../../x"] {
        for (word, expected) in NAMING_WORDS {
            let source = word.replace("\" x\"", &format!("\" {escape}\""));
            assert_eq!(stack_in(&sandbox, &source), expected, "{source}");
        }
        for word in THROWING_WORDS
            .iter()
            .filter(|w| !w.contains("BLOCK") && !w.contains("LOAD"))
        {
            let source = word.replace('x', escape);
            let failure = run_in(&sandbox, &source).unwrap_err();
            assert_eq!(failure.code, -37, "{source}");
            assert!(failure.message.contains("plain relative name"), "{failure}");
        }
    }
    let renamed_out = "S\" ok\" W/O CREATE-FILE NIP S\" ok\" S\" ../y\" RENAME-FILE";
    assert_eq!(stack_in(&sandbox, renamed_out), [0, REFUSED]);
    assert!(root.path().join("x").exists() && !root.path().join("y").exists());
}

#[cfg(unix)]
#[test]
fn within_refuses_symbolic_links_that_lead_out() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = root.path().join("box");
    std::fs::create_dir(&sandbox).unwrap();
    std::fs::write(root.path().join("secret"), "1\n").unwrap();
    std::os::unix::fs::symlink(root.path().join("secret"), sandbox.join("x")).unwrap();
    std::os::unix::fs::symlink(root.path(), sandbox.join("up")).unwrap();
    std::os::unix::fs::symlink(root.path().join("gone"), sandbox.join("dangling")).unwrap();
    for name in ["x", "up/secret", "dangling"] {
        for (word, expected) in NAMING_WORDS {
            let source = word.replace("\" x\"", &format!("\" {name}\""));
            assert_eq!(stack_in(&sandbox, &source), expected, "{source}");
        }
        let failure = run_in(&sandbox, &format!("INCLUDE {name}")).unwrap_err();
        assert!(failure.message.contains("leads outside"), "{failure}");
    }
    assert!(!root.path().join("gone").exists());
    assert!(root.path().join("secret").exists());
}

#[cfg(unix)]
#[test]
fn within_refuses_fifos_which_would_block_their_opener() {
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("x"))
        .status()
        .unwrap();
    assert!(made.success());
    for (word, expected) in NAMING_WORDS {
        assert_eq!(stack_in(dir.path(), word), expected, "{word}");
    }
    let failure = run_in(dir.path(), "INCLUDE x").unwrap_err();
    assert!(
        failure.message.contains("neither a file nor a directory"),
        "{failure}"
    );
}

#[cfg(unix)]
#[test]
fn a_step_budget_refuses_fifos_with_full_access_too() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let mut budgeted = Forth::new(Limits {
        max_steps: Some(1_000_000),
        ..Limits::default()
    });
    let name = fifo.display();
    let opened = run(&mut budgeted, &format!("S\" {name}\" R/O OPEN-FILE")).unwrap();
    assert_eq!(opened, [0, REFUSED]);
    let failure = run(&mut budgeted, &format!("S\" {name}\" INCLUDED")).unwrap_err();
    assert_eq!(failure.code, -37, "{failure}");
    assert!(
        failure.message.contains("could block past the step budget"),
        "{failure}"
    );
    // A program file given by the embedding program, which skips the name check, is
    // refused once open instead of waiting for a writer.
    let opened = budgeted.include_file(&fifo, &mut BufferConsole::new());
    let failure = opened.unwrap_err();
    assert_eq!(failure.code, -37, "{failure}");
    assert!(
        failure.message.contains("could block past the step budget"),
        "{failure}"
    );
    // A plain file is still readable under the budget.
    std::fs::write(dir.path().join("plain.fs"), "7\n").unwrap();
    let plain = dir.path().join("plain.fs");
    let included = run(
        &mut budgeted,
        &format!("S\" {}\" INCLUDED", plain.display()),
    );
    assert_eq!(included.unwrap(), [0, REFUSED, 7]);
}

/// An engine with full file access after including `text` as the file `open.fs` in `dir`,
/// which must end in an unexpected end of file (-39), and that error.
fn ended_early(dir: &Path, text: &str) -> (Forth, ForthError) {
    let open = dir.join("open.fs");
    std::fs::write(&open, text).unwrap();
    let mut forth = engine(FileAccess::Full);
    let failure = forth
        .include_file(&open, &mut BufferConsole::new())
        .unwrap_err();
    assert_eq!(failure.code, -39, "{failure}");
    (forth, failure)
}

#[test]
fn a_program_file_that_ends_inside_a_definition_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open.fs");
    let (mut forth, failure) = ended_early(dir.path(), "1 : f 2");
    assert_eq!(
        failure.message,
        "unexpected end of file inside the definition of f"
    );
    assert_eq!(failure.word.as_deref(), Some(&*open.display().to_string()));
    // INCLUDED inside a line is text like any other: the definition goes on after it.
    forth.reset_after_error();
    let source = format!("S\" {}\" INCLUDED 3 ; f", open.display());
    assert_eq!(run(&mut forth, &source).unwrap(), [1, 2, 3]);
    assert_eq!(forth.end_of_program("test").map_err(|e| e.code), Ok(()));
    run(&mut forth, ": g").unwrap();
    assert_eq!(forth.end_of_program("test").map_err(|e| e.code), Err(-39));
}

#[test]
fn a_file_that_ends_inside_a_skipped_bracket_if_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open.fs");
    let (mut forth, failure) = ended_early(dir.path(), "1 0 [IF] 2\n[IF] 3 [THEN] 4\n");
    assert_eq!(
        failure.message,
        "unexpected end of file inside [IF] or [ELSE], before its [THEN]"
    );
    // Where the file ended: after the 15 characters of its second line.
    let at = failure.location.as_ref().expect("a position");
    assert_eq!(
        (at.file.as_str(), at.line, at.column),
        (&*open.display().to_string(), 2, 16)
    );
    forth.reset_after_error();
    // Closed, across lines and nested, it skips what it should.
    std::fs::write(&open, "1 0 [IF] 2\n[IF] 3 [THEN] 4\n[ELSE] 5 [THEN] 6\n").unwrap();
    forth
        .include_file(&open, &mut BufferConsole::new())
        .unwrap();
    assert_eq!(forth.data_stack(), [1, 5, 6]);
    // A line or an EVALUATE string that ends inside one just ends, as it always did.
    assert_eq!(run(&mut forth, "0 [IF] 7").unwrap(), [1, 5, 6]);
}

#[test]
fn within_allows_files_in_subdirectories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/inc.fs"), "42\n").unwrap();
    let source = "S\" sub/new\" W/O CREATE-FILE NIP S\" ./sub/inc.fs\" INCLUDED";
    assert_eq!(stack_in(dir.path(), source), [0, 42]);
}

#[test]
fn a_copy_of_a_session_opens_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut forth = engine(FileAccess::Within(dir.path().into()));
    run(&mut forth, "S\" f\" W/O CREATE-FILE DROP VALUE f").unwrap();
    let mut copy = forth.clone();
    assert_eq!(run(&mut copy, "f CLOSE-FILE").unwrap(), [BAD_FILEID]);
    assert_eq!(run(&mut forth, "f CLOSE-FILE").unwrap(), [0]);
}

#[test]
fn reading_charges_the_step_budget_by_size() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big"), vec![b'x'; 200_000]).unwrap();
    let mut forth = Forth::new(Limits {
        file_access: FileAccess::Within(dir.path().into()),
        max_steps: Some(500),
        ..Limits::default()
    });
    let source = "S\" big\" R/O OPEN-FILE DROP HERE 200000 ROT READ-FILE";
    assert_eq!(run(&mut forth, source).unwrap_err().code, -256);
}

#[test]
fn growing_a_file_or_seeking_past_its_end_charges_the_step_budget_by_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut forth = Forth::new(Limits {
        file_access: FileAccess::Within(dir.path().into()),
        max_steps: Some(2_000),
        ..Limits::default()
    });
    let open = "S\" f\" R/W CREATE-FILE DROP VALUE f";
    run(&mut forth, open).unwrap();
    assert_eq!(run(&mut forth, "100000 0 f RESIZE-FILE").unwrap(), [0]);
    let huge = run(&mut forth, "1000000000000 0 f RESIZE-FILE").unwrap_err();
    assert_eq!(huge.code, -256, "{huge}");
    assert_eq!(
        std::fs::metadata(dir.path().join("f")).unwrap().len(),
        100_000
    );
    // Nor can a write past the end, through REPOSITION-FILE, make a large file cheaply.
    let far = run(&mut forth, "1000000000000 0 f REPOSITION-FILE").unwrap_err();
    assert_eq!(far.code, -256, "{far}");
    // Shrinking, or moving inside the file, costs nothing beyond the word itself.
    forth.reset_after_error();
    assert_eq!(run(&mut forth, "0 0 f RESIZE-FILE").unwrap(), [0]);
    assert_eq!(run(&mut forth, "0 0 f REPOSITION-FILE").unwrap(), [0, 0]);
}
