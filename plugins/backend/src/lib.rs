//! The native backend as a stage plugin of kind "backend": a program loaded by the engine
//! arrives in the engine's program encoding (`fastforth_engine::program`); `fastforth-aot`
//! generates its Rust crate and builds it with cargo into a "forth-native" plugin in the
//! caller's cache directory (or into an executable that runs one compiled word), and the
//! build goes back in the same encoding. `fastforth compile` runs through it, so the code
//! generator and the runtime sources it writes are not part of the `fastforth` binary.

use fastforth_abi::{ByteSink, FfiBytes, FfiStr};
use fastforth_aot::{CompileOptions, Compiled, Mode, Output, Signature};
use fastforth_engine::ir::{IR_VERSION, Op};
use fastforth_engine::program::{Built, BuiltWord, Program, Word};
use std::path::PathBuf;

/// Builds the encoded program into a plugin, or into an executable that runs `entry` when
/// it is not empty; or says why not.
pub fn build_bytes(
    program: &[u8],
    cache_dir: &str,
    cargo: &str,
    release: bool,
    entry: &str,
) -> Result<Vec<u8>, String> {
    let program =
        Program::decode(program).map_err(|error| format!("the program is refused: {error}"))?;
    let options = CompileOptions {
        cache_dir: PathBuf::from(cache_dir),
        cargo: cargo.to_owned(),
        release,
        output: match entry {
            "" => Output::Plugin,
            entry => Output::Executable {
                entry: entry.to_owned(),
            },
        },
    };
    let fault = |name: &str| cfg!(feature = "faults") && program.name.starts_with(name);
    if fault("fault-panic") {
        panic!("backend fault: panic");
    }
    let compiled = fastforth_aot::compile_program(&program, &options).map_err(|e| e.to_string())?;
    let mut built = built(&compiled)?;
    if fault("fault-bad-build") {
        built.artifact = not_a_plugin(&compiled)?;
    }
    Ok(built.encode())
}

/// A file of the build that is not a plugin (the artifact the `faults` feature answers for
/// a program named `fault-bad-build...`): the generated crate's manifest, beside it.
fn not_a_plugin(compiled: &Compiled) -> Result<String, String> {
    let manifest = compiled.artifact.with_file_name("Cargo.toml");
    manifest
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} is not a UTF-8 path", manifest.display()))
}

/// The build as the host reads it.
fn built(compiled: &Compiled) -> Result<Built, String> {
    let text = |path: &std::path::Path| {
        path.to_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))
    };
    Ok(Built {
        artifact: text(&compiled.artifact)?,
        runtime: match &compiled.runtime {
            Some(runtime) => text(runtime)?,
            None => String::new(),
        },
        cache_hit: compiled.cache_hit,
        words: compiled
            .words
            .iter()
            .map(|word| BuiltWord {
                name: word.name.clone(),
                static_effect: match word.mode {
                    Mode::Static(s) => Some((s.inputs as u32, s.outputs as u32)),
                    Mode::Dynamic => None,
                },
            })
            .collect(),
        skipped: compiled
            .skipped
            .iter()
            .map(|skipped| (skipped.word.clone(), skipped.reason.clone()))
            .collect(),
    })
}

/// # Safety
/// `program`, `cache_dir` and `cargo` must be readable for the duration of the call.
unsafe fn build(
    program: FfiBytes,
    cache_dir: FfiStr,
    cargo: FfiStr,
    release: u32,
    entry: FfiStr,
    built: ByteSink<'_>,
    error: ByteSink<'_>,
) -> u32 {
    // SAFETY: guaranteed by the caller.
    let (program, cache_dir, cargo, entry) = unsafe {
        let text = |s: FfiStr| std::str::from_utf8(s.as_bytes());
        (
            program.as_bytes(),
            text(cache_dir),
            text(cargo),
            text(entry),
        )
    };
    let answer = match (cache_dir, cargo, entry) {
        (Ok(cache_dir), Ok(cargo), Ok(entry)) => {
            build_bytes(program, cache_dir, cargo, release == 1, entry)
        }
        _ => Err(
            "the cache directory, the cargo command and the entry word must be UTF-8".to_owned(),
        ),
    };
    built.send_answer(answer, &error)
}

/// A program whose one word, `: probe ( n -- n' ) DUP 1+ * ;`, is written out as the
/// engine would leave it, so that the self-test needs no engine.
fn probe() -> Program {
    Program {
        name: "probe".to_owned(),
        words: vec![Word {
            name: "probe".to_owned(),
            xt: 0,
            code: vec![Op::Dup, Op::LitAdd(1), Op::Mul, Op::Exit],
        }],
        primitives: Vec::new(),
        data: Vec::new(),
        system_base: 4096,
        system: Vec::new(),
        memory_bytes: 8192,
        base_address: 4096,
        hold_area: 4104..4200,
        data_stack_cells: 64,
        return_stack_cells: 64,
        code_end: 4,
    }
}

/// Generates (without building) the crate of the probe program from its encoding and
/// checks that its word was compiled with the stack effect it has.
fn self_test() -> Result<(), String> {
    let program = Program::decode(&probe().encode()).map_err(|error| error.to_string())?;
    let generated = fastforth_aot::generate_program(&program).map_err(|e| e.to_string())?;
    match generated.words.as_slice() {
        [word]
            if word.name == "probe"
                && word.mode
                    == Mode::Static(Signature {
                        inputs: 1,
                        outputs: 1,
                    }) =>
        {
            Ok(())
        }
        words => Err(format!(
            "the probe compiled to {words:?}, expected probe ( 1 -- 1 )"
        )),
    }
}

fastforth_abi::export_plugin! {
    kind: BACKEND,
    name: "backend",
    version: env!("CARGO_PKG_VERSION"),
    functions: BackendFunctions {
        build: fn(
            program: FfiBytes,
            cache_dir: FfiStr,
            cargo: FfiStr,
            release: u32,
            entry: FfiStr,
            built: ByteSink<'_>,
            error: ByteSink<'_>,
        ) -> u32 = build,
    },
    self_test: self_test,
    ir_version: IR_VERSION,
}
