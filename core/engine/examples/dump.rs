//! Prints the optimized code of the named colon definitions after loading a file:
//! `cargo run --example dump -- FILE WORD...`.

use fastforth_engine::{BufferConsole, Forth, Limits};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((file, words)) = args.split_first() else {
        eprintln!("usage: dump FILE WORD...");
        return;
    };
    let mut forth = Forth::new(Limits::default());
    let mut console = BufferConsole::new();
    if let Err(error) = forth.include_file(Path::new(file), &mut console) {
        eprintln!("{error}");
    }
    for word in words {
        println!("{word}:");
        for (index, op) in forth
            .compiled_code(word)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            println!("  {index:3} {op:?}");
        }
    }
}
