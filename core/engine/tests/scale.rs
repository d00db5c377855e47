//! Work grows linearly with the size of the source: many definitions, deeply nested
//! control structures, and the name index kept right by everything that rewinds the
//! dictionary. Sizes are picked so that a look-up or a pass that scanned everything again
//! per word would take minutes, while linear work takes well under a second.

mod common;

use common::{check_all, stack};
use fastforth_engine::{BufferConsole, Forth, Limits};
use std::time::{Duration, Instant};

/// Far above what linear work needs even in a debug build on a loaded machine, far below
/// what quadratic work needs at these sizes.
const GENEROUS: Duration = Duration::from_secs(60);

fn run_timed(source: &str) -> (Forth, Duration) {
    let mut forth = common::forth();
    let started = Instant::now();
    let mut console = BufferConsole::new();
    if let Err(error) = forth.evaluate(source, "scale", &mut console) {
        panic!("failed: {error}");
    }
    (forth, started.elapsed())
}

#[test]
fn many_definitions_are_found_by_one_probe_each() {
    // Names of one length, each definition using the oldest word: a dictionary scan per
    // token would compare about 4.5e9 names here.
    let count = 30_000;
    let mut source = String::from(": w00000 1 ;\n");
    for i in 1..count {
        source.push_str(&format!(": w{i:05} w00000 w{:05} + ;\n", i - 1));
    }
    source.push_str(&format!("w{:05} w00000\n", count - 1));
    for _ in 0..5 {
        source.push_str(&"w00000 DROP ".repeat(count / 5));
        source.push('\n');
    }
    let (forth, took) = run_timed(&source);
    assert_eq!(forth.data_stack(), &[count as i64, 1]);
    assert!(took < GENEROUS, "{count} definitions took {took:?}");
}

#[test]
fn deeply_nested_control_structures_compile() {
    // Every branch lands on the same `;`: nothing splits the run of instructions that the
    // optimizer rewrites.
    let depth = 50_000;
    let source = format!(
        ": deep {} 42 {} ; deep : loops {} 7 {} ; loops : later 1 2 + ; later",
        "1 IF ".repeat(depth),
        "THEN ".repeat(depth),
        "BEGIN 1 IF ".repeat(depth / 10),
        "THEN 1 UNTIL ".repeat(depth / 10)
    );
    let (forth, took) = run_timed(&source);
    assert_eq!(forth.data_stack(), &[42, 7, 3]);
    assert!(took < GENEROUS, "{depth} nested IFs took {took:?}");
}

#[test]
fn the_name_index_follows_shadowing_markers_and_images() {
    check_all(&[
        // The newest definition shadows; a definition is hidden until `;`.
        (": a 1 ; : a a 10 + ; a", &[11]),
        (": b 1 ; : B b 2 * ; b", &[2]),
        // A marker brings back the words its forgotten words shadowed.
        (": c 1 ; MARKER m : c 2 ; : d 3 ; m c", &[1]),
        (
            ": e 1 ; MARKER m : e 2 ; m S\" e\" EVALUATE S\" m\" ' EVALUATE CATCH NIP NIP",
            &[1, -13],
        ),
    ]);
    // A word forgotten by a marker is undefined again, then can be defined anew.
    assert_eq!(
        stack("MARKER m : f 5 ; m : g S\" f\" EVALUATE ; ' g CATCH : f 6 ; f"),
        vec![-13, 6]
    );
    // A loaded image finds the newest of each name and forgets with its markers.
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    forth
        .evaluate(": h 1 ; MARKER m : h 2 ;", "t", &mut console)
        .unwrap();
    let mut loaded = Forth::load_image(&forth.save_image(), Limits::default()).unwrap();
    loaded.evaluate("h m h", "t", &mut console).unwrap();
    assert_eq!(loaded.data_stack(), &[2, 1]);
}

#[test]
fn the_step_budget_bounds_compiling_a_huge_source() {
    let mut forth = Forth::new(Limits {
        max_steps: Some(100_000),
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let definitions: String = (0..200_000).map(|i| format!(": w{i} {i} ;\n")).collect();
    let failure = forth.evaluate(&definitions, "t", &mut console).unwrap_err();
    assert_eq!(failure.code, -256);
    forth.reset_after_error();
    // Lines without words count too.
    let blank = "\n".repeat(200_000);
    let failure = forth.evaluate(&blank, "t", &mut console).unwrap_err();
    assert_eq!(failure.code, -256);
}
