//! `--stage parser=FILE` and `--stage optimizer=FILE`, `#stage` in the REPL, `plugin info`
//! of a stage plugin and `compile` through the backend stage plugin, run as a user runs them.

mod common;
use common::{backend_plugin, backend_stage};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs `fastforth` with a plugin cache of its own: these tests load six builds of the
/// optimizer plugin in parallel processes, and in a shared cache each loader evicts the
/// others' copies of one file name beyond the newest four (a load places an evicted copy
/// again, a few times at most). Generated crates share one native cache.
fn fastforth(args: &[&str], stdin: &str) -> Output {
    let plugin_cache = tempfile::tempdir().unwrap();
    let native_cache = std::env::temp_dir().join(".cache/fastforth/native");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("HOME", std::env::temp_dir())
        .env("XDG_CACHE_HOME", plugin_cache.path())
        .env("FASTFORTH_NATIVE_CACHE", native_cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin_pipe = child.stdin.take().unwrap();
    stdin_pipe.write_all(stdin.as_bytes()).unwrap();
    drop(stdin_pipe);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn optimizer(features: &[&str]) -> PathBuf {
    fastforth_plugin_build::built_once("fastforth-optimizer-plugin", features)
}

fn stage_flag(features: &[&str]) -> String {
    format!("optimizer={}", optimizer(features).display())
}

fn workload(name: &str) -> String {
    format!(
        "{}/../../benches/forth/{name}.fs",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn the_workloads_print_the_same_with_each_stage_plugin() {
    for flag in [stage_flag(&[]), parser_flag(&[]), compiler_flag(&[])] {
        for name in ["sieve", "bubble", "matrix", "fib"] {
            let file = workload(name);
            let built_in = fastforth(&["run", &file, "-e", "main"], "");
            let staged = fastforth(&["--stage", &flag, "run", &file, "-e", "main"], "");
            assert!(staged.status.success(), "{name}: {staged:?}");
            assert!(!built_in.stdout.is_empty(), "{name}");
            assert_eq!(staged.stdout, built_in.stdout, "{name} with {flag}");
            assert_eq!(text(&staged.stderr), "", "{name} with {flag}");
        }
    }
}

#[test]
fn the_repl_lists_and_swaps_the_optimizer_stage_and_keeps_the_session() {
    let v2 = optimizer(&["v2"]);
    let input = format!(
        ": a swap over ;\n#stage\n#stage optimizer {}\n: b swap over ;\nsee a see b\n\
         #stage optimizer /nonexistent.so\n#stage linker x.so\n1 2 b . . .\n\
         #stage optimizer builtin\n#stage\n",
        v2.display()
    );
    let output = fastforth(&["repl", "--stage", &stage_flag(&[])], &input);
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(
        stdout.contains("optimizer  plugin \"optimizer\" 1.0.0 (IR version 3) from"),
        "{stdout}"
    );
    assert!(stdout.contains("parser     built-in"), "{stdout}");
    assert!(
        stdout.contains(
            "optimizer: optimizer 1.0.0 -> optimizer 1.1.0; definitions compiled before keep \
             their code"
        ),
        "{stdout}"
    );
    // `a` was compiled by 1.0.0, `b` by 1.1.0, which fuses SWAP OVER into TUCK.
    let see_b = stdout.split(": b").nth(1).unwrap();
    assert!(
        see_b.contains("TUCK") && !see_b.contains("SWAP"),
        "{stdout}"
    );
    let see_a = stdout
        .split(": a")
        .nth(1)
        .unwrap()
        .split(": b")
        .next()
        .unwrap();
    assert!(see_a.contains("SWAP") && see_a.contains("OVER"), "{stdout}");
    assert!(
        stderr.contains("stage refused, the serving stages stay: /nonexistent.so"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "unknown stage \"linker\" (expected one of parser, compiler, optimizer, backend)"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("2 1 2  ok"), "{stdout}");
    assert!(
        stdout.contains("optimizer: optimizer 1.1.0 -> built-in"),
        "{stdout}"
    );
    assert!(stdout.contains("optimizer  built-in"), "{stdout}");
}

#[test]
fn a_refused_answer_is_a_warning_and_the_program_runs() {
    let flag = stage_flag(&["fault-bad-branch"]);
    let output = fastforth(
        &[
            "--stage",
            &flag,
            "run",
            "-e",
            ": fault-x 2 3 + ; : ok 1 ; fault-x ok + .",
        ],
        "",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "6 ");
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "warning: the optimizer stage gave no usable answer for fault-x (-e:1:3): branch out \
             of range"
        ),
        "{stderr}"
    );
}

#[test]
fn stage_flags_are_checked() {
    let cases: [(&[&str], &str); 10] = [
        (
            &[
                "--stage",
                "compiler=a.so",
                "--stage",
                "compiler=b.so",
                "run",
                "-e",
                "bye",
            ],
            "the compiler stage is given twice",
        ),
        (
            &["--stage", "linker=p.so", "run", "-e", "bye"],
            "unknown stage \"linker\" (expected one of parser, compiler, optimizer, backend)",
        ),
        (
            &["--stage", "optimizer", "run", "-e", "bye"],
            "expected KIND=PLUGIN_FILE",
        ),
        (
            &[
                "--stage",
                "optimizer=a.so",
                "--engine",
                "e.so",
                "run",
                "-e",
                "bye",
            ],
            "--stage cannot be used with --engine",
        ),
        (
            &["--stage", "backend=b.so", "run", "-e", "bye"],
            "--stage backend=FILE applies to `compile` only",
        ),
        (
            &["--stage", "optimizer=a.so", "compile", "p.fs"],
            "--stage optimizer=FILE applies to `run` and `repl`, not to `compile`",
        ),
        (
            &["--stage", "parser=a.so", "compile", "p.fs"],
            "--stage parser=FILE applies to `run` and `repl`, not to `compile`",
        ),
        (
            &["--stage", "compiler=a.so", "compile", "p.fs"],
            "--stage compiler=FILE applies to `run` and `repl`, not to `compile`",
        ),
        (
            &[
                "--stage",
                "parser=a.so",
                "--engine",
                "e.so",
                "run",
                "-e",
                "bye",
            ],
            "--stage cannot be used with --engine",
        ),
        (
            &[
                "--stage",
                "backend=a.so",
                "--stage",
                "backend=b.so",
                "compile",
                "p.fs",
            ],
            "the backend stage is given twice",
        ),
    ];
    for (args, message) in cases {
        let output = fastforth(args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains(message),
            "{args:?}: {output:?}"
        );
    }
    let wrong_ir = stage_flag(&["fault-ir-version"]);
    let output = fastforth(&["--stage", &wrong_ir, "run", "-e", "bye"], "");
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot use the optimizer stage")
            && stderr.contains("the stage speaks IR version 4, this host's engine speaks 3"),
        "{stderr}"
    );
}

#[test]
fn plugin_info_shows_the_stage_kind_and_its_ir_version() {
    let file = optimizer(&[]);
    let output = fastforth(&["plugin", "info", &file.to_string_lossy()], "");
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("kind:      optimizer"), "{stdout}");
    assert!(stdout.contains("ir:        3"), "{stdout}");
    assert!(stdout.contains("self-test: passed"), "{stdout}");
    let parser_file = parser(&[]);
    let output = fastforth(&["plugin", "info", &parser_file.to_string_lossy()], "");
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("kind:      parser"), "{stdout}");
    assert!(stdout.contains("ir:        3"), "{stdout}");
    let flag = stage_flag(&[]);
    let version = fastforth(&["--stage", &flag, "-V"], "");
    assert!(
        text(&version.stdout)
            .contains("engine: built-in engine with optimizer stage plugin optimizer 1.0.0"),
        "{version:?}"
    );
}

/// A program to compile, in a directory of its own under the test's scratch space.
fn program(name: &str, source: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("backend-stage-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.fs"));
    std::fs::write(&file, source).unwrap();
    file
}

#[test]
fn compile_builds_through_the_backend_stage_plugin() {
    let file = program("square", ": square dup * ; : main 7 square . ;\n");
    let plugin = file.with_extension(std::env::consts::DLL_EXTENSION);
    let compile = fastforth(
        &[
            "--stage",
            backend_stage(),
            "compile",
            &file.to_string_lossy(),
            "-o",
            &plugin.to_string_lossy(),
        ],
        "",
    );
    assert!(compile.status.success(), "{compile:?}");
    assert_eq!(
        text(&compile.stdout).lines().take(2).collect::<Vec<_>>(),
        ["square: static ( 1 -- 1 )", "main: static ( 0 -- 0 )"]
    );
    let run = fastforth(&["run", "--native", &plugin.to_string_lossy()], "");
    assert_eq!(text(&run.stdout), "49 ", "{run:?}");
    let info = fastforth(&["plugin", "info", &backend_plugin().to_string_lossy()], "");
    let stdout = text(&info.stdout);
    assert!(stdout.contains("kind:      backend"), "{stdout}");
    assert!(stdout.contains("ir:        3"), "{stdout}");
    assert!(stdout.contains("self-test: passed"), "{stdout}");
}

#[test]
fn compile_refuses_a_backend_of_another_kind_and_names_a_missing_one() {
    let file = program("refused", ": main 1 . ;\n");
    let file = file.to_string_lossy();
    let wrong_kind = format!("backend={}", optimizer(&[]).display());
    let output = fastforth(&["--stage", &wrong_kind, "compile", &file], "");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("optimizer") && stderr.contains("backend"),
        "{stderr}"
    );
    // A binary with no backend beside it (a hard link, so that it knows itself by the
    // link's path) says where it looked and what to give.
    let alone = Path::new(env!("CARGO_TARGET_TMPDIR")).join("backend-stage-alone");
    std::fs::create_dir_all(&alone).unwrap();
    let binary = alone.join("fastforth");
    let _ = std::fs::remove_file(&binary);
    std::fs::hard_link(env!("CARGO_BIN_EXE_fastforth"), &binary).unwrap();
    let output = Command::new(&binary)
        .args(["compile", &file])
        .env("XDG_DATA_HOME", alone.join("nothing-installed"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`compile` needs the native backend stage plugin")
            && stderr.contains("give --stage backend=FILE"),
        "{stderr}"
    );
    // The program's own errors come before any backend is looked for.
    let broken = program("broken", ": main undefined-word ;\n");
    let output = Command::new(&binary)
        .args(["compile", &broken.to_string_lossy()])
        .env("XDG_DATA_HOME", alone.join("nothing-installed"))
        .output()
        .unwrap();
    assert!(
        text(&output.stderr).contains("the program does not load"),
        "{output:?}"
    );
}

#[test]
fn a_faulty_backend_is_contained_and_the_previous_build_stays() {
    let plugin = fastforth_plugin_build::built_once("fastforth-backend-plugin", &["faults"]);
    let faulty = format!("backend={}", plugin.display());
    for (name, expected) in [
        (
            "fault-panic",
            &["plugin `backend` 1.0.0 panicked in `build`"][..],
        ),
        (
            "fault-bad-build",
            &[
                "backend 1.0.0 answered a build that does not load",
                "not a shared library",
            ],
        ),
    ] {
        let file = program(name, ": main 1 . ;\n");
        let output = file.with_extension(std::env::consts::DLL_EXTENSION);
        std::fs::write(&output, b"the previous build").unwrap();
        let compile = compile_with(&faulty, &file, &output);
        assert_eq!(compile.status.code(), Some(1), "{name}: {compile:?}");
        let stderr = text(&compile.stderr);
        assert!(
            expected.iter().all(|e| stderr.contains(e)),
            "{name}: {stderr}"
        );
        assert_eq!(
            std::fs::read(&output).unwrap(),
            b"the previous build",
            "{name}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(output.parent().unwrap())
            .unwrap()
            .filter_map(|entry| entry.ok())
            .filter(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".fastforth")
            })
            .collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
    }
    // The same backend builds programs with other names, and the build is written; the
    // staging directory a killed compile left there goes (no process has id 0x7ffffffe),
    // the one of a compile still running stays.
    let file = program("sound", ": main 6 7 * . ;\n");
    let output = file.with_extension(std::env::consts::DLL_EXTENSION);
    let dir = output.parent().unwrap();
    let killed = dir.join(".fastforth-compile-2147483646-abc");
    let running = dir.join(format!(".fastforth-compile-{}-def", std::process::id()));
    for staging in [&killed, &running] {
        std::fs::create_dir_all(staging).unwrap();
        std::fs::write(staging.join("sound.so"), b"half a check").unwrap();
    }
    let compile = compile_with(&faulty, &file, &output);
    assert!(compile.status.success(), "{compile:?}");
    assert!(!killed.exists(), "the killed compile's directory is left");
    assert!(
        running.exists(),
        "the running compile's directory is removed"
    );
    std::fs::remove_dir_all(&running).unwrap();
    let run = fastforth(&["run", "--native", &output.to_string_lossy()], "");
    assert_eq!(text(&run.stdout), "42 ", "{run:?}");
}

/// `fastforth --stage STAGE compile FILE -o OUTPUT`.
fn compile_with(stage: &str, file: &Path, output: &Path) -> Output {
    let (file, output) = (file.to_string_lossy(), output.to_string_lossy());
    fastforth(&["--stage", stage, "compile", &file, "-o", &output], "")
}

fn parser(features: &[&str]) -> PathBuf {
    fastforth_plugin_build::built_once("fastforth-parser-plugin", features)
}

fn parser_flag(features: &[&str]) -> String {
    format!("parser={}", parser(features).display())
}

#[test]
fn the_repl_swaps_the_parser_stage_between_two_lines_and_keeps_the_session() {
    let v2 = parser(&["v2"]);
    let input = format!(
        ": sq dup * ;\n1_000\n#stage parser {}\n1_000 sq .\n#stage\n\
         #stage parser /nonexistent.so\n2_0 sq .\n#stage parser builtin\n1_0 .\n",
        v2.display()
    );
    let output = fastforth(&["repl", "--stage", &parser_flag(&[])], &input);
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(
        stdout.contains("(built-in engine with parser stage plugin parser 1.0.0)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("<repl line 2>:1:1: -13 undefined word in 1_000"),
        "{stderr}"
    );
    assert!(
        stdout.contains("parser: parser 1.0.0 -> parser 1.1.0"),
        "{stdout}"
    );
    assert!(stdout.contains("1000000  ok"), "{stdout}");
    assert!(
        stdout.contains("parser     plugin \"parser\" 1.1.0 (IR version 3) from"),
        "{stdout}"
    );
    assert!(
        stderr.contains("stage refused, the serving stages stay: /nonexistent.so"),
        "{stderr}"
    );
    assert!(stdout.contains("400  ok"), "1.1.0 still serves: {stdout}");
    assert!(
        stdout.contains("parser: parser 1.1.0 -> built-in"),
        "{stdout}"
    );
    assert!(
        stderr.contains("<repl line 9>:1:1: -13 undefined word in 1_0"),
        "{stderr}"
    );
}

fn compiler_flag(features: &[&str]) -> String {
    let file = fastforth_plugin_build::built_once("fastforth-compiler-plugin", features);
    format!("compiler={}", file.display())
}

#[test]
fn the_repl_swaps_the_compiler_stage_and_new_definitions_show_it() {
    let input = format!(
        ": a 8 * ;\n#stage compiler {}\n: b 8 * ;\nsee a see b\n3 a . 3 b .\n",
        compiler_flag(&["v2"]).trim_start_matches("compiler=")
    );
    let output = fastforth(&["repl", "--stage", &compiler_flag(&[])], &input);
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("compiler: compiler 1.0.0 -> compiler 1.1.0"),
        "{stdout}"
    );
    let see_b = stdout.split(": b").nth(1).unwrap();
    assert!(see_b.contains("LSHIFT"), "{stdout}");
    let see_a = stdout
        .split(": a")
        .nth(1)
        .unwrap()
        .split(": b")
        .next()
        .unwrap();
    assert!(
        see_a.contains("LitMul(8)") && !see_a.contains("LSHIFT"),
        "{stdout}"
    );
    assert!(stdout.contains("24 24  ok"), "{stdout}");
}

/// Runs `source` with each faulty build of a stage (its feature and the reason expected),
/// and asserts the program printed `printed` and the fault was a warning of `warning`.
fn faults_are_contained(
    flag: fn(&[&str]) -> String,
    source: &str,
    printed: &str,
    warning: (&str, &str),
    faults: [(&str, &str); 3],
) {
    for (fault, why) in faults {
        let output = fastforth(&["--stage", &flag(&[fault]), "run", "-e", source], "");
        assert!(output.status.success(), "{fault}: {output:?}");
        assert_eq!(text(&output.stdout), printed, "{fault}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(warning.0) && stderr.contains(why) && stderr.contains(warning.1),
            "{fault}: {stderr}"
        );
    }
}

#[test]
fn a_parser_that_answers_nonsense_panics_or_hangs_costs_its_lines_the_built_in_parser() {
    faults_are_contained(
        parser_flag,
        "1 2 + . : fault 7 ; fault .\n3 4 + .",
        "3 7 7 ",
        (
            "warning: the parser stage gave no usable answer for line 1 of -e: ",
            "the built-in parser read it",
        ),
        [
            (
                "fault-bad-token",
                "answer refused: token 9 at 26..28 is empty",
            ),
            ("fault-panic", "panicked"),
            ("fault-hang", "did not answer within 2s"),
        ],
    );
}

#[test]
fn a_compiler_that_answers_nonsense_panics_or_hangs_costs_its_runs_the_built_in_compiler() {
    faults_are_contained(
        compiler_flag,
        ": ok 1 ; : fault-x ok ok + ; fault-x .",
        "2 ",
        (
            "warning: the compiler stage gave no usable answer for `ok ok +` in fault-x (-e:1): ",
            "the built-in compiler compiled it",
        ),
        [
            (
                "fault-drop-call",
                "answer refused: token 0 (ok): the word's [Call(",
            ),
            ("fault-panic", "panicked"),
            ("fault-hang", "did not answer within 2s"),
        ],
    );
}
