//! `--stage optimizer=FILE`, `#stage` in the REPL and `plugin info` of a stage plugin, run
//! as a user runs them.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fastforth(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("HOME", std::env::temp_dir())
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
fn the_workloads_print_the_same_with_the_optimizer_stage_plugin() {
    let flag = stage_flag(&[]);
    for name in ["sieve", "bubble", "matrix", "fib"] {
        let file = workload(name);
        let built_in = fastforth(&["run", &file, "-e", "main"], "");
        let staged = fastforth(&["--stage", &flag, "run", &file, "-e", "main"], "");
        assert!(staged.status.success(), "{name}: {staged:?}");
        assert!(!built_in.stdout.is_empty(), "{name}");
        assert_eq!(staged.stdout, built_in.stdout, "{name}");
        assert_eq!(text(&staged.stderr), "", "{name}");
    }
}

#[test]
fn the_repl_lists_and_swaps_the_optimizer_stage_and_keeps_the_session() {
    let v2 = optimizer(&["v2"]);
    let input = format!(
        ": a swap over ;\n#stage\n#stage optimizer {}\n: b swap over ;\nsee a see b\n\
         #stage optimizer /nonexistent.so\n#stage parser x.so\n1 2 b . . .\n\
         #stage optimizer builtin\n#stage\n",
        v2.display()
    );
    let output = fastforth(&["repl", "--stage", &stage_flag(&[])], &input);
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(
        stdout.contains("optimizer  plugin \"optimizer\" 1.0.0 (IR version 2) from"),
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
        stderr.contains("the parser stage is built in: only the optimizer stage is a plugin"),
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
    let cases: [(&[&str], &str); 4] = [
        (
            &["--stage", "parser=p.so", "run", "-e", "bye"],
            "the parser stage is built in: only the optimizer stage is a plugin",
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
            && stderr.contains("the stage speaks IR version 3, this host's engine speaks 2"),
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
    assert!(stdout.contains("ir:        2"), "{stdout}");
    assert!(stdout.contains("self-test: passed"), "{stdout}");
    let flag = stage_flag(&[]);
    let version = fastforth(&["--stage", &flag, "-V"], "");
    assert!(
        text(&version.stdout)
            .contains("engine: built-in engine with optimizer stage plugin optimizer 1.0.0"),
        "{version:?}"
    );
}
