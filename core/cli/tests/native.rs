//! `fastforth compile` and `fastforth run --native`: the benchmark workloads and a program
//! covering the control structures print the same compiled as interpreted, errors end with
//! the same throw codes, words the backend cannot compile are named, and compiling an
//! unchanged program again does not run cargo.

mod common;
use common::backend_stage;

use fastforth_session::{CollectingConsole, NativePlugin};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// The native cache of the tests: the workspace's, not the user's.
fn native_cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/native-cache")
}

fn fastforth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args(args)
        .env("FASTFORTH_NATIVE_CACHE", native_cache())
        .output()
        .expect("fastforth runs")
}

/// `fastforth repl ARGS` with `input` on its standard input.
fn repl(args: &[&str], input: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .arg("repl")
        .args(args)
        .env("FASTFORTH_NATIVE_CACHE", native_cache())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input.as_bytes())?;
            child.wait_with_output()
        })
        .expect("the repl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn workload(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../benches/forth/{name}.fs"))
}

fn control() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/native/control.fs")
}

fn mixed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/native/mixed/{name}"))
}

/// Compiles each program once per test process; returns the plugin and the compiler's
/// standard output and error.
fn compiled(program: &Path) -> (PathBuf, String, String) {
    type Built = Vec<(PathBuf, (PathBuf, String, String))>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, found)) = built.iter().find(|(p, _)| p == program) {
        return found.clone();
    }
    let stem = program.file_stem().unwrap().to_string_lossy();
    let folder = program
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy();
    let plugin = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "native-{folder}-{stem}.{}",
        std::env::consts::DLL_EXTENSION
    ));
    let output = fastforth(&[
        "--stage",
        backend_stage(),
        "compile",
        program.to_str().unwrap(),
        "-o",
        plugin.to_str().unwrap(),
    ]);
    let result = (plugin, text(&output.stdout), text(&output.stderr));
    assert!(
        output.status.success(),
        "compile {}: {}",
        program.display(),
        result.2
    );
    built.push((program.to_owned(), result.clone()));
    result
}

/// (stdout, stderr, success) of `word` interpreted and of `word` in the native plugin.
fn both(program: &Path, word: &str) -> ((String, String, bool), (String, String, bool)) {
    let interpreted = fastforth(&["run", program.to_str().unwrap(), "-e", word]);
    let (plugin, _, _) = compiled(program);
    let native = fastforth(&["run", "--native", plugin.to_str().unwrap(), "-e", word]);
    let summary = |o: &Output| (text(&o.stdout), text(&o.stderr), o.status.success());
    (summary(&interpreted), summary(&native))
}

#[test]
fn the_workloads_print_the_same_compiled_as_interpreted() {
    for name in ["fib", "sieve", "bubble", "matrix"] {
        let (interpreted, native) = both(&workload(name), "main");
        assert!(
            interpreted.2 && native.2,
            "{name}: {interpreted:?} {native:?}"
        );
        assert!(!native.0.is_empty(), "{name} prints its result");
        assert_eq!(native.0, interpreted.0, "{name}");
    }
}

#[test]
fn fib_is_a_static_recursive_function_and_matrix_names_what_is_left_out() {
    let (_, stdout, _) = compiled(&workload("fib"));
    assert!(stdout.contains("fib: static ( 1 -- 1 )"), "{stdout}");
    let (_, _, stderr) = compiled(&workload("matrix"));
    assert!(stderr.contains("not compiled: matrix: "), "{stderr}");
}

#[test]
fn control_structures_and_memory_words_print_the_same() {
    let (interpreted, native) = both(&control(), "main");
    assert!(interpreted.2, "{interpreted:?}");
    assert_eq!(native, interpreted);
    let (_, stdout, _) = compiled(&control());
    assert!(stdout.contains("third: explicit stack"), "{stdout}");
    assert!(stdout.contains("fact: static ( 1 -- 1 )"), "{stdout}");
    assert!(stdout.contains("apply: explicit stack"), "{stdout}");
    assert!(stdout.contains("safe-div: static ( 2 -- 0 )"), "{stdout}");
    assert!(stdout.contains("stride: static ( 3 -- 0 )"), "{stdout}");
    assert!(
        stdout.contains("stride-dynamic: explicit stack"),
        "{stdout}"
    );
}

#[test]
fn errors_end_with_the_same_throw_codes() {
    let cases = [
        ("div0", "-10 division by zero"),
        ("bad-address", "-9 invalid memory address"),
        ("far-stride", "-9 invalid memory address"),
        ("bad-token", "-257 invalid execution token"),
        ("reserved-token", "-257 invalid execution token"),
        ("deep", "-5 return stack overflow"),
        ("aborts", "-2 stop here"),
        ("underflow", "-4 stack underflow"),
        (
            "long-picture",
            "-17 pictured numeric output string overflow",
        ),
    ];
    for (word, error) in cases {
        let (interpreted, native) = both(&control(), word);
        assert!(!interpreted.2 && !native.2, "{word} fails");
        assert_eq!(native.0, interpreted.0, "{word} prints the same first");
        assert!(interpreted.1.contains(error), "{word}: {}", interpreted.1);
        assert!(native.1.contains(error), "{word}: {}", native.1);
        let in_word = format!("{error} in {word}");
        assert!(native.1.contains(&in_word), "{word}: {}", native.1);
    }
}

/// A self-recursive word runs several levels per call with one depth check; the deepest
/// recursion must still end exactly where the interpreter's does.
#[test]
fn recursion_ends_at_the_same_depth_compiled_as_interpreted() {
    let (interpreted, native) = both(&control(), "deepest");
    assert!(interpreted.2, "{interpreted:?}");
    assert_eq!(native, interpreted);
    let depth: usize = interpreted.0.trim().parse().expect("a depth");
    assert!(depth > 1000, "{depth}");
}

/// `fastforth compile --exe WORD PROGRAM -o EXECUTABLE`.
fn compile_executable(program: &Path, word: &str, executable: &Path) -> Output {
    fastforth(&[
        "--stage",
        backend_stage(),
        "compile",
        "--exe",
        word,
        program.to_str().unwrap(),
        "-o",
        executable.to_str().unwrap(),
    ])
}

/// `compile --exe WORD` builds an executable that prints and fails as `run --native -e
/// WORD` does, run with an empty environment from a directory that holds nothing else: it
/// needs neither fastforth nor the Rust runtime.
#[test]
fn an_executable_runs_its_word_as_run_native_does_with_nothing_beside_it() {
    for (program, word) in [
        (workload("fib"), "main"),
        (control(), "main"),
        (control(), "div0"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let executable = dir
            .path()
            .join(format!("{word}{}", std::env::consts::EXE_SUFFIX));
        let built = compile_executable(&program, word, &executable);
        assert!(built.status.success(), "{}", text(&built.stderr));
        assert!(
            text(&built.stdout).contains(&format!("wrote {}", executable.display())),
            "{}",
            text(&built.stdout)
        );
        let beside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(beside.len(), 1, "the executable alone: {beside:?}");
        let run = Command::new(&executable)
            .env_clear()
            .current_dir(dir.path())
            .output()
            .expect("the executable starts");
        let (plugin, _, _) = compiled(&program);
        let native = fastforth(&["run", "--native", plugin.to_str().unwrap(), "-e", word]);
        let summary = |o: &Output| (text(&o.stdout), text(&o.stderr), o.status.code());
        assert_eq!(summary(&run), summary(&native), "{word}");
    }
}

/// Output that cannot be written (a full disk) and a run thread that cannot start (an
/// address space too small for its stack) end an executable as they end `run --native`:
/// a clear error and exit code 1, never a silent success or a panic.
#[cfg(target_os = "linux")]
#[test]
fn an_executable_fails_as_run_native_does_when_its_output_or_stack_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let executable = dir.path().join("main");
    let built = compile_executable(&control(), "main", &executable);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let (plugin, _, _) = compiled(&control());
    let native = [
        env!("CARGO_BIN_EXE_fastforth"),
        "run",
        "--native",
        plugin.to_str().unwrap(),
    ];
    let exe = [executable.to_str().unwrap()];
    let limited = |command: &[&str], prelude: &str| {
        Command::new("sh")
            .args(["-c", &format!("{prelude} exec \"$@\""), "sh"])
            .args(command)
            .env("FASTFORTH_NATIVE_CACHE", native_cache())
            .output()
            .expect("sh runs")
    };
    let summary = |o: &Output| (text(&o.stderr), o.status.code());
    let full = "exec >/dev/full;";
    let lost = summary(&limited(&exe, full));
    assert_eq!(
        lost,
        (
            "-37 file I/O exception: cannot write the output: No space left on device (os error 28)\n".to_owned(),
            Some(1)
        )
    );
    assert_eq!(summary(&limited(&native, full)), lost);
    let small = "ulimit -v 65536 &&";
    let unstarted = summary(&limited(&exe, small));
    assert!(
        unstarted
            .0
            .starts_with("-21 cannot start the thread of the run: "),
        "{unstarted:?}"
    );
    assert_eq!(unstarted.1, Some(1));
    assert_eq!(summary(&limited(&native, small)), unstarted);
}

/// The word an executable runs must be compiled: one the backend leaves out, or one the
/// program does not define, is refused before anything is built or written.
#[test]
fn an_executable_of_a_word_that_is_not_compiled_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let executable = dir.path().join("x");
    for (word, why) in [
        (
            "matrix",
            "the executable runs matrix, which cannot be compiled natively: ",
        ),
        (
            "nope",
            "the executable runs nope, which the program does not define",
        ),
    ] {
        let built = compile_executable(&workload("matrix"), word, &executable);
        assert_eq!(built.status.code(), Some(1));
        assert!(text(&built.stderr).contains(why), "{}", text(&built.stderr));
        assert!(!executable.exists());
    }
}

#[test]
fn an_unknown_word_is_undefined() {
    let (plugin, _, _) = compiled(&workload("fib"));
    let run = fastforth(&["run", "--native", plugin.to_str().unwrap(), "-e", "nope"]);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("-13 undefined word"),
        "{}",
        text(&run.stderr)
    );
    // The name is shown escaped and cut short.
    let name = format!("no\x1bpe{}", "x".repeat(100));
    let run = fastforth(&["run", "--native", plugin.to_str().unwrap(), "-e", &name]);
    let shown = format!("no\\u{{1b}}pe{}... is not a compiled word", "x".repeat(59));
    assert!(text(&run.stderr).contains(&shown), "{}", text(&run.stderr));
}

#[test]
fn a_debug_build_is_cached_apart_and_prints_the_same() {
    let (release, _, _) = compiled(&control());
    let plugin = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "native-control-debug.{}",
        std::env::consts::DLL_EXTENSION
    ));
    let (control, plugin) = (control(), plugin.to_str().unwrap().to_owned());
    let debug = fastforth(&[
        "--stage",
        backend_stage(),
        "compile",
        control.to_str().unwrap(),
        "-o",
        &plugin,
        "--debug",
    ]);
    assert!(debug.status.success(), "{}", text(&debug.stderr));
    let bytes = |path: &Path| std::fs::read(path).unwrap();
    assert_ne!(
        bytes(Path::new(&plugin)),
        bytes(&release),
        "a build of its own"
    );
    let interpreted = fastforth(&["run", control.to_str().unwrap(), "-e", "main"]);
    let native = fastforth(&["run", "--native", &plugin]);
    assert_eq!(text(&native.stdout), text(&interpreted.stdout));
    let both = fastforth(&[
        "--stage",
        backend_stage(),
        "compile",
        control.to_str().unwrap(),
        "--debug",
        "--release",
    ]);
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn compiling_without_a_rust_toolchain_says_so() {
    let program = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-toolchain/prog.fs");
    std::fs::create_dir_all(program.parent().unwrap()).unwrap();
    std::fs::write(&program, ": main 1 . ;\n").unwrap();
    let cache = program.parent().unwrap().join("cache");
    let run = Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args([
            "--stage",
            backend_stage(),
            "compile",
            program.to_str().unwrap(),
        ])
        .env("CARGO", "/nonexistent/cargo")
        .env("FASTFORTH_NATIVE_CACHE", &cache)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("cannot run `/nonexistent/cargo` to build the native code")
            && stderr.contains("is a Rust toolchain installed?"),
        "{stderr}"
    );
}

#[test]
fn compiling_an_unchanged_program_again_is_a_cache_hit() {
    compiled(&workload("fib"));
    let plugin = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "native-fib-again.{}",
        std::env::consts::DLL_EXTENSION
    ));
    let again = fastforth(&[
        "--stage",
        backend_stage(),
        "compile",
        workload("fib").to_str().unwrap(),
        "-o",
        plugin.to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("(cached)"),
        "{}",
        text(&again.stdout)
    );
    assert!(plugin.is_file());
}

/// `fastforth compile` into a cache outside the workspace: the generated crates name no
/// file of the checkout (the runtime's sources are written into the cache) and the plugin
/// built there runs.
#[test]
fn compiling_into_a_cache_outside_the_checkout_needs_no_checkout_file() {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("outside-checkout");
    let cache = scratch.join("cache");
    let plugin = scratch.join(format!("square.{}", std::env::consts::DLL_EXTENSION));
    std::fs::create_dir_all(&scratch).unwrap();
    let program = scratch.join("square.fs");
    std::fs::write(&program, ": main 7 dup * . ;\n").unwrap();
    let compile = Command::new(env!("CARGO_BIN_EXE_fastforth"))
        .args([
            "--stage",
            backend_stage(),
            "compile",
            program.to_str().unwrap(),
            "-o",
            plugin.to_str().unwrap(),
        ])
        .current_dir(&scratch)
        .env("FASTFORTH_NATIVE_CACHE", &cache)
        .output()
        .unwrap();
    assert!(compile.status.success(), "{}", text(&compile.stderr));
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let checkout = checkout.canonicalize().unwrap();
    for entry in std::fs::read_dir(&cache).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            assert!(
                !text.contains(&*checkout.to_string_lossy()),
                "{} names the checkout:\n{text}",
                manifest.display()
            );
        }
    }
    let run = fastforth(&["run", "--native", plugin.to_str().unwrap()]);
    assert_eq!(text(&run.stdout), "49 ", "{}", text(&run.stderr));
}

#[test]
fn plugin_info_shows_the_kind_and_the_compiled_words() {
    let (plugin, _, _) = compiled(&workload("fib"));
    let info = fastforth(&["plugin", "info", plugin.to_str().unwrap()]);
    let stdout = text(&info.stdout);
    assert!(info.status.success(), "{}", text(&info.stderr));
    assert!(stdout.contains("kind:      forth-native"), "{stdout}");
    assert!(stdout.contains("words:     fib main"), "{stdout}");
}

/// Calls the newest compiled word `name` on `input` in place in `session`: the throw code
/// (0 when none) and the stack the word left.
fn call_by_name(
    session: &mut fastforth_session::NativeSession,
    name: &str,
    input: &[i64],
    console: &mut CollectingConsole,
) -> (i64, Vec<i64>) {
    let build = session.build().clone();
    let words = build.words().unwrap();
    let number = words
        .iter()
        .rposition(|word| word.eq_ignore_ascii_case(name));
    let mut cells = vec![0; build.data_stack_cells().unwrap()];
    cells[..input.len()].copy_from_slice(input);
    let mut depth = input.len();
    let result = session.call(number.unwrap() as u32, &mut cells, &mut depth, console);
    (
        result.err().map_or(0, |error| error.code),
        cells[..depth].to_vec(),
    )
}

#[test]
fn the_host_runs_words_and_reads_the_stack_they_leave() {
    use fastforth_host::Loader;
    use fastforth_session::{Evaluation, ForthNative};
    let (plugin, _, _) = compiled(&control());
    let shadows = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-shadows");
    let plugin = Loader::new(shadows)
        .load::<ForthNative>(&plugin)
        .expect("the native plugin validates");
    assert!(plugin.words().unwrap().contains(&"fact".to_owned()));
    let mut console = CollectingConsole::default();
    let early = plugin.run_word("EARLY", &mut console).unwrap();
    assert_eq!(
        (early.evaluation, early.stack),
        (Evaluation::Continue, vec![4])
    );
    let failed = plugin.run_word("div0", &mut console).unwrap();
    assert!(matches!(
        failed.evaluation,
        Evaluation::Error { code: -10, .. }
    ));
    assert_eq!(console.0, b"before ");
}

#[test]
fn calls_take_the_stack_and_keep_the_data_space_on_any_thread() {
    use fastforth_host::Loader;
    use fastforth_session::{ForthNative, NativeSession, on_native_stack};
    let (plugin, _, _) = compiled(&control());
    let shadows = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-shadows");
    let plugin = Loader::new(shadows).load::<ForthNative>(&plugin).unwrap();
    let mut session = NativeSession::new(plugin.clone());
    let mut console = CollectingConsole::default();
    // On this test thread the plugin runs each call on a thread of its own.
    let fact = call_by_name(&mut session, "fact", &[9, 5], &mut console);
    assert_eq!(fact, (0, vec![9, 120]));
    let first = call_by_name(&mut session, "counting", &[], &mut console);
    assert_eq!(first.0, 0);
    // On a large stack it runs in place, in the same session: the counter goes on.
    let (second, deep) = on_native_stack(|| {
        let second = call_by_name(&mut session, "counting", &[], &mut console);
        let deep = call_by_name(&mut session, "deep", &[], &mut console);
        (second, deep)
    });
    assert_eq!(second.0, 0);
    assert_eq!(deep.0, -5);
    assert_eq!(console.0, b"5 10 ");
    // Another session of the same build starts from the compiled state.
    let mut other = NativeSession::new(plugin.clone());
    call_by_name(&mut other, "counting", &[], &mut console);
    assert_eq!(console.0, b"5 10 5 ");
    // A run starts from the compiled state, whatever the calls did.
    let mut fresh = CollectingConsole::default();
    plugin.run_word("counting", &mut fresh).unwrap();
    assert_eq!(fresh.0, b"5 ");
}

#[test]
fn linked_workloads_print_the_same_as_interpreted() {
    for name in ["fib", "sieve", "bubble"] {
        let (plugin, _, _) = compiled(&workload(name));
        let interpreted = fastforth(&["run", workload(name).to_str().unwrap(), "-e", "main"]);
        let linked = fastforth(&["run", "--link", plugin.to_str().unwrap(), "-e", "main"]);
        assert!(linked.status.success(), "{name}: {}", text(&linked.stderr));
        assert_eq!(text(&linked.stdout), text(&interpreted.stdout), "{name}");
    }
}

#[test]
fn interpreted_code_calls_linked_words_as_its_own() {
    let (plugin, _, _) = compiled(&mixed("v1/calc.fs"));
    let session = mixed("session.fs");
    let interpreted = fastforth(&[
        "run",
        mixed("v1/calc.fs").to_str().unwrap(),
        session.to_str().unwrap(),
    ]);
    let linked = fastforth(&[
        "run",
        "--link",
        plugin.to_str().unwrap(),
        session.to_str().unwrap(),
    ]);
    assert!(linked.status.success(), "{}", text(&linked.stderr));
    assert_eq!(
        text(&linked.stdout),
        "0 3 6 9 12 \n1 1 2 3 5 8 13 21 34 55 \n5050 1 2 3 \n21 \n-10 1 \n"
    );
    assert_eq!(text(&linked.stdout), text(&interpreted.stdout));
}

#[test]
fn run_with_files_and_native_replaces_compiled_words_and_interprets_the_rest() {
    // v1's source, then v2's compiled words: triple is v2's, hit and make-counter stay v1's.
    let (v2, _, _) = compiled(&mixed("v2/calc.fs"));
    let (_, _, stderr) = compiled(&mixed("v1/calc.fs"));
    assert!(stderr.contains("not compiled: make-counter: "), "{stderr}");
    let source = mixed("v1/calc.fs");
    let call = "5 triple . hit . 4 square . make-counter ticks ticks drop ticks .";
    let run = fastforth(&[
        "run",
        source.to_str().unwrap(),
        "--native",
        v2.to_str().unwrap(),
        "-e",
        call,
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(text(&run.stdout), "16 1 16 2 ");
    let (plugin, _, stderr) = compiled(&workload("matrix"));
    assert!(stderr.contains("not compiled: matrix: "), "{stderr}");
    let matrix = workload("matrix");
    let interpreted = fastforth(&["run", matrix.to_str().unwrap(), "-e", "main"]);
    let mixed_run = fastforth(&[
        "run",
        matrix.to_str().unwrap(),
        "--native",
        plugin.to_str().unwrap(),
    ]);
    assert!(mixed_run.status.success(), "{}", text(&mixed_run.stderr));
    assert_eq!(text(&mixed_run.stdout), text(&interpreted.stdout));
}

#[test]
fn run_with_files_and_a_bad_native_plugin_runs_no_file() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-native");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("loud.fs");
    std::fs::write(&source, ".( loaded) : main 1 . ;\n").unwrap();
    let source = source.to_str().unwrap();
    let run = fastforth(&["run", source, "--native", source]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert_eq!(
        text(&run.stdout),
        "",
        "the file ran before the plugin was checked"
    );
    assert_eq!(
        text(&run.stderr),
        format!(
            "Error: {source}: not a shared library: expected ELF, PE or Mach-O, found a text file\n"
        )
    );
}

#[test]
fn linking_is_refused_with_a_step_budget() {
    let (plugin, _, _) = compiled(&mixed("v1/calc.fs"));
    let run = fastforth(&[
        "run",
        "--link",
        plugin.to_str().unwrap(),
        "--max-steps",
        "100",
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn an_engine_plugin_calls_linked_words_and_keeps_them_across_an_engine_swap() {
    let (plugin, _, _) = compiled(&mixed("v1/calc.fs"));
    let engine = |features: &[&str]| {
        fastforth_plugin_build::PluginBuild::new("fastforth-forth-plugin", features)
            .build()
            .unwrap()
    };
    let (v1, v2) = (engine(&[]), engine(&["v2"]));
    let session = mixed("session.fs");
    let interpreted = fastforth(&[
        "run",
        mixed("v1/calc.fs").to_str().unwrap(),
        session.to_str().unwrap(),
    ]);
    let on_plugin = fastforth(&[
        "run",
        "--engine",
        v1.to_str().unwrap(),
        "--link",
        plugin.to_str().unwrap(),
        session.to_str().unwrap(),
    ]);
    assert!(on_plugin.status.success(), "{}", text(&on_plugin.stderr));
    assert_eq!(text(&on_plugin.stdout), text(&interpreted.stdout));
    let input = format!(
        "5 triple . hit .\n#engine {}\n6 triple . hit .\n",
        v2.display()
    );
    let (v1, plugin) = (v1.to_str().unwrap(), plugin.to_str().unwrap());
    let repl = repl(&["--engine", v1, "--link", plugin], &input);
    let stdout = text(&repl.stdout);
    assert!(stdout.contains("15 1  ok"), "{stdout}");
    assert!(stdout.contains("engine 1.0.0 -> 1.1.0"), "{stdout}");
    assert!(stdout.contains("18 2  ok"), "{stdout}");
}

#[test]
fn a_linked_word_error_names_the_code_the_plugin_and_the_position() {
    let (plugin, _, _) = compiled(&mixed("v1/calc.fs"));
    let run = fastforth(&[
        "run",
        "--link",
        plugin.to_str().unwrap(),
        "-e",
        "1 triple .\n  7 div0",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(text(&run.stdout), "3 ");
    assert_eq!(
        text(&run.stderr).trim_end(),
        "-e:2:5: -10 division by zero (native code of calc) in div0"
    );
}

#[test]
fn a_linked_word_runs_on_a_full_stack_as_the_interpreted_word_does() {
    let (plugin, _, _) = compiled(&mixed("v1/calc.fs"));
    let plugin = plugin.to_str().unwrap();
    let full = [
        "--stack-cells",
        "1",
        "run",
        "--link",
        plugin,
        "-e",
        "5 triple .",
    ];
    let run = fastforth(&full);
    assert_eq!(text(&run.stderr), "");
    assert_eq!(text(&run.stdout), "15 ");
    assert_eq!(run.status.code(), Some(0));
}

#[test]
fn the_repl_swaps_in_a_new_build_and_keeps_the_old_one_after_a_refused_link() {
    let (v1, _, _) = compiled(&mixed("v1/calc.fs"));
    let (v2, _, _) = compiled(&mixed("v2/calc.fs"));
    let not_a_plugin = mixed("session.fs");
    let input = format!(
        "5 triple . hit . hit .\n#link {}\n5 triple . 4 square .\n#link {}\n#link\n2 triple .\nhit\n#link {}\nhit .\n",
        v2.display(),
        not_a_plugin.display(),
        v1.display()
    );
    let output = repl(&["--link", v1.to_str().unwrap()], &input);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(lines[0], "15 1 2  ok", "{stdout}");
    assert!(
        lines[1].starts_with("calc 0.1.0+") && lines[1].ends_with("; new words: square"),
        "{stdout}"
    );
    assert_eq!(lines[2], "16 16  ok", "{stdout}");
    let serving = lines[3];
    assert!(serving.starts_with("calc 0.1.0+"), "{stdout}");
    assert!(lines[1].ends_with(&format!("-> {}; new words: square", &serving[5..])));
    assert_eq!(lines[4], "7  ok", "{stdout}");
    assert_eq!(
        lines.last(),
        Some(&"1  ok"),
        "linking v1 again starts a new session of it: {stdout}"
    );
    assert!(
        stderr.contains("link refused, the linked words keep serving: "),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "-13 undefined word: hit is not a compiled word (native code of calc) in hit"
        ),
        "{stderr}"
    );
}

/// A xorshift generator: the generated program is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Words with their data stack need and change.
const RANDOM_OPS: [(&str, usize, isize); 30] = [
    ("+", 2, -1),
    ("-", 2, -1),
    ("*", 2, -1),
    ("/", 2, -1),
    ("mod", 2, -1),
    ("and", 2, -1),
    ("or", 2, -1),
    ("xor", 2, -1),
    ("min", 2, -1),
    ("max", 2, -1),
    ("=", 2, -1),
    ("<", 2, -1),
    ("u<", 2, -1),
    ("lshift", 2, -1),
    ("swap", 2, 0),
    ("over", 2, 1),
    ("rot", 3, 0),
    ("dup", 1, 1),
    ("drop", 1, -1),
    ("nip", 2, -1),
    ("tuck", 2, 1),
    ("2dup", 2, 2),
    ("negate", 1, 0),
    ("abs", 1, 0),
    ("1+", 1, 0),
    ("1-", 1, 0),
    ("2*", 1, 0),
    ("2/", 1, 0),
    ("0=", 1, 0),
    ("invert", 1, 0),
];

/// A word of random stack and arithmetic operations and `IF`/`ELSE`/`THEN` on three inputs,
/// printing what it leaves; its stack effect is static, so the backend keeps its cells in
/// locals.
fn random_word(rng: &mut Rng, name: &str) -> String {
    let mut body = vec![format!(": {name}")];
    let mut depth = 3usize;
    for _ in 0..3 + rng.below(12) {
        let unary: Vec<&str> = RANDOM_OPS
            .iter()
            .filter(|op| (op.1, op.2) == (1, 0))
            .map(|op| op.0)
            .collect();
        let choice = rng.below(RANDOM_OPS.len() + 8);
        if depth < 2 || depth < 6 && choice >= RANDOM_OPS.len() + 4 {
            body.push((rng.below(41) as i64 - 20).to_string());
            depth += 1;
        } else if choice >= RANDOM_OPS.len() {
            let (yes, no) = (unary[rng.below(unary.len())], unary[rng.below(unary.len())]);
            body.push(format!("if {yes} else {no} then"));
            depth -= 1;
        } else if RANDOM_OPS[choice].1 <= depth && depth < 8 {
            body.push(RANDOM_OPS[choice].0.to_owned());
            depth = depth.checked_add_signed(RANDOM_OPS[choice].2).unwrap();
        }
    }
    body.extend(std::iter::repeat_n(".".to_owned(), depth));
    body.push("cr ;".to_owned());
    body.join(" ")
}

#[test]
fn random_words_print_the_same_compiled_as_interpreted() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let names: Vec<String> = (0..120).map(|i| format!("r{i}")).collect();
    let source: Vec<String> = names.iter().map(|n| random_word(&mut rng, n)).collect();
    let program = Path::new(env!("CARGO_TARGET_TMPDIR")).join("random/random.fs");
    std::fs::create_dir_all(program.parent().unwrap()).unwrap();
    std::fs::write(&program, source.join("\n") + "\n").unwrap();
    let (plugin, stdout, stderr) = compiled(&program);
    assert!(!stderr.contains("not compiled"), "{stderr}");
    let static_words = stdout.matches(": static ( 3 -- 0 )").count();
    assert_eq!(static_words, names.len(), "{stdout}");
    let mut failures = 0;
    for (name, definition) in names.iter().zip(&source) {
        let call = format!("7 -3 12 {name}");
        let interpreted = fastforth(&["run", program.to_str().unwrap(), "-e", &call]);
        let linked = fastforth(&["run", "--link", plugin.to_str().unwrap(), "-e", &call]);
        assert_eq!(
            text(&linked.stdout),
            text(&interpreted.stdout),
            "{definition}"
        );
        assert_eq!(
            linked.status.code(),
            interpreted.status.code(),
            "{definition}"
        );
        if !interpreted.status.success() {
            failures += 1;
            let code = |o: &Output| {
                text(&o.stderr)
                    .split(": ")
                    .nth(1)
                    .map(|m| m[..3].to_owned())
            };
            assert_eq!(code(&linked), code(&interpreted), "{definition}");
        }
    }
    assert!(
        failures < names.len() / 4,
        "{failures} of the random words fail"
    );
}

/// A debug build of a program with many words gives its `execute` dispatcher a large frame;
/// recursion through EXECUTE and through a deferred word must end in -5, not in a crash on
/// the guard page (issue 19 S1).
#[test]
fn deep_recursion_through_execute_with_large_frames_is_minus_5() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deep-frames");
    std::fs::create_dir_all(&dir).unwrap();
    let mut source = String::new();
    for i in 0..300 {
        source.push_str(&format!(": w{i} ( a b -- c d ) swap {i} + ;\n"));
    }
    source.push_str(
        "variable 'down\n\
         : down ( n -- n ) dup if 1- 'down @ execute then ;\n\
         ' down 'down !\n\
         defer again\n\
         : twice ( n -- n ) dup if 1- again then ;\n\
         ' twice is again\n\
         : by-execute ( -- ) 100000 down drop ;\n\
         : by-defer ( -- ) 100000 twice drop ;\n",
    );
    let program = dir.join("frames.fs");
    std::fs::write(&program, source).unwrap();
    let plugin = dir.join(format!("frames.{}", std::env::consts::DLL_EXTENSION));
    let (program, plugin) = (program.to_str().unwrap(), plugin.to_str().unwrap());
    let compile = fastforth(&[
        "--stage",
        backend_stage(),
        "compile",
        program,
        "-o",
        plugin,
        "--debug",
    ]);
    assert!(compile.status.success(), "{}", text(&compile.stderr));
    for word in ["by-execute", "by-defer"] {
        let run = fastforth(&["run", "--native", plugin, "-e", word]);
        assert_eq!(run.status.code(), Some(1), "{word}: {run:?}");
        let error = text(&run.stderr);
        assert!(
            error.contains("-5 return stack overflow"),
            "{word}: {error}"
        );
    }
}

/// How many mappings of `path` this process has (Linux only; `None` elsewhere).
fn mapped_count(path: &Path) -> Option<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let needle = path.to_str()?;
    Some(maps.lines().filter(|line| line.ends_with(needle)).count())
}

/// A native plugin called from a host thread leaves nothing behind on it: once retired and
/// its sessions ended it is unmapped, and a session of the same file loaded again starts
/// from the compiled state (issue 19 S3).
#[test]
fn a_retired_native_plugin_is_unmapped_once_its_sessions_end() {
    use fastforth_host::Loader;
    use fastforth_session::{ForthNative, NativeSession};
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-reload");
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("reload.fs");
    std::fs::write(
        &program,
        "variable hits\n: hit ( -- n ) 1 hits +! hits @ ;\n: say ( -- ) 7 . hit drop ;\n",
    )
    .unwrap();
    let (plugin, _, _) = compiled(&program);
    let loader = Loader::new(dir.join("shadows"));
    let mut console = CollectingConsole::default();
    let hits = |session: &mut NativeSession, console: &mut CollectingConsole| {
        let (code, stack) = call_by_name(session, "hit", &[], console);
        assert_eq!(code, 0);
        stack
    };
    let first = loader.load::<ForthNative>(&plugin).unwrap();
    let shadow = first.info().shadow.clone();
    let mut session = NativeSession::new(first.clone());
    assert_eq!(hits(&mut session, &mut console), vec![1]);
    assert_eq!(hits(&mut session, &mut console), vec![2]);
    first.run_word("say", &mut console).unwrap();
    assert_eq!(console.0, b"7 ");
    drop((first, session));
    if let Some(mapped) = mapped_count(&shadow) {
        assert_eq!(mapped, 0, "the retired plugin is still mapped");
    }
    let again = loader.load::<ForthNative>(&plugin).unwrap();
    let mut session = NativeSession::new(again);
    assert_eq!(hits(&mut session, &mut console), vec![1], "a fresh session");
}

/// A `#link` in the middle of a definition links the build, but the session cannot define
/// its words then: they are named, and the next `#link` defines them.
#[test]
fn words_a_link_could_not_define_are_defined_by_the_next_link() {
    let (v1, _, _) = compiled(&mixed("v1/calc.fs"));
    let input = format!(
        ": foo 1\n#link {}\n;\n#link {}\n5 triple .\n",
        v1.display(),
        v1.display()
    );
    let output = repl(&[], &input);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        stderr.contains("triple is not defined (")
            && stderr.contains("compiler nesting")
            && stderr.contains("link it again to define it"),
        "{stderr}"
    );
    assert!(!stderr.contains("link refused"), "{stderr}");
    assert!(stdout.contains("new words: triple"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("15  ok"), "{stdout}");
}

/// A MARKER that forgets linked words: linking the program again defines them again, on
/// the built-in engine and on an engine plugin; a relink defines nothing the session has.
#[test]
fn linked_words_a_marker_forgot_are_defined_by_the_next_link() {
    let (v1, _, _) = compiled(&mixed("v1/calc.fs"));
    let engine = fastforth_plugin_build::PluginBuild::new("fastforth-forth-plugin", &[])
        .build()
        .unwrap();
    let input = format!(
        "marker gone\n#link {v1}\n5 triple .\ngone\n5 triple .\n#link {v1}\n5 triple .\n\
         : triple 2 ;\n#link {v1}\n5 triple . .\n",
        v1 = v1.display()
    );
    for engine_args in [vec![], vec!["--engine", engine.to_str().unwrap()]] {
        let output = repl(&engine_args, &input);
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert!(
            stderr.contains("-13 undefined word in triple"),
            "{engine_args:?}: {stderr}"
        );
        let results: Vec<&str> = stdout.lines().filter(|line| line.ends_with("ok")).collect();
        assert!(
            results.contains(&"15  ok") && results.last() == Some(&"2 5  ok"),
            "{engine_args:?}: {stdout}"
        );
        let relinks: Vec<&str> = stdout
            .lines()
            .filter_map(|line| line.split_once("new words:").map(|(_, words)| words))
            .collect();
        let compiled = " triple hit div0 fib sum-to";
        assert_eq!(relinks, [compiled, " none"], "{engine_args:?}: {stdout}");
    }
}

/// Two builds of one program on one command line: the second would silently replace the
/// first, so the command is refused.
#[test]
fn two_builds_of_one_program_on_the_command_line_are_refused() {
    let (v1, _, _) = compiled(&mixed("v1/calc.fs"));
    let (v2, _, _) = compiled(&mixed("v2/calc.fs"));
    let (v1, v2) = (v1.to_str().unwrap(), v2.to_str().unwrap());
    let run = fastforth(&["run", "--link", v1, "--link", v2, "-e", "5 triple ."]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert_eq!(text(&run.stdout), "");
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "{v2}: program `calc` is linked already, from {v1}: give one build of it"
        )),
        "{stderr}"
    );
}

/// An ABORT" in a linked word shows its text only when no CATCH of the session is running,
/// as an interpreted ABORT" does.
#[test]
fn a_linked_abort_quote_shows_its_text_only_when_nothing_catches_it() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linked-abort");
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("guarded.fs");
    std::fs::write(
        &program,
        ": ab ( f -- ) abort\" stop here\" ;\n: plain ( -- ) -2 throw ;\n",
    )
    .unwrap();
    let (plugin, _, _) = compiled(&program);
    let plugin = plugin.to_str().unwrap();
    let caught = fastforth(&[
        "run",
        "--link",
        plugin,
        "-e",
        ": t ['] ab catch . ; 0 t 1 t",
    ]);
    assert!(caught.status.success(), "{caught:?}");
    assert_eq!(text(&caught.stdout), "0 -2 ");
    let uncaught = fastforth(&["run", "--link", plugin, "-e", "1 ab"]);
    assert_eq!(uncaught.status.code(), Some(1), "{uncaught:?}");
    assert_eq!(text(&uncaught.stdout), "stop here");
    let stderr = text(&uncaught.stderr);
    assert!(stderr.contains("-e:1:3: -2 stop here in ab"), "{stderr}");
    // A -2 THROW without ABORT" has no text to show, as when interpreted.
    let plain = fastforth(&["run", "--link", plugin, "-e", "plain"]);
    assert_eq!(plain.status.code(), Some(1), "{plain:?}");
    assert_eq!(text(&plain.stdout), "");
    let stderr = text(&plain.stderr);
    assert!(stderr.contains("-e:1:1: -2 aborted"), "{stderr}");
}
