//! Shared by the xtask integration tests: runs the `xtask` binary, builds the example
//! plugin for a triple once per test process, and makes scratch directories.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives below the root")
        .to_path_buf()
}

/// What a run of `cargo xtask ...` printed, and its exit code.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the xtask binary with `args`, from the workspace root.
pub fn xtask(args: &[&str]) -> Run {
    xtask_with(args, &[])
}

/// Runs the xtask binary with `args` and extra environment variables.
pub fn xtask_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .current_dir(root())
        .env_remove("RUST_BACKTRACE");
    for (key, value) in env {
        command.env(key, value);
    }
    Run::from(command.output().expect("run xtask"))
}

/// Whether rustup (or the toolchain) has the standard library for `triple`.
pub fn std_installed(triple: &str) -> bool {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("run rustc");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    sysroot
        .join("lib/rustlib")
        .join(triple)
        .join("lib")
        .is_dir()
}

/// Whether `program` is on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// build-all writes shared files (the index, the Wine prefix): one run at a time.
static BUILD_ALL: Mutex<()> = Mutex::new(());

/// Runs `cargo xtask build-all` with `args`, one run at a time within this process.
pub fn build_all(args: &[&str]) -> Run {
    build_all_with(args, &[])
}

/// Runs `cargo xtask build-all` with `args` and extra environment variables, one run at a
/// time within this process.
pub fn build_all_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let _one_at_a_time = BUILD_ALL.lock().unwrap_or_else(|e| e.into_inner());
    let mut full = vec!["build-all", "--plugin", "example"];
    full.extend_from_slice(args);
    xtask_with(&full, env)
}

/// The example plugin built by build-all for `triple` (built once per process), or `None`
/// with a printed reason when the triple cannot be built here.
pub fn example_artifact(triple: &'static str) -> Option<PathBuf> {
    static BUILT: OnceLock<Mutex<Vec<(&'static str, bool)>>> = OnceLock::new();
    if !std_installed(triple) {
        eprintln!("skipped: Rust std for {triple} is not installed (rustup target add {triple})");
        return None;
    }
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|(t, _)| *t == triple) {
        let run = build_all(&["--target", triple]);
        let ok = run.code == 0 && run.stdout.contains(&format!("{triple:<32} built 1"));
        if !ok {
            eprintln!(
                "skipped: build-all could not build {triple}:\n{}",
                run.all()
            );
        }
        built.push((triple, ok));
    }
    let ok = built.iter().any(|(t, ok)| *t == triple && *ok);
    let file = if triple.contains("windows") {
        "fastforth_example_plugin.dll"
    } else if triple.contains("apple") {
        "libfastforth_example_plugin.dylib"
    } else {
        "libfastforth_example_plugin.so"
    };
    ok.then(|| root().join("target/plugins").join(triple).join(file))
}

/// A fresh, empty directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root()
        .join("target/xtask-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Copies `artifact` to `<dir>/<folder>/<file name>` and returns the new path.
pub fn place(artifact: &Path, dir: &Path, folder: &str) -> PathBuf {
    let folder = dir.join(folder);
    std::fs::create_dir_all(&folder).expect("create folder");
    let copy = folder.join(artifact.file_name().expect("file name"));
    std::fs::copy(artifact, &copy).expect("copy artifact");
    copy
}
