//! The Memory-allocation word set: ALLOCATE, FREE and RESIZE in the session's own data
//! space, with iors for every misuse.

mod common;

use common::check_all;
use fastforth_engine::{BufferConsole, Forth, Limits};

const NO_MEMORY: i64 = -524;
const NOT_ALLOCATED: i64 = -534;

#[test]
fn allocate_gives_aligned_zeroed_memory_and_leaves_here_alone() {
    check_all(&[
        ("100 ALLOCATE NIP", &[0]),
        ("HERE 100 ALLOCATE 2DROP HERE =", &[-1]),
        ("99 ALLOCATE DROP DUP ALIGNED =", &[-1]),
        ("3 CELLS ALLOCATE DROP CELL+ @", &[0]),
        ("2 CELLS ALLOCATE DROP 7 OVER CELL+ ! CELL+ @", &[7]),
        ("0 ALLOCATE NIP", &[0]),
    ]);
}

#[test]
fn allocations_are_distinct_and_freed_room_is_reused() {
    check_all(&[
        ("16 ALLOCATE DROP 16 ALLOCATE DROP = ", &[0]),
        ("16 ALLOCATE DROP DUP FREE DROP 16 ALLOCATE DROP =", &[-1]),
    ]);
}

#[test]
fn free_refuses_a_second_free_and_foreign_addresses() {
    check_all(&[
        ("8 ALLOCATE DROP DUP FREE SWAP FREE", &[0, NOT_ALLOCATED]),
        ("HERE FREE", &[NOT_ALLOCATED]),
        ("-1 FREE", &[NOT_ALLOCATED]),
        ("16 ALLOCATE DROP CELL+ FREE", &[NOT_ALLOCATED]),
    ]);
}

#[test]
fn resize_keeps_the_contents_and_fails_without_losing_them() {
    check_all(&[
        (
            "2 CELLS ALLOCATE DROP 11 OVER ! 100 CELLS RESIZE SWAP @ SWAP",
            &[11, 0],
        ),
        (
            "3 CELLS ALLOCATE DROP 5 OVER 2 CELLS + ! 1 CELLS RESIZE NIP",
            &[0],
        ),
        (
            ": t 1 CELLS ALLOCATE DROP 42 OVER ! DUP DUP -1 RESIZE >R = SWAP @ R> ; t",
            &[-1, 42, NO_MEMORY],
        ),
        ("HERE 8 RESIZE NIP", &[NOT_ALLOCATED]),
    ]);
}

#[test]
fn allocation_failures_are_iors() {
    check_all(&[
        ("-1 ALLOCATE NIP", &[NO_MEMORY]),
        ("1 62 LSHIFT ALLOCATE NIP", &[NO_MEMORY]),
        ("UNUSED 64 + ALLOCATE NIP", &[NO_MEMORY]),
    ]);
}

#[test]
fn the_heap_and_here_share_the_data_space() {
    check_all(&[
        (
            "UNUSED 1000 ALLOCATE 2DROP UNUSED - 1000 1008 WITHIN",
            &[-1],
        ),
        ("UNUSED 1000 ALLOCATE DROP FREE DROP UNUSED =", &[-1]),
        (
            ": t UNUSED 100 - ALLOCATE NIP 200 ['] ALLOT CATCH ; t",
            &[0, 200, -8],
        ),
    ]);
}

#[test]
fn allocating_charges_the_step_budget_by_size() {
    let mut forth = Forth::new(Limits {
        max_steps: Some(1000),
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let failure = forth
        .evaluate("500000 ALLOCATE", "t", &mut console)
        .unwrap_err();
    assert_eq!(failure.code, -256);
    assert_eq!(forth.data_stack(), &[] as &[i64]);
}

/// An image body with its FNV-1a checksum appended.
fn sealed(mut body: Vec<u8>) -> Vec<u8> {
    let checksum = body.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    body.extend(checksum.to_le_bytes());
    body
}

#[test]
fn the_state_image_carries_the_heap() {
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    let setup = "VARIABLE p 4 CELLS ALLOCATE DROP p ! 1234 p @ 3 CELLS + !";
    forth.evaluate(setup, "t", &mut console).unwrap();
    let mut copy = Forth::load_image(&forth.save_image(), Limits::default()).unwrap();
    let check = "p @ 3 CELLS + @ p @ FREE p @ FREE";
    copy.evaluate(check, "t", &mut console).unwrap();
    assert_eq!(copy.data_stack(), &[1234, 0, NOT_ALLOCATED]);
}

#[test]
fn an_image_with_a_region_outside_the_heap_is_refused() {
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    forth
        .evaluate("64 ALLOCATE 2DROP", "t", &mut console)
        .unwrap();
    let mut image = forth.save_image();
    // The one region's start is the first u64 after its count, in the last section.
    let top = Limits::default().data_space_bytes as u64;
    let start = (top - 64).to_le_bytes();
    let at = image
        .windows(8)
        .rposition(|window| window == start)
        .unwrap();
    image[at..at + 8].copy_from_slice(&(top + 8).to_le_bytes());
    image.truncate(image.len() - 8);
    let refused = Forth::load_image(&sealed(image), Limits::default())
        .err()
        .unwrap();
    assert!(refused.message.contains("heap"), "{refused}");
}

#[test]
fn free_refuses_block_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let mut forth = Forth::new(Limits {
        file_access: fastforth_engine::FileAccess::Within(dir.path().into()),
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    forth
        .evaluate("1 BUFFER DUP FREE SWAP 8 RESIZE NIP", "t", &mut console)
        .unwrap();
    assert_eq!(forth.data_stack(), &[NOT_ALLOCATED, NOT_ALLOCATED]);
}

#[test]
fn an_image_of_another_version_is_refused_naming_both_versions() {
    let forth = common::forth();
    let mut old = forth.save_image();
    old.truncate(old.len() - 8);
    old[8..12].copy_from_slice(&1u32.to_le_bytes());
    let refused = Forth::load_image(&sealed(old), Limits::default())
        .err()
        .unwrap();
    assert!(
        refused
            .message
            .contains("image version 1, this engine reads versions 2 to 4"),
        "{refused}"
    );
}
