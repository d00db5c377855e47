//! Building a generated crate with cargo, through a cache: each crate lives in a directory
//! named by a hash of everything the plugin is built from (the generated files and the
//! sources of the runtime and the ABI), next to its built plugin; all crates share one
//! target directory and one copy of the runtime's and the ABI's sources (written from the
//! compiler's embedded copy), so those are compiled once. A crate whose build failed is
//! removed, so the cache holds only crates next to their built plugin. Plugins link the
//! toolchain's shared Rust runtime, copied next to each of them; executables link std in.

use crate::files::{copy_atomically, fnv1a, write_atomically};
use crate::{AotError, CompiledWord, GeneratedCrate, Output, Skipped, generate_program, load};
use fastforth_engine::program::Program;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where to build.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// The cache: one directory per generated crate, and `target/`.
    pub cache_dir: PathBuf,
    /// The cargo command.
    pub cargo: String,
    /// An optimised build (cargo's release profile); otherwise an unoptimised one, which
    /// builds faster and runs slower.
    pub release: bool,
    /// A plugin, or an executable.
    pub output: Output,
}

impl CompileOptions {
    /// Cargo's name of the profile, and its output directory.
    fn profile(&self) -> (&'static str, &'static str) {
        if self.release {
            ("release", "release")
        } else {
            ("dev", "debug")
        }
    }
}

/// A built native plugin or executable.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The plugin or executable in the cache.
    pub artifact: PathBuf,
    /// Whether it was already built (cargo did not run).
    pub cache_hit: bool,
    pub words: Vec<CompiledWord>,
    pub skipped: Vec<Skipped>,
    /// The shared Rust runtime a plugin links, next to it in the cache.
    pub runtime: Option<PathBuf>,
}

/// Loads `source` (see [`crate::load`]), then generates, builds (unless cached) and returns
/// its plugin.
pub fn compile(source: &str, name: &str, options: &CompileOptions) -> Result<Compiled, AotError> {
    compile_program(&load(source, name)?, options)
}

/// Generates, builds (unless cached) and returns the plugin or executable of a loaded
/// program.
pub fn compile_program(program: &Program, options: &CompileOptions) -> Result<Compiled, AotError> {
    let generated = generate_program(program)?;
    if let Output::Executable { entry } = &options.output {
        check_entry(program, &generated, entry)?;
    }
    let runtime = match options.output {
        Output::Plugin => Some(
            fastforth_toolchain::runtime_library(None)
                .map_err(|error| AotError::Runtime(error.to_string()))?,
        ),
        Output::Executable { .. } => None,
    };
    let key = format!("{:016x}", key(&generated, options, runtime.as_deref()));
    let package = format!("ffnative-{key}");
    let dir = options.cache_dir.join(&key);
    let artifact = dir.join(file_name(&package, &options.output));
    let cache_hit = artifact.is_file();
    if !cache_hit {
        crate::runtime_sources::write(&options.cache_dir)?;
        let built = write_crate(&generated, &dir, &package, &options.output)
            .and_then(|()| build(&dir, &package, &artifact, options));
        if let Err(error) = built {
            // Best effort: the error being reported matters more than a leftover directory.
            let _ = std::fs::remove_dir_all(&dir);
            return Err(error);
        }
    }
    let runtime = match runtime {
        Some(_) => Some(
            fastforth_toolchain::copy_runtime_into(None, &dir)
                .map_err(|error| AotError::Runtime(error.to_string()))?,
        ),
        None => None,
    };
    Ok(Compiled {
        artifact,
        runtime,
        cache_hit,
        words: generated.words,
        skipped: generated.skipped,
    })
}

/// An executable runs the newest definition of `entry`, which must have been compiled.
fn check_entry(program: &Program, generated: &GeneratedCrate, entry: &str) -> Result<(), AotError> {
    let named = |name: &str| name.eq_ignore_ascii_case(entry);
    let newest = program.words.iter().rev().find(|word| named(&word.name));
    match newest {
        Some(word)
            if generated
                .words
                .iter()
                .any(|compiled| compiled.xt == word.xt) =>
        {
            Ok(())
        }
        found => Err(AotError::EntryNotCompiled {
            entry: entry.to_owned(),
            why: found.and_then(|_| {
                let mut skipped = generated.skipped.iter().rev();
                skipped.find(|s| named(&s.word)).map(|s| s.reason.clone())
            }),
        }),
    }
}

/// Writes the crate's files into `dir`.
fn write_crate(
    generated: &GeneratedCrate,
    dir: &Path,
    package: &str,
    output: &Output,
) -> Result<(), AotError> {
    let cargo_toml = generated.cargo_toml(package, output);
    write_atomically(&dir.join("Cargo.toml"), cargo_toml.as_bytes())?;
    let (file, text) = generated.source_file(output);
    write_atomically(&dir.join("src").join(file), text.as_bytes())?;
    write_atomically(&dir.join("src/data.bin"), &generated.data)?;
    write_atomically(&dir.join("src/system.bin"), &generated.system)
}

/// The hash of everything the build is built from, the toolchain's runtime included.
fn key(generated: &GeneratedCrate, options: &CompileOptions, runtime: Option<&Path>) -> u64 {
    let cargo_toml = generated.cargo_toml("ffnative", &options.output);
    let (file, text) = generated.source_file(&options.output);
    let flags = final_flags(&options.output).concat();
    let mut pieces: Vec<&[u8]> = vec![
        flags.as_bytes(),
        runtime.map_or(&[][..], |runtime| runtime.as_os_str().as_encoded_bytes()),
        options.profile().0.as_bytes(),
        cargo_toml.as_bytes(),
        file.as_bytes(),
        text.as_bytes(),
        &generated.data,
        &generated.system,
    ];
    for text in crate::runtime_sources::texts() {
        pieces.push(text.as_bytes());
    }
    fnv1a(pieces.into_iter())
}

/// `cargo rustc` of the crate in `dir` in the chosen profile, then the build copied to
/// `artifact`. A plugin links the shared runtime. An executable on Linux with glibc links
/// the C library in as well (`crt-static`): no dynamic loading at start-up, which then
/// costs what a C program's does; where that build fails (the static C library is not
/// installed), it is built linking it dynamically instead.
fn build(
    dir: &Path,
    package: &str,
    artifact: &Path,
    options: &CompileOptions,
) -> Result<(), AotError> {
    let flags = final_flags(&options.output);
    let built = match options.output {
        Output::Executable { .. } if !flags.is_empty() => {
            match cargo_rustc(dir, package, options, flags) {
                Err(AotError::Build(_)) => cargo_rustc(dir, package, options, Vec::new()),
                built => built,
            }
        }
        _ => cargo_rustc(dir, package, options, flags),
    };
    copy_atomically(&built?, artifact)
}

/// The flags of the final `rustc` (see [`build`]).
fn final_flags(output: &Output) -> Vec<String> {
    match output {
        Output::Plugin => fastforth_toolchain::shared_runtime_flags(None),
        Output::Executable { .. } if cfg!(all(target_os = "linux", target_env = "gnu")) => {
            ["-C", "target-feature=+crt-static"]
                .map(str::to_owned)
                .to_vec()
        }
        Output::Executable { .. } => Vec::new(),
    }
}

/// Runs `cargo rustc` for the crate's one target, passing `flags` to its final `rustc`;
/// returns where the build is.
fn cargo_rustc(
    dir: &Path,
    package: &str,
    options: &CompileOptions,
    flags: Vec<String>,
) -> Result<PathBuf, AotError> {
    let target_dir = options.cache_dir.join("target");
    let mut cargo = Command::new(&options.cargo);
    cargo.arg("rustc");
    match options.output {
        Output::Plugin => cargo.arg("--lib"),
        Output::Executable { .. } => cargo.args(["--bin", package]),
    };
    let output = cargo
        .args(["--profile", options.profile().0])
        .args(["--quiet", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--")
        .args(flags)
        .output()
        .map_err(|error| AotError::CargoMissing {
            cargo: options.cargo.clone(),
            error,
        })?;
    if !output.status.success() {
        return Err(AotError::Build(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    let built = target_dir.join(options.profile().1);
    Ok(built.join(file_name(package, &options.output)))
}

/// The file name cargo gives the `cdylib` or the executable of `package` on this platform.
fn file_name(package: &str, output: &Output) -> String {
    if let Output::Executable { .. } = output {
        return format!("{package}{}", std::env::consts::EXE_SUFFIX);
    }
    let stem = package.replace('-', "_");
    match std::env::consts::OS {
        "windows" => format!("{stem}.dll"),
        "macos" => format!("lib{stem}.dylib"),
        _ => format!("lib{stem}.so"),
    }
}
