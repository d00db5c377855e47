//! gforth's classic benchmark programs (siev, bubble, matrix, fib), read from where the
//! gforth package installs them and loaded after `benches/forth/classic/gforth-compat.fs`
//! as the bench loads them: what `main` leaves and computes, interpreted and compiled with
//! `fastforth compile` then run with `run --native` or built into executables (`--exe`).
//! Where gforth is not installed the tests say so and pass without checking anything.

mod common;
use common::backend_stage;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Each program, the word `check` appended to it, and what `check` prints: the depth of
/// the stack `main` leaves and values it computed, as gforth-fast 0.7.3 prints them. `check`
/// is part of the program so that compiled, it runs on the plugin's own data space.
const PROGRAMS: [(&str, &str, &str); 4] = [
    (
        "siev",
        ": check main depth . benchmark . depth . ;",
        "0 1899 0 ",
    ),
    (
        "bubble",
        ": check main depth . . list @ . list 5999 cells + @ . ;",
        "1 1 65527 0 ",
    ),
    (
        "matrix",
        ": checksum 0 imr mat-byte-size mybounds do 31 * i @ + cell +loop ;\n\
         : check main depth . imr @ . imr 39999 cells + @ . checksum . ;",
        "0 1736 18660 134165718692475104 ",
    ),
    ("fib", ": check main depth . 20 fib . ;", "0 10946 "),
];

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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The newest `/usr/share/gforth/<version>/` holding gforth's benchmark programs (as
/// `benches/src/lib.rs` finds it for the bench), or `None` after saying how to get it.
fn gforth_programs() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/share/gforth")
        .into_iter()
        .flatten()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|dir| dir.join("siev.fs").is_file())
        .collect();
    dirs.sort();
    let found = dirs.pop();
    if found.is_none() {
        eprintln!(
            "skipped: gforth's benchmark programs are not installed \
             (apt-get install gforth, which puts them in /usr/share/gforth/<version>/)"
        );
    }
    found
}

/// `gforth-compat.fs`, the program and `check` in one file, since `fastforth compile` takes
/// one; `test` names the test writing it, so that tests running at once write apart.
fn with_compat(dir: &Path, program: &str, check: &str, test: &str) -> PathBuf {
    let compat =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/forth/classic/gforth-compat.fs");
    let source = std::fs::read_to_string(compat).unwrap()
        + &std::fs::read_to_string(dir.join(format!("{program}.fs"))).unwrap()
        + "\n"
        + check
        + "\n";
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("classic-{program}-{test}.fs"));
    std::fs::write(&file, source).unwrap();
    file
}

fn assert_prints(output: &Output, expected: &str, what: &str) {
    assert!(output.status.success(), "{what}: {}", text(&output.stderr));
    assert_eq!(text(&output.stdout), expected, "{what}");
}

#[test]
fn the_classic_programs_compute_what_gforth_computes_interpreted() {
    let Some(dir) = gforth_programs() else { return };
    for (program, check, expected) in PROGRAMS {
        let file = with_compat(&dir, program, check, "interpreted");
        let run = fastforth(&["run", file.to_str().unwrap(), "-e", "check"]);
        assert_prints(&run, expected, program);
    }
}

#[test]
fn the_classic_programs_compute_what_gforth_computes_compiled() {
    let Some(dir) = gforth_programs() else { return };
    for (program, check, expected) in PROGRAMS {
        let file = with_compat(&dir, program, check, "compiled");
        let plugin = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "native-classic-{program}.{}",
            std::env::consts::DLL_EXTENSION
        ));
        let (file, plugin) = (file.to_str().unwrap(), plugin.to_str().unwrap());
        let compile = fastforth(&["--stage", backend_stage(), "compile", file, "-o", plugin]);
        assert!(
            compile.status.success(),
            "{program}: {}",
            text(&compile.stderr)
        );
        assert!(
            !text(&compile.stderr).contains("not compiled"),
            "{program}: {}",
            text(&compile.stderr)
        );
        let alone = fastforth(&["run", "--native", plugin, "-e", "main"]);
        assert_prints(&alone, "", &format!("{program} main compiled"));
        let checked = fastforth(&["run", "--native", plugin, "-e", "check"]);
        assert_prints(&checked, expected, &format!("{program} compiled"));
    }
}

/// Built into executables (`compile --exe`), the programs compute the same, and `main`
/// alone prints nothing, as under `run --native`.
#[test]
fn the_classic_programs_compute_what_gforth_computes_as_executables() {
    let Some(dir) = gforth_programs() else { return };
    for (program, check, expected) in PROGRAMS {
        let file = with_compat(&dir, program, check, "executable");
        for (word, prints) in [("main", ""), ("check", expected)] {
            let executable = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                "classic-{program}-{word}{}",
                std::env::consts::EXE_SUFFIX
            ));
            let (file, out) = (file.to_str().unwrap(), executable.to_str().unwrap());
            let compile = fastforth(&[
                "--stage",
                backend_stage(),
                "compile",
                "--exe",
                word,
                file,
                "-o",
                out,
            ]);
            assert!(
                compile.status.success(),
                "{program}: {}",
                text(&compile.stderr)
            );
            let run = Command::new(&executable)
                .output()
                .expect("the executable runs");
            assert_prints(&run, prints, &format!("{program} {word} as an executable"));
        }
    }
}
