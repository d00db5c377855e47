//! Output that cannot be written (a closed pipe, a full disk): the Forth program stops
//! with -37 and the run exits non-zero; the command's own printing never panics.

mod common;
use common::backend_stage;

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn spawn(args: &[&str], stdout: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("HOME", std::env::temp_dir())
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The exit status and standard error; a run that has not ended after a minute fails.
fn finish(mut child: Child, args: &[&str]) -> (ExitStatus, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("fastforth {args:?} did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

/// A pipe whose reading end is closed: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

fn example_plugin() -> String {
    fastforth_plugin_build::PluginBuild::new("fastforth-example-plugin", &[])
        .build()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn engine_plugin() -> String {
    fastforth_plugin_build::PluginBuild::new("fastforth-forth-plugin", &[])
        .build()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Asserts that the run ended with exit code 1 and -37 for the output error `reason`.
fn assert_output_error(status: ExitStatus, stderr: &str, reason: &str) {
    assert_eq!(status.code(), Some(1), "{stderr}");
    let expected = format!("-37 file I/O exception: cannot write the output: {reason}");
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn an_endless_output_loop_ends_when_the_reader_goes_away() {
    let args = ["run", "-e", ": x begin 65 emit again ; x"];
    let mut child = spawn(&args, Stdio::piped());
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(&first, b"AAAAAAAAAA");
    let (status, stderr) = finish(child, &args);
    assert_output_error(status, &stderr, "Broken pipe");
}

#[test]
fn a_program_can_catch_the_output_error() {
    // CATCH gives -37; `37 + throw` is `0 throw` then, which does nothing.
    let args = [
        "run",
        "-e",
        ": x begin 65 emit again ; ' x catch 37 + throw",
    ];
    let (status, stderr) = finish(spawn(&args, closed_pipe()), &args);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[cfg(target_os = "linux")]
#[test]
fn output_to_a_full_disk_is_an_error() {
    let args = ["run", "-e", "1 ."];
    let full = std::fs::File::create("/dev/full").unwrap();
    let (status, stderr) = finish(spawn(&args, Stdio::from(full)), &args);
    assert_output_error(status, &stderr, "No space left");
}

#[test]
fn plugin_info_into_a_closed_pipe_fails_without_a_panic() {
    let plugin = example_plugin();
    let args = ["plugin", "info", &plugin];
    let (status, stderr) = finish(spawn(&args, closed_pipe()), &args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}

#[test]
fn the_engine_plugin_stops_at_the_output_error() {
    let engine = engine_plugin();
    let args = [
        "--engine",
        &engine,
        "run",
        "-e",
        ": x begin 65 emit again ; x",
    ];
    let (status, stderr) = finish(spawn(&args, closed_pipe()), &args);
    assert_output_error(status, &stderr, "Broken pipe");
}

#[test]
fn the_engine_plugin_lets_a_program_catch_the_output_error() {
    let engine = engine_plugin();
    let source = ": x begin 65 emit again ; ' x catch 37 + throw";
    let args = ["--engine", &engine, "run", "-e", source];
    let (status, stderr) = finish(spawn(&args, closed_pipe()), &args);
    assert_eq!((status.code(), stderr.as_str()), (Some(0), ""));
}

/// A native plugin compiled from an endless output loop `x` and a word `cw` that catches
/// the output error of `w1`, and an empty source file.
fn native_output_program(dir: &std::path::Path) -> (String, String) {
    let source = dir.join("endless.fs");
    let words = ": x begin 65 emit again ;\n: w1 1 . ;\n: cw ['] w1 catch 1000 + throw ;\n";
    std::fs::write(&source, words).unwrap();
    let empty = dir.join("empty.fs");
    std::fs::write(&empty, "").unwrap();
    let plugin = dir.join(format!("endless.{}", std::env::consts::DLL_EXTENSION));
    let cache = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/native-cache");
    let compiled = Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args([
            "--stage",
            backend_stage(),
            "compile",
            source.to_str().unwrap(),
            "-o",
            plugin.to_str().unwrap(),
        ])
        .env("FASTFORTH_NATIVE_CACHE", cache)
        .output()
        .unwrap();
    assert!(compiled.status.success(), "{compiled:?}");
    let text = |path: std::path::PathBuf| path.to_string_lossy().into_owned();
    (text(plugin), text(empty))
}

#[test]
fn native_code_stops_at_the_output_error() {
    let dir = tempfile::tempdir().unwrap();
    let (plugin, empty) = native_output_program(dir.path());
    // Alone, the word runs on a thread of its own and its output comes through a pipe;
    // linked into a session, it runs on the session's thread and writes to the console.
    for args in [
        vec!["run", "--native", &plugin, "-e", "x"],
        vec!["run", "--native", &plugin, &empty, "-e", "x"],
    ] {
        let (status, stderr) = finish(spawn(&args, closed_pipe()), &args);
        assert_output_error(status, &stderr, "Broken pipe");
    }
}

#[test]
fn the_repl_into_a_closed_pipe_fails_without_a_panic() {
    let args = ["repl"];
    let mut child = spawn(&args, closed_pipe());
    drop(child.stdin.take());
    let (status, stderr) = finish(child, &args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}

#[test]
fn plugin_list_into_a_closed_pipe_fails_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "plugin",
        "list",
        "--plugin-dir",
        dir.path().to_str().unwrap(),
    ];
    let (status, stderr) = finish(spawn(&args, closed_pipe()), &args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}

/// Native output is buffered: the CATCH around the word that wrote still gets its -37.
#[cfg(target_os = "linux")]
#[test]
fn native_code_catches_the_output_error_of_the_word_it_ran() {
    let dir = tempfile::tempdir().unwrap();
    let (plugin, _) = native_output_program(dir.path());
    let args = ["run", "--native", &plugin, "-e", "cw"];
    let full = std::fs::File::create("/dev/full").unwrap();
    let (status, stderr) = finish(spawn(&args, Stdio::from(full)), &args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("963 "),
        "-37 caught, 1000 added: {stderr}"
    );
}

/// Rust's `Stdout` reports writes to a bad descriptor as done; the program's output does not.
#[cfg(unix)]
#[test]
fn a_read_only_standard_output_is_an_error() {
    let args = ["run", "-e", ": x begin 1 . again ; x"];
    let read_only = std::fs::File::open("/dev/null").unwrap();
    let (status, stderr) = finish(spawn(&args, Stdio::from(read_only)), &args);
    assert_output_error(status, &stderr, "Bad file descriptor");
}
