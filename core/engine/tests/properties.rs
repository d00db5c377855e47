//! Property tests: random programs built from the dictionary's word names and numbers,
//! and random bytes as source, never panic and always finish within the step budget. The
//! cases come from a seeded generator, so failures are reproducible.

use fastforth_engine::{BufferConsole, Forth, Limits};

/// A small deterministic random generator (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

fn limits() -> Limits {
    Limits {
        data_stack_cells: 64,
        return_stack_cells: 64,
        data_space_bytes: 16 * 1024,
        max_steps: Some(20_000),
        ..Limits::default()
    }
}

/// Every word name the engine knows, read from WORDS.
fn dictionary_names() -> Vec<String> {
    let mut forth = Forth::new(limits());
    let mut console = BufferConsole::new();
    forth.evaluate("WORDS", "names", &mut console).unwrap();
    let names: Vec<String> = console
        .output_text()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    // BYE and QUIT would just end the run early; keep them rare by leaving them out.
    names
        .into_iter()
        .filter(|name| name != "BYE" && name != "QUIT")
        .collect()
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "8",
    "64",
    "255",
    "1000",
    "-9223372036854775808",
    "9223372036854775807",
    "HERE",
    "PAD",
];
const EXTRA: &[&str] = &[
    ": x", ";", "\"", ")", "x", "[", "]", "DOES>", "IF", "THEN", "BEGIN", "AGAIN", "0 >IN !",
];

fn random_program(random: &mut Random, names: &[String]) -> String {
    let len = 1 + random.below(40);
    let mut tokens = Vec::with_capacity(len);
    for _ in 0..len {
        let token = match random.below(10) {
            0..=5 => names[random.below(names.len())].clone(),
            6..=7 => NUMBERS[random.below(NUMBERS.len())].to_owned(),
            8 => EXTRA[random.below(EXTRA.len())].to_owned(),
            _ => "\n".to_owned(),
        };
        tokens.push(token);
    }
    tokens.join(" ")
}

/// Runs a program like a REPL: resets after errors, then checks the engine still works:
/// empty stacks, and an image that loads back. (A random program may have redefined any
/// word, even `1` or `+`, so a fixed program is no check.)
fn survive(forth: &mut Forth, program: &str) {
    let mut console = BufferConsole::new();
    if forth.evaluate(program, "random", &mut console).is_err() {
        forth.reset_after_error();
    }
    forth.reset_after_error();
    assert!(
        forth.data_stack().is_empty(),
        "stack kept after reset: {program:?}"
    );
    let mut console = BufferConsole::new();
    let empty = forth.evaluate("", "check", &mut console);
    assert!(
        empty.is_ok(),
        "engine unusable after {program:?}: {empty:?}"
    );
    let reloaded = Forth::load_image(&forth.save_image(), limits());
    assert!(reloaded.is_ok(), "image refused after {program:?}");
}

#[test]
fn random_word_sequences_never_panic() {
    let names = dictionary_names();
    assert!(names.len() > 150, "only {} words", names.len());
    let mut random = Random(0x5EED_0001);
    let mut forth = Forth::new(limits());
    for case in 0..3000 {
        if case % 200 == 0 {
            forth = Forth::new(limits());
        }
        let program = random_program(&mut random, &names);
        survive(&mut forth, &program);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut random = Random(0x5EED_0002);
    let mut forth = Forth::new(limits());
    for _ in 0..2000 {
        let len = random.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| (random.next() & 0xFF) as u8).collect();
        let program = String::from_utf8_lossy(&bytes).into_owned();
        survive(&mut forth, &program);
    }
}

#[test]
fn random_programs_survive_an_image_round_trip() {
    let names = dictionary_names();
    let mut random = Random(0x5EED_0003);
    for _ in 0..200 {
        let mut forth = Forth::new(limits());
        let program = random_program(&mut random, &names);
        let mut console = BufferConsole::new();
        if forth.evaluate(&program, "random", &mut console).is_err() {
            forth.reset_after_error();
        }
        let image = forth.save_image();
        let mut loaded = Forth::load_image(&image, limits()).unwrap();
        assert_eq!(loaded.save_image(), image);
        survive(&mut loaded, "");
    }
}

#[test]
fn random_images_are_refused_without_panicking() {
    let mut random = Random(0x5EED_0004);
    let image = Forth::new(limits()).save_image();
    for _ in 0..300 {
        let mut bytes = image.clone();
        for _ in 0..1 + random.below(4) {
            let at = random.below(bytes.len());
            bytes[at] = (random.next() & 0xFF) as u8;
        }
        let cut = random.below(bytes.len() + 1);
        let _ = Forth::load_image(&bytes[..cut], limits());
    }
}
