//! Output that cannot be written (a closed pipe, a full disk): the Forth program stops
//! with -37 and the run exits non-zero; the command's own printing never panics.

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

#[test]
fn an_endless_output_loop_ends_when_the_reader_goes_away() {
    let args = ["run", "-e", ": x begin 65 emit again ; x"];
    let mut child = spawn(&args, Stdio::piped());
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(&first, b"AAAAAAAAAA");
    let (status, stderr) = finish(child, &args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("-37 file I/O exception: cannot write the output: Broken pipe"),
        "{stderr}"
    );
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
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("-37 file I/O exception: cannot write the output: No space left"),
        "{stderr}"
    );
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
fn the_engine_plugin_reports_the_output_error_after_the_evaluation() {
    let engine = engine_plugin();
    let args = ["--engine", &engine, "run", "-e", "1 . 2 . 3 ."];
    let (status, stderr) = finish(spawn(&args, closed_pipe()), &args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("-37 file I/O exception: cannot write the output: Broken pipe"),
        "{stderr}"
    );
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
