//! `fastforth-load-check FILE...`: loads each plugin file through the host's own loader
//! (structural check, shadow copy, `dlopen`, descriptor validation, self-test) and calls
//! it, printing one line per file. `cargo xtask build-all --load-check` builds this program
//! for every triple that can run here and runs it natively, under qemu-user or under Wine.
//! It knows the plugin kinds the host knows, and nothing of targets or cargo.
//!
//! Output, one line per file, then the exit status (0 all loaded, 1 one failed, 2 usage):
//!
//! ```text
//! PASS <file> <name> <version> add_numbers(5, 3) = 8, fibonacci(20) = 10946
//! PASS <file> <name> <version> evaluated `: sq dup * ; 7 sq 2 + .` -> `51 `
//! PASS <file> <name> <version> optimized `: T 2 3 + SWAP DROP ;` to [Lit(5), Nip, Exit]
//! PASS <file> <name> <version> split the probe line into the built-in parser's 8 tokens
//! PASS <file> <name> <version> compiled the probe run as the built-in compiler does
//! PASS <file> <name> <version> generated its probe program (a build needs cargo, not run here)
//! SKIP <file> <why: a kind this checker has no calls for, after the host validated the rest>
//! FAIL <file> <reason>
//! ```

use fastforth_engine::stage::{check_probe_answer, probe};
use fastforth_engine::{compiler_stage, parser_stage};
use fastforth_host::{Example, Loader, Plugin, PluginError};
use fastforth_session::{
    AnyKind, Backend, CollectingConsole, Compiler, Evaluation, Forth, ForthInstance, ForthLimits,
    Optimizer, Parser, stage,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        eprintln!("usage: fastforth-load-check PLUGIN_FILE...");
        return ExitCode::from(2);
    }
    let cache = std::env::temp_dir().join(format!("fastforth-load-check-{}", std::process::id()));
    let loader = Loader::new(&cache);
    let mut failed = false;
    for file in &files {
        match load_and_call(&loader, file) {
            Ok(summary) => println!("PASS {} {summary}", file.display()),
            Err(Outcome::Skip(why)) => println!("SKIP {} {why}", file.display()),
            Err(Outcome::Fail(reason)) => {
                failed = true;
                println!("FAIL {} {reason}", file.display());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&cache);
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Why a file did not pass.
enum Outcome {
    /// Opened and validated up to its kind, which this checker has no calls for.
    Skip(String),
    Fail(String),
}

fn failed(error: PluginError) -> Outcome {
    Outcome::Fail(error.to_string())
}

/// Loads `file` as the kind it declares and checks the answers of its functions.
fn load_and_call(loader: &Loader, file: &Path) -> Result<String, Outcome> {
    let error = match loader.load::<Example>(file) {
        Ok(plugin) => return call_example(&plugin),
        Err(error) => error,
    };
    match AnyKind::declared_in(&error) {
        Some(AnyKind::Forth) => evaluate_forth(loader, file),
        Some(AnyKind::Optimizer) => optimize(loader, file),
        Some(AnyKind::Parser) => parse(loader, file),
        Some(AnyKind::Compiler) => compile(loader, file),
        Some(AnyKind::Backend) => backend(loader, file),
        Some(AnyKind::ForthNative | AnyKind::Example) | None => match error {
            PluginError::WrongKind { found, .. } => Err(Outcome::Skip(format!(
                "opened and validated (magic, ABI version, layout hash), but this checker has no calls for kind {found}"
            ))),
            error => Err(failed(error)),
        },
    }
}

/// The example plugin's two functions give the known answers.
fn call_example(plugin: &Plugin<Example>) -> Result<String, Outcome> {
    let sum = plugin.add_numbers(5, 3).map_err(failed)?;
    let fib = plugin.fibonacci(20).map_err(failed)?;
    if (sum, fib) != (8, 10946) {
        return Err(Outcome::Fail(format!(
            "wrong answers: add_numbers(5, 3) = {sum} (expected 8), fibonacci(20) = {fib} (expected 10946)"
        )));
    }
    Ok(format!(
        "{} {} add_numbers(5, 3) = {sum}, fibonacci(20) = {fib}",
        plugin.name(),
        plugin.version()
    ))
}

/// A backend stage loads and passes its self-test, which generates the crate of a probe
/// program from its encoding; building one needs cargo for the target, which a load check
/// does not run.
fn backend(loader: &Loader, file: &Path) -> Result<String, Outcome> {
    let plugin = loader.load::<Backend>(file).map_err(failed)?;
    Ok(format!(
        "{} {} generated its probe program (a build needs cargo, not run here)",
        plugin.name(),
        plugin.version()
    ))
}

/// A Forth program whose output proves the engine compiles, runs and prints.
const FORTH_PROGRAM: &str = ": sq dup * ; 7 sq 2 + .";
const FORTH_OUTPUT: &str = "51 ";

/// Loads a forth engine plugin, makes an instance and checks what a small program prints.
fn evaluate_forth(loader: &Loader, file: &Path) -> Result<String, Outcome> {
    let plugin = loader.load::<Forth>(file).map_err(failed)?;
    let limits = ForthLimits {
        data_stack_cells: 256,
        return_stack_cells: 256,
        data_space_bytes: 64 * 1024,
        max_steps: 1_000_000,
    };
    let mut instance = ForthInstance::create(plugin.clone(), limits, &[]).map_err(failed)?;
    let mut output = CollectingConsole::default();
    let outcome = instance
        .evaluate(FORTH_PROGRAM, "load-check", &mut output)
        .map_err(failed)?;
    let printed = String::from_utf8_lossy(&output.0);
    if outcome != Evaluation::Continue || printed != FORTH_OUTPUT {
        return Err(Outcome::Fail(format!(
            "`{FORTH_PROGRAM}` ended {outcome:?} printing {printed:?}, expected Continue printing {FORTH_OUTPUT:?}"
        )));
    }
    Ok(format!(
        "{} {} evaluated `{FORTH_PROGRAM}` -> `{printed}`",
        plugin.name(),
        plugin.version()
    ))
}

/// Loads an optimizer stage plugin and checks its answer to the engine's probe definition:
/// `5 NIP`, as the built-in optimizer compiles it, and an answer the engine accepts.
fn optimize(loader: &Loader, file: &Path) -> Result<String, Outcome> {
    let plugin = loader.load::<Optimizer>(file).map_err(failed)?;
    let answer = stage::ask(&plugin, &probe().encode()).map_err(Outcome::Fail)?;
    let ops = check_probe_answer(&answer).map_err(Outcome::Fail)?;
    Ok(format!(
        "{} {} optimized `: T 2 3 + SWAP DROP ;` to {ops:?}",
        plugin.name(),
        plugin.version()
    ))
}

/// Loads a parser stage plugin and checks its answer to the engine's probe line: the tokens
/// the built-in parser reads there, in an answer the engine accepts.
fn parse(loader: &Loader, file: &Path) -> Result<String, Outcome> {
    let plugin = loader.load::<Parser>(file).map_err(failed)?;
    let (line, expected) = parser_stage::probe();
    let answer = stage::ask(&plugin, &line.encode()).map_err(Outcome::Fail)?;
    let tokens = line
        .check_answer(&answer)
        .map_err(|error| Outcome::Fail(format!("answer refused: {error}")))?;
    if tokens != expected {
        return Err(Outcome::Fail(format!(
            "split the probe line into {tokens:?}, expected {expected:?}"
        )));
    }
    Ok(format!(
        "{} {} split the probe line into the built-in parser's {} tokens",
        plugin.name(),
        plugin.version(),
        tokens.len()
    ))
}

/// Loads a compiler stage plugin and checks its answer to the engine's probe run: the
/// built-in compiler's actions, in an answer the engine accepts.
fn compile(loader: &Loader, file: &Path) -> Result<String, Outcome> {
    let plugin = loader.load::<Compiler>(file).map_err(failed)?;
    let run = compiler_stage::probe();
    let answer = stage::ask(&plugin, &run.encode()).map_err(Outcome::Fail)?;
    let actions = run
        .check_answer(&answer)
        .map_err(|error| Outcome::Fail(format!("answer refused: {error}")))?;
    if actions != run.builtin_actions() {
        return Err(Outcome::Fail(format!(
            "compiled the probe run to {actions:?}, expected {:?}",
            run.builtin_actions()
        )));
    }
    Ok(format!(
        "{} {} compiled the probe run as the built-in compiler does",
        plugin.name(),
        plugin.version()
    ))
}
