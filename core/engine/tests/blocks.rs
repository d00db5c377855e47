//! The Block word set on a block file in a temporary directory.

use fastforth_engine::{BufferConsole, FileAccess, Forth, ForthError, Limits};
use std::path::Path;

fn engine(dir: &Path) -> Forth {
    Forth::new(Limits {
        file_access: FileAccess::Within(dir.into()),
        ..Limits::default()
    })
}

fn run(forth: &mut Forth, source: &str) -> Result<(Vec<i64>, String), ForthError> {
    let mut console = BufferConsole::new();
    forth.evaluate(source, "test", &mut console)?;
    Ok((forth.data_stack().to_vec(), console.output_text()))
}

fn stack_in(dir: &Path, source: &str) -> Vec<i64> {
    match run(&mut engine(dir), source) {
        Ok((stack, _)) => stack,
        Err(error) => panic!("{source:?} failed: {error}"),
    }
}

/// Defines `put ( c-addr u blk -- )`: the text at the start of a blank block, updated and
/// flushed to the file.
const PUT: &str = ": put BUFFER DUP 1024 BL FILL SWAP MOVE UPDATE FLUSH ; ";

#[test]
fn updated_blocks_reach_the_block_file_and_a_new_session_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    stack_in(dir.path(), &format!("{PUT} S\" hello\" 3 put"));
    let file = std::fs::read(dir.path().join("blocks.fb")).unwrap();
    assert_eq!(file.len(), 3 * 1024);
    assert_eq!(&file[2048..2053], b"hello");
    assert!(file[..2048].iter().all(|&b| b == b' '));
    let source = "3 BLOCK C@ 3 BLOCK 5 + C@ 7 BLOCK C@";
    assert_eq!(stack_in(dir.path(), source), [b'h' as i64, 32, 32]);
}

#[test]
fn bye_writes_updated_blocks_before_it_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let mut forth = engine(dir.path());
    let flow = forth.evaluate(
        "CHAR X 2 BLOCK C! UPDATE BYE",
        "test",
        &mut BufferConsole::new(),
    );
    assert_eq!(flow.unwrap(), fastforth_engine::Flow::Bye);
    assert_eq!(stack_in(dir.path(), "2 BLOCK C@"), [b'X' as i64]);
}

#[test]
fn block_and_buffer_share_the_buffer_of_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let source = "1 BLOCK 1 BUFFER = 2 BUFFER 2 BLOCK = 1 BLOCK 2 BLOCK <> 1 BLOCK DUP ALIGNED =";
    assert_eq!(stack_in(dir.path(), source), [-1, -1, -1, -1]);
}

#[test]
fn changes_without_update_are_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let source = "CHAR A 1 BLOCK C! FLUSH 1 BLOCK C@  CHAR B 1 BLOCK C! UPDATE EMPTY-BUFFERS \
        1 BLOCK C@  CHAR C 1 BLOCK C! UPDATE SAVE-BUFFERS EMPTY-BUFFERS 1 BLOCK C@";
    assert_eq!(stack_in(dir.path(), source), [32, 32, b'C' as i64]);
}

#[test]
fn many_blocks_cycle_through_the_buffers_and_keep_their_updates() {
    let dir = tempfile::tempdir().unwrap();
    let source = ": fill 31 1 DO I I BLOCK ! UPDATE LOOP ; fill \
        : sum 0 31 1 DO I BLOCK @ + LOOP ; sum";
    assert_eq!(stack_in(dir.path(), source), [465]);
}

#[test]
fn load_interprets_a_block_with_blk_set() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "{PUT} S\" BLK @ 1 2 +\" 5 put  BLK @ 5 LOAD BLK @ \
         S\" : twice 2* ; 21 twice\" 6 put 6 LOAD"
    );
    assert_eq!(stack_in(dir.path(), &source), [0, 5, 3, 0, 42]);
}

#[test]
fn backslash_in_a_block_skips_to_the_end_of_its_64_character_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "{PUT} CREATE text 128 ALLOT text 128 BL FILL \
         S\" 1 \\ 2\" text SWAP MOVE S\" 3\" text 64 + SWAP MOVE text 128 4 put 4 LOAD"
    );
    assert_eq!(stack_in(dir.path(), &source), [1, 3]);
}

#[test]
fn thru_and_refill_continue_with_the_next_block() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "{PUT} S\" 1 BLK @\" 8 put S\" 2 BLK @\" 9 put 8 9 THRU \
         S\" 3 REFILL 4\" 10 put S\" 5 BLK @\" 11 put 10 LOAD"
    );
    assert_eq!(stack_in(dir.path(), &source), [1, 8, 2, 9, 3, -1, 5, 11]);
}

#[test]
fn list_shows_sixteen_numbered_lines_and_sets_scr() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, output) = run(
        &mut engine(dir.path()),
        &format!("{PUT} S\" first line\" 2 put 2 LIST SCR @"),
    )
    .unwrap();
    assert_eq!(stack, [2]);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 17);
    assert_eq!(lines[0], "Screen 2");
    assert_eq!(lines[1].trim_end(), " 0 first line");
    assert_eq!(lines[16].trim_end(), "15");
}

#[test]
fn invalid_block_numbers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for source in ["0 BLOCK", "-1 BUFFER", "0 LOAD", "65537 BLOCK", "0 LIST"] {
        let failure = run(&mut engine(dir.path()), source).unwrap_err();
        assert_eq!(failure.code, -35, "{source}");
    }
    assert!(!dir.path().join("blocks.fb").exists());
}

#[test]
fn the_state_image_carries_the_block_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let mut forth = engine(dir.path());
    run(&mut forth, "CHAR Z 1 BLOCK C! UPDATE").unwrap();
    let limits = Limits {
        file_access: FileAccess::Within(dir.path().into()),
        ..Limits::default()
    };
    let mut swapped = Forth::load_image(&forth.save_image(), limits).unwrap();
    let (stack, _) = run(&mut swapped, "1 BLOCK C@ FLUSH").unwrap();
    assert_eq!(stack, [b'Z' as i64]);
    assert_eq!(
        std::fs::read(dir.path().join("blocks.fb")).unwrap()[0],
        b'Z'
    );
}
