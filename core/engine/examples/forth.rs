//! Runs Forth source files (and optionally one line of code) on the engine, like
//! `gforth-fast FILE... -e CODE`: `cargo run --release --example forth -- FILE... [-e CODE]`.

use fastforth_engine::{Flow, Forth, Limits, StdConsole};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut forth = Forth::new(Limits::default());
    let mut console = StdConsole;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let result = if arg == "-e" {
            let code = args.next().unwrap_or_default();
            forth.evaluate(&code, "-e", &mut console)
        } else {
            forth.include_file(Path::new(&arg), &mut console)
        };
        match result {
            Ok(Flow::Continue) => {}
            Ok(Flow::Bye) => return ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
