//! Compiled words linked into a host session and called on the caller's stack in place: a
//! call that throws nothing allocates nothing, words leave any depth, and a throw comes
//! back as its code and message with the depth the word left.
//!
//! Allocations are counted per thread, so each test reads its own thread's count.

use fastforth_aot::{CompileOptions, compile};
use fastforth_engine::{Console, Forth, Limits};
use fastforth_host::Loader;
use fastforth_session::{ForthConsole, HostWordError, NativeWords, on_native_stack};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

/// The system allocator, counting the allocations of each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to `System` unchanged; counting touches only a const
// thread-local `Cell`, which neither allocates nor has a destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.set(ALLOCATIONS.get() + 1);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.set(ALLOCATIONS.get() + 1);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// A console with no input that drops output.
struct Silent;

impl ForthConsole for Silent {
    fn write(&mut self, _bytes: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        None
    }
    fn read_key(&mut self) -> Option<u8> {
        None
    }
}

/// An engine console whose host words are the linked native words, with no input and
/// output dropped.
struct Linked<'a>(&'a NativeWords);

impl Console for Linked<'_> {
    fn write(&mut self, _bytes: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn call_host_word(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), fastforth_engine::HostWordError> {
        self.0
            .call_in_place(id, cells, depth, &mut Silent)
            .map_err(|error| fastforth_engine::HostWordError {
                code: error.code,
                message: error.message,
            })
    }
}

const PROGRAM: &str = "\
: triple ( n -- 3n ) 3 * ;
: spread ( n -- n n+1 n+2 ) dup 1+ dup 1+ ;
: halve ( n -- n/2 ) 2 / ;
: broken ( a b -- ) drop 7 swap 0 / ;
";

/// `PROGRAM` compiled and linked into a new session: the words and their host word ids.
fn linked(dir: &Path) -> (NativeWords, Vec<(String, u32)>) {
    let options = CompileOptions {
        cache_dir: dir.join("native-cache"),
        cargo: std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()),
        release: true,
        output: fastforth_aot::Output::Plugin,
    };
    let compiled = compile(PROGRAM, "linked", &options).unwrap_or_else(|e| panic!("{e}"));
    let mut natives = NativeWords::new(Arc::new(Loader::new(dir.join("shadows"))));
    // The tests define the words in their own sessions.
    let linked = natives
        .link(&compiled.artifact, &mut |_, _| Ok(true))
        .expect("the plugin links");
    (natives, linked.new_words)
}

fn id(words: &[(String, u32)], name: &str) -> u32 {
    words.iter().find(|(word, _)| word == name).unwrap().1
}

#[test]
fn linked_words_run_in_place_and_a_call_allocates_nothing() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linked-calls");
    let (natives, words) = linked(&dir);
    let (triple, spread, broken) = (
        id(&words, "triple"),
        id(&words, "spread"),
        id(&words, "broken"),
    );
    on_native_stack(move || {
        let mut cells = [0i64; 64];
        let call = |id: u32, cells: &mut [i64], depth: &mut usize| {
            natives.call_in_place(id, cells, depth, &mut Silent)
        };

        cells[..2].copy_from_slice(&[40, 5]);
        let mut depth = 2;
        call(spread, &mut cells, &mut depth).unwrap();
        assert_eq!(cells[..depth], [40, 5, 6, 7], "cells below the inputs stay");

        let before_throw = ALLOCATIONS.get();
        let thrown = call(broken, &mut cells, &mut depth).unwrap_err();
        assert!(
            ALLOCATIONS.get() > before_throw,
            "a message is allocated and counted"
        );
        let expected = HostWordError {
            code: -10,
            message: "division by zero (native code of linked)".to_owned(),
        };
        assert_eq!(thrown, expected);
        assert_eq!(cells[..depth], [40, 5], "the depth the word left");

        depth = 1;
        call(triple, &mut cells, &mut depth).unwrap();
        let before = ALLOCATIONS.get();
        for n in 0..100_000 {
            cells[0] = n;
            call(triple, &mut cells, &mut depth).unwrap();
        }
        let allocations = ALLOCATIONS.get() - before;
        assert_eq!(cells[..depth], [3 * 99_999]);
        assert_eq!(allocations, 0, "allocations in 10^5 calls");
    });
}

#[test]
fn an_interpreted_loop_of_linked_calls_allocates_nothing_per_call() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linked-loop");
    let (natives, words) = linked(&dir);
    on_native_stack(move || {
        let mut forth = Forth::new(Limits::default());
        for (word, id) in &words {
            forth.define_host_word(word, *id).unwrap();
        }
        let mut console = Linked(&natives);
        let source = ": calls ( n -- sum ) 0 swap 0 do i triple + loop ;";
        forth.evaluate(source, "t", &mut console).unwrap();
        // The first call makes the plugin's session (its data space).
        forth.evaluate("1 calls drop", "t", &mut console).unwrap();
        let mut allocations_of = |calls: u64| {
            let before = ALLOCATIONS.get();
            forth
                .evaluate(&format!("{calls} calls"), "t", &mut console)
                .unwrap();
            let allocations = ALLOCATIONS.get() - before;
            let n = calls as i64;
            assert_eq!(forth.data_stack(), [3 * n * (n - 1) / 2]);
            forth.evaluate("drop", "t", &mut console).unwrap();
            allocations
        };
        let (few, many) = (allocations_of(1_000), allocations_of(100_000));
        assert_eq!(
            many, few,
            "10^5 linked calls allocate as often as 10^3 (the evaluation's own allocations)"
        );
    });
}
