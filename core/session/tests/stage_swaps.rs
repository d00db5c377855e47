//! The parser and compiler stage plugins swapped between their two versions while another
//! thread keeps evaluating through them: each line or definition is served whole by one
//! version, nothing fails, and the last version swapped in serves what comes after.

#[path = "../../host/tests/common/mod.rs"]
mod common;

use common::*;
use fastforth_engine::ir::Op;
use fastforth_engine::{BufferConsole, Forth, Limits};
use fastforth_session::stage::DEFAULT_BUDGET;
use fastforth_session::{CompilerPlugin, ParserPlugin};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What a run of `source` prints, or the error.
fn run(forth: &mut Forth, source: &str) -> Result<String, String> {
    let mut console = BufferConsole::new();
    match forth.evaluate(source, "test.fs", &mut console) {
        Ok(_) => Ok(console.output_text()),
        Err(error) => Err(error.to_string()),
    }
}

/// Swaps `swap` between version 1 (`v1`) and 2 (`v2`) ten times a few milliseconds apart,
/// ending on version 2.
fn swap_back_and_forth(swap: impl Fn(&PathBuf), v1: &PathBuf, v2: &PathBuf) {
    for _ in 0..10 {
        swap(v2);
        std::thread::sleep(Duration::from_millis(5));
        swap(v1);
    }
    swap(v2);
}

#[test]
fn a_parser_swap_takes_effect_between_lines_while_another_thread_evaluates() {
    let v1 = built("fastforth-parser-plugin", &[]);
    let v2 = built("fastforth-parser-plugin", &["v2"]);
    let (_dir, loader) = fresh_loader();
    let stage = Arc::new(ParserPlugin::load(loader, &v1, DEFAULT_BUDGET).unwrap());
    let evaluating = {
        let stage = stage.clone();
        std::thread::spawn(move || {
            let mut forth = Forth::new(Limits::default());
            forth.set_parser_stage(Some(stage));
            let mut read_by_v2 = 0;
            for n in 0..400 {
                // Version 2 reads `1_0` as 10; version 1 finds no such word.
                match run(&mut forth, &format!("{n} 1_0 + .")) {
                    Ok(printed) => {
                        assert_eq!(printed, format!("{} ", n + 10));
                        read_by_v2 += 1;
                    }
                    Err(error) => assert!(error.contains("-13 undefined word"), "{error}"),
                }
                assert_eq!(forth.take_stage_faults(), Vec::<String>::new());
            }
            read_by_v2
        })
    };
    swap_back_and_forth(|path| drop(stage.swap(path).unwrap()), &v1, &v2);
    let read_by_v2 = evaluating.join().unwrap();
    println!("{read_by_v2} of 400 lines read by version 1.1.0");
    let mut forth = Forth::new(Limits::default());
    forth.set_parser_stage(Some(stage.clone()));
    assert_eq!(run(&mut forth, "1_0 ."), Ok("10 ".to_owned()));
    assert_eq!(stage.current().version(), "1.1.0");
}

#[test]
fn a_compiler_swap_takes_effect_between_runs_while_another_thread_compiles() {
    let v1 = built("fastforth-compiler-plugin", &[]);
    let v2 = built("fastforth-compiler-plugin", &["v2"]);
    let (_dir, loader) = fresh_loader();
    let stage = Arc::new(CompilerPlugin::load(loader, &v1, DEFAULT_BUDGET).unwrap());
    let last_code = |forth: &Forth| {
        let (_, xt) = forth.colon_definitions().pop().unwrap();
        forth.colon_code(xt).unwrap()
    };
    let compiling = {
        let stage = stage.clone();
        std::thread::spawn(move || {
            let mut forth = Forth::new(Limits::default());
            forth.set_compiler_stage(Some(stage));
            let mut shifted = 0;
            for n in 0..400 {
                let printed = run(&mut forth, &format!(": T{n} 8 * ; 3 T{n} ."));
                assert_eq!(printed, Ok("24 ".to_owned()));
                match last_code(&forth)[..] {
                    [Op::LitMul(8), Op::Exit] => {}
                    [Op::Lit(3), Op::LShift, Op::Exit] => shifted += 1,
                    ref code => panic!("unexpected code {code:?}"),
                }
                assert_eq!(forth.take_stage_faults(), Vec::<String>::new());
            }
            shifted
        })
    };
    swap_back_and_forth(|path| drop(stage.swap(path).unwrap()), &v1, &v2);
    let shifted = compiling.join().unwrap();
    println!("{shifted} of 400 definitions compiled by version 1.1.0");
    let mut forth = Forth::new(Limits::default());
    forth.set_compiler_stage(Some(stage.clone()));
    run(&mut forth, ": LATE 8 * ;").unwrap();
    assert_eq!(last_code(&forth), [Op::Lit(3), Op::LShift, Op::Exit]);
    assert_eq!(stage.current().version(), "1.1.0");
}
