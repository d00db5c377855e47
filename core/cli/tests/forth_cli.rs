//! `fastforth run`, standard input and the REPL, on the built-in engine and on the engine
//! plugin, run as a user runs them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fastforth(args: &[&str], stdin: &str) -> Output {
    fastforth_at(&std::env::temp_dir(), args, stdin.as_bytes())
}

/// `fastforth ARGS` with `home` as its home directory (where the REPL keeps its history),
/// given `stdin` as its standard input.
fn fastforth_at(home: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(home, args);
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// `fastforth ARGS` with `home` as its home directory and its standard streams piped.
fn spawn(home: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn program(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path
}

fn engine_plugin() -> String {
    fastforth_plugin_build::PluginBuild::new("fastforth-forth-plugin", &[])
        .build()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn run_executes_files_in_order_then_code() {
    let dir = tempfile::tempdir().unwrap();
    let a = program(dir.path(), "a.fs", ": greet .\" hello \" ;\n");
    let b = program(dir.path(), "b.fs", "greet 6 7 * .\n");
    let output = fastforth(
        &[
            "run",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "-e",
            "greet",
        ],
        "",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "hello 42 hello ");
}

#[test]
fn run_reports_an_error_with_file_line_and_column_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let prog = program(dir.path(), "prog.fs", "1 2 +\n  drop drop\n");
    let output = fastforth(&["run", prog.to_str().unwrap()], "");
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(&format!("{}:2:8: -4 stack underflow", prog.display())),
        "{stderr}"
    );
}

/// KEY? on the built-in engine and on an engine plugin: true while a key of a line read
/// is left, or standard input has bytes or has ended; false while it is open and empty.
#[test]
fn key_question_tells_whether_standard_input_can_be_read_without_waiting() {
    let plugin = engine_plugin();
    let dir = tempfile::tempdir().unwrap();
    // A file as standard input: its bytes are there before the program asks.
    let input = program(dir.path(), "input", "X\n");
    for engine in [&[][..], &["--engine", &plugin][..]] {
        let keys = "key? . key . key? . key . key? .";
        let output = Command::new(env!("CARGO_BIN_EXE_fastforth"))
            .args([&["run"], engine, &["-e", keys]].concat())
            .stdin(std::fs::File::open(&input).unwrap())
            .output()
            .unwrap();
        assert!(output.status.success(), "{engine:?}: {output:?}");
        assert_eq!(text(&output.stdout), "-1 88 -1 10 -1 ", "{engine:?}");
        let waits = ": w begin key? until key ; w .";
        let output = fastforth(&[&["run"], engine].concat(), &format!("{waits}\nZ\n"));
        assert_eq!(text(&output.stdout), "90 ", "{engine:?}: {output:?}");
        let mut child = spawn(
            &std::env::temp_dir(),
            &[&["run"], engine, &["-e", "key? ."]].concat(),
        );
        let held_open = child.stdin.take();
        let output = child.wait_with_output().unwrap();
        drop(held_open);
        assert_eq!(text(&output.stdout), "0 ", "{engine:?}: {output:?}");
    }
}

/// REFILL of a program on standard input reads its next line, on both engines, and the
/// lines after it keep their numbers in error reports.
#[test]
fn refill_reads_the_next_line_of_standard_input() {
    let plugin = engine_plugin();
    for engine in [&[][..], &["--engine", &plugin][..]] {
        let program = "source-id . refill . 99 .\n1 2 3 .\n4 .\nfoo\n";
        let output = fastforth(&[&["run"], engine].concat(), program);
        assert_eq!(text(&output.stdout), "0 3 4 ", "{engine:?}: {output:?}");
        let expected = "<stdin line 4>:1:1: -13 undefined word in foo\n";
        assert_eq!(text(&output.stderr), expected, "{engine:?}");
    }
}

/// On the built-in engine and on an engine plugin alike.
#[test]
fn a_program_that_ends_inside_a_definition_fails_instead_of_swallowing_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    let open = program(dir.path(), "open.fs", ": f 1\n");
    let plugin = engine_plugin();
    for engine in [&[][..], &["--engine", &plugin][..]] {
        let run = |args: &[&str], stdin: &str| {
            let (command, rest) = args.split_first().unwrap_or((&"run", &[]));
            let with_engine = [&[*command][..], engine, rest].concat();
            fastforth(&with_engine, stdin)
        };
        let output = run(&["run", open.to_str().unwrap(), "-e", "2 . cr"], "");
        assert_eq!(output.status.code(), Some(1), "{engine:?}: {output:?}");
        assert_eq!(text(&output.stdout), "");
        let expected = format!(
            "-39 unexpected end of file inside the definition of f in {}\n",
            open.display()
        );
        assert_eq!(text(&output.stderr), expected, "{engine:?}");
        for (args, stdin, source) in [
            (&["run", "-e", ": g 1"][..], "", "-e"),
            (&["run"][..], ": k 2\n", "standard input"),
        ] {
            let output = run(args, stdin);
            assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
            let stderr = text(&output.stderr);
            assert!(stderr.contains("-39 unexpected end of file"), "{stderr}");
            assert!(
                stderr.trim_end().ends_with(&format!(" in {source}")),
                "{engine:?}: {stderr}"
            );
        }
        // A definition may still span the lines of standard input and end before its end.
        let output = run(&["run"], ": k\n2 ;\nk . cr\n");
        assert!(output.status.success(), "{engine:?}: {output:?}");
        assert_eq!(text(&output.stdout), "2 \n");
    }
}

#[test]
fn an_empty_or_missing_path_in_a_flag_is_refused_before_anything_runs() {
    let output = fastforth(&["run", "--engine", "", "-e", "1 . cr"], "");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert_eq!(text(&output.stdout), "");
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: invalid value '' for '--engine <PLUGIN_FILE>': an empty path"),
        "{stderr}"
    );
    let output = fastforth(&["run", "--plugin-dir", "/no/such/dir", "-e", "1 . cr"], "");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        "Error: --plugin-dir /no/such/dir: no such directory (`fastforth update` creates it)\n"
    );
    assert!(!Path::new("/no/such/dir").exists());
    let output = fastforth(&["run", ""], "");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(text(&output.stderr).starts_with("error: invalid FILE '': an empty path"));
    let file = tempfile::NamedTempFile::new().unwrap();
    let file = file.path().to_str().unwrap();
    let output = fastforth(&["--plugin-dir", file, "run", "-e", "1"], "");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let expected = format!("Error: --plugin-dir {file}: not a directory\n");
    assert_eq!(text(&output.stderr), expected);
}

#[test]
fn under_a_step_budget_or_confined_files_the_repl_loads_no_native_code() {
    let home = tempfile::tempdir().unwrap();
    let input = "#link /nonexistent.so\n#engine /nonexistent.so\n#stage optimizer /x.so\n\
                 #stage optimizer builtin /x.so\n#update\n#stage optimizer builtin\n#link\n\
                 #linkx /x.so\n1 . cr\n";
    for flags in [["--max-steps", "1000"], ["--files", "off"]] {
        let args = ["repl", flags[0], flags[1]];
        let output = fastforth_at(home.path(), &args, input.as_bytes());
        assert!(output.status.success(), "{output:?}");
        let stderr = text(&output.stderr);
        for command in [
            "#link /nonexistent.so",
            "#engine /nonexistent.so",
            "#stage optimizer /x.so",
            "#stage optimizer builtin /x.so",
            "#update",
        ] {
            let refusal = format!(
                "{command}: refused under {}: it bounds Forth code",
                flags[0]
            );
            assert!(stderr.contains(&refusal), "{flags:?}: {stderr}");
        }
        let stdout = text(&output.stdout);
        assert!(
            stdout.contains("optimizer: built-in -> built-in"),
            "{stdout}"
        );
        assert!(stdout.ends_with("1 \n ok\n"), "{stdout}");
        // A command is its whole first word: `#linkx` is Forth, an undefined word.
        assert!(stderr.contains("#linkx"), "{stderr}");
        assert!(stderr.contains("undefined word"), "{stderr}");
    }
}

#[test]
fn a_refused_command_is_echoed_without_its_control_characters() {
    let home = tempfile::tempdir().unwrap();
    let input = "#link /x\u{1b}]0;pwned\u{7}.so\n1 . cr\n";
    let output = fastforth_at(home.path(), &["repl", "--files", "off"], input.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    let refusal = "#link /x\\u{1b}]0;pwned\\u{7}.so: refused under --files";
    assert!(stderr.contains(refusal), "{stderr:?}");
}

#[test]
fn a_refused_link_names_the_file_without_its_control_characters() {
    let home = tempfile::tempdir().unwrap();
    let input = "#link /nonexistent\u{1b}[2J.so\n";
    let output = fastforth_at(home.path(), &["repl"], input.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("link refused"), "{stderr:?}");
    assert!(stderr.contains("/nonexistent\\u{1b}[2J.so"), "{stderr:?}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn run_without_files_or_code_runs_the_program_on_standard_input() {
    let output = fastforth(&["run"], "1 2 + . cr\nfoo\n");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(text(&output.stdout), "3 \n");
    assert_eq!(
        text(&output.stderr),
        "<stdin line 2>:1:1: -13 undefined word in foo\n"
    );
}

#[test]
fn a_program_on_standard_input_skips_conditional_text_across_lines_as_a_file_does() {
    let program =
        "1 [if]\n8 .\n[else]\n7 .\n[then] 9 .\n0 [if] 1 [if] 2 .\n[then]\n[else] 3 .\n[then]\n";
    let output = fastforth(&["run"], program);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "8 9 3 ");
    let output = fastforth(&["run"], "0 [if] 1 .\n2 .\n");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        text(&output.stderr),
        "-39 unexpected end of input inside [IF] or [ELSE], before its [THEN] in standard input\n"
    );
    let output = fastforth(&["run", "-e", "0 [if] 1 ."], "");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(text(&output.stderr).ends_with("before its [THEN] in -e\n"));
}

#[test]
fn key_and_accept_read_the_bytes_sent_not_their_utf8_repair() {
    let output = fastforth(&["run", "-e", "key . key . key . key ."], "\u{ff}");
    // U+00FF is two bytes in UTF-8; a byte that is not UTF-8 alone stays itself too.
    assert_eq!(text(&output.stdout), "195 191 10 ");
    let args = ["run", "-e", "key . key . key ."];
    let output = fastforth_at(&std::env::temp_dir(), &args, b"\xff\x80A");
    assert_eq!(text(&output.stdout), "255 128 65 ");
    let accept = ": t pad 80 accept dup . pad + pad ?do i c@ . loop ; t";
    let plugin = engine_plugin();
    for engine in [&[][..], &["--engine", &plugin][..]] {
        let args = [&["run"][..], engine, &["-e", accept]].concat();
        let output = fastforth_at(&std::env::temp_dir(), &args, b"\xffA\x80\r\n");
        assert_eq!(text(&output.stdout), "3 255 65 128 ", "{engine:?}");
    }
}

#[test]
fn a_piped_repl_keeps_going_past_a_refused_line_and_keeps_it_out_of_the_history() {
    let home = tempfile::tempdir().unwrap();
    let mut input = b"1 .\n\xff .\n".to_vec();
    input.extend(b"2 ".repeat(200));
    input.extend(b"\n3 . cr\n");
    let output = fastforth_at(home.path(), &["repl", "--max-source-bytes", "100"], &input);
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.ends_with("1  ok\n\n3 \n ok\n"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("<repl line 2>:1:1: -13 undefined word"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "<repl line 3> is larger than the source size limit of 100 bytes (--max-source-bytes)"
        ),
        "{stderr}"
    );
    let history = std::fs::read_to_string(home.path().join(".fastforth_history")).unwrap();
    assert!(history.contains("3 . cr"), "{history}");
    assert!(!history.contains("2 2 2"), "{history}");
}

#[test]
fn run_names_a_missing_file() {
    let output = fastforth(&["run", "/nonexistent/prog.fs"], "");
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("-38 non-existent file: /nonexistent/prog.fs"),
        "{stderr}"
    );
}

#[test]
fn run_takes_source_bytes_that_are_not_utf8_like_included() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.fs");
    let source = b": \xff 1 ; \\ caf\xe9\n\xff . s\" \xfe\" drop c@ .\n";
    std::fs::write(&path, source).unwrap();
    let file = path.to_str().unwrap();
    let run = fastforth(&["run", file], "");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(text(&run.stdout), "1 254 ");
    let included = fastforth(&["run", "-e", &format!("s\" {file}\" included")], "");
    assert_eq!(included.stdout, run.stdout, "{included:?}");
    let plugin = fastforth(&["run", "--engine", &engine_plugin(), file], "");
    assert!(plugin.status.success(), "{plugin:?}");
    assert_eq!(plugin.stdout, run.stdout);
    let piped = Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .env("HOME", std::env::temp_dir())
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert!(piped.status.success(), "{piped:?}");
    assert_eq!(piped.stdout, run.stdout);
}

#[test]
fn program_on_standard_input_runs_when_stdin_is_not_a_terminal() {
    let output = fastforth(&[], ": sq dup * ; 9 sq . bye");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "81 ");
}

#[test]
fn max_steps_stops_an_endless_loop() {
    let output = fastforth(
        &[
            "run",
            "--max-steps",
            "100000",
            "-e",
            ": spin begin again ; spin",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("spin"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn repl_answers_ok_and_keeps_definitions_after_an_error() {
    let output = fastforth(&["repl"], ": sq dup * ;\n5 sq .\n1 nosuch\n.s\n3 sq .\n");
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(stdout.contains("25  ok"), "{stdout}");
    assert!(stdout.contains("<0>  ok"), "stacks were reset: {stdout}");
    assert!(stdout.contains("9  ok"), "{stdout}");
    assert!(
        stderr.contains("-13") && stderr.contains("nosuch"),
        "{stderr}"
    );
}

#[test]
fn a_byte_order_mark_starting_a_program_is_skipped_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bom.fs");
    std::fs::write(&file, b"\xEF\xBB\xBF1 2 + .\n").unwrap();
    let file = file.to_str().unwrap();
    let engine = engine_plugin();
    for args in [vec!["run", file], vec!["run", "--engine", &engine, file]] {
        let output = fastforth(&args, "");
        assert!(output.status.success(), "{args:?}: {output:?}");
        assert_eq!(text(&output.stdout), "3 ", "{args:?}");
    }
    let output = fastforth(&["run"], "\u{feff}1 2 + .\n");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "3 ");
}

#[test]
fn a_forth_error_is_reported_without_the_control_characters_the_program_put_in_it() {
    let code = "s\" \u{1b}]0;title\u{7}x.fs\" included";
    for args in [vec!["run", "-e", code], vec!["repl"]] {
        let input = if args[0] == "repl" { code } else { "" };
        let output = fastforth(&args, input);
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("-38 non-existent file: \\u{1b}]0;title\\u{7}x.fs"),
            "{stderr:?}"
        );
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
            "{stderr:?}"
        );
    }
}

#[test]
fn engine_plugin_runs_the_same_program_the_same_way() {
    let engine = engine_plugin();
    let code = ": fib dup 2 < if drop 1 else dup 1- recurse swap 2 - recurse + then ; 20 fib .";
    let built_in = fastforth(&["run", "-e", code], "");
    let plugin = fastforth(&["run", "--engine", &engine, "-e", code], "");
    assert!(plugin.status.success(), "{plugin:?}");
    assert_eq!(text(&plugin.stdout), "10946 ");
    assert_eq!(built_in.stdout, plugin.stdout);
}

#[test]
fn repl_swaps_the_engine_and_keeps_the_session() {
    let v1 = engine_plugin();
    let v2 = fastforth_plugin_build::PluginBuild::new("fastforth-forth-plugin", &["v2"])
        .build()
        .unwrap();
    let input = format!(
        ": twice 2 * ;\nvariable v 11 v !\n: thrice 1 IF\n#engine {}\n3 THEN * ;\n#engine\n\
         21 twice . v @ . 5 thrice .\n#engine /nonexistent.so\n1 twice .\n",
        v2.display()
    );
    let output = fastforth(&["repl", "--engine", &v1], &input);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("engine 1.0.0 -> 1.1.0; definitions, stacks and data kept"),
        "{stdout}"
    );
    assert!(stdout.contains("engine plugin 1.1.0"), "{stdout}");
    // The definition open at the swap was carried across and finished there.
    assert!(stdout.contains("42 11 15  ok"), "{stdout}");
    assert!(text(&output.stderr).contains("swap refused, engine plugin 1.1.0 keeps serving"));
    assert!(stdout.contains("2  ok"), "{stdout}");
}

/// A history file that is a FIFO, a device, blocks on reading, is too large or a link to
/// nothing is not read (which would block or never end) nor written: a warning names it,
/// and the session runs without history.
#[cfg(unix)]
#[test]
fn an_unusable_history_file_is_skipped_with_a_warning() {
    let fifo = tempfile::tempdir().unwrap();
    let made = Command::new("mkfifo")
        .arg(fifo.path().join(".fastforth_history"))
        .status()
        .unwrap();
    assert!(made.success());
    let device = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", device.path().join(".fastforth_history")).unwrap();
    let large = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(large.path().join(".fastforth_history")).unwrap();
    file.set_len(64 << 20).unwrap();
    let dangling = tempfile::tempdir().unwrap();
    let nowhere = dangling.path().join("gone/history");
    std::os::unix::fs::symlink(&nowhere, dangling.path().join(".fastforth_history")).unwrap();
    // A file that says it is regular and blocks on reading (where it can be opened).
    let blocking = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/proc/kmsg", blocking.path().join(".fastforth_history")).unwrap();
    for (home, why) in [
        (&fifo, "not a regular file"),
        (&device, "not a regular file"),
        (&large, "more than 4194304 bytes"),
        (&dangling, "a symbolic link to nothing"),
        (&blocking, ""),
    ] {
        let output = fastforth_at(home.path(), &["repl"], b"2 3 + . cr\n");
        assert!(output.status.success(), "{why}: {output:?}");
        assert!(text(&output.stdout).contains("5 \n ok"), "{output:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(".fastforth_history: "), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert!(stderr.contains("no history is kept"), "{stderr}");
    }
    let kept = std::fs::metadata(large.path().join(".fastforth_history")).unwrap();
    assert_eq!(kept.len(), 64 << 20, "the large history is left as it was");
    assert!(
        !nowhere.exists(),
        "nothing is written through a dangling link"
    );
}

#[test]
fn ctrl_c_interrupts_the_running_word_and_the_repl_keeps_its_session_and_history() {
    use std::io::{BufRead, BufReader, Read};
    let home = tempfile::tempdir().unwrap();
    let mut child = spawn(home.path(), &["repl"]);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, ": sq dup * ;\n: x .\" go\" cr begin again ; x").unwrap();
    stdin.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("go\n") {
        let read = stdout.read_line(&mut seen).unwrap();
        assert!(read > 0, "the REPL ended before x ran: {seen}");
    }
    // x loops now; the history already has its line.
    let history = std::fs::read_to_string(home.path().join(".fastforth_history")).unwrap();
    assert!(
        history.contains(": x .\" go\" cr begin again ; x"),
        "{history}"
    );
    let pid = child.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success());
    writeln!(stdin, "7 sq .").unwrap();
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?} {seen}{rest} {stderr}");
    assert!(stderr.contains("-28 user interrupt in x"), "{stderr}");
    assert!(rest.contains("49  ok"), "definitions kept: {rest}");
    let history = std::fs::read_to_string(home.path().join(".fastforth_history")).unwrap();
    assert!(history.contains("7 sq ."), "{history}");
}

#[test]
fn run_refuses_an_endless_source_file_at_the_size_limit() {
    let limit = fastforth_engine::Limits::default().max_source_bytes;
    let built_in = fastforth(&["run", "/dev/zero"], "");
    assert_eq!(built_in.status.code(), Some(1), "{built_in:?}");
    let stderr = text(&built_in.stderr);
    let refusal = format!("/dev/zero is larger than the source size limit of {limit} bytes");
    assert!(stderr.contains(&format!("-37 {refusal}")), "{stderr}");
    let plugin = fastforth(&["run", "--engine", &engine_plugin(), "/dev/zero"], "");
    assert!(!plugin.status.success(), "{plugin:?}");
    let stderr = text(&plugin.stderr);
    assert!(stderr.contains(&refusal), "{stderr}");
}

/// Under a step budget a FIFO as the program file is refused, not waited on: on the
/// built-in engine, on an engine plugin (the CLI reads the file for it) and by `compile`.
#[cfg(unix)]
#[test]
fn under_a_step_budget_a_fifo_program_file_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("program.fs");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let fifo = fifo.to_str().unwrap();
    let plugin = engine_plugin();
    for args in [
        vec!["run", "--max-steps", "100", fifo],
        vec!["run", "--max-steps", "100", "--engine", &plugin, fifo],
        vec!["compile", "--max-steps", "100", fifo],
    ] {
        let output = fastforth(&args, "");
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(fifo), "{args:?}: {stderr}");
        assert!(
            stderr.contains(
                "is neither a file nor a directory, which could block past the step budget"
            ),
            "{args:?}: {stderr}"
        );
    }
}

/// In an address space too small for the large stack native words run on, the host runs on
/// its own thread: Forth still runs, and nothing panics.
#[cfg(target_os = "linux")]
#[test]
fn a_small_address_space_still_runs_forth() {
    let run = Command::new("sh")
        .args(["-c", "ulimit -v 65536 && exec \"$0\" run -e '1 2 + . bye'"])
        .arg(env!("CARGO_BIN_EXE_fastforth"))
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(
        (text(&run.stdout), text(&run.stderr), run.status.code()),
        ("3 ".to_owned(), String::new(), Some(0))
    );
}
