//! The optimizer stage plugin: the same code as the built-in optimizer on real programs and
//! random ones (with the parser and compiler stage plugins too), swaps while another thread compiles, and
//! stages that are refused (another IR version) or contained (invalid answers, panics, no
//! answer within the budget).

#[path = "../../host/tests/common/mod.rs"]
mod common;

use common::*;
use fastforth_engine::ir::Op;
use fastforth_engine::{BufferConsole, Forth, Limits};
use fastforth_host::PluginError;
use fastforth_session::stage::DEFAULT_BUDGET;
use fastforth_session::{CompilerPlugin, OptimizerPlugin, ParserPlugin};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn optimizer(features: &[&str]) -> PathBuf {
    built("fastforth-optimizer-plugin", features)
}

fn stage(features: &[&str], budget: Duration) -> (tempfile::TempDir, Arc<OptimizerPlugin>) {
    let (dir, loader) = fresh_loader();
    let stage = OptimizerPlugin::load(loader, &optimizer(features), budget).unwrap();
    (dir, Arc::new(stage))
}

fn staged(stage: &Arc<OptimizerPlugin>) -> Forth {
    let mut forth = Forth::new(Limits::default());
    forth.set_optimizer_stage(Some(stage.clone()));
    forth
}

/// What a run of `source` leaves: the output, the stack, or the error.
fn run(forth: &mut Forth, source: &str) -> Result<(String, Vec<i64>), String> {
    let mut console = BufferConsole::new();
    match forth.evaluate(source, "test.fs", &mut console) {
        Ok(_) => Ok((console.output_text(), forth.data_stack().to_vec())),
        Err(error) => Err(error.to_string()),
    }
}

/// Every colon definition's name and code.
fn code(forth: &Forth) -> Vec<(String, Vec<Op>)> {
    let words = forth.colon_definitions();
    let code = words.iter().map(|(_, xt)| forth.colon_code(*xt).unwrap());
    words
        .iter()
        .map(|(name, _)| name.clone())
        .zip(code)
        .collect()
}

fn workload(name: &str) -> String {
    let path = format!(
        "{}/../../benches/forth/{name}.fs",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_plugin_compiles_the_workloads_as_the_built_in_optimizer_does() {
    let (_dir, stage) = stage(&[], DEFAULT_BUDGET);
    for name in ["sieve", "bubble", "matrix", "fib"] {
        let source = workload(name);
        let mut built_in = Forth::new(Limits::default());
        let mut plugin = staged(&stage);
        run(&mut built_in, &source).unwrap();
        run(&mut plugin, &source).unwrap();
        assert_eq!(code(&plugin), code(&built_in), "{name}");
        assert_eq!(plugin.take_stage_faults(), Vec::<String>::new(), "{name}");
    }
    let mut plugin = staged(&stage);
    assert_eq!(
        run(&mut plugin, &workload("fib")).and_then(|_| run(&mut plugin, "25 fib")),
        Ok((String::new(), vec![75_025]))
    );
}

/// A small deterministic generator (xorshift64*).
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

/// A random program: short definitions (which later ones call, and the optimizer
/// inlines) with literals in every notation, parsing words, a BASE change, stack words,
/// arithmetic, comparisons, IF, loops and memory.
fn random_program(random: &mut Random) -> String {
    const WORDS: &[&str] = &[
        "DUP",
        "DROP",
        "SWAP",
        "OVER",
        "ROT",
        "NIP",
        "TUCK",
        "+",
        "-",
        "*",
        "AND",
        "OR",
        "XOR",
        "=",
        "<",
        ">",
        "0=",
        "1+",
        "1-",
        "2*",
        "NEGATE",
        "ABS",
        "MAX",
        "MIN",
        "2DUP",
        "2DROP",
        "CELL+",
        "0",
        "1",
        "2",
        "3",
        "7",
        "-5",
        "100",
        "$1F",
        "#-3",
        "%101",
        "'a'",
        "( c )",
        "[CHAR] Q",
        "S\" ab\" NIP",
        "[ HEX ] 1F [ DECIMAL ]",
    ];
    let mut program = String::from("VARIABLE V ");
    let mut defined: Vec<String> = Vec::new();
    for n in 0..1 + random.below(5) {
        let name = format!("W{n}");
        let mut body: Vec<String> = (0..random.below(10))
            .map(|_| match random.below(12) {
                0 if !defined.is_empty() => defined[random.below(defined.len())].clone(),
                1 => "DUP IF 1+ ELSE 2 - THEN".to_owned(),
                2 => "3 0 DO I + LOOP".to_owned(),
                3 => "DUP V ! V @ +".to_owned(),
                4 => "BEGIN DUP 0> WHILE 7 - REPEAT".to_owned(),
                _ => random.pick(WORDS).to_owned(),
            })
            .collect();
        if random.below(3) == 0 {
            body.insert(0, "DUP 3 < IF EXIT THEN".to_owned());
        }
        program += &format!(": {name} {} ; ", body.join(" "));
        defined.push(name);
    }
    let calls: Vec<&str> = defined.iter().map(String::as_str).collect();
    program + &format!("5 9 12 {}", calls.join(" "))
}

#[test]
fn staged_and_built_in_agree_on_random_programs() {
    let (_dir, stage) = stage(&[], DEFAULT_BUDGET);
    let (_parser_dir, loader) = fresh_loader();
    let parser = built("fastforth-parser-plugin", &[]);
    let parser = Arc::new(ParserPlugin::load(loader, &parser, DEFAULT_BUDGET).unwrap());
    let (_compiler_dir, loader) = fresh_loader();
    let compiler = built("fastforth-compiler-plugin", &[]);
    let compiler = Arc::new(CompilerPlugin::load(loader, &compiler, DEFAULT_BUDGET).unwrap());
    let mut random = Random(0x5EED_F0F7);
    for _ in 0..300 {
        let program = random_program(&mut random);
        let mut built_in = Forth::new(Limits::default());
        let expected = run(&mut built_in, &program);
        let mut optimizer_staged = staged(&stage);
        let mut all_staged = staged(&stage);
        all_staged.set_parser_stage(Some(parser.clone()));
        let mut compiler_staged = staged(&stage);
        compiler_staged.set_compiler_stage(Some(compiler.clone()));
        all_staged.set_compiler_stage(Some(compiler.clone()));
        for plugin in [&mut optimizer_staged, &mut compiler_staged, &mut all_staged] {
            assert_eq!(run(plugin, &program), expected, "{program}");
            assert_eq!(code(plugin), code(&built_in), "{program}");
            assert_eq!(
                plugin.take_stage_faults(),
                Vec::<String>::new(),
                "{program}"
            );
        }
    }
}

#[test]
fn a_swap_changes_the_code_of_new_definitions_while_another_thread_compiles() {
    let (_dir, loader) = fresh_loader();
    let stage = Arc::new(OptimizerPlugin::load(loader, &optimizer(&[]), DEFAULT_BUDGET).unwrap());
    let compiling = {
        let stage = stage.clone();
        std::thread::spawn(move || {
            let mut forth = staged(&stage);
            let mut tucked = 0;
            for n in 0..400 {
                let source = format!(": T{n} SWAP OVER ; 1 2 T{n}");
                assert_eq!(run(&mut forth, &source), Ok((String::new(), vec![2, 1, 2])));
                forth
                    .evaluate("DROP DROP DROP", "t", &mut BufferConsole::new())
                    .unwrap();
                let (_, code) = code(&forth).pop().unwrap();
                match code[..] {
                    [Op::Swap, Op::Over, Op::Exit] => {}
                    [Op::Tuck, Op::Exit] => tucked += 1,
                    _ => panic!("unexpected code {code:?}"),
                }
                assert_eq!(forth.take_stage_faults(), Vec::<String>::new());
            }
            tucked
        })
    };
    for _ in 0..10 {
        stage.swap(&optimizer(&["v2"])).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        stage.swap(&optimizer(&[])).unwrap();
    }
    stage.swap(&optimizer(&["v2"])).unwrap();
    let tucked = compiling.join().unwrap();
    println!("{tucked} of 400 definitions compiled by version 1.1.0");
    let mut forth = staged(&stage);
    run(&mut forth, ": LATE SWAP OVER ;").unwrap();
    assert_eq!(code(&forth).pop().unwrap().1, [Op::Tuck, Op::Exit]);
    assert_eq!(stage.current().version(), "1.1.0");
}

#[test]
fn sessions_on_two_threads_share_one_stage_and_each_gets_its_own_answers() {
    let (_dir, loader) = fresh_loader();
    let stage = Arc::new(OptimizerPlugin::load(loader, &optimizer(&[]), DEFAULT_BUDGET).unwrap());
    let sessions: Vec<_> = (0..2)
        .map(|session| {
            let stage = stage.clone();
            std::thread::spawn(move || {
                let mut forth = staged(&stage);
                for n in 0..300 {
                    // Each definition folds to its own constant, so an answer meant for
                    // the other session would show.
                    let value = session * 1000 + n;
                    let source = format!(": W{n} {value} 1 + ; W{n}");
                    assert_eq!(
                        run(&mut forth, &source),
                        Ok((String::new(), vec![value + 1]))
                    );
                    forth
                        .evaluate("DROP", "t", &mut BufferConsole::new())
                        .unwrap();
                    let (_, code) = code(&forth).pop().unwrap();
                    assert_eq!(code, [Op::Lit(value + 1), Op::Exit], "session {session}");
                }
                forth.take_stage_faults()
            })
        })
        .collect();
    for session in sessions {
        assert_eq!(session.join().unwrap(), Vec::<String>::new());
    }
}

#[test]
fn a_stage_of_another_ir_version_is_refused_and_the_old_one_serves() {
    let (_dir, loader) = fresh_loader();
    let refused = OptimizerPlugin::load(
        loader.clone(),
        &optimizer(&["fault-ir-version"]),
        DEFAULT_BUDGET,
    );
    assert!(
        matches!(
            refused,
            Err(PluginError::IrVersion {
                expected: fastforth_engine::ir::IR_VERSION,
                found,
                ..
            }) if found == fastforth_engine::ir::IR_VERSION + 1
        ),
        "{:?}",
        refused.map(|_| ())
    );
    let stage = OptimizerPlugin::load(loader, &optimizer(&["v2"]), DEFAULT_BUDGET).unwrap();
    let error = stage.swap(&optimizer(&["fault-ir-version"])).unwrap_err();
    let faulty = fastforth_engine::ir::IR_VERSION + 1;
    let said = format!("speaks IR version {faulty}");
    assert!(error.to_string().contains(&said), "{error}");
    assert_eq!(stage.current().version(), "1.1.0");
}

/// Defines `: name SWAP OVER ;` on an engine using `stage`; the word must still work, and
/// the engine must say why the stage's answer was not used.
fn contained(stage: &Arc<OptimizerPlugin>, name: &str) -> String {
    let mut forth = staged(stage);
    let source = format!(": {name} SWAP OVER ; 1 2 {name}");
    assert_eq!(run(&mut forth, &source), Ok((String::new(), vec![2, 1, 2])));
    let faults = forth.take_stage_faults();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(
        faults[0].contains(&format!("no usable answer for {name} (test.fs:1:3): ")),
        "{faults:?}"
    );
    faults[0].clone()
}

#[test]
fn an_invalid_answer_is_refused_and_the_built_in_optimizer_compiles_the_word() {
    let (_dir, stage) = stage(&["fault-bad-branch"], DEFAULT_BUDGET);
    let fault = contained(&stage, "FAULT1");
    assert!(
        fault.contains("branch out of range: Branch(13) at 0, the definition has 4 instructions"),
        "{fault}"
    );
}

#[test]
fn the_first_faults_are_kept_and_the_others_counted() {
    let (_dir, stage) = stage(&["fault-bad-branch"], DEFAULT_BUDGET);
    let mut forth = staged(&stage);
    let source: String = (0..20).map(|n| format!(": FAULT{n} 1 ; ")).collect();
    run(&mut forth, &source).unwrap();
    let faults = forth.take_stage_faults();
    assert_eq!(faults.len(), fastforth_engine::MAX_STAGE_FAULTS + 1);
    assert!(faults[0].contains("for FAULT0 "), "{faults:?}");
    assert!(faults[15].contains("for FAULT15 "), "{faults:?}");
    assert_eq!(
        faults[16],
        "and 4 more definitions or lines that the built-in stage took over for the same or \
         other reasons"
    );
    assert_eq!(forth.take_stage_faults(), Vec::<String>::new());
}

#[test]
fn a_panicking_stage_is_contained() {
    let (_dir, stage) = stage(&["fault-panic"], DEFAULT_BUDGET);
    let fault = contained(&stage, "FAULT1");
    assert!(fault.contains("panicked"), "{fault}");
    // Each later definition is contained the same way.
    contained(&stage, "FAULT2");
}

#[test]
fn a_stage_that_never_answers_is_taken_out_of_service_until_swapped() {
    let budget = Duration::from_millis(300);
    let (_dir, stage) = stage(&["fault-hang"], budget);
    let started = Instant::now();
    let fault = contained(&stage, "FAULT-HANG");
    assert!(
        fault.contains("optimizer 1.0.0 did not answer within 300ms; the stage is out of service"),
        "{fault}"
    );
    assert_eq!(
        stage.out_of_service().as_deref(),
        Some("optimizer 1.0.0 did not answer within 300ms")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Out of service: the next definition does not wait for it.
    let started = Instant::now();
    let fault = contained(&stage, "QUICK");
    assert!(
        fault.contains("not asked: the stage is out of service since"),
        "{fault}"
    );
    assert!(started.elapsed() < budget);
    // A swap puts a working stage in service.
    stage.swap(&optimizer(&[])).unwrap();
    assert_eq!(stage.out_of_service(), None);
    let mut forth = staged(&stage);
    assert_eq!(
        run(&mut forth, ": OK 1 2 + ; OK"),
        Ok((String::new(), vec![3]))
    );
    assert_eq!(forth.take_stage_faults(), Vec::<String>::new());
}
